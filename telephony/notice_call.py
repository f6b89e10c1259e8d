"""The voice channel of customer notices (hotline/work_orders/notices.py names the channel
interface; SMS would be another): one spoken call (telephony/spoken_call.py) per notice, the
notice's id as the call's AstDB key (docs/dialplan-contract.md, "Notices to customers")."""

from __future__ import annotations

from hotline.telephony.ivr.prompts import PromptStore
from hotline.telephony.spoken_call import NoticeLink, SpokenCalls, SpokenResult
from hotline.telephony.spoken_call import refuse_unsafe as _refuse_call


def refuse_unsafe_id(notice_id: int) -> None:
    if isinstance(notice_id, bool) or not isinstance(notice_id, int) or notice_id < 1:
        raise ValueError(f"not a notice id: {notice_id!r}")


def refuse_unsafe(notice_id: int, number: str, prompt: str) -> None:
    """ValueError unless the notice's id, number and prompt may go to Asterisk."""
    refuse_unsafe_id(notice_id)
    _refuse_call(str(notice_id), number, [prompt])


class VoiceNotices:
    """Speaks a notice to a customer over a call (the `voice` channel)."""

    name = "voice"

    def __init__(self, link: NoticeLink, prompts: PromptStore, dial: str,
                 caller_id: str, ring_timeout_s: float = 30.0) -> None:
        self.calls = SpokenCalls(link, prompts, dial, caller_id, ring_timeout_s)

    async def send(self, notice_id: int, number: str, text: str, lang: str) -> SpokenResult:
        refuse_unsafe_id(notice_id)
        return await self.calls.call(str(notice_id), number, [(lang, text)])


__all__ = ["VoiceNotices", "refuse_unsafe"]
