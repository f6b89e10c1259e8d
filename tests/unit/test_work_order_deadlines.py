"""Work orders that chase their deadlines (#18.5), the pure rules: which time limits an order
gets (policy_for), the escalation levels (escalation_due / escalate, once per deadline), when
a customer is told (notice_due), and the values the voice notice lets reach Asterisk."""

from __future__ import annotations

import pytest

from hotline.core.values import ServiceType
from hotline.telephony.notice_call import refuse_unsafe
from hotline.work_orders.model import (
    DEFAULT_POLICIES,
    OrderAction,
    TimeLimit,
    act,
    create,
    escalate,
    escalation_due,
    notice_due,
    policy_for,
)

H = 3600.0
T0 = 1_800_000_000.0
FAULT = ServiceType.FAULT


def test_limits_for_the_unit_then_the_type_then_the_default() -> None:
    default = DEFAULT_POLICIES[FAULT]
    assert policy_for(FAULT, "", {}) == default
    every_unit = {("fault", ""): TimeLimit(2 * H, 10 * H, 3 * H)}
    p = policy_for(FAULT, "", every_unit)
    assert (p.unit, p.resolve_s, p.callback_s, p.centre_after_s) == (
        "repair_crew", 2 * H, 10 * H, 3 * H)
    both = {**every_unit, ("fault", "repair_crew"): TimeLimit(H, 5 * H, H)}
    assert policy_for(FAULT, "", both).resolve_s == H  # the default unit's own limits
    assert policy_for(FAULT, "north_crew", both).resolve_s == 2 * H  # no own: the type's
    assert policy_for(FAULT, "north_crew", both).unit == "north_crew"
    # another type's limits do not apply
    assert policy_for(ServiceType.BILLING, "", both) == DEFAULT_POLICIES[ServiceType.BILLING]


def _order(resolve_s: float = 4 * H, centre_after_s: float = 2 * H):  # type: ignore[no-untyped-def]
    policy = policy_for(FAULT, "", {("fault", ""): TimeLimit(resolve_s, 24 * H,
                                                             centre_after_s)})
    return create(FAULT, "13900000001", "no power", "c1", "agent1", T0,
                  policies={FAULT: policy})


def test_escalation_levels_one_at_a_time_once_per_deadline() -> None:
    o = _order()
    assert o.centre_after_s == 2 * H
    assert escalation_due(o, T0 + 4 * H) == 0  # at the deadline: not late yet
    assert escalation_due(o, T0 + 4 * H + 1) == 1
    assert escalation_due(o, T0 + 6 * H) == 1  # exactly centre_after_s later: still 1
    assert escalation_due(o, T0 + 6 * H + 1) == 2
    up = escalate(o, T0 + 7 * H)
    assert up is not None and (up.escalation_level, up.escalated_to) == (1, "supervisor")
    top = escalate(up, T0 + 7 * H)
    assert top is not None and (top.escalation_level, top.escalated_to) == (2, "centre")
    assert escalate(top, T0 + 100 * H) is None  # the top level is reached once
    assert escalate(up, T0 + 5 * H) is None  # level 1 reached: nothing more before 2 is due


def test_a_reply_starts_the_callback_deadline_at_level_zero() -> None:
    o = escalate(act(_order(), OrderAction.DISPATCH, T0), T0 + 5 * H)
    assert o is not None and o.escalation_level == 1
    replied = act(act(o, OrderAction.ACCEPT, T0 + 5 * H), OrderAction.REPLY, T0 + 5 * H,
                  text="fixed")
    assert replied.escalation_level == 0
    assert escalation_due(replied, T0 + 5 * H + 24 * H) == 0
    assert escalation_due(replied, T0 + 5 * H + 24 * H + 1) == 1
    done = act(replied, OrderAction.CALLBACK_DONE, T0 + 6 * H)
    assert escalation_due(done, T0 + 1000 * H) == 0  # nothing runs against a deadline now


def test_a_notice_is_due_near_the_reply_deadline_until_the_reply() -> None:
    o = _order()
    assert not notice_due(o, T0 + 3 * H - 1, before_s=H)
    assert notice_due(o, T0 + 3 * H, before_s=H)
    assert notice_due(o, T0 + 10 * H, before_s=H)  # past it too
    replied = act(act(act(o, OrderAction.DISPATCH, T0), OrderAction.ACCEPT, T0),
                  OrderAction.REPLY, T0 + H, text="done")
    assert not notice_due(replied, T0 + 10 * H, before_s=H)


@pytest.mark.parametrize(("notice_id", "number", "prompt"), [
    (1, "1/sip:900@evil.example", "/usr/share/asterisk/sounds/hotline/zh/tts/ab12"),
    (1, "139,HL_X=1", "/usr/share/asterisk/sounds/hotline/zh/tts/ab12"),
    (0, "13900000001", "/usr/share/asterisk/sounds/hotline/zh/tts/ab12"),
    (True, "13900000001", "/usr/share/asterisk/sounds/hotline/zh/tts/ab12"),
    (1, "13900000001", "/x/a,HL_NOTICE_ID=2"),
    (1, "13900000001", "/x/../../etc/passwd"),
    (1, "13900000001", "relative/path"),
])
def test_values_bound_for_asterisk_are_refused_unless_well_formed(
        notice_id: int, number: str, prompt: str) -> None:
    with pytest.raises(ValueError):
        refuse_unsafe(notice_id, number, prompt)


def test_well_formed_values_pass() -> None:
    refuse_unsafe(17, "+8613900000001", "/usr/share/asterisk/sounds/hotline/zh/tts/0a1b2c")


# --- one scenario, one template (一场景一模板), and where an order goes

def test_a_scenario_needs_its_fields_and_no_others() -> None:
    from hotline.work_orders.templates import TemplateError, check
    ok = check("fault.no_power", FAULT, {"address": "3 West Lake Rd", "since": "9:00",
                                          "scope": "street", "landmark": "the school"})
    assert ok.dispatch == "local"
    with pytest.raises(TemplateError) as err:
        check("fault.no_power", FAULT, {"address": "  ", "since": "9:00", "colour": "red"})
    assert err.value.details["missing"] == ["address", "scope"]
    assert err.value.details["unknown"] == ["colour"]
    assert "missing address, scope" in str(err.value) and "colour" in str(err.value)
    with pytest.raises(TemplateError, match="is for complaint, not fault"):
        check("complaint.service", FAULT, {})
    with pytest.raises(TemplateError, match=r"no scenario 'fault\.nope'"):
        check("fault.nope", FAULT, {})


def test_dispatch_the_scenarios_unit_else_the_local_unit_else_the_default() -> None:
    from hotline.work_orders.templates import SCENARIOS, dispatch_unit
    central = SCENARIOS["complaint.service"]
    local = SCENARIOS["fault.no_power"]
    assert dispatch_unit(central, "hangzhou_service", "complaints_office") == "complaints_office"
    assert dispatch_unit(local, "hangzhou_repair", "repair_crew") == "hangzhou_repair"
    assert dispatch_unit(local, None, "repair_crew") == "repair_crew"
    assert dispatch_unit(None, "hangzhou_repair", "repair_crew") == "hangzhou_repair"


# --- complaints: 1+1+1

def test_the_specialty_reviews_and_three_parts_sign_off() -> None:
    from dataclasses import replace

    from hotline.work_orders.complaints import (
        complete,
        may_review,
        may_sign,
        specialty_for,
    )
    c = replace(create(ServiceType.COMPLAINT, "1", "rude", "c", "a", T0),
                scenario="complaint.outage", unit="complaints_office")
    assert specialty_for(c) == "operations_dept"
    assert specialty_for(replace(c, scenario="")) == "service_quality_dept"
    assert may_review(c, "operations_dept", False) and may_review(c, None, True)
    assert not may_review(c, "complaints_office", False)  # the unit does not judge itself
    assert not may_review(replace(c, service=ServiceType.FAULT), None, True)
    assert may_sign(c, "unit", "complaints_office", False)
    assert may_sign(c, "specialty", "operations_dept", False)
    assert not may_sign(c, "centre", "operations_dept", False)
    assert may_sign(c, "centre", None, True)
    assert not may_sign(c, "unit", "operations_dept", False)
    assert not complete(["unit", "specialty"]) and complete(["centre", "unit", "specialty"])
