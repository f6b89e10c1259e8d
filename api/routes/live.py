"""The live socket over ASGI: /ws/live?token=...&queues=a,b (api/live_socket.py), for one-port
deployments and API nodes without the dedicated live server; and GET /api/live-endpoint,
which tells the pages where to connect (the dedicated server of api/live_broadcast.py when
it runs, else this socket)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, WebSocket
from pydantic import BaseModel, Field

from hotline.api.deps import ServicesDep, SignerDep, Viewer
from hotline.api.errors import ErrorResponse
from hotline.api.live_rules import Refusal, admit
from hotline.api.live_socket import LiveSession

router = APIRouter(tags=["live"])
LIVE_PATH = "/ws/live"


class LiveEndpoint(BaseModel):
    """Where the live socket listens. A client builds ws(s)://host:port/path?token=...,
    taking its own page's host and port where these are null."""

    server: Literal["broadcast", "asgi"] = Field(
        description="broadcast: the dedicated live server; asgi: this API's own socket"
    )
    host: str | None = Field(description="null: the host the API was reached at")
    port: int | None = Field(description="null: the API's own port")
    path: str = LIVE_PATH


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
}


@router.get("/api/live-endpoint", responses=ERRORS)
async def live_endpoint(_: Viewer, request: Request) -> LiveEndpoint:
    """Where to open the live socket (see docs/live-api.md); ask before every connection."""
    broadcaster = getattr(request.app.state, "live_broadcaster", None)
    if broadcaster is None:
        return LiveEndpoint(server="asgi", host=None, port=None)
    return LiveEndpoint(
        server="broadcast", host=broadcaster.advertised_host, port=broadcaster.port
    )


@router.websocket(LIVE_PATH)
async def live(
    ws: WebSocket,
    services: ServicesDep,
    signer: SignerDep,
    token: str = "",
    queues: str = "",
) -> None:
    await ws.accept()  # before any close: see live_rules.admit
    try:
        claims, chosen = admit(signer, token, queues)
    except Refusal as refusal:
        await ws.close(refusal.code, refusal.reason)
        return
    await LiveSession(ws, services, signer, claims, chosen).run()
