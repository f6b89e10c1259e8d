"""The FastAPI app factory: `create_app(settings, services)`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from hotline.api import errors, health
from hotline.api.login_limits import LimitSettings, LoginLimits
from hotline.api.routes import (
    agent_desk,
    agents,
    auth,
    calls,
    campaigns,
    centre,
    complaints,
    emergency,
    history,
    kb,
    live,
    order_deadlines,
    planning,
    plans,
    qa,
    queues,
    recordings,
    reports,
    reserve,
    softphone,
    story,
    supervision,
    users,
    wallboard,
    work_orders,
)
from hotline.api.security import (
    Authenticator,
    TokenSigner,
    api_secret,
    seed_users,
    session_max_s,
    token_ttl_s,
)
from hotline.api.services import Services
from hotline.core.errors import HotlineError
from hotline.core.settings import Settings
from hotline.core.tasks import cancel_and_wait
from hotline.kb import segment as kb_segment
from hotline.reports import scheduler
from hotline.reports.model import Rules

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings, services: Services) -> FastAPI:
    """The API over `services`. Raises InsecureSecret outside development without a proper
    secret. The lifespan starts the fan-out (and the live feed unless own_live_feed=False)."""
    signer = TokenSigner(api_secret(settings), token_ttl_s(settings), services.clock,
                         session_max_s(settings))
    authenticator = Authenticator(services.users, services.hasher)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services.seed_users:
            ctl = services.controller  # development: each agent logs in as itself
            agents = [a.agent_id for a in ctl.router.agents()] if ctl is not None else []
            if ctl is None and services.remote is not None:  # an API process
                with contextlib.suppress(HotlineError):  # no controller yet: no agent logins
                    agents = [a.agent_id for a in await services.remote.agents()]
            await seed_users(settings, authenticator, agents)
        kb_segment.warm()  # the knowledge base's word dictionary, loaded in the background
        await services.start()
        reports = None
        if services.db_pool is not None and settings.report_schedule_poll_s > 0:
            reports = asyncio.create_task(scheduler.run(
                services.db_pool, services.clock, settings.utc_offset_s,
                Rules.of(settings),
                settings.report_schedule_poll_s), name="scheduled-reports")
        try:
            yield
        finally:
            if reports is not None:
                await cancel_and_wait(reports)
            await services.stop()

    app = FastAPI(
        title="hotline",
        version="0.1.0",
        summary="Contact-centre platform for a utility's hotline: live figures and routing",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.signer = signer
    app.state.authenticator = authenticator
    app.state.login_limits = LoginLimits(LimitSettings.of(settings), services.clock)
    errors.install(app)
    for module in (
        auth,
        wallboard,
        queues,
        agents,
        calls,
        history,
        recordings,
        story,
        live,
        agent_desk,
        softphone,
        supervision,
        reserve,
        work_orders,
        order_deadlines,
        complaints,
        campaigns,
        centre,
        users,
        qa,
        planning,
        plans,
        emergency,
        reports,
        kb,
        health,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/wallboard", include_in_schema=False)
    async def wallboard_page(request: Request) -> RedirectResponse:
        query = request.url.query  # ?lang= and ?queues= must survive the redirect
        return RedirectResponse("/static/wallboard.html" + (f"?{query}" if query else ""))

    for page in ("agent", "supervisor", "orders", "qa", "planning", "reports", "kb"):
        app.add_api_route(f"/{page}", _page_redirect(page), include_in_schema=False)
    return app


def _page_redirect(page: str):  # type: ignore[no-untyped-def]
    async def redirect(request: Request) -> RedirectResponse:
        query = request.url.query  # ?lang= must survive the redirect
        return RedirectResponse(f"/static/{page}.html" + (f"?{query}" if query else ""))

    return redirect


__all__ = ["create_app"]
