"""VIP numbers through the configuration API against the real PostgreSQL: stored, audited
and taken by the running router at once (a waiting VIP call moves ahead), in the controller's
process and over the command bus; and from the centre file at the first start."""

from __future__ import annotations

from dataclasses import replace

from hotline.centre.model import parse_centre
from hotline.centre.service import load_or_seed_centre
from hotline.core.events import CallQueued
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.process.controller.config import router_config
from hotline.router import VIP_BOOST
from hotline.store import db
from tests.helpers.centre import Api
from tests.integration.centre.conftest import CENTRE

VIP = "13900000888"


def queue(api: Api, call_id: str, caller: str) -> None:
    api.controller.handle(CallQueued(api.controller.clock(), node="n1", call_id=call_id,
                                     channel=f"PJSIP/x-{call_id}", queue="general",
                                     service=ServiceType.GENERAL, priority=0, caller=caller))


async def test_a_vip_number_set_through_the_api_raises_its_calls_at_once(api: Api) -> None:
    # nobody is ready: two plain calls wait, then the number of the second becomes VIP
    queue(api, "p1", "13900000111")
    queue(api, "p2", VIP)
    assert [w.call_id for w in api.controller.router.waiting()] == ["p1", "p2"]
    r = await api.client.put(f"/api/config/vip-numbers/{VIP}", headers=api.headers["boss"],
                             json={"note": "hospital"})
    assert r.status_code == 200, r.text
    assert (r.json()["number"], r.json()["note"], r.json()["added_by"]) == (
        VIP, "hospital", "boss")
    assert api.controller.router.vip_numbers == frozenset({VIP})
    assert VIP in api.controller.centre.vip_numbers  # a rebuilt router keeps it
    # the waiting VIP call moved ahead; a new VIP call after a plain one goes before it
    assert [w.call_id for w in api.controller.router.waiting()] == ["p2", "p1"]
    queue(api, "p3", "13900000333")
    queue(api, "p4", VIP)
    assert [w.call_id for w in api.controller.router.waiting()] == ["p2", "p4", "p1", "p3"]
    [p4] = [w for w in api.controller.router.waiting() if w.call_id == "p4"]
    assert p4.priority == VIP_BOOST
    [added] = await api.audit("vip.")
    assert (added.who, added.what, added.details) == (
        "boss", "vip.added", {"number": VIP, "note": "hospital"})
    r = await api.client.get("/api/config/vip-numbers", headers=api.headers["sup"])
    assert [v["number"] for v in r.json()] == [VIP]

    r = await api.client.delete(f"/api/config/vip-numbers/{VIP}", headers=api.headers["boss"])
    assert r.status_code == 204, r.text
    assert api.controller.router.vip_numbers == frozenset()
    assert [w.call_id for w in api.controller.router.waiting()] == ["p1", "p2", "p3", "p4"]
    assert [a.what for a in await api.audit("vip.")] == ["vip.removed", "vip.added"]


async def test_vip_roles_and_refusals(api: Api) -> None:
    for user in ("sup", "agent1", "qa"):
        r = await api.client.put(f"/api/config/vip-numbers/{VIP}", headers=api.headers[user],
                                 json={})
        assert r.status_code == 403, (user, r.text)
    for user in ("agent1", "qa"):
        r = await api.client.get("/api/config/vip-numbers", headers=api.headers[user])
        assert r.status_code == 403, (user, r.text)
    r = await api.client.put("/api/config/vip-numbers/13x9", headers=api.headers["boss"],
                             json={})
    assert r.status_code == 422, r.text
    r = await api.client.delete(f"/api/config/vip-numbers/{VIP}", headers=api.headers["boss"])
    assert (r.status_code, r.json()["error"]["id"]) == (404, "no-such-vip")
    assert api.controller.router.vip_numbers == frozenset()
    assert await api.audit("vip.") == []


async def test_the_centre_file_seeds_the_vip_numbers(empty_db_url: str, conn: object) -> None:
    """A fresh database takes the centre file's VIP numbers; later starts read them back
    from the database, and the controller's router gets them."""
    text = {"vip_numbers": [VIP, "+8613900000999"],
            "queues": [{"name": "general", "service": "general"}]}
    centre = replace(CENTRE, vip_numbers=parse_centre(text).vip_numbers)
    pool = await db.create_pool(empty_db_url, max_size=2)
    try:
        seeded = await load_or_seed_centre(pool, centre)
        again = await load_or_seed_centre(pool, CENTRE)  # the file no longer says: the db does
    finally:
        await pool.close()
    assert seeded.vip_numbers == [VIP, "+8613900000999"]
    assert sorted(again.vip_numbers) == sorted(seeded.vip_numbers)
    assert router_config(again, Settings()).vip_numbers == frozenset(seeded.vip_numbers)
