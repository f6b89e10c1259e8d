"""The IVR menu tree as data: load and validate asterisk-config/ivr.toml.

A menu plays a prompt and waits for one digit. Each choice (a digit) leads to one target:
  - another menu (`goto`), optionally switching the language (`language`);
  - a queue with a service type and priority (`queue`, `service`, `priority`);
  - a self-service action (`action`, e.g. "outage_lookup"), which ends in a queue or a hangup.
`repeat_digit` replays the prompt. A timeout or an unknown digit counts as a miss; after
`max_misses` misses the caller goes to the fallback queue (general). A menu may name
`on_timeout`, a target taken at once on the first timeout (the language menu uses it: no
choice means the default language).

Validation names the file, the menu and the fault: unknown targets, menus no path reaches,
duplicate digits, prompts missing in a language, unknown services or actions.

The tree is stored in PostgreSQL as JSON of the same shape as the file (`to_data`), and edited
through the configuration API (hotline/centre/service.py); the file only seeds it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.core.errors import InvalidRequest
from hotline.core.settings import REPO_ROOT
from hotline.core.values import MAX_CALL_PRIORITY, ServiceType

DEFAULT_PATH = REPO_ROOT / "asterisk-config" / "ivr.toml"
# '#' ends GET DATA's input, so it cannot be a menu choice
DIGITS = frozenset("0123456789*")
ACTIONS = frozenset({"outage_lookup"})


class MenuError(InvalidRequest, ValueError):
    """ivr.toml is not a valid menu tree; the message says where and why."""


@dataclass(frozen=True, slots=True)
class QueueTarget:
    queue: str
    service: ServiceType
    priority: int = 0


@dataclass(frozen=True, slots=True)
class GotoTarget:
    menu: str
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ActionTarget:
    action: str
    agent: QueueTarget  # where "0 for an agent" goes after the self-service


Target = QueueTarget | GotoTarget | ActionTarget


@dataclass(frozen=True, slots=True)
class Menu:
    name: str
    prompt: str
    choices: Mapping[str, Target]
    on_timeout: Target | None = None


@dataclass(frozen=True, slots=True)
class SurveyConfig:
    """The post-call survey (docs/metrics.md, "Survey"): two questions, satisfaction on the
    centre's scale (1 = very satisfied .. `scale` = very dissatisfied, one digit), then the
    fixed NPS question (0-10, two digits). An answer is low when its satisfaction is
    `low_satisfaction_from` or worse, or its NPS `low_nps_to` or less: the supervisor page is
    alerted and a callback order (回访) is made, due `callback_within_s` later."""

    prompt: str = "survey-satisfaction"
    nps_prompt: str = "survey-nps"
    thanks: str = "survey-thanks"
    invalid: str = "invalid"
    timeout_s: float = 6.0
    attempts: int = 2
    scale: int = 5
    satisfied_to: int = 2  # 1..satisfied_to: satisfied (满意)
    dissatisfied_from: int = 4  # dissatisfied_from..scale: dissatisfied (不满意)
    low_satisfaction_from: int = 4
    low_nps_to: int = 6
    callback_within_s: float = 24 * 3600

    def is_low(self, satisfaction: int | None, nps: int | None) -> bool:
        return ((satisfaction is not None and satisfaction >= self.low_satisfaction_from)
                or (nps is not None and nps <= self.low_nps_to))

    def faults(self) -> list[str]:
        out = []
        if not 2 <= self.scale <= 9:  # one DTMF digit, 1..scale
            out.append(f"survey.scale must be 2..9, not {self.scale}")
        if not 1 <= self.satisfied_to < self.dissatisfied_from <= self.scale:
            out.append("survey: need 1 <= satisfied_to < dissatisfied_from <= scale")
        if not 1 <= self.low_satisfaction_from <= self.scale + 1:
            out.append("survey.low_satisfaction_from must be 1..scale+1 (scale+1: never)")
        if not -1 <= self.low_nps_to <= 10:
            out.append("survey.low_nps_to must be -1..10 (-1: never)")
        if self.callback_within_s <= 0 or self.attempts < 1 or self.timeout_s <= 0:
            out.append("survey: callback_within_s, attempts and timeout_s must be > 0")
        return out


def _seed_survey_texts() -> dict[str, dict[str, str]]:
    """The survey questions of the seed file (asterisk-config/ivr.toml), by language."""
    with DEFAULT_PATH.open("rb") as f:
        prompts = tomllib.load(f).get("prompts", {})
    keys = (SurveyConfig().prompt, SurveyConfig().nps_prompt)
    return {lang: {k: t[k] for k in keys if k in t} for lang, t in prompts.items()}


def _survey(raw: Mapping[str, Any]) -> SurveyConfig:
    if "nps_prompt" not in raw:  # the one-question survey (0-10): keep its timing only
        raw = {k: v for k, v in raw.items() if k in ("thanks", "invalid", "timeout_s",
                                                     "attempts")}
    return SurveyConfig(**raw)


def _with_survey_texts(prompts: Mapping[str, Mapping[str, str]],
                       survey: SurveyConfig) -> dict[str, dict[str, str]]:
    """A tree saved before the two-question survey (no texts for its questions) gets the
    seed file's."""
    out = {lang: dict(texts) for lang, texts in prompts.items()}
    keys = (survey.prompt, survey.nps_prompt)
    if all(k in texts for texts in out.values() for k in keys):
        return out
    seed = _seed_survey_texts()
    for lang, texts in out.items():
        for key in keys:
            if key not in texts and key in seed.get(lang, {}):
                texts[key] = seed[lang][key]
    return out


@dataclass(frozen=True, slots=True)
class OutageConfig:
    enter_prompt: str = "outage-enter"
    none_prompt: str = "outage-none"
    found_prompt: str = "outage-found"
    after_prompt: str = "outage-after"
    goodbye_prompt: str = "goodbye"
    max_digits: int = 20
    timeout_s: float = 8.0


@dataclass(frozen=True, slots=True)
class IvrMenu:
    start: str
    languages: tuple[str, ...]
    default_language: str
    timeout_s: float
    max_misses: int
    repeat_digit: str
    invalid_prompt: str
    fallback: QueueTarget
    menus: Mapping[str, Menu]
    prompts: Mapping[str, Mapping[str, str]]  # language -> prompt key -> text
    # language -> name -> text with {fields}, spoken at run time (an outage's details)
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    timezone: str = "Asia/Shanghai"  # how outage times are read out
    survey: SurveyConfig = field(default_factory=SurveyConfig)
    outage: OutageConfig = field(default_factory=OutageConfig)

    def prompt_text(self, language: str, key: str) -> str:
        return self.prompts[language][key]

    def used_templates(self) -> set[str]:
        """Which run-time templates the tree needs ("outage" when an outage action exists)."""
        return {"outage" for m in self.menus.values() for t in _targets(m)
                if isinstance(t, ActionTarget) and t.action == "outage_lookup"}

    def used_queues(self) -> set[str]:
        """Every queue a caller can reach through the menus (the fallback included)."""
        out = {self.fallback.queue}
        for m in self.menus.values():
            for t in _targets(m):
                if isinstance(t, QueueTarget):
                    out.add(t.queue)
                elif isinstance(t, ActionTarget):
                    out.add(t.agent.queue)
        return out

    def queue_refs(self) -> list[tuple[str, str]]:
        """(where, queue) for every queue target, where as in validation messages."""
        out = [("ivr.fallback", self.fallback.queue)]
        for m in self.menus.values():
            targets: list[tuple[str, Target | None]] = [
                (f"menus.{m.name} digit {d}", t) for d, t in m.choices.items()]
            targets.append((f"menus.{m.name}.on_timeout", m.on_timeout))
            for where, t in targets:
                if isinstance(t, QueueTarget):
                    out.append((where, t.queue))
                elif isinstance(t, ActionTarget):
                    out.append((f"{where}.agent", t.agent.queue))
        return out

    def used_prompts(self) -> set[str]:
        keys = {m.prompt for m in self.menus.values()} | {self.invalid_prompt}
        keys |= {self.survey.prompt, self.survey.nps_prompt, self.survey.thanks,
                 self.survey.invalid}
        if any(isinstance(t, ActionTarget) for m in self.menus.values()
               for t in _targets(m)):
            o = self.outage
            keys |= {o.enter_prompt, o.none_prompt, o.found_prompt, o.after_prompt,
                     o.goodbye_prompt}
        return keys


def _targets(menu: Menu) -> list[Target]:
    out = list(menu.choices.values())
    if menu.on_timeout is not None:
        out.append(menu.on_timeout)
    return out


# --------------------------------------------------------------------------------------------
# Parsing


def _fail(where: str, why: str) -> MenuError:
    return MenuError(f"{where}: {why}")


def _service(where: str, value: Any) -> ServiceType:
    try:
        return ServiceType(str(value))
    except ValueError:
        known = ", ".join(s.value for s in ServiceType)
        raise _fail(where, f"unknown service {value!r} (known: {known})") from None


def _queue(where: str, raw: Mapping[str, Any]) -> QueueTarget:
    if not isinstance(raw.get("queue"), str) or not raw["queue"]:
        raise _fail(where, "a queue target needs queue = \"name\"")
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise _fail(where, f"priority must be an integer, not {priority!r}")
    if abs(priority) > MAX_CALL_PRIORITY:
        raise _fail(where, f"priority must be within ±{MAX_CALL_PRIORITY}, not {priority}")
    return QueueTarget(raw["queue"], _service(where, raw.get("service", raw["queue"])), priority)


def _target(where: str, raw: Any) -> Target:
    if not isinstance(raw, Mapping):
        raise _fail(where, f"a target is a table, not {raw!r}")
    kinds = [k for k in ("goto", "queue", "action") if raw.get(k) is not None]
    if len(kinds) != 1:
        raise _fail(where, "a target needs exactly one of goto / queue / action")
    if kinds[0] == "goto":
        lang = raw.get("language")
        return GotoTarget(str(raw["goto"]), None if lang is None else str(lang))
    if kinds[0] == "queue":
        return _queue(where, raw)
    action = raw["action"]
    if action not in ACTIONS:
        raise _fail(where, f"unknown action {action!r} (known: {', '.join(sorted(ACTIONS))})")
    if "agent" not in raw:
        raise _fail(where, "an action needs agent = { queue = ..., service = ... }")
    return ActionTarget(action, _queue(f"{where}.agent", raw["agent"]))


def _menu(name: str, raw: Mapping[str, Any], repeat_digit: str) -> Menu:
    where = f"menus.{name}"
    if not isinstance(raw.get("prompt"), str):
        raise _fail(where, "needs prompt = \"key\"")
    choices: dict[str, Target] = {}
    for i, choice in enumerate(raw.get("choices", [])):
        digit = str(choice.get("digit", ""))
        here = f"{where}.choices[{i}]"
        if digit not in DIGITS:
            raise _fail(here, f"digit must be one of 0-9 *, not {digit!r}")
        if digit in choices:
            raise _fail(here, f"duplicate digit {digit!r}")
        if digit == repeat_digit:
            raise _fail(here, f"digit {digit!r} is the repeat digit")
        choices[digit] = _target(here, {k: v for k, v in choice.items() if k != "digit"})
    if not choices:
        raise _fail(where, "a menu needs at least one [[choices]] entry")
    on_timeout = raw.get("on_timeout")
    return Menu(name, raw["prompt"], choices,
                None if on_timeout is None else _target(f"{where}.on_timeout", on_timeout))


def parse(data: Mapping[str, Any], source: str = "ivr.toml") -> IvrMenu:
    try:
        ivr = data["ivr"]
        languages = tuple(ivr["languages"])
        repeat = str(ivr.get("repeat_digit", "*"))
        survey = _survey(data.get("survey", {}))
        menu = IvrMenu(
            start=ivr["start"],
            languages=languages,
            default_language=ivr.get("default_language", languages[0] if languages else ""),
            timeout_s=float(ivr.get("timeout_s", 5)),
            max_misses=int(ivr.get("max_misses", 3)),
            repeat_digit=repeat,
            invalid_prompt=ivr.get("invalid_prompt", "invalid"),
            fallback=_queue("ivr.fallback", ivr.get("fallback", {"queue": "general"})),
            menus={n: _menu(n, m, repeat) for n, m in data.get("menus", {}).items()},
            prompts=_with_survey_texts(data.get("prompts", {}), survey),
            templates={lang: dict(t) for lang, t in data.get("templates", {}).items()},
            timezone=str(ivr.get("timezone", "Asia/Shanghai")),
            survey=survey,
            outage=OutageConfig(**data.get("outage", {})),
        )
    except MenuError as exc:
        raise MenuError(f"{source}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise MenuError(f"{source}: malformed ({type(exc).__name__}: {exc})") from None
    validate(menu, source)
    return menu


def to_data(menu: IvrMenu) -> dict[str, Any]:
    """The menu in the file's shape (JSON-ready); `parse(to_data(m))` gives `m` back."""
    return {
        "ivr": {"start": menu.start, "languages": list(menu.languages),
                "default_language": menu.default_language, "timezone": menu.timezone,
                "timeout_s": menu.timeout_s, "max_misses": menu.max_misses,
                "repeat_digit": menu.repeat_digit, "invalid_prompt": menu.invalid_prompt,
                "fallback": _target_data(menu.fallback)},
        "menus": {name: {"prompt": m.prompt,
                         "choices": [{"digit": d, **_target_data(t)}
                                     for d, t in m.choices.items()],
                         **({"on_timeout": _target_data(m.on_timeout)}
                            if m.on_timeout is not None else {})}
                  for name, m in menu.menus.items()},
        "prompts": {lang: dict(texts) for lang, texts in menu.prompts.items()},
        "templates": {lang: dict(t) for lang, t in menu.templates.items()},
        "survey": asdict(menu.survey),
        "outage": asdict(menu.outage),
    }


def _target_data(t: Target) -> dict[str, Any]:
    if isinstance(t, QueueTarget):
        return {"queue": t.queue, "service": t.service.value, "priority": t.priority}
    if isinstance(t, GotoTarget):
        return {"goto": t.menu, **({"language": t.language} if t.language else {})}
    return {"action": t.action, "agent": _target_data(t.agent)}


def load(path: Path = DEFAULT_PATH) -> IvrMenu:
    with path.open("rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise MenuError(f"{path}: not TOML: {exc}") from None
    return parse(data, str(path))


# --------------------------------------------------------------------------------------------
# Validation


def validate(menu: IvrMenu, source: str = "ivr.toml") -> None:
    errors: list[str] = []
    if not menu.languages:
        errors.append("ivr.languages is empty")
    if menu.default_language not in menu.languages:
        errors.append(f"default_language {menu.default_language!r} is not in languages")
    if menu.repeat_digit not in DIGITS:
        errors.append(f"repeat_digit must be one of 0-9 *, not {menu.repeat_digit!r}")
    if menu.max_misses < 1 or menu.timeout_s <= 0:
        errors.append("max_misses must be >= 1 and timeout_s > 0")
    errors += menu.survey.faults()
    try:
        ZoneInfo(menu.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        errors.append(f"unknown timezone {menu.timezone!r}")
    if menu.start not in menu.menus:
        errors.append(f"start menu {menu.start!r} is not defined")
    for m in menu.menus.values():
        for t in _targets(m):
            if isinstance(t, GotoTarget):
                if t.menu not in menu.menus:
                    errors.append(f"menus.{m.name}: goto unknown menu {t.menu!r}")
                if t.language is not None and t.language not in menu.languages:
                    errors.append(f"menus.{m.name}: unknown language {t.language!r}")
    errors += [f"menus.{n}: unreachable from the start menu {menu.start!r}"
               for n in sorted(set(menu.menus) - _reachable(menu))]
    for lang in menu.languages:
        texts = menu.prompts.get(lang, {})
        missing = sorted(menu.used_prompts() - set(texts))
        if missing:
            errors.append(f"prompts.{lang}: missing {', '.join(missing)}")
        errors += [f"prompts.{lang}.{k}: empty text" for k, v in texts.items() if not v.strip()]
        # the text is an argument of espeak-ng: a leading '-' would be read as an option
        errors += [f"prompts.{lang}.{k}: text must not start with '-'"
                   for k, v in texts.items() if v.lstrip().startswith("-")]
        if "outage" in menu.used_templates() and "outage" not in menu.templates.get(lang, {}):
            errors.append(f"templates.{lang}: missing outage")
    for lang, templates in menu.templates.items():
        for name, text in templates.items():
            try:  # filled in during a call: a bad field must fail here, not in the call
                text.format(area="", start="", end="", reason="")
            except (KeyError, IndexError, ValueError) as exc:
                errors.append(f"templates.{lang}.{name}: {type(exc).__name__}: {exc} "
                              "(fields: {area} {start} {end} {reason})")
    if errors:
        raise MenuError(f"{source}: " + "; ".join(errors))


def _reachable(menu: IvrMenu) -> set[str]:
    seen: set[str] = set()
    todo = [menu.start] if menu.start in menu.menus else []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [t.menu for t in _targets(menu.menus[name])
                 if isinstance(t, GotoTarget) and t.menu in menu.menus]
    return seen
