"""Outage notice campaigns through the API (#18.6) against the real PostgreSQL: an outage
entered with `notify` makes a campaign over its area's registered numbers (bounded by
max_numbers, each number once), supervisors list, read and cancel campaigns (audited), other
roles get 403, bad bounds 422; reads change nothing (the platform's job places the calls)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from hotline.api import Services, create_app
from hotline.core.settings import Settings
from hotline.history.queries import audit_entries
from hotline.store import db

T0 = 1_800_000_000.0
AREA = "0574"


@pytest.fixture
async def client(conn: asyncpg.Connection, empty_db_url: str,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("HOTLINE_API_USERS", "boss:pw:admin;office:pw:supervisor;a1:pw:agent;"
                                            "crew:pw:back_office@repair_crew;q:pw:qa")
    await conn.execute("INSERT INTO accounts (account_no, area_code) VALUES"
                       " ('5705740001', $1), ('5705740002', $1), ('5705740003', $1),"
                       " ('1100100009', '010')", AREA)
    await conn.executemany("INSERT INTO account_phones (phone, account_no) VALUES ($1, $2)", [
        ("13900000003", "5705740001"), ("13900000001", "5705740001"),
        ("13900000001", "5705740002"),  # one number, two accounts: called once
        ("13900000002", "5705740003"), ("13900000010", "1100100009")])  # another area
    services = Services.build(clock=lambda: T0, hasher=PasswordHasher(
        time_cost=1, memory_cost=1024, parallelism=1))
    services.db_pool = await db.create_pool(empty_db_url, max_size=4)
    app = create_app(Settings(), services)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                yield c
    finally:
        await services.db_pool.close()


async def auth(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await client.post("/api/auth/token", json={"username": user, "password": "pw"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_an_outage_with_notify_makes_a_bounded_campaign_supervisors_read_and_cancel(
        client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    admin, sup = await auth(client, "boss"), await auth(client, "office")
    r = await client.post("/api/config/outages", headers=admin, json={
        "area_code": AREA, "kind": "unplanned", "starts_at": T0, "duration_s": 3 * 3600,
        "description_zh": "线路故障", "description_en": "a line fault",
        "notify": {"max_numbers": 2, "max_concurrent": 1, "calls_per_s": 0.5}})
    assert r.status_code == 201, r.text
    outage = r.json()
    campaign_id = outage["campaign_id"]
    assert campaign_id is not None

    r = await client.get(f"/api/campaigns/{campaign_id}", headers=sup)
    assert r.status_code == 200, r.text
    c = r.json()
    assert (c["state"], c["area_code"], c["outage_id"], c["truncated"]) == (
        "running", AREA, outage["id"], True)  # three numbers, two taken
    assert c["numbers"] == {"waiting": 2}
    assert c["bounds"]["max_concurrent"] == 1 and c["bounds"]["calls_per_s"] == 0.5
    assert "0 5 7 4" in c["text_zh"] and "a line fault" in c["text_en"]
    r = await client.get(f"/api/campaigns/{campaign_id}/numbers", headers=sup)
    assert [(n["number"], n["state"], n["attempts"]) for n in r.json()] == [
        ("13900000001", "waiting", 0), ("13900000002", "waiting", 0)]
    r = await client.get(f"/api/campaigns/{campaign_id}/attempts", headers=sup)
    assert r.json() == []  # reads place no call
    r = await client.get("/api/campaigns", headers=sup, params={"state": "running"})
    assert [x["id"] for x in r.json()] == [campaign_id]

    # a second campaign for the same outage, by a supervisor
    r = await client.post("/api/campaigns", headers=sup, json={"outage_id": outage["id"]})
    assert r.status_code == 201, r.text
    second = r.json()
    assert (second["created_by"], second["numbers"], second["truncated"]) == (
        "office", {"waiting": 3}, False)

    r = await client.post(f"/api/campaigns/{campaign_id}/cancel", headers=sup)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["ended_by"], r.json()["numbers"]) == (
        "cancelled", "office", {"cancelled": 2})
    r = await client.post(f"/api/campaigns/{campaign_id}/cancel", headers=sup)
    assert (r.status_code, r.json()["error"]["id"]) == (409, "campaign-not-running")
    created = await audit_entries(conn, "campaign.created")
    assert [(e.who, e.details["numbers"], e.details["truncated"]) for e in created] == [
        ("boss", 2, True), ("office", 3, False)]
    [cancelled] = await audit_entries(conn, "campaign.cancelled")
    assert (cancelled.who, cancelled.details) == (
        "office", {"campaign_id": campaign_id, "not_called": 2})


async def test_only_supervisors_and_admins_see_campaigns(client: httpx.AsyncClient) -> None:
    admin = await auth(client, "boss")
    r = await client.post("/api/config/outages", headers=admin, json={
        "area_code": AREA, "kind": "planned", "starts_at": T0, "notify": {}})
    campaign_id = r.json()["campaign_id"]
    for user in ("a1", "crew", "q"):  # the rows hold customers' numbers
        headers = await auth(client, user)
        for path in ("/api/campaigns", f"/api/campaigns/{campaign_id}",
                     f"/api/campaigns/{campaign_id}/numbers"):
            assert (await client.get(path, headers=headers)).status_code == 403, (user, path)
        r = await client.post(f"/api/campaigns/{campaign_id}/cancel", headers=headers)
        assert r.status_code == 403
    assert (await client.get(f"/api/campaigns/{campaign_id}", headers=admin)).status_code == 200


async def test_bad_bounds_and_unknown_outages_are_refused(client: httpx.AsyncClient) -> None:
    sup = await auth(client, "office")
    for bounds in ({"calls_per_s": 10}, {"max_concurrent": 0}, {"retries": 9},
                   {"max_numbers": 10_001}, {"retry_after_s": 0}, {"quiet_from_h": 24},
                   {"dial": "Local/x"}):
        r = await client.post("/api/campaigns", headers=sup, json={"outage_id": 1, **bounds})
        assert r.status_code == 422, (bounds, r.text)
    r = await client.post("/api/campaigns", headers=sup, json={"outage_id": 999})
    assert (r.status_code, r.json()["error"]["id"]) == (404, "no-such-outage")
    assert (await client.get("/api/campaigns/999", headers=sup)).status_code == 404
    # an outage without notify makes no campaign
    r = await client.post("/api/config/outages", headers=await auth(client, "boss"), json={
        "area_code": AREA, "kind": "planned", "starts_at": T0})
    assert r.json()["campaign_id"] is None
    assert (await client.get("/api/campaigns", headers=sup)).json() == []


async def test_an_area_without_registered_numbers_makes_an_ended_campaign(
        client: httpx.AsyncClient) -> None:
    r = await client.post("/api/config/outages", headers=await auth(client, "boss"), json={
        "area_code": "021", "kind": "planned", "starts_at": T0, "notify": {}})
    r = await client.get(f"/api/campaigns/{r.json()['campaign_id']}",
                         headers=await auth(client, "office"))
    assert (r.json()["state"], r.json()["numbers"]) == ("done", {})
