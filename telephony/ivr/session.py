"""The IVR: runs the menu tree of hotline/ivr_menu/model.py over one AGI session, and the survey.

Called from the dialplan as `AGI(${HL_AGI}/ivr)` and `AGI(${HL_AGI}/survey)`. The IVR tells
the dialplan where the caller goes through channel variables (HL_QUEUE, HL_SERVICE,
HL_PRIORITY, HL_LANGUAGE, HL_IVR_PATH) and tells the controller every choice with
`UserEvent(HotlineIvr,Menu: m,Digit: d,Service: s)`. A caller who is served by the
self-service and does not ask for an agent hears goodbye and is hung up (HL_IVR_RESULT =
self_served). If this server is down or fails, the dialplan's defaults (general) apply.

The survey asks two questions (docs/metrics.md, "Survey"): satisfaction on the centre's scale,
one digit 1..scale; then the NPS question, 0-10 by GET DATA with two digits: 10 is "1" then
"0"; '#' ends the input early (a single digit then '#'), otherwise a single digit is taken
when the timeout runs out. Anything else ('*', "11", "05", 0 or 6 on a 1-5 scale, nothing) is
invalid and asked again. A caller who answers one question and not the other is kept with
that one answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from hotline.core import ids
from hotline.core.values import Outage, ServiceType
from hotline.ivr_menu.model import ActionTarget, GotoTarget, IvrMenu, QueueTarget, Target
from hotline.telephony.agi.server import Agi, AgiHangup

log = logging.getLogger(__name__)

IVR_EVENT = "HotlineIvr"


#: a Chinese long-distance area code ("010", "0571"); account numbers are longer
AREA_CODE = re.compile(r"0\d{2,3}")
#: spoken when typed digits are neither a known account nor an area code; a tree without
#: this prompt (one saved before it existed) says the generic invalid prompt instead
UNKNOWN_NUMBER_PROMPT = "outage-unknown"


class OutageLookup(Protocol):
    async def find(self, area_code: str, at: float) -> list[Outage]: ...


@runtime_checkable
class AccountAreas(Protocol):
    """An OutageLookup that also knows customer accounts: the area an account is supplied in
    (None: no such account). Without it, whatever the caller types is taken as an area."""

    async def area_of_account(self, account_no: str) -> str | None: ...


class Voice(Protocol):
    """Names of playable prompts: the static ones, and free text spoken at run time."""

    def menu_prompt(self, menu: IvrMenu, lang: str, key: str) -> str: ...

    async def speak(self, lang: str, text: str) -> str: ...


@dataclass(frozen=True, slots=True)
class SurveyResponse:
    """One caller's answers, with what the channel knew of the call; `low`: the centre's
    thresholds say so (SurveyConfig.is_low)."""

    call_id: str
    agent_id: str
    satisfaction: int | None
    nps: int | None
    scale: int
    low: bool
    queue: str = ""
    service: str = ""
    caller: str = ""
    callback_within_s: float = 24 * 3600  # a low answer's callback order is due this soon
    satisfied_to: int = 2  # the centre's cut-offs when it answered (SurveyConfig)
    dissatisfied_from: int = 4


#: on_survey(response): where the answers go (the store, elsewhere)
OnSurvey = Callable[[SurveyResponse], Awaitable[None]]


@dataclass
class IvrResult:
    """What the caller did: every (menu, digit) on the way, and where they went
    (None: self-served and hung up)."""

    language: str
    path: list[tuple[str, str]] = field(default_factory=list)
    target: QueueTarget | None = None


def format_time(ts: float, lang: str, tz: ZoneInfo) -> str:
    t = datetime.fromtimestamp(ts, tz)
    if lang == "zh":
        return f"{t.month}月{t.day}日{t.hour}点{t.minute:02d}分"
    return f"{t:%B} {t.day} at {t.hour}:{t.minute:02d}"


def outage_text(menu: IvrMenu, lang: str, outage: Outage) -> str:
    tz = ZoneInfo(menu.timezone)
    return menu.templates[lang]["outage"].format(
        area=outage.area_name or outage.area_code,
        start=format_time(outage.start, lang, tz),
        end=format_time(outage.end, lang, tz),
        reason=outage.reason or "-",
    )


def parse_score(digits: str) -> int | None:
    """'0'..'9' and '10' are scores; everything else is not."""
    if digits == "10" or (len(digits) == 1 and digits.isdigit()):
        return int(digits)
    return None


class IvrSession:
    """One caller's walk through the menu tree."""

    def __init__(self, menu: IvrMenu, voice: Voice, outages: OutageLookup,
                 clock: Callable[[], float], agi: Agi) -> None:
        self.menu, self.voice, self.outages, self.clock, self.agi = (
            menu, voice, outages, clock, agi)
        self.result = IvrResult(language=menu.default_language)

    def _prompt(self, key: str) -> str:
        return self.voice.menu_prompt(self.menu, self.result.language, key)

    async def _choice(self, menu: str, digit: str, service: ServiceType | None) -> None:
        self.result.path.append((menu, digit))
        await self.agi.user_event(IVR_EVENT, Menu=menu, Digit=digit,
                                  Service=service.value if service else "")

    async def run(self) -> IvrResult:
        current = self.menu.start
        misses = 0
        while True:
            menu = self.menu.menus[current]
            digits, _ = await self.agi.get_data(
                self._prompt(menu.prompt), int(self.menu.timeout_s * 1000), 1)
            if digits == self.menu.repeat_digit:
                continue
            target: Target | None = menu.choices.get(digits)
            if target is None and not digits and menu.on_timeout is not None:
                target, digits = menu.on_timeout, "t"
            if target is None:
                misses += 1
                if misses < self.menu.max_misses:
                    if digits:  # a wrong key gets a word; silence just hears the menu again
                        await self.agi.stream_file(self._prompt(self.menu.invalid_prompt))
                    continue
                target, digits = self.menu.fallback, digits or "t"
            await self._choice(menu.name, digits, _service_of(target))
            if isinstance(target, GotoTarget):
                current, misses = target.menu, 0
                if target.language is not None:
                    self.result.language = target.language
                    await self.agi.set_variable("HL_LANGUAGE", target.language)
                continue
            if isinstance(target, ActionTarget):
                target = await self._outage_lookup(target)
            return await self._finish(target)

    async def _finish(self, target: QueueTarget | None) -> IvrResult:
        self.result.target = target
        path = " ".join(f"{m}:{d}" for m, d in self.result.path)
        await self.agi.set_variable("HL_IVR_PATH", path)
        if target is None:
            await self.agi.set_variable("HL_IVR_RESULT", "self_served")
            await self.agi.stream_file(self._prompt(self.menu.outage.goodbye_prompt))
            await self.agi.hangup()
            return self.result
        await self.agi.set_variable("HL_QUEUE", target.queue)
        await self.agi.set_variable("HL_SERVICE", target.service.value)
        await self.agi.set_variable("HL_PRIORITY", str(target.priority))
        await self.agi.set_variable("HL_IVR_RESULT", "queue")
        return self.result

    async def _outage_lookup(self, action: ActionTarget) -> QueueTarget | None:
        cfg = self.menu.outage
        area: str | None = None
        for _ in range(self.menu.max_misses):
            digits, _timed_out = await self.agi.get_data(
                self._prompt(cfg.enter_prompt), int(cfg.timeout_s * 1000), cfg.max_digits)
            if digits == "0":  # asked for an agent instead of typing a number
                await self._choice("outage", "0", action.agent.service)
                return action.agent
            if not digits.isdigit():
                continue  # silence or '*': the question again
            area = await self._area_of(digits)
            if area is not None:
                break
            await self.agi.stream_file(await self._unknown_number_prompt())
        if area is None:
            await self._choice("outage", "t", action.agent.service)
            return action.agent
        outages = await self.outages.find(area, self.clock())
        readout = await self._readout(outages)
        playing, misses = readout, 0
        while True:
            digit = ""
            for name in playing:  # 0 or * interrupt the readout
                digit = await self.agi.stream_file(name, "0*")
                if digit:
                    break
            if not digit:
                digit, _ = await self.agi.get_data(
                    self._prompt(cfg.after_prompt), int(self.menu.timeout_s * 1000), 1)
            if digit == "0":
                await self._choice("outage", "0", action.agent.service)
                return action.agent
            if digit == self.menu.repeat_digit:
                playing = readout
                continue
            misses += 1
            if not digit or misses >= self.menu.max_misses:
                return None  # heard the information, asked for nobody: self-served
            await self.agi.stream_file(self._prompt(self.menu.invalid_prompt))
            playing = []  # after a wrong key, only the question again

    async def _area_of(self, digits: str) -> str | None:
        """The area the typed digits stand for: an account's area, else the digits when they
        look like an area code; None when they are neither (an unknown account)."""
        if not isinstance(self.outages, AccountAreas):
            return digits
        area = await self.outages.area_of_account(digits)
        if area is not None:
            return area
        return digits if AREA_CODE.fullmatch(digits) else None

    async def _unknown_number_prompt(self) -> str:
        text = self.menu.prompts.get(self.result.language, {}).get(UNKNOWN_NUMBER_PROMPT)
        if not text:
            return self._prompt(self.menu.invalid_prompt)
        return await self.voice.speak(self.result.language, text)  # spoken once, then cached

    async def _readout(self, outages: Sequence[Outage]) -> list[str]:
        cfg, lang = self.menu.outage, self.result.language
        if not outages:
            return [self._prompt(cfg.none_prompt)]
        names = [self._prompt(cfg.found_prompt)]
        for outage in sorted(outages, key=lambda o: o.start):
            names.append(await self.voice.speak(lang, outage_text(self.menu, lang, outage)))
        return names


def _service_of(target: Target) -> ServiceType | None:
    if isinstance(target, QueueTarget):
        return target.service
    if isinstance(target, ActionTarget):
        return ServiceType.OUTAGE_INFO
    return None


# A survey's call id, agent and queue (the channel's HL_CALLID / HL_AGENT / HL_QUEUE) keep
# their rules in hotline.core.ids (docs/security.md): a call id or agent out of shape is not
# asked nor stored, a queue or caller (the dialplan's FILTER(0-9+)) out of shape is left out.
_SERVICES = frozenset(s.value for s in ServiceType)


def parse_satisfaction(digits: str, scale: int) -> int | None:
    """'1'..str(scale) are answers; everything else is not."""
    if len(digits) == 1 and digits.isdigit() and 1 <= int(digits) <= scale:
        return int(digits)
    return None


async def _ask(agi: Agi, voice: Voice, menu: IvrMenu, lang: str, prompt: str, max_digits: int,
               parse: Callable[[str], int | None]) -> tuple[int | None, bool]:
    """One question, asked up to `attempts` times: the answer (None: no valid one) and whether
    the caller pressed any key at all."""
    cfg = menu.survey
    pressed = False
    for attempt in range(cfg.attempts):
        digits, _ = await agi.get_data(voice.menu_prompt(menu, lang, prompt),
                                       int(cfg.timeout_s * 1000), max_digits)
        answer = parse(digits)
        if answer is not None:
            return answer, True
        pressed = pressed or bool(digits)
        if digits and attempt + 1 < cfg.attempts:
            await agi.stream_file(voice.menu_prompt(menu, lang, cfg.invalid))
    return None, pressed


async def _channel(agi: Agi, name: str, pattern: str) -> str:
    value = await agi.get_variable(name) or ""
    return value if ids.is_valid(pattern, value) else ""


async def run_survey(menu: IvrMenu, voice: Voice, agi: Agi,
                     on_survey: OnSurvey) -> SurveyResponse | None:
    """Asks the caller the two questions after the agent hung up; hands the answers to
    on_survey (None: neither question was answered, or the call is out of shape)."""
    cfg = menu.survey
    call_id = await agi.get_variable("HL_CALLID") or agi.env.uniqueid
    agent_id = await agi.get_variable("HL_AGENT") or ""
    if not ids.is_valid(ids.CALL_ID_PATTERN, call_id) or (
            agent_id and not ids.is_valid(ids.AGENT_ID_PATTERN, agent_id)):
        log.warning("survey refused: call id %r, agent %r out of shape", call_id[:80],
                    agent_id[:80])
        return None
    lang = await agi.get_variable("HL_LANGUAGE") or menu.default_language
    if lang not in menu.languages:
        lang = menu.default_language
    # what the channel knows of the call, read while it is up (a hang-up ends all reads)
    service = await agi.get_variable("HL_SERVICE") or ""
    queue = await _channel(agi, "HL_QUEUE", ids.QUEUE_NAME_PATTERN)
    caller = await _channel(agi, "HL_CALLER", ids.PHONE_NUMBER_PATTERN)
    satisfaction, pressed = await _ask(agi, voice, menu, lang, cfg.prompt, 1,
                                       lambda d: parse_satisfaction(d, cfg.scale))
    if satisfaction is None and not pressed:
        # Not one key to the first question: the caller is not taking the survey (or has put
        # the phone down without hanging up); a second question would hold the line another
        # two prompts and timeouts for nothing.
        return None
    hung_up = False
    try:
        nps, _ = await _ask(agi, voice, menu, lang, cfg.nps_prompt, 2, parse_score)
    except AgiHangup:
        if satisfaction is None:
            raise
        nps, hung_up = None, True  # gone after the first answer: it is kept
    if satisfaction is None and nps is None:
        return None
    response = SurveyResponse(
        call_id=call_id, agent_id=agent_id, satisfaction=satisfaction, nps=nps,
        scale=cfg.scale, low=cfg.is_low(satisfaction, nps), queue=queue,
        service=service if service in _SERVICES else "", caller=caller,
        callback_within_s=cfg.callback_within_s, satisfied_to=cfg.satisfied_to,
        dissatisfied_from=cfg.dissatisfied_from)
    await on_survey(response)
    if not hung_up:
        await agi.set_variable("HL_SURVEY",
                               f"{satisfaction or ''}/{'' if nps is None else nps}")
        await agi.stream_file(voice.menu_prompt(menu, lang, cfg.thanks))
    return response


#: HL_IVR_RESULT while an answered IVR session walks the menus
IVR_UNFINISHED = "unfinished"


class IvrApp:
    """The AgiServer handler: `/ivr` runs the menus, `/survey` the survey.

    `menu` may be replaced at any time (hotline.ivr_menu.service.LiveMenu does, when the tree is
    changed through the API): each session takes the tree once, when it starts, and keeps it."""

    def __init__(self, menu: IvrMenu, voice: Voice, outages: OutageLookup,
                 on_survey: OnSurvey, clock: Callable[[], float]) -> None:
        self.menu, self.voice, self.outages = menu, voice, outages
        self.on_survey, self.clock = on_survey, clock

    async def __call__(self, agi: Agi) -> None:
        script, menu = agi.env.script, self.menu
        if script in ("ivr", "survey"):
            # answered: the dialplan's answer lease (HL_ANSWER) is lifted, so the walk through
            # the menus (or the survey's two questions) takes as long as it takes
            await agi.set_autohangup(0)
        if script == "ivr":
            # until the menus end (HL_IVR_RESULT queue or self_served): a session cut short
            # (its controller stepped down or died mid-walk) sends the caller on with its keys
            # marked as the menus' (asterisk-config/extensions.conf), never the callback key's
            await agi.set_variable("HL_IVR_RESULT", IVR_UNFINISHED)
            await IvrSession(menu, self.voice, self.outages, self.clock, agi).run()
        elif script == "survey":
            await run_survey(menu, self.voice, agi, self.on_survey)
        else:
            log.warning("AGI request for unknown script %r", script)
            await agi.verbose(f"hotline: unknown AGI script {script!r}")
