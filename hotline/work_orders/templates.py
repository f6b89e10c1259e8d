"""One scenario, one template (一场景一模板, issue #18.5): each scenario of a service type names
the fields an order of it must carry, the questions the agent asks to get them, and its
dispatch rule; `check` enforces them when an order is created (the API answers 422
`template-violated`, naming what is missing or unknown).

Dispatch rules: `LOCAL` sends the order to the caller's local unit (属地: the unit of the
caller's area for its service type, `hotline/work_orders/local_units.py`), falling back to the
type's default unit where the area has none; any other value is a unit id, whatever the area
(e.g. a specialty office that handles the matter centrally).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hotline.core.values import ServiceType

LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    service: ServiceType
    title: str  # as the agent's list shows it
    required: tuple[str, ...]  # the fields an order of this scenario must fill
    questions: tuple[str, ...]  # what the agent asks the caller (the script, 话术)
    dispatch: str = LOCAL  # LOCAL or a unit id
    optional: tuple[str, ...] = ()


S = ServiceType
#: The centre's scenarios (a deployment adds its own here; the API lists them).
SCENARIOS: dict[str, Scenario] = {s.id: s for s in (
    Scenario("fault.no_power", S.FAULT, "无电 / no power",
             ("address", "since", "scope"),
             ("停电的详细地址？", "什么时候开始停电？", "是您一户还是周边都停电？"),
             optional=("landmark",)),
    Scenario("fault.hazard", S.FAULT, "安全隐患 / hazard (a line down, sparks)",
             ("address", "hazard"),
             ("隐患的具体位置？", "现场是什么情况（断线、冒火、倒杆）？", "是否有人员受伤？"),
             optional=("injured",)),
    Scenario("billing.dispute", S.BILLING, "电费异议 / bill dispute",
             ("account", "period", "amount"),
             ("您的户号？", "哪个月的电费？", "账单金额是多少？")),
    Scenario("complaint.service", S.COMPLAINT, "服务投诉 / service complaint",
             ("account", "staff_or_office", "what_happened"),
             ("您的户号？", "涉及的人员或营业厅？", "事情经过？"),
             dispatch="complaints_office"),
    Scenario("complaint.outage", S.COMPLAINT, "停电投诉 / outage complaint",
             ("address", "outage_times"),
             ("停电地址？", "停电的时间和次数？")),
)}
del S


class TemplateError(ValueError):
    """An order that does not follow its scenario's template (the message says how)."""

    def __init__(self, message: str, details: dict[str, object]) -> None:
        super().__init__(message)
        self.details = details


def check(scenario_id: str, service: ServiceType, fields: Mapping[str, str],
          scenarios: Mapping[str, Scenario] = SCENARIOS) -> Scenario:
    """The scenario, if the order follows its template: the scenario exists and belongs to
    `service`, every required field is filled (not blank), and no field is outside the
    template. TemplateError otherwise, naming everything that is wrong at once."""
    scenario = scenarios.get(scenario_id)
    if scenario is None:
        known = sorted(k for k, s in scenarios.items() if s.service is service)
        raise TemplateError(f"no scenario {scenario_id!r} for {service}: one of {known}",
                            {"scenario": scenario_id, "scenarios": known})
    if scenario.service is not service:
        raise TemplateError(f"scenario {scenario_id!r} is for {scenario.service}, not {service}",
                            {"scenario": scenario_id, "service": str(scenario.service)})
    missing = [f for f in scenario.required if not (fields.get(f) or "").strip()]
    unknown = sorted(set(fields) - set(scenario.required) - set(scenario.optional))
    if missing or unknown:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"not in the template: {', '.join(unknown)}"] if unknown else [])
        raise TemplateError(f"scenario {scenario_id!r}: {'; '.join(parts)}",
                            {"scenario": scenario_id, "missing": missing, "unknown": unknown,
                             "required": list(scenario.required),
                             "questions": list(scenario.questions)})
    return scenario


def dispatch_unit(scenario: Scenario | None, local_unit: str | None, default_unit: str) -> str:
    """THE dispatch rule: a scenario that names a unit sends the order there; otherwise (no
    scenario, or LOCAL) the caller's local unit (属地) when its area has one, else the type's
    default unit."""
    if scenario is not None and scenario.dispatch != LOCAL:
        return scenario.dispatch
    return local_unit or default_unit
