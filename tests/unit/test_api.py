"""The REST API: logins, tokens, role checks, errors as JSON, the figures endpoints."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Callable

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.api import Services, create_app
from hotline.api.security import (
    DEV_SECRET,
    HASH_SLOTS,
    Authenticator,
    InMemoryUserRepository,
    InsecureSecret,
    Role,
    TokenError,
    TokenSigner,
    User,
    api_secret,
    parse_user_specs,
)
from hotline.core.events import AgentStateChanged, CallQueued
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.router import AgentConfig, QueueConfig, Router, RouterConfig

T0 = 1_795_430_000.0
FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def router(clock: Clock) -> Router:
    config = RouterConfig(
        queues=[QueueConfig("billing", ServiceType.BILLING, required={"billing": 1})],
        agents=[AgentConfig("a1", {"billing": 2}), AgentConfig("a2", {"billing": 1})],
    )
    r = Router(config, clock)
    for agent in ("a1", "a2"):
        r.agent_command(agent, AgentTrigger.LOGIN)
        r.agent_command(agent, AgentTrigger.READY)
    return r


@pytest.fixture
async def app_client(
    clock: Clock, router: Router, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    monkeypatch.setenv(
        "HOTLINE_API_USERS",
        "boss:pw-boss:supervisor;ann:pw-ann:agent;qa1:pw-qa:qa;root:pw-root:admin;"
        "plan:pw-plan:planner",
    )
    services = Services.build(explainer=router, clock=clock, hasher=FAST_HASH)
    app = create_app(Settings(), services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, services


async def login(client: httpx.AsyncClient, user: str, password: str) -> dict[str, str]:
    r = await client.post("/api/auth/token", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def error_id(r: httpx.Response) -> str:
    return r.json()["error"]["id"]  # type: ignore[no-any-return]


async def test_login_gives_a_token_with_the_roles(app_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    r = await client.post("/api/auth/token", json={"username": "boss", "password": "pw-boss"})
    body = r.json()
    assert r.status_code == 200 and body["roles"] == ["supervisor"]
    assert body["expires_at"] == T0 + 900
    me = await client.get(
        "/api/auth/me", headers={"Authorization": "Bearer " + body["access_token"]}
    )
    assert me.json()["username"] == "boss"


@pytest.mark.parametrize(
    ("user", "password"), [("boss", "wrong"), ("nobody", "pw-boss"), ("boss", "pw-ann")]
)
async def test_bad_credentials(app_client, user: str, password: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    r = await client.post("/api/auth/token", json={"username": user, "password": password})
    assert r.status_code == 401 and error_id(r) == "bad-credentials"


@pytest.mark.parametrize(
    "path",
    ["/api/wallboard", "/api/queues", "/api/agents", "/api/calls/x/explanation", "/api/auth/me"],
)
@pytest.mark.parametrize(
    ("header", "reason"),
    [(None, "missing"), ("Bearer nonsense", "malformed"), ("Bearer v1.e30.AAAA", "malformed"),
     ("Bearer " + jwt.encode({"sub": "root", "roles": ["admin"]}, "not-the-secret" * 4,
                             algorithm="HS256"), "invalid")],
)
async def test_every_endpoint_needs_a_valid_token(app_client, path, header, reason) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    r = await client.get(path, headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert error_id(r) == "not-authenticated" and r.json()["error"]["details"]["reason"] == reason
    assert r.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_refused(app_client, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    headers = await login(client, "boss", "pw-boss")
    clock.t += 901
    r = await client.get("/api/queues", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == "expired"


async def test_refresh_extends_a_valid_token(app_client, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    headers = await login(client, "ann", "pw-ann")
    clock.t += 600
    r = await client.post("/api/auth/refresh", headers=headers)
    assert r.json()["expires_at"] == T0 + 600 + 900
    clock.t += 600  # the first token has expired, the new one has not
    fresh = {"Authorization": "Bearer " + r.json()["access_token"]}
    assert (await client.get("/api/queues", headers=fresh)).status_code == 200
    assert (await client.get("/api/queues", headers=headers)).status_code == 401


@pytest.mark.parametrize(
    ("user", "password", "allowed"),
    [
        ("ann", "pw-ann", {"/api/wallboard", "/api/queues"}),
        ("qa1", "pw-qa", {"/api/wallboard", "/api/queues", "/api/calls/c1/explanation"}),
        ("plan", "pw-plan", {"/api/wallboard", "/api/queues", "/api/agents"}),
        (
            "boss",
            "pw-boss",
            {"/api/wallboard", "/api/queues", "/api/agents", "/api/calls/c1/explanation"},
        ),
        (
            "root",
            "pw-root",
            {"/api/wallboard", "/api/queues", "/api/agents", "/api/calls/c1/explanation"},
        ),
    ],
)
async def test_role_checks(app_client, router: Router, user, password, allowed) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    router.handle(CallQueued(T0, call_id="c1", queue="billing", service=ServiceType.BILLING))
    headers = await login(client, user, password)
    for path in ["/api/wallboard", "/api/queues", "/api/agents", "/api/calls/c1/explanation"]:
        r = await client.get(path, headers=headers)
        if path in allowed:
            assert r.status_code == 200, (path, r.text)
        else:
            assert r.status_code == 403, (path, r.text)
            assert (
                error_id(r) == "forbidden"
                and "admin" in r.json()["error"]["details"]["roles_allowed"]
            )


async def test_figures_follow_the_events(app_client) -> None:  # type: ignore[no-untyped-def]
    client, services = app_client
    headers = await login(client, "boss", "pw-boss")
    services.live.set_agent_queues("a1", ["billing"])
    services.live.on_item(
        AgentStateChanged(T0, agent_id="a1", old=AgentState.LOGGED_OUT, new=AgentState.READY)
    )
    for n in range(3):
        services.live.on_item(
            CallQueued(T0 + n, call_id=f"c{n}", queue="billing", service=ServiceType.BILLING)
        )
    queues = (await client.get("/api/queues", headers=headers)).json()
    assert [q["name"] for q in queues] == ["billing"]
    assert queues[0]["waiting"] == 3 and queues[0]["today"]["offered"] == 3
    assert queues[0]["agents_by_state"] == {"ready": 1}
    board = (await client.get("/api/wallboard?queues=billing", headers=headers)).json()
    assert board["queues"]["billing"]["today"]["waiting_now"] == 3
    assert (await client.get("/api/wallboard?queues=fault", headers=headers)).json()["queues"] == {}
    agents = (await client.get("/api/agents", headers=headers)).json()
    assert agents[0]["agent_id"] == "a1" and agents[0]["state"] == "ready"
    assert agents[0]["queues"] == ["billing"] and agents[0]["today"]["state"] == "ready"


async def test_explanation_serialised(app_client, router: Router) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    router.handle(CallQueued(T0, call_id="c9", queue="billing", service=ServiceType.BILLING))
    headers = await login(client, "qa1", "pw-qa")
    r = await client.get("/api/calls/c9/explanation", headers=headers)
    [e] = r.json()
    assert e["call_id"] == "c9" and e["chosen"] == "a1" and e["requirements"] == {"billing": 1}
    [lower] = e["passed_over"]
    assert lower["agent_id"] == "a2" and lower["verdict"] == "ranked_lower"
    assert lower["detail"].startswith("rank 2 by")
    r = await client.get("/api/calls/nope/explanation", headers=headers)
    assert r.status_code == 404 and error_id(r) == "no-such-call"
    assert r.json()["error"]["details"] == {"call_id": "nope"}


async def test_errors_are_json_with_ids(app_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    r = await client.get("/api/nothing-here")
    assert r.status_code == 404 and error_id(r) == "not-found"
    r = await client.post("/api/auth/token", json={"username": ""})
    assert r.status_code == 422 and error_id(r) == "invalid-request"
    assert r.json()["error"]["details"]["errors"]
    r = await client.post(
        "/api/auth/token", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422 and error_id(r) == "invalid-request"


async def test_openapi_documents_the_endpoints_with_examples(app_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    spec = (await client.get("/openapi.json")).json()
    assert {
        "/api/auth/token",
        "/api/wallboard",
        "/api/queues",
        "/api/agents",
        "/api/calls/{call_id}/explanation",
    } <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert schemas["TokenRequest"]["examples"] and schemas["ExplanationOut"]["examples"]
    assert "bearer" in json.dumps(spec["components"]["securitySchemes"]).lower()


async def test_static_wallboard_page_is_served(app_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    r = await client.get("/wallboard")
    assert r.status_code == 307 and r.headers["location"] == "/static/wallboard.html"
    page = await client.get("/static/wallboard.html")
    assert page.status_code == 200 and "wallboard.js" in page.text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/api/wallboard", "/api/queues", "/api/agents"]),
    queues=st.text(max_size=40),
    token=st.text(max_size=60),
)
async def test_fuzzed_requests_never_500(app_client, path: str, queues: str, token: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    r = await client.get(
        path,
        params={"queues": queues},
        headers={"Authorization": "Bearer " + token.encode("ascii", "ignore").decode()},
    )
    assert r.status_code == 401 and error_id(r) == "not-authenticated"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.recursive(
        st.none() | st.text(max_size=5) | st.integers(),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(st.sampled_from(["username", "password", "x"]), c, max_size=3)
        ),
        max_leaves=6,
    )
)
async def test_fuzzed_logins_are_refused_cleanly(app_client, body: object) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    r = await client.post("/api/auth/token", json=body)
    assert r.status_code in (401, 422, 429)  # 429: the log-in limits of one address
    assert error_id(r) in ("bad-credentials", "invalid-request", "too-many-logins")


# ---- pure parts


def test_token_round_trip_and_tampering() -> None:
    clock = Clock(T0)
    signer = TokenSigner("k" * 40, 60, clock)
    token, claims = signer.issue("ann", [Role.AGENT])
    assert signer.verify(token) == claims
    head, body, sig = token.split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad, reason in [
        (f"{head}.{forged}.{sig}", "invalid"),
        (token + "x", "invalid"),
        ("", "missing"),
        ("v2.a.b", "malformed"),
    ]:
        with pytest.raises(TokenError) as err:
            signer.verify(bad)
        assert err.value.reason == reason
    with pytest.raises(TokenError, match="invalid"):
        TokenSigner("other" * 8, 60, clock).verify(token)
    clock.t += 60
    with pytest.raises(TokenError, match="expired"):
        signer.verify(token)


def test_the_dev_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_API_SECRET", raising=False)
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "development")
    assert api_secret(Settings()) == DEV_SECRET
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    with pytest.raises(InsecureSecret):
        api_secret(Settings())
    with pytest.raises(InsecureSecret):
        create_app(Settings(), Services.build())
    monkeypatch.setenv("HOTLINE_API_SECRET", DEV_SECRET)
    with pytest.raises(InsecureSecret):
        api_secret(Settings())
    monkeypatch.setenv("HOTLINE_API_SECRET", "short")
    with pytest.raises(InsecureSecret):
        api_secret(Settings())
    monkeypatch.setenv("HOTLINE_API_SECRET", "x" * 40)
    assert api_secret(Settings()) == "x" * 40


def test_user_specs() -> None:
    assert parse_user_specs("a:p:agent+qa; b:q:admin; c:r:back_office@repair_crew") == [
        ("a", "p", frozenset({Role.AGENT, Role.QA}), ""),
        ("b", "q", frozenset({Role.ADMIN}), ""),
        ("c", "r", frozenset({Role.BACK_OFFICE}), "repair_crew"),
    ]
    with pytest.raises(ValueError):
        parse_user_specs("a:p:emperor")


# ---- issue #14 item 7: log-in limits, refresh chains, the token format


class CountingHasher(PasswordHasher):
    """argon2 as the app uses it, counting the hashes it computes (a verify is one)."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
async def limited(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Callable[[str], httpx.AsyncClient], CountingHasher]]:
    """The app with the default log-in limits; `client(address)` speaks from that address."""
    monkeypatch.setenv("HOTLINE_API_USERS", "boss:pw-boss:supervisor;ann:pw-ann:agent")
    hasher = CountingHasher()
    services = Services.build(clock=clock, hasher=hasher)
    app = create_app(Settings(), services)
    clients: list[httpx.AsyncClient] = []

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://t"))
        return clients[-1]

    async with app.router.lifespan_context(app):
        yield client, hasher
        for c in clients:
            await c.aclose()


async def try_login(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/token", json={"username": user, "password": password})


async def test_failed_logins_of_a_user_are_limited_without_hashing(limited, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, hasher = limited
    attacker = client("10.0.0.66")
    for _ in range(5):  # the default: 5 failures of one user name a minute
        assert (await try_login(attacker, "boss", "guess")).status_code == 401
    hashed = hasher.verified
    r = await try_login(attacker, "boss", "pw-boss")  # even the right password: not tried
    assert r.status_code == 429 and error_id(r) == "too-many-logins"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert hasher.verified == hashed  # a refused try computes no hash
    # another address is refused for that user too (the limit is per user name) ...
    assert (await try_login(client("10.0.0.67"), "boss", "pw-boss")).status_code == 429
    # ... but not another user, from another address
    assert (await try_login(client("10.0.0.8"), "ann", "pw-ann")).status_code == 200
    clock.t += 61  # the window slides past the failures
    assert (await try_login(attacker, "boss", "pw-boss")).status_code == 200


async def test_tries_from_one_address_are_limited(limited, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, hasher = limited
    spray = client("10.0.0.66")
    for n in range(20):  # the default: 20 tries from one address a minute, any user names
        assert (await try_login(spray, f"user{n}", "guess")).status_code == 401
    hashed = hasher.verified
    r = await try_login(spray, "ann", "pw-ann")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert hasher.verified == hashed
    assert (await try_login(client("10.0.0.8"), "ann", "pw-ann")).status_code == 200
    clock.t += 61
    assert (await try_login(spray, "ann", "pw-ann")).status_code == 200


async def test_a_refresh_chain_ends_after_its_absolute_lifetime(app_client, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = app_client
    headers = await login(client, "ann", "pw-ann")
    start = clock.t
    while clock.t + 600 < start + 12 * 3600:  # renewed every 10 minutes for 12 hours
        clock.t += 600
        r = await client.post("/api/auth/refresh", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["expires_at"] <= start + 12 * 3600  # never past the chain's end
        headers = {"Authorization": "Bearer " + r.json()["access_token"]}
    clock.t = start + 12 * 3600
    r = await client.post("/api/auth/refresh", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] in ("expired",
                                                                                "session ended")
    # a password login starts a new chain
    assert (await client.post("/api/auth/token", json={"username": "ann",
                                                       "password": "pw-ann"})).status_code == 200


def signed_as(alg: str, body: dict[str, object], secret: str) -> str:
    """A token whose header says `alg`, signed with HMAC-SHA256 all the same."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64(
        json.dumps(body).encode())
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(mac)


def test_tokens_are_hs256_jwts_and_nothing_else_is_accepted() -> None:
    clock = Clock(T0)
    secret = "k" * 64  # long enough for HS512 too (PyJWT warns below)
    signer = TokenSigner(secret, 60, clock)
    token, _ = signer.issue("ann", [Role.AGENT])
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False})
    assert payload["sub"] == "ann" and payload["roles"] == ["agent"]
    body = {"sub": "root", "roles": ["admin"], "iat": T0, "exp": T0 + 60, "auth_time": T0}
    for forged in (
        jwt.encode(body, None, algorithm="none"),  # alg none: no signature at all
        jwt.encode(body, secret, algorithm="HS512"),  # another algorithm with the same key
        signed_as("none", body, secret),  # "none" in the header, a good HS256 signature
    ):
        with pytest.raises(TokenError) as err:
            signer.verify(forged)
        assert err.value.reason in ("invalid", "malformed"), forged
    head, payload_part, sig = token.split(".")
    other = jwt.encode({**body, "sub": "ann"}, "x" * 64, algorithm="HS256")  # ann as admin
    for bad in (f"{head}.{payload_part}.{other.split('.')[2]}",  # another key's signature
                f"{head}.{other.split('.')[1]}.{sig}"):  # another body under this signature
        with pytest.raises(TokenError, match="invalid"):
            signer.verify(bad)
    with pytest.raises(TokenError, match="malformed"):
        signer.verify(token[:-3] + "\u00e9\u00e9\u00e9")
    clock.t += 60
    with pytest.raises(TokenError, match="expired"):
        signer.verify(token)


class GatedHasher(PasswordHasher):
    """argon2 whose verifications wait at a gate, counting how many run at once."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.gate = threading.Event()
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.gate.wait(10)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


async def test_password_checks_take_few_threads_at_once() -> None:
    hasher = GatedHasher()
    users = InMemoryUserRepository()
    auth = Authenticator(users, hasher)
    await users.add(User("ann", hasher.hash("pw"), frozenset({Role.AGENT})))
    tries = [asyncio.create_task(auth.authenticate("ann", "guess")) for _ in range(12)]
    async with asyncio.timeout(5):
        while hasher.running < HASH_SLOTS:  # noqa: ASYNC110 (a count in another thread)
            await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):  # a third never starts while two hold their slots
        async with asyncio.timeout(0.3):
            while hasher.running <= HASH_SLOTS:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    assert not any(t.done() for t in tries)
    hasher.gate.set()
    assert await asyncio.gather(*tries) == [None] * 12
    assert hasher.most == HASH_SLOTS
