"""Liveness, readiness and Prometheus metrics of a process (docs/operations.md).

`Readiness` holds named checks; each is an async callable returning None (ready) or a short
reason. `/healthz` answers 200 while the process serves; `/readyz` runs every check (each
within `CHECK_TIMEOUT_S`) and answers 200, or 503 with the checks that failed and why. No
data beyond booleans and reasons: they are unauthenticated (docs/security.md).

`render_ready` and `render_metrics` are shared with the controller's small health listener
(hotline.process.health_listener), which has no FastAPI app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

#: A check: None when ready, else why not (one line, no data)
Check = Callable[[], Awaitable[str | None]]
CHECK_TIMEOUT_S = 1.0


@dataclass
class Readiness:
    checks: dict[str, Check] = field(default_factory=dict)

    async def probe(self) -> dict[str, str | None]:
        """Every check at once: name -> None (ready) or the reason."""
        names = list(self.checks)
        results = await asyncio.gather(*(_bounded(self.checks[n]) for n in names))
        return dict(zip(names, results, strict=True))


async def _bounded(check: Check) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await check()
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g} s"
    except Exception as exc:  # a check must say "not ready", never fail the probe
        return f"{type(exc).__name__}: {str(exc)[:120]}"


async def render_ready(readiness: Readiness | None) -> tuple[int, dict[str, Any]]:
    """The /readyz status and body."""
    if readiness is None:
        return 503, {"ready": False, "not_ready": {"process": "no readiness checks wired"}}
    results = await readiness.probe()
    failed = {name: why for name, why in results.items() if why is not None}
    body = {"ready": not failed, "checks": {name: why is None for name, why in results.items()}}
    if failed:
        body["not_ready"] = failed
    return (503 if failed else 200), body


def render_metrics(registry: CollectorRegistry | None) -> bytes:
    return generate_latest(registry) if registry is not None else b""


router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive (200 while it serves)")
async def healthz() -> dict[str, bool]:
    return {"alive": True}


@router.get("/readyz", summary="200 when every dependency is ready, else 503 naming them",
            responses={503: {"description": "not ready: `not_ready` names what and why"}})
async def readyz(request: Request) -> JSONResponse:
    status, body = await render_ready(request.app.state.services.readiness)
    return JSONResponse(body, status_code=status)


@router.get("/metrics", summary="Prometheus metrics (text exposition format)",
            response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    return Response(render_metrics(request.app.state.services.prometheus),
                    media_type=CONTENT_TYPE_LATEST)


__all__ = ["CHECK_TIMEOUT_S", "Check", "Readiness", "render_metrics", "render_ready", "router"]
