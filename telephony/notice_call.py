"""The voice channel of customer notices: an outbound call through Asterisk that speaks a
message (hotline/work_orders/notices.py names the channel interface; SMS would be another).

The text is spoken once into a prompt (espeak-ng, cached by hash: telephony/ivr/prompts.py),
then an AMI Originate rings the customer (Settings.callback_dial, as a callback does) into
the dialplan context `hotline-notice`, which plays the prompt and, once it played to its end,
writes AstDB `hotline-notice/<notice id>` = the PLAYBACKSTATUS. The channel reads that key
back: SUCCESS is a delivered notice; no answer, busy, a hang-up before the end or a failed
playback is not (docs/dialplan-contract.md, "Notices to customers").

Values that reach Asterisk are checked here, where they enter (docs/dialplan-contract.md,
"Values that reach Asterisk"): the number is a phone number, the notice id digits, the prompt
a path of our own making.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Protocol

from hotline.core import ids
from hotline.telephony.ami.errors import AmiError
from hotline.telephony.ivr.prompts import PromptError, PromptStore

log = logging.getLogger("hotline.telephony.notice_call")

NOTICE_CONTEXT = "hotline-notice"
DB_FAMILY = "hotline-notice"
#: what the dialplan writes when the prompt played to its end
PLAYED = "SUCCESS"
_PROMPT_NAME = re.compile(r"^/[\w/.-]{1,200}$")
#: 8 kHz 16-bit mono slin: bytes per second of a prompt
_SLN_BYTES_PER_S = 16_000


class NoticeLink(Protocol):
    """What the channel needs of an AMI link (telephony/ami/link.py AmiLink)."""

    async def action(self, name: str, timeout_s: float = 5.0, **fields: str) -> object: ...

    async def db_get(self, family: str, key: str) -> str | None: ...

    async def db_del(self, family: str, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class CallResult:
    delivered: bool
    detail: str


def refuse_unsafe(notice_id: int, number: str, prompt: str) -> None:
    """ValueError unless every value bound for Asterisk has the form it must."""
    if not ids.is_valid(ids.PHONE_NUMBER_PATTERN, number):
        raise ValueError(f"not a phone number: {number!r}")
    if isinstance(notice_id, bool) or not isinstance(notice_id, int) or notice_id < 1:
        raise ValueError(f"not a notice id: {notice_id!r}")
    if not _PROMPT_NAME.fullmatch(prompt) or ".." in prompt:
        raise ValueError(f"not a prompt of ours: {prompt!r}")


class VoiceNotices:
    """Speaks a notice to a customer over a call (the `voice` channel)."""

    name = "voice"

    def __init__(self, link: NoticeLink, prompts: PromptStore, dial: str,
                 caller_id: str, ring_timeout_s: float = 30.0) -> None:
        self.link, self.prompts, self.dial = link, prompts, dial
        self.caller_id, self.ring_timeout_s = caller_id, ring_timeout_s

    async def send(self, notice_id: int, number: str, text: str, lang: str) -> CallResult:
        try:
            prompt = await self.prompts.speak(lang, text)
        except PromptError as exc:
            return CallResult(False, f"message not spoken: {exc}")
        refuse_unsafe(notice_id, number, prompt)
        key = str(notice_id)
        await self.link.db_del(DB_FAMILY, key)  # a key left by an earlier run says nothing
        try:
            reply = await self.link.action(
                "Originate", timeout_s=self.ring_timeout_s + 10,
                Channel=self.dial.format(number=number), Context=NOTICE_CONTEXT, Exten="s",
                Priority="1", CallerID=self.caller_id,
                Timeout=str(int(self.ring_timeout_s * 1000)), Async="true",
                Variable=f"HL_NOTICE_ID={key},HL_NOTICE_PROMPT={prompt}")
        except AmiError as exc:
            return CallResult(False, f"call not placed: {exc}")
        end = getattr(reply, "end", None)
        if end is None or (end.get("Response") or "").lower() != "success":
            reason = end.get("Reason") if end is not None else "?"
            return CallResult(False, f"not answered (reason {reason})")
        # answered: the message plays; its end (or none, after a hang-up) is read back
        deadline = time.monotonic() + self._length_s(prompt) + 15.0
        while time.monotonic() < deadline:
            status = await self.link.db_get(DB_FAMILY, key)
            if status is not None:
                await self.link.db_del(DB_FAMILY, key)
                if status == PLAYED:
                    return CallResult(True, "answered, message played to its end")
                return CallResult(False, f"answered, playback {status or 'failed'}")
            await asyncio.sleep(0.25)  # AstDB has no change events over AMI: read it again
        return CallResult(False, "answered, hung up before the message ended")

    def _length_s(self, prompt: str) -> float:
        relative = prompt.removeprefix(self.prompts.in_root).lstrip("/")
        try:
            size = (self.prompts.directory / f"{relative}.sln").stat().st_size
        except OSError:
            return 60.0
        return size / _SLN_BYTES_PER_S


__all__ = ["CallResult", "NoticeLink", "VoiceNotices", "refuse_unsafe"]
