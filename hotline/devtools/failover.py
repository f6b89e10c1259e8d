"""A hot-standby pair against a real Asterisk, for the fail-over tests and bench.failover:
two `hotline controller` processes (the real CLI) sharing PostgreSQL and Redis, each with
its own FastAGI port and data directory, the node's dialplan listing both addresses; an AMI
link of the caller's own that judges everything from outside (docs/architecture.md, "Two
controllers")."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from hotline.centre.model import Centre
from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    ChannelCreated,
    Event,
    FailsafeTaken,
    RingNoAnswer,
    TalkEnded,
)
from hotline.core.settings import Settings
from hotline.devtools.watched_process import WatchedProcess
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node import box as asterisk_box
from hotline.telephony.node import render

REPO = Path(__file__).resolve().parents[2]


def pair_settings(settings: Settings, second_agi_port: int) -> tuple[Settings, Settings]:
    """The two controllers' settings: the same node, FastAGI on two ports, both listed."""
    both = [f"{settings.bind_host}:{settings.agi_port}",
            f"{settings.bind_host}:{second_agi_port}"]
    first = settings.model_copy(update={"controller_agi": both, "health_port": 0})
    return first, first.model_copy(update={"agi_port": second_agi_port})


async def use_dialplan(link: AmiLink, settings: Settings, centre: Centre) -> None:
    """The node's extensions.conf rendered from `settings` (its controller_agi), reloaded."""
    text = render.render_all(settings, centre.agents)["extensions.conf"]
    path = asterisk_box.root_dir(settings) / "etc/asterisk/extensions.conf"
    await asyncio.to_thread(path.write_text, text)
    await link.action("Command", Command="dialplan reload")


def _env(settings: Settings, database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        key = f"HOTLINE_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    env.update(HOTLINE_DATABASE_URL=database_url, HOTLINE_REDIS_URL=redis_url,
               HOTLINE_DATA_DIR=str(data_dir))
    return env


@dataclass
class ControllerProcess(WatchedProcess):
    """One `hotline controller` subprocess; its output lines kept (with the time each came)."""

    settings: Settings
    database_url: str
    redis_url: str
    data_dir: Path
    ready: bool = False

    async def start(self) -> None:
        args = [sys.executable, "-m", "hotline.process.cli", "controller"]
        if self.ready:
            args.append("--ready")
        await self.launch(args, _env(self.settings, self.database_url, self.redis_url,
                                     self.data_dir), REPO)


@dataclass
class Watch:
    """Every AMI event of the node, as an outside observer hears them."""

    seen: list[Event] = field(default_factory=list)
    fenced: list[dict[str, str]] = field(default_factory=list)

    def callers(self, prefix: str) -> dict[str, str]:
        """call id -> caller number, for callers whose number starts with `prefix`."""
        return {e.call_id: e.caller for e in self.seen
                if isinstance(e, ChannelCreated) and e.caller.startswith(prefix)
                and e.channel.startswith("PJSIP/caller-")}

    def answered(self) -> set[str]:
        return {e.call_id for e in self.seen if isinstance(e, CallAnswered)}

    def ended(self) -> set[str]:
        return {e.call_id for e in self.seen if isinstance(e, CallEnded)}

    def failsafe(self) -> set[str]:
        return {e.call_id for e in self.seen if isinstance(e, FailsafeTaken)}

    def double_offers(self, calls: set[str]) -> int:
        return len(self.doubled(calls))

    def doubled(self, calls: set[str]) -> list[str]:
        """Offers beyond one per call (an agent rung for a call that was already ringing or
        answered elsewhere, with no unanswered ring in between), plus an agent rung while it
        was on another call: the counts a double offer or a double booking would raise."""
        rung: Counter[str] = Counter()
        doubles: list[str] = []
        on_call: dict[str, str] = {}  # agent -> the call it talks on
        for e in self.seen:
            if isinstance(e, AgentRinging) and e.call_id in calls:
                rung[e.call_id] += 1
                if rung[e.call_id] > 1:
                    doubles.append(e.call_id)
                if on_call.get(e.agent_id, e.call_id) != e.call_id:
                    doubles.append(f"{e.agent_id} on {on_call[e.agent_id]} rung for {e.call_id}")
            elif isinstance(e, RingNoAnswer) and e.call_id in calls:
                rung[e.call_id] = max(rung[e.call_id] - 1, 0)
            elif isinstance(e, CallAnswered):
                on_call[e.agent_id] = e.call_id
            elif isinstance(e, TalkEnded):  # the agent left (the caller may take the survey)
                on_call.pop(e.agent_id, None)
            elif isinstance(e, CallEnded):
                for agent, call in list(on_call.items()):
                    if call == e.call_id:
                        del on_call[agent]
        return doubles


async def follow(link: AmiLink, watch: Watch) -> None:
    while True:
        watch.seen.append(await link.events.get())


async def epoch_changed(link: AmiLink, old: str | None, deadline_s: float) -> float:
    """When the node's AstDB epoch (hotline/epoch) moved on from `old` (polled every 20 ms)."""
    async with asyncio.timeout(deadline_s):
        while True:
            now = await link.db_get("hotline", "epoch")
            if now not in (None, "", old):
                return time.time()
            await asyncio.sleep(0.02)


def by_call(events: list[Event]) -> dict[str, list[Event]]:
    out: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        call_id = getattr(e, "call_id", "")
        if call_id:
            out[call_id].append(e)
    return out


__all__ = ["ControllerProcess", "Watch", "epoch_changed", "follow", "pair_settings",
           "use_dialplan"]
