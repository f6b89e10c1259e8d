"""An outbound call that speaks a message: the one way the platform rings a customer to tell
them something (a work order's deadline notice, telephony/notice_call.py; an outage
campaign's notice, hotline/campaigns/). Each text is spoken once into a prompt (espeak-ng,
cached by hash: telephony/ivr/prompts.py); an AMI Originate rings the number (a dial
template with {number}, Settings.callback_dial) into the dialplan context `hotline-notice`,
which plays the prompts one after the other and, once they played to their end, writes AstDB
`hotline-notice/<key>` = the PLAYBACKSTATUS. The caller reads that key back.

The result is one of `CallStatus`: played (to its end), hung_up (answered, not to the end),
no_answer, busy, failed (not placed, refused, congestion, no prompt). The Originate's reason
codes are Asterisk's control frames (AST_CONTROL_*): 4 answered, 3 rang out, 5 busy,
8 congestion, 1 hung up before answering, 0 not placed.

Values that reach Asterisk are checked here, where they enter (docs/dialplan-contract.md,
"Values that reach Asterisk"): the number is a phone number, the key `c`/digits, the prompts
paths of our own making.
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from hotline.core import ids
from hotline.telephony.ami.errors import AmiError
from hotline.telephony.ivr.prompts import PromptError, PromptStore

NOTICE_CONTEXT = "hotline-notice"
DB_FAMILY = "hotline-notice"
#: what the dialplan writes when the prompts played to their end
PLAYED = "SUCCESS"
_PROMPT_NAME = re.compile(r"^/[\w/.-]{1,200}$")
#: a call's AstDB key: a notice's id, or `c` and a campaign attempt's id
_KEY = re.compile(r"^c?[1-9][0-9]{0,18}$")
#: 8 kHz 16-bit mono slin: bytes per second of a prompt
_SLN_BYTES_PER_S = 16_000
#: at most this many prompts in one call (Playback's `&` list)
MAX_PARTS = 4


class CallStatus(enum.StrEnum):
    PLAYED = "played"
    HUNG_UP = "hung_up"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


#: OriginateResponse Reason -> the status of a call that was not answered
_NOT_ANSWERED = {"3": CallStatus.NO_ANSWER, "5": CallStatus.BUSY}


class NoticeLink(Protocol):
    """What a spoken call needs of an AMI link (telephony/ami/link.py AmiLink)."""

    async def action(self, name: str, timeout_s: float = 5.0, **fields: str) -> object: ...

    async def db_get(self, family: str, key: str) -> str | None: ...

    async def db_del(self, family: str, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SpokenResult:
    status: CallStatus
    detail: str
    answered_at: float | None = None  # wall clock, when the number answered

    @property
    def delivered(self) -> bool:
        return self.status is CallStatus.PLAYED


def refuse_unsafe(key: str, number: str, prompts: Sequence[str]) -> None:
    """ValueError unless every value bound for Asterisk has the form it must."""
    if not ids.is_valid(ids.PHONE_NUMBER_PATTERN, number):
        raise ValueError(f"not a phone number: {number!r}")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"not a call key: {key!r}")
    if not 1 <= len(prompts) <= MAX_PARTS:
        raise ValueError(f"{len(prompts)} prompts: 1 to {MAX_PARTS}")
    for prompt in prompts:
        if not _PROMPT_NAME.fullmatch(prompt) or ".." in prompt:
            raise ValueError(f"not a prompt of ours: {prompt!r}")


class SpokenCalls:
    """Rings numbers through one AMI link and speaks messages to them."""

    def __init__(self, link: NoticeLink, prompts: PromptStore, dial: str, caller_id: str,
                 ring_timeout_s: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        if "{number}" not in dial:
            raise ValueError(f"a dial template needs {{number}}: {dial!r}")
        self.link, self.prompts, self.dial = link, prompts, dial
        self.caller_id, self.ring_timeout_s, self.clock = caller_id, ring_timeout_s, clock

    async def call(self, key: str, number: str,
                   parts: Sequence[tuple[str, str]]) -> SpokenResult:
        """Rings `number` and plays each (lang, text) of `parts`, in order."""
        try:
            prompts = [await self.prompts.speak(lang, text) for lang, text in parts]
        except PromptError as exc:
            return SpokenResult(CallStatus.FAILED, f"message not spoken: {exc}")
        refuse_unsafe(key, number, prompts)
        try:
            await self.link.db_del(DB_FAMILY, key)  # a key left by an earlier run says nothing
            reply = await self.link.action(
                "Originate", timeout_s=self.ring_timeout_s + 10,
                Channel=self.dial.format(number=number), Context=NOTICE_CONTEXT, Exten="s",
                Priority="1", CallerID=self.caller_id,
                Timeout=str(int(self.ring_timeout_s * 1000)), Async="true",
                Variable=f"HL_NOTICE_ID={key},HL_NOTICE_PROMPT={'&'.join(prompts)}")
        except AmiError as exc:
            return SpokenResult(CallStatus.FAILED, f"call not placed: {exc}")
        end = getattr(reply, "end", None)
        if end is None or (end.get("Response") or "").lower() != "success":
            reason = (end.get("Reason") if end is not None else None) or "?"
            return SpokenResult(_NOT_ANSWERED.get(reason, CallStatus.FAILED),
                                f"not answered (reason {reason})")
        answered_at = self.clock()
        # answered: the message plays; its end (or none, after a hang-up) is read back
        deadline = time.monotonic() + sum(map(self._length_s, prompts)) + 15.0
        while time.monotonic() < deadline:
            try:
                status = await self.link.db_get(DB_FAMILY, key)
                if status is not None:
                    await self.link.db_del(DB_FAMILY, key)
            except AmiError as exc:  # answered: not rung again, though the end is unknown
                return SpokenResult(CallStatus.HUNG_UP, f"answered, end unknown: {exc}",
                                    answered_at)
            if status is not None:
                if status == PLAYED:
                    return SpokenResult(CallStatus.PLAYED, "answered, message played to its end",
                                        answered_at)
                return SpokenResult(CallStatus.HUNG_UP,
                                    f"answered, playback {status or 'failed'}", answered_at)
            await asyncio.sleep(0.25)  # AstDB has no change events over AMI: read it again
        return SpokenResult(CallStatus.HUNG_UP, "answered, hung up before the message ended",
                            answered_at)

    def _length_s(self, prompt: str) -> float:
        relative = prompt.removeprefix(self.prompts.in_root).lstrip("/")
        try:
            size = (self.prompts.directory / f"{relative}.sln").stat().st_size
        except OSError:
            return 60.0
        return size / _SLN_BYTES_PER_S


__all__ = ["CallStatus", "NoticeLink", "SpokenCalls", "SpokenResult", "refuse_unsafe"]
