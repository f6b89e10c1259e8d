"""The survey's figures and its callback order, pure (docs/metrics.md, "Survey").

Satisfaction is answered on the centre's scale, 1 = very satisfied .. scale = very
dissatisfied (SurveyConfig in hotline/ivr_menu/model.py): answers 1..satisfied_to are
satisfied, dissatisfied_from..scale dissatisfied. NPS is the fixed question "how likely are
you to recommend us" (0-10): 9-10 promoters, 7-8 passives, 0-6 detractors.
  satisfaction rate    = satisfied answers / satisfaction answers
  dissatisfaction rate = dissatisfied answers / satisfaction answers
  NPS                  = 100 * (promoters - detractors) / NPS answers   (-100 .. 100)
A figure with no answers is None (not 0). Rows of the one-question survey before migration 015
(a 0-10 `score` only) count in neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hotline.core.values import ServiceType
from hotline.work_orders.model import (
    DEFAULT_POLICIES,
    SURVEY_CREATOR,
    OrderState,
    TypePolicy,
    WorkOrder,
)

PROMOTER_FROM = 9  # 9-10: promoters
DETRACTOR_TO = 6  # 0-6: detractors

Grouping = Literal["agent", "queue", "service", "unit"]
GROUPINGS: tuple[Grouping, ...] = ("agent", "queue", "service", "unit")
__all__ = ["GROUPINGS", "SURVEY_CREATOR", "Answer", "Grouping", "SurveyFigures",
           "callback_order", "survey_figures", "survey_figures_by", "unit_of"]
_SERVICES = frozenset(s.value for s in ServiceType)


@dataclass(frozen=True, slots=True)
class Answer:
    """One call's answers as the figures need them (None: that question not answered)."""

    satisfaction: int | None
    nps: int | None
    agent: str = ""
    queue: str = ""
    service: str = ""
    unit: str = ""


@dataclass(frozen=True, slots=True)
class SurveyFigures:
    satisfaction_answers: int = 0
    satisfied: int = 0
    dissatisfied: int = 0
    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.satisfaction_answers if self.satisfaction_answers else None

    @property
    def dissatisfaction_rate(self) -> float | None:
        return (self.dissatisfied / self.satisfaction_answers if self.satisfaction_answers
                else None)

    @property
    def nps(self) -> float | None:
        return (100.0 * (self.promoters - self.detractors) / self.nps_answers
                if self.nps_answers else None)

    def __add__(self, other: SurveyFigures) -> SurveyFigures:
        """The counts of both (the live figures add one answer at a time)."""
        return SurveyFigures(*(a + b for a, b in zip(
            (self.satisfaction_answers, self.satisfied, self.dissatisfied, self.nps_answers,
             self.promoters, self.detractors),
            (other.satisfaction_answers, other.satisfied, other.dissatisfied,
             other.nps_answers, other.promoters, other.detractors), strict=True)))

    def as_dict(self) -> dict[str, float | int | None]:
        return {"satisfaction_answers": self.satisfaction_answers, "satisfied": self.satisfied,
                "dissatisfied": self.dissatisfied, "nps_answers": self.nps_answers,
                "promoters": self.promoters, "detractors": self.detractors,
                "satisfaction_rate": self.satisfaction_rate,
                "dissatisfaction_rate": self.dissatisfaction_rate, "nps": self.nps}


def survey_figures(answers: Iterable[Answer], satisfied_to: int,
                   dissatisfied_from: int) -> SurveyFigures:
    sat = sats = dis = n = pro = det = 0
    for a in answers:
        if a.satisfaction is not None:
            sats += 1
            sat += a.satisfaction <= satisfied_to
            dis += a.satisfaction >= dissatisfied_from
        if a.nps is not None:
            n += 1
            pro += a.nps >= PROMOTER_FROM
            det += a.nps <= DETRACTOR_TO
    return SurveyFigures(sats, sat, dis, n, pro, det)


def survey_figures_by(answers: Iterable[Answer], by: Grouping | None, satisfied_to: int,
                      dissatisfied_from: int) -> dict[str, SurveyFigures]:
    """The figures per agent, queue, service type or unit (None: one row, key "")."""
    groups: dict[str, list[Answer]] = {}
    for a in answers:
        groups.setdefault(getattr(a, by) if by else "", []).append(a)
    return {k: survey_figures(v, satisfied_to, dissatisfied_from) for k, v in groups.items()}


def unit_of(service: str, policies: dict[ServiceType, TypePolicy] = DEFAULT_POLICIES) -> str:
    """The responsible unit of a call's service type ("" for none known)."""
    return policies[ServiceType(service)].unit if service in _SERVICES else ""


def callback_order(call_id: str, caller: str, agent_id: str, service: str,
                   satisfaction: int | None, scale: int, nps: int | None, at: float,
                   within_s: float,
                   policies: dict[ServiceType, TypePolicy] = DEFAULT_POLICIES) -> WorkOrder:
    """The callback order (回访) of a low answer: due `within_s` after it, already in
    callback_due (the survey is the reason to call back: nothing to dispatch), for the unit of
    the call's service type; its first call is the surveyed one."""
    kind = ServiceType(service) if service in _SERVICES else ServiceType.GENERAL
    sat = "-" if satisfaction is None else f"{satisfaction}/{scale}"
    text = (f"满意度回访 survey callback: satisfaction {sat} (1 = very satisfied), "
            f"NPS {'-' if nps is None else nps}, agent {agent_id or '-'}")
    return WorkOrder(id=None, service=kind, caller=caller, created_at=at,
                     created_by=SURVEY_CREATOR, description=text,
                     state=OrderState.CALLBACK_DUE, unit=policies[kind].unit, resolve_by=at,
                     callback_by=at + within_s, call_ids=(call_id,))
