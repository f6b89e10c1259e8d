"""The agent desk over the API through a real, not started Controller (the `desk` fixture of
tests/integration/desk/): its AMI link is a recording stand-in, its clock is set by hand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from hotline.api import Services
from hotline.core.events import CallEntered, CallQueued, IvrChoice
from hotline.core.values import ServiceType
from hotline.process.controller import Controller

T0 = 1_795_430_000.0
NODE = "n1"


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class RecordingLink:
    """Stands in for the AMI link: records what the controller asked Asterisk to do."""

    node: str = NODE
    redirects: list[tuple[str, str, str]] = field(default_factory=list)
    spies: list[tuple[str, str, str]] = field(default_factory=list)
    reloads: list[str] = field(default_factory=list)  # modules, and "members:<queue>"

    async def redirect(self, channel: str, context: str, exten: str) -> None:
        self.redirects.append((channel, context, exten))

    async def close(self) -> None:
        pass  # nothing to hang up: no connection was made

    async def spy(self, endpoint: str, agent_id: str, mode: str) -> None:
        self.spies.append((endpoint, agent_id, mode))

    async def reload_module(self, module: str) -> None:  # an agent change (NodeAgentFiles)
        self.reloads.append(module)

    async def queue_reload_members(self, queue: str) -> None:
        self.reloads.append(f"members:{queue}")

    async def channels(self) -> list[Any]:
        return []  # no live channel: an offer for a call that has ended meanwhile finds none


@dataclass
class Desk:
    client: httpx.AsyncClient
    services: Services
    controller: Controller
    link: RecordingLink
    clock: Clock
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    #: over the bus: writes the controller's agent records now, before each request (they
    #: are otherwise written within AcdServer.flush_s of a change: tests step the clock)
    publish: Callable[[], Awaitable[None]] | None = None
    #: over the bus: stops the controller's side of the bus (a clean stop: lease released)
    stop_bus: Callable[[], Awaitable[None]] | None = None

    async def lose_controller(self) -> None:
        """This API node has no controller any more: none attached, or none serving the bus."""
        if self.stop_bus is None:
            self.services.controller = None
        else:
            await self.stop_bus()
            self.publish = None

    async def _settle(self) -> None:
        if self.publish is not None:
            await self.publish()

    async def auth(self, user: str) -> dict[str, str]:
        """Development logins: every role and every agent, password = name."""
        if user not in self.tokens:
            r = await self.client.post("/api/auth/token", json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self.tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.tokens[user]

    async def post(self, user: str, path: str, body: Any = None) -> httpx.Response:
        await self._settle()
        return await self.client.post(path, json=body, headers=await self.auth(user))

    async def put(self, user: str, path: str, body: Any) -> httpx.Response:
        await self._settle()
        return await self.client.put(path, json=body, headers=await self.auth(user))

    async def get(self, user: str, path: str) -> httpx.Response:
        await self._settle()
        return await self.client.get(path, headers=await self.auth(user))

    def state(self, agent_id: str) -> str:
        return self.controller.router.agent(agent_id).state.value


def error(r: httpx.Response) -> dict[str, Any]:
    return r.json()["error"]  # type: ignore[no-any-return]


def ring_a_call(d: Desk, call_id: str, caller: str) -> None:
    """A caller goes through the IVR into the general queue (as the AMI pump feeds it)."""
    t = d.clock.t
    d.controller.handle(CallEntered(t, node=NODE, call_id=call_id, caller=caller,
                                   dialed="95598", channel=f"PJSIP/caller-{call_id}"))
    d.controller.handle(IvrChoice(t + 1, node=NODE, call_id=call_id, menu="lang", digit="1"))
    d.controller.handle(IvrChoice(t + 2, node=NODE, call_id=call_id, menu="main", digit="0",
                                 service=ServiceType.GENERAL))
    d.controller.handle(CallQueued(t + 3, node=NODE, call_id=call_id, queue="general",
                                  service=ServiceType.GENERAL, caller=caller))


__all__ = ["NODE", "T0", "Clock", "Desk", "RecordingLink", "error", "ring_a_call"]
