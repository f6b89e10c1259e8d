"""An AGI session without a socket: answers at the AGI command level
(`command(name, *args) -> AgiReply`), so `Agi`'s typed commands and the IVR runner are
exercised together; and a voice that names what it would speak."""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.ivr_menu.model import IvrMenu
from hotline.telephony.agi.server import AgiReply, parse_reply

TIMEOUT = None  # a GET DATA that times out with no digit


@dataclass
class ScriptedAgi:
    """Each GET DATA takes the next input: digits, or TIMEOUT. '!d' interrupts a STREAM FILE
    that allows d (the readout); other STREAM FILEs take no input."""

    inputs: list[str | None]
    variables: dict[str, str] = field(default_factory=dict)
    played: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    hung_up: bool = False
    autohangup: list[str] = field(default_factory=list)  # SET AUTOHANGUP's seconds, in order

    async def command(self, name: str, *args: str) -> AgiReply:
        if self.hung_up:
            return parse_reply("511 Command Not Permitted on a dead channel")
        if name == "GET DATA":
            self.played.append(args[0])
            if not self.inputs:
                return parse_reply("200 result=-1")  # the caller hung up
            got = self.inputs.pop(0)
            assert got is None or not got.startswith("!"), f"GET DATA got {got!r}"
            if got is None:
                return parse_reply("200 result= (timeout)")
            return parse_reply(f"200 result={got.split('#')[0]}")  # '#' ends the input
        if name == "STREAM FILE":
            self.played.append(args[0])
            nxt = self.inputs[0] if self.inputs else None
            if nxt and nxt.startswith("!") and nxt[1] in args[1]:
                self.inputs.pop(0)
                return parse_reply(f"200 result={ord(nxt[1])} endpos=100")
            return parse_reply("200 result=0 endpos=8000")
        if name == "SET AUTOHANGUP":
            self.autohangup.append(args[0])
            return parse_reply("200 result=0")
        if name == "SET VARIABLE":
            self.variables[args[0]] = args[1]
            return parse_reply("200 result=1")
        if name == "GET VARIABLE":
            value = self.variables.get(args[0])
            return parse_reply("200 result=0" if value is None else f"200 result=1 ({value})")
        if name == "EXEC":
            assert args[0] == "UserEvent"
            self.events.append(args[1])
            return parse_reply("200 result=0")
        if name == "HANGUP":
            self.hung_up = True
            return parse_reply("200 result=1")
        raise AssertionError(f"unexpected AGI command {name} {args}")


class FakeVoice:
    def __init__(self) -> None:
        self.spoken: list[str] = []

    def menu_prompt(self, menu: IvrMenu, lang: str, key: str) -> str:
        return f"{lang}/{key}"

    async def speak(self, lang: str, text: str) -> str:
        self.spoken.append(text)
        return f"{lang}/tts/{len(self.spoken)}"


__all__ = ["TIMEOUT", "FakeVoice", "ScriptedAgi"]
