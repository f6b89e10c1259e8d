"""The IVR runner and the survey over a scripted AGI session: digits in, path and variables out.

The fake answers at the AGI command level (`command(name, *args) -> AgiReply`), so `Agi`'s
typed commands and the runner are exercised together; only the socket is missing.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from hotline.core.values import Outage, ServiceType
from hotline.ivr_menu import model as ivr_menu
from hotline.ivr_menu.model import QueueTarget
from hotline.telephony.agi.server import Agi, AgiEnvironment, AgiHangup
from hotline.telephony.ivr.session import (
    IvrApp,
    IvrResult,
    IvrSession,
    SurveyResponse,
    format_time,
    outage_text,
    parse_satisfaction,
    parse_score,
    run_survey,
)
from tests.helpers.scripted_agi import TIMEOUT, FakeVoice, ScriptedAgi

MENU = ivr_menu.load()
NOW = 1_763_880_000.0  # 2025-11-23 06:40 UTC, 14:40 in Shanghai
class Outages:
    def __init__(self, by_area: dict[str, list[Outage]]) -> None:
        self.by_area = by_area
        self.asked: list[tuple[str, float]] = []

    async def find(self, area_code: str, at: float) -> list[Outage]:
        self.asked.append((area_code, at))
        return self.by_area.get(area_code, [])


SEEDED = Outage(area_code="0571", start=NOW + 3600, end=NOW + 4 * 3600,
                reason="line maintenance", area_name="Xihu")


async def walk(inputs: list[str | None], outages: Outages | None = None,
               voice: FakeVoice | None = None) -> tuple[ScriptedAgi, IvrResult]:
    fake = ScriptedAgi(list(inputs))
    session = IvrSession(MENU, voice or FakeVoice(), outages or Outages({}), lambda: NOW,
                         Agi(fake, AgiEnvironment({"network_script": "ivr"})))
    result = await session.run()
    return fake, result


QUEUES = {
    "1": ("fault", ServiceType.FAULT, 0),
    "3": ("billing", ServiceType.BILLING, 0),
    "4": ("business", ServiceType.BUSINESS, 0),
    "5": ("complaint", ServiceType.COMPLAINT, 0),
    "6": ("complaint", ServiceType.REPORT, 0),
    "7": ("general", ServiceType.OPINION, 0),
    "8": ("general", ServiceType.PRAISE, 0),
    "9": ("ev", ServiceType.EV, 0),
    "0": ("general", ServiceType.GENERAL, 0),
}


@pytest.mark.parametrize("digit", sorted(QUEUES))
async def test_each_top_menu_digit_lands_in_its_queue(digit: str) -> None:
    fake, result = await walk(["2", digit])
    queue, service, priority = QUEUES[digit]
    assert result.target == QueueTarget(queue, service, priority)
    assert result.path == [("language", "2"), ("main", digit)]
    assert fake.variables == {
        "HL_LANGUAGE": "en", "HL_QUEUE": queue, "HL_SERVICE": service.value,
        "HL_PRIORITY": str(priority), "HL_IVR_PATH": f"language:2 main:{digit}",
        "HL_IVR_RESULT": "queue",
    }
    assert fake.events == ["HotlineIvr,Menu: language,Digit: 2,Service: ",
                           f"HotlineIvr,Menu: main,Digit: {digit},Service: {service.value}"]
    assert fake.played == ["zh/language", "en/main"]  # the language switched after the choice


async def test_no_language_choice_means_mandarin() -> None:
    fake, result = await walk([TIMEOUT, "3"])
    assert result.language == "zh"
    assert result.path == [("language", "t"), ("main", "3")]
    assert fake.played == ["zh/language", "zh/main"]
    assert fake.variables["HL_QUEUE"] == "billing"


async def test_star_repeats_without_counting_a_miss() -> None:
    fake, _ = await walk(["1", "*", "*", "*", "9"])
    assert fake.played == ["zh/language"] + ["zh/main"] * 4
    assert fake.variables["HL_SERVICE"] == "ev"


async def test_three_invalid_inputs_or_timeouts_go_to_general() -> None:
    fake, result = await walk(["1", "#", TIMEOUT, "#"])  # '#' alone: GET DATA returns nothing
    assert result.target == MENU.fallback
    assert fake.variables["HL_QUEUE"] == "general"
    assert fake.variables["HL_SERVICE"] == "general"
    assert fake.events[-1] == "HotlineIvr,Menu: main,Digit: t,Service: general"


async def test_wrong_keys_hear_the_invalid_prompt() -> None:
    # every digit is a choice in the shipped main menu: take '9' out to press a wrong key
    data = tomllib.loads(ivr_menu.DEFAULT_PATH.read_text())
    data["menus"]["main"]["choices"] = [c for c in data["menus"]["main"]["choices"]
                                        if c["digit"] != "9"]
    menu = ivr_menu.parse(data)
    fake = ScriptedAgi(["1", "9", "9", "9"])
    session = IvrSession(menu, FakeVoice(), Outages({}), lambda: NOW,
                         Agi(fake, AgiEnvironment({})))
    result = await session.run()
    assert fake.played == ["zh/language", "zh/main", "zh/invalid", "zh/main", "zh/invalid",
                           "zh/main"]
    assert result.target == menu.fallback
    assert fake.events[-1] == "HotlineIvr,Menu: main,Digit: 9,Service: general"


async def test_outage_lookup_reads_seeded_outage_then_agent_on_zero() -> None:
    outages, voice = Outages({"0571": [SEEDED]}), FakeVoice()
    fake, result = await walk(["2", "2", "0571", "0"], outages, voice)
    assert outages.asked == [("0571", NOW)]
    assert voice.spoken == ["Xihu: no power from November 23 at 15:40 until November 23 at "
                            "18:40, because of line maintenance."]
    assert fake.played == ["zh/language", "en/main", "en/outage-enter", "en/outage-found",
                           "en/tts/1", "en/outage-after"]
    assert result.target == QueueTarget("general", ServiceType.OUTAGE_INFO)
    assert fake.variables["HL_SERVICE"] == "outage_info"
    assert fake.events[-2:] == ["HotlineIvr,Menu: main,Digit: 2,Service: outage_info",
                                "HotlineIvr,Menu: outage,Digit: 0,Service: outage_info"]


async def test_outage_readout_interrupted_and_repeated() -> None:
    outages = Outages({"0571": [SEEDED]})
    fake, result = await walk(["1", "2", "0571", "!*", "!0"], outages)
    # '*' during "found" repeats the readout; '0' during the repeat goes to an agent
    assert fake.played == ["zh/language", "zh/main", "zh/outage-enter", "zh/outage-found",
                           "zh/outage-found"]
    assert result.target is not None


async def test_outage_wrong_key_then_star_replays_the_information() -> None:
    outages, voice = Outages({"0571": [SEEDED]}), FakeVoice()
    fake, result = await walk(["1", "2", "0571#", "5", "*", TIMEOUT], outages, voice)
    assert fake.played[3:] == [
        "zh/outage-found", "zh/tts/1", "zh/outage-after",  # the information, the question
        "zh/invalid", "zh/outage-after",  # '5': a word, the question again
        "zh/outage-found", "zh/tts/1", "zh/outage-after",  # '*': the information again
        "zh/goodbye",  # then silence: self-served
    ]
    assert result.target is None
    assert len(voice.spoken) == 1  # spoken once, replayed from the same file


async def test_outage_self_served_hangs_up() -> None:
    fake, result = await walk(["1", "2", "123456", TIMEOUT], Outages({}))
    assert result.target is None
    assert fake.played[-3:] == ["zh/outage-none", "zh/outage-after", "zh/goodbye"]
    assert fake.variables["HL_IVR_RESULT"] == "self_served"
    assert "HL_QUEUE" not in fake.variables
    assert fake.hung_up


async def test_outage_no_digits_three_times_goes_to_an_agent() -> None:
    fake, result = await walk(["1", "2", TIMEOUT, TIMEOUT, TIMEOUT])
    assert result.target == QueueTarget("general", ServiceType.OUTAGE_INFO)
    assert fake.events[-1] == "HotlineIvr,Menu: outage,Digit: t,Service: outage_info"


async def test_caller_hangs_up_mid_menu() -> None:
    with pytest.raises(AgiHangup):
        await walk(["1"])  # no more input: GET DATA answers result=-1


def test_outage_text_in_mandarin() -> None:
    text = outage_text(MENU, "zh", SEEDED)
    assert text == "Xihu，11月23日15点40分至11月23日18点40分停电，原因：line maintenance。"
    assert format_time(NOW, "en", ZoneInfo("UTC")) == (
        "November 23 at 6:40")


@pytest.mark.parametrize(("digits", "score"), [
    ("0", 0), ("7", 7), ("9", 9), ("10", 10), ("", None), ("11", None), ("05", None),
    ("*", None), ("1*", None),
])
def test_parse_score(digits: str, score: int | None) -> None:
    assert parse_score(digits) == score


async def survey(inputs: list[str | None], variables: dict[str, str],
                 menu: ivr_menu.IvrMenu = MENU) -> tuple[
        ScriptedAgi, list[SurveyResponse], SurveyResponse | None]:
    fake = ScriptedAgi(list(inputs), variables=dict(variables))
    got: list[SurveyResponse] = []

    async def on_survey(response: SurveyResponse) -> None:
        got.append(response)

    response = await run_survey(menu, FakeVoice(),
                                Agi(fake, AgiEnvironment({"uniqueid": "u1"})), on_survey)
    return fake, got, response


CALL = {"HL_CALLID": "c1", "HL_AGENT": "agent2", "HL_LANGUAGE": "en", "HL_QUEUE": "billing",
        "HL_SERVICE": "billing", "HL_CALLER": "13900001111"}


@pytest.mark.parametrize(("digits", "scale", "answer"), [
    ("1", 5, 1), ("5", 5, 5), ("0", 5, None), ("6", 5, None), ("", 5, None), ("*", 5, None),
    ("12", 5, None), ("7", 7, 7), ("3", 3, 3), ("4", 3, None)])
def test_parse_satisfaction(digits: str, scale: int, answer: int | None) -> None:
    assert parse_satisfaction(digits, scale) == answer


async def test_survey_asks_satisfaction_then_nps() -> None:
    fake, got, r = await survey(["2", "10"], CALL)
    assert got == [r]
    assert r == SurveyResponse(call_id="c1", agent_id="agent2", satisfaction=2, nps=10,
                               scale=5, low=False, queue="billing", service="billing",
                               caller="13900001111", callback_within_s=86400)
    assert fake.played == ["en/survey-satisfaction", "en/survey-nps", "en/survey-thanks"]
    assert fake.variables["HL_SURVEY"] == "2/10"


@pytest.mark.parametrize(("inputs", "low"), [
    (["3", "7"], False),  # neutral, passive
    (["4", "9"], True),  # dissatisfied: low whatever the NPS
    (["1", "6"], True),  # a detractor: low whatever the satisfaction
    (["5", TIMEOUT, TIMEOUT], True),  # only the satisfaction answered
])
async def test_low_answers_by_the_centre_thresholds(inputs: list[str | None], low: bool) -> None:
    _, [r], _ = await survey(inputs, CALL)
    assert r.low is low


async def test_a_stricter_centre_calls_more_answers_low() -> None:
    strict = replace(MENU, survey=replace(MENU.survey, low_satisfaction_from=3, low_nps_to=7))
    _, [r], _ = await survey(["3", "8"], CALL, strict)
    assert (r.satisfaction, r.nps, r.low) == (3, 8, True)


async def test_survey_retries_each_question_once() -> None:
    fake, _got, r = await survey(["6", "5", "*", "99"], {"HL_CALLID": "c1", "HL_AGENT": "agent2"})
    assert r is not None and (r.satisfaction, r.nps) == (5, None)
    assert fake.played == ["zh/survey-satisfaction", "zh/invalid", "zh/survey-satisfaction",
                           "zh/survey-nps", "zh/invalid", "zh/survey-nps", "zh/survey-thanks"]


async def test_survey_without_any_answer_stores_nothing() -> None:
    fake, got, r = await survey([TIMEOUT, TIMEOUT, TIMEOUT, TIMEOUT], {"HL_CALLID": "c1"})
    assert (r, got) == (None, [])
    assert "zh/survey-thanks" not in fake.played


async def test_a_caller_silent_to_the_first_question_is_not_asked_the_second() -> None:
    """Two silent tries of the satisfaction question end the survey: asking the NPS question
    too held a silent caller's line for four prompts and timeouts (about 100 s with the
    Mandarin prompts), where the one-question survey took two (found by the kill -9 proof,
    whose callers stay on the line: they outlasted its wait)."""
    fake, got, r = await survey([TIMEOUT, TIMEOUT, "9"], CALL)
    assert (r, got) == (None, [])
    assert fake.played == ["en/survey-satisfaction", "en/survey-satisfaction"]


async def test_survey_second_try_and_defaults() -> None:
    _, _got, r = await survey([TIMEOUT, "1", "8"], {"HL_SERVICE": "nonsense",
                                                   "HL_QUEUE": "a b", "HL_CALLER": "x1"})
    assert r is not None and (r.call_id, r.agent_id, r.satisfaction, r.nps) == ("u1", "", 1, 8)
    assert (r.queue, r.service, r.caller) == ("", "", "")  # out of shape: left out


@pytest.mark.parametrize("variables", [{"HL_CALLID": "c1,x"}, {"HL_CALLID": "c" * 65},
                                       {"HL_CALLID": "c1", "HL_AGENT": "agent 2"}])
async def test_survey_with_an_id_out_of_shape_stores_nothing(variables: dict[str, str]) -> None:
    fake, got, r = await survey(["1", "9"], variables)
    assert (r, got) == (None, [])
    assert fake.played == []


async def test_app_dispatches_by_script() -> None:
    got: list[tuple[int | None, int | None]] = []

    async def on_survey(r: SurveyResponse) -> None:
        got.append((r.satisfaction, r.nps))

    app = IvrApp(MENU, FakeVoice(), Outages({}), on_survey, lambda: NOW)
    fake = ScriptedAgi(["1", "6"])
    await app(Agi(fake, AgiEnvironment({"network_script": "survey",
                                        "uniqueid": "1700000000.1"})))
    assert got == [(1, 6)]
    assert fake.autohangup == ["0"]  # the survey's answer deadline lifted too
    fake = ScriptedAgi(["1", "1"])
    await app(Agi(fake, AgiEnvironment({"network_script": "ivr"})))
    assert fake.variables["HL_QUEUE"] == "fault"
    # answered: the dialplan's answer lease lifted first (a paused controller answers none)
    assert fake.autohangup == ["0"]


async def test_a_caller_who_hangs_up_after_the_first_answer_keeps_it() -> None:
    fake, got, r = await survey(["4"], CALL)  # no more input: hung up in the NPS question
    assert r is not None and got == [r]
    assert (r.satisfaction, r.nps, r.low, r.queue, r.service) == (4, None, True, "billing",
                                                                   "billing")
    assert fake.played == ["en/survey-satisfaction", "en/survey-nps"]  # no thanks: gone
