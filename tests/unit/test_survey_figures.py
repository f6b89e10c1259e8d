"""The survey's figures by hand (docs/metrics.md, "Survey") and the callback order of a low
answer; the same rows through SQL: tests/integration/test_survey_store.py."""

from __future__ import annotations

import pytest

from hotline.core.values import ServiceType
from hotline.ivr_menu.model import SurveyConfig
from hotline.survey.model import (
    SURVEY_CREATOR,
    Answer,
    SurveyFigures,
    callback_order,
    survey_figures,
    survey_figures_by,
    unit_of,
)
from hotline.work_orders.model import OrderAction, OrderState, act
from tests.helpers.survey_day import DAY


def test_the_centre_by_hand() -> None:
    f = survey_figures(DAY, satisfied_to=2, dissatisfied_from=4)
    # satisfaction answered 7 times (1 2 3 4 5 1 2): satisfied 1 2 1 2, dissatisfied 4 5
    assert (f.satisfaction_answers, f.satisfied, f.dissatisfied) == (7, 4, 2)
    assert f.satisfaction_rate == pytest.approx(4 / 7)
    assert f.dissatisfaction_rate == pytest.approx(2 / 7)
    # NPS answered 7 times (10 9 8 6 0 7 9): promoters 10 9 9, detractors 6 0, passives 8 7
    assert (f.nps_answers, f.promoters, f.detractors) == (7, 3, 2)
    assert f.nps == pytest.approx(100 * (3 - 2) / 7)  # 14.29


def test_by_agent_queue_and_service_by_hand() -> None:
    by_agent = survey_figures_by(DAY, "agent", 2, 4)
    a1, a2 = by_agent["a1"], by_agent["a2"]
    # a1: satisfaction 1 2 3 4 -> 2/4 satisfied, 1/4 dissatisfied; NPS 10 9 8 6 -> (2-1)/4
    assert (a1.satisfaction_rate, a1.dissatisfaction_rate, a1.nps) == (0.5, 0.25, 25.0)
    # a2: satisfaction 5 1 2 -> 2/3, 1/3; NPS 0 7 9 -> (1-1)/3 = 0
    assert a2.satisfaction_rate == pytest.approx(2 / 3)
    assert a2.dissatisfaction_rate == pytest.approx(1 / 3)
    assert a2.nps == 0.0
    by_queue = survey_figures_by(DAY, "queue", 2, 4)
    assert by_queue["general"] == SurveyFigures(1, 1, 0, 0, 0, 0)
    assert by_queue["general"].nps is None  # no NPS answer: no figure, not 0
    assert by_queue["fault"] == SurveyFigures(2, 1, 1, 3, 1, 1)
    assert set(survey_figures_by(DAY, "service", 2, 4)) == {"billing", "fault", "general"}
    assert survey_figures_by(DAY, None, 2, 4)[""] == survey_figures(DAY, 2, 4)


def test_a_three_point_scale() -> None:
    f = survey_figures([Answer(1, None), Answer(2, None), Answer(3, None)], 1, 3)
    assert (f.satisfied, f.dissatisfied, f.satisfaction_rate) == (1, 1, pytest.approx(1 / 3))


def test_no_answers_no_figures() -> None:
    f = survey_figures([], 2, 4)
    assert (f.satisfaction_rate, f.dissatisfaction_rate, f.nps) == (None, None, None)
    assert survey_figures_by([], "agent", 2, 4) == {}


@pytest.mark.parametrize(("satisfaction", "nps", "low"), [
    (1, 10, False), (3, 7, False), (4, None, True), (None, 6, True), (2, 6, True),
    (None, None, False), (3, None, False)])
def test_low_by_the_default_thresholds(satisfaction: int | None, nps: int | None,
                                       low: bool) -> None:
    assert SurveyConfig().is_low(satisfaction, nps) is low


@pytest.mark.parametrize(("changes", "fault"), [
    ({"scale": 10}, "scale must be 2..9"),
    ({"satisfied_to": 4}, "satisfied_to < dissatisfied_from"),
    ({"low_nps_to": 11}, "low_nps_to"),
    ({"callback_within_s": 0}, "callback_within_s"),
])
def test_a_survey_out_of_shape_is_named(changes: dict[str, float], fault: str) -> None:
    assert any(fault in f for f in SurveyConfig(**changes).faults())  # type: ignore[arg-type]
    assert SurveyConfig().faults() == []


def test_the_callback_order_is_due_within_the_centre_time() -> None:
    order = callback_order("c1", "13900001111", "a2", "fault", 5, 5, 2, at=1000.0,
                           within_s=7200.0)
    assert (order.state, order.service, order.unit, order.caller, order.call_ids) == (
        OrderState.CALLBACK_DUE, ServiceType.FAULT, "repair_crew", "13900001111", ("c1",))
    assert (order.callback_by, order.created_by) == (8200.0, SURVEY_CREATOR)
    assert "5/5" in order.description and "NPS 2" in order.description
    # it lives on as any order: called back, then closed
    done = act(order, OrderAction.CALLBACK_DONE, 2000.0, text="apologised", by="a3")
    assert act(done, OrderAction.CLOSE, 2100.0).state is OrderState.CLOSED


def test_a_call_of_no_known_service_is_called_back_by_the_general_unit() -> None:
    order = callback_order("c1", "", "", "", None, 5, 0, at=0.0, within_s=60.0)
    assert (order.service, order.unit) == (ServiceType.GENERAL, unit_of("general"))
    assert unit_of("") == ""
