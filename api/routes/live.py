"""The live socket: /ws/live?token=...&queues=a,b (see api/live_socket.py for the protocol)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from ..deps import ServicesDep, SignerDep
from ..live_socket import BAD_REQUEST, FORBIDDEN, UNAUTHORIZED, LiveSession, parse_queues
from ..security import ALL_ROLES, TokenError

router = APIRouter(tags=["live"])


@router.websocket("/ws/live")
async def live(
    ws: WebSocket,
    services: ServicesDep,
    signer: SignerDep,
    token: str = "",
    queues: str = "",
) -> None:
    # Accept first: a close before accepting reaches a browser as a bare HTTP 403, without
    # the code and reason that tell the page to log in again.
    await ws.accept()
    try:
        claims = signer.verify(token)
    except TokenError as exc:
        await ws.close(UNAUTHORIZED, f"token {exc.reason}: log in again")
        return
    if not claims.has_any(ALL_ROLES):
        await ws.close(FORBIDDEN, "your role may not watch the live feed")
        return
    try:
        chosen = parse_queues(queues or None)
    except ValueError as exc:
        await ws.close(BAD_REQUEST, str(exc))
        return
    await LiveSession(ws, services, signer, claims, chosen).run()
