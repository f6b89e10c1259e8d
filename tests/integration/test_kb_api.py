"""The knowledge base against the real PostgreSQL: Chinese search (jieba words in a 'simple'
tsvector, ranked with the title above the body), versions and their life cycle (draft, review,
four-eyes publishing, a new version leaving the published one live, confirm, stale, retire),
suggestions for a call, "helped" clicks, and who may do what (an agent reads what is
published, an editor writes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from hotline.core.settings import Settings
from hotline.history.queries import audit_entries
from hotline.kb import queries
from hotline.kb.model import ArticleKind
from hotline.kb.queries import Draft
from hotline.kb.service import words_of
from tests.helpers.api_app import Clock, api_app, login, logins

USERS = "ed1:pw:editor;ed2:pw:editor;agent1:pw:agent;boss:pw:supervisor;root:pw:admin"
T0 = 1_781_000_000.0
DAY = 86_400.0


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def client(conn: asyncpg.Connection, empty_db_url: str, clock: Clock,
                 monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("HOTLINE_API_USERS", USERS)
    async with api_app(empty_db_url, Settings(kb_stale_days=30), clock=clock) as api:
        yield api.client


def article(title: str, body: str, service: str = "billing", kind: str = "tariff",
            **kw: Any) -> dict[str, Any]:
    return {"title": title, "body": body, "service": service, "kind": kind, **kw}


async def published(client: httpx.AsyncClient, body: dict[str, Any],
                    author: str = "ed1", publisher: str = "ed2") -> int:
    """An article written by `author` and published by `publisher`, through the API."""
    r = await client.post("/api/kb/articles", json=body, headers=await login(client, author))
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    for who, action in ((author, "submit"), (publisher, "publish")):
        r = await client.post(f"/api/kb/articles/{aid}/actions", json={
            "action": action, "version": 1}, headers=await login(client, who))
        assert r.status_code == 200, r.text
    return int(aid)


async def test_chinese_search_finds_words_and_ranks_the_title_first(
        client: httpx.AsyncClient) -> None:
    """Words, not characters: 电价 finds 阶梯电价 (jieba's search mode keeps both), 电表 does
    not find 电费表格; the article with the words in its title outranks the one with them
    only in its body, though the body says them twice."""
    in_body = await published(client, article(
        "居民用电常见问题", "阶梯电价按年累计用电量分三档。阶梯电价的第二档每千瓦时加价五分钱。"))
    in_title = await published(client, article(
        "阶梯电价怎么计算", "按年度用电量分档计价，具体以当地价格主管部门公布为准。"))
    other = await published(client, article(
        "电费表格下载", "营业厅提供纸质电费表格。", service="business", kind="procedure"))
    agent = await login(client, "agent1")
    r = await client.get("/api/kb/search", params={"q": "请问阶梯电价怎么算？"}, headers=agent)
    assert r.status_code == 200, r.text
    hits = r.json()
    assert [h["id"] for h in hits][:2] == [in_title, in_body], hits
    assert hits[0]["score"] > hits[1]["score"] > 0
    r = await client.get("/api/kb/search", params={"q": "电价"}, headers=agent)
    assert {h["id"] for h in r.json()} == {in_title, in_body}
    r = await client.get("/api/kb/search", params={"q": "电表"}, headers=agent)
    assert r.json() == []  # 电费表格 holds the characters, not the word
    r = await client.get("/api/kb/search", params={"q": "表格"}, headers=agent)
    assert [h["id"] for h in r.json()] == [other]
    # no article has every word: any of them, still ranked
    r = await client.get("/api/kb/search", params={"q": "阶梯电价 充电桩"}, headers=agent)
    assert [h["id"] for h in r.json()][:2] == [in_title, in_body]
    # by service ('' holds for every service)
    r = await client.get("/api/kb/search", params={"q": "电费", "service": "business"},
                         headers=agent)
    assert [h["id"] for h in r.json()] == [other]
    # punctuation only: nothing to look for
    r = await client.get("/api/kb/search", params={"q": "？！。"}, headers=agent)
    assert r.status_code == 200 and r.json() == []


async def test_versions_review_publish_stale_and_retire(
        client: httpx.AsyncClient, clock: Clock, conn: asyncpg.Connection) -> None:
    ed1, ed2 = await login(client, "ed1"), await login(client, "ed2")
    agent = await login(client, "agent1")
    r = await client.post("/api/kb/articles", json=article(
        "计划停电通知话术", "您好，您所在区域因线路检修计划停电。", service="outage_info",
        kind="outage_script", ivr_keys=["main=2"]), headers=ed1)
    a = r.json()
    aid = a["id"]
    assert (a["state"], a["latest"], a["latest_state"], a["published"]) == (
        "draft", 1, "draft", None)
    # a draft: the agent neither reads nor finds it
    assert (await client.get(f"/api/kb/articles/{aid}", headers=agent)).status_code == 404
    assert (await client.get("/api/kb/search", params={"q": "检修"}, headers=agent)).json() == []

    async def act(headers: dict[str, str], action: str, version: int,
                  note: str = "") -> httpx.Response:
        return await client.post(f"/api/kb/articles/{aid}/actions", json={
            "action": action, "version": version, "note": note}, headers=headers)

    r = await act(ed1, "publish", 1)  # not in review yet
    assert (r.status_code, r.json()["error"]["id"]) == (409, "kb-wrong-state")
    assert (await act(ed1, "submit", 1)).json()["latest_state"] == "in_review"
    r = await act(ed1, "publish", 1)  # four eyes
    assert (r.status_code, r.json()["error"]["id"]) == (409, "kb-own-version")
    r = await act(ed2, "reject", 1, "写明预计送电时间")
    assert r.json()["latest_state"] == "draft"
    r = await client.put(f"/api/kb/articles/{aid}", json=article(
        "计划停电通知话术", "您好，您所在区域因线路检修计划停电，预计18时送电。",
        service="outage_info", kind="outage_script", ivr_keys=["main=2"], base_version=1),
        headers=ed1)
    assert r.json()["latest"] == 2
    assert (await act(ed1, "submit", 1)).status_code == 409  # stale-version
    assert (await act(ed1, "submit", 2)).status_code == 200
    r = await act(ed2, "publish", 2)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["published"], r.json()["stale"]) == (
        "published", 2, False)
    r = await client.get(f"/api/kb/articles/{aid}", headers=agent)
    assert "预计18时送电" in r.json()["body"]

    # a newer draft leaves the published version live, in reading and in search
    r = await client.put(f"/api/kb/articles/{aid}", json=article(
        "计划停电通知话术", "您好，因变压器增容改造计划停电。", service="outage_info",
        kind="outage_script", base_version=2), headers=ed1)
    assert (r.json()["latest"], r.json()["published"]) == (3, 2)
    assert "预计18时送电" in (await client.get(f"/api/kb/articles/{aid}", headers=agent)
                          ).json()["body"]
    assert (await client.get("/api/kb/search", params={"q": "变压器"}, headers=agent)
            ).json() == []
    await act(ed1, "submit", 3)
    await act(ed2, "publish", 3)
    assert [h["id"] for h in (await client.get("/api/kb/search", params={"q": "变压器"},
                                               headers=agent)).json()] == [aid]
    assert (await client.get("/api/kb/search", params={"q": "送电"}, headers=agent)
            ).json() == []
    versions = (await client.get(f"/api/kb/articles/{aid}/versions", headers=ed1)).json()
    assert [(v["version"], v["state"]) for v in versions] == [
        (3, "published"), (2, "superseded"), (1, "draft")]
    assert versions[0]["published_by"] == "ed2" and versions[1]["written_by"] == "ed1"
    assert versions[2]["note"] == "写明预计送电时间"

    # stale after kb_stale_days (30 here) without a review; confirming restarts the clock
    clock.now += 30 * DAY
    ed1, agent = await login(client, "ed1"), await login(client, "agent1")  # tokens expired
    assert (await client.get(f"/api/kb/articles/{aid}", headers=agent)).json()["stale"]
    stale = (await client.get("/api/kb/articles", params={"stale": True}, headers=ed1)).json()
    assert [x["id"] for x in stale] == [aid]
    assert (await act(ed1, "confirm", 3)).json()["stale"] is False
    assert (await client.get("/api/kb/articles", params={"stale": True}, headers=ed1)
            ).json() == []

    # retired: out of reading and search for good, and not edited again
    r = await act(ed1, "retire", 3)
    assert r.json()["state"] == "retired"
    assert (await client.get(f"/api/kb/articles/{aid}", headers=agent)).status_code == 404
    assert (await client.get("/api/kb/search", params={"q": "变压器"}, headers=agent)
            ).json() == []
    r = await client.put(f"/api/kb/articles/{aid}", json=article(
        "x", "y", base_version=3), headers=ed1)
    assert (r.status_code, r.json()["error"]["id"]) == (409, "kb-wrong-state")
    assert (await act(ed1, "confirm", 3)).status_code == 409
    whats = [e.what for e in await audit_entries(conn) if e.what.startswith("kb.")]
    assert whats[:3] == ["kb.create", "kb.submit", "kb.reject"] and whats[-1] == "kb.retire"


async def test_who_may_do_what(client: httpx.AsyncClient) -> None:
    aid = await published(client, article("电费缴纳渠道", "可通过网上国网缴纳电费。"))
    agent, boss, root = await logins(client, "agent1", "boss", "root")
    body = article("新文章", "正文")
    for who in (agent, boss):
        assert (await client.post("/api/kb/articles", json=body, headers=who)).status_code == 403
        assert (await client.get("/api/kb/articles", headers=who)).status_code == 403
        assert (await client.get(f"/api/kb/articles/{aid}/versions", headers=who)
                ).status_code == 403
        assert (await client.post(f"/api/kb/articles/{aid}/actions", json={
            "action": "retire", "version": 1}, headers=who)).status_code == 403
        assert (await client.get(f"/api/kb/articles/{aid}", headers=who)).status_code == 200
    # an admin passes every check, the four-eyes rule included
    r = await client.post("/api/kb/articles", json=body, headers=root)
    own = r.json()["id"]
    for action in ("submit", "publish"):
        r = await client.post(f"/api/kb/articles/{own}/actions", json={
            "action": action, "version": 1}, headers=root)
        assert r.status_code == 200, r.text
    assert (await client.get("/api/kb/articles/999999", headers=root)).status_code == 404


async def test_helped_is_counted_once_per_user_and_call(client: httpx.AsyncClient,
                                                        conn: asyncpg.Connection) -> None:
    aid = await published(client, article("欠费停电后如何复电", "缴清电费后24小时内复电。"))
    agent = await login(client, "agent1")
    r = await client.post(f"/api/kb/articles/{aid}/helped", json={"call_id": "c1"},
                          headers=agent)
    assert r.json() == {"counted": True, "helped": 1}
    r = await client.post(f"/api/kb/articles/{aid}/helped", json={"call_id": "c1"},
                          headers=agent)
    assert r.json() == {"counted": False, "helped": 1}
    r = await client.post(f"/api/kb/articles/{aid}/helped", json={"call_id": "c2"},
                          headers=agent)
    assert r.json() == {"counted": True, "helped": 2}
    assert await conn.fetchval("SELECT count(*) FROM kb_helped") == 2
    r = await client.post("/api/kb/articles", json=article("草稿", "x"),
                          headers=await login(client, "ed1"))
    r = await client.post(f"/api/kb/articles/{r.json()['id']}/helped", json={},
                          headers=agent)
    assert r.status_code == 404  # a draft is not there for an agent


async def test_suggestions_for_a_call_by_service_and_ivr_path(
        client: httpx.AsyncClient) -> None:
    """Score: 2 for the call's service, 1 per IVR step named, 1 for forbidden phrases that
    hold for every service; ties by helped clicks."""
    tariff = await published(client, article("阶梯电价标准", "三档。", ivr_keys=["main=3"]))
    billing = await published(client, article("电费查询", "户号查询。"))
    faq = await published(client, article("服务忌语", "不说“不知道”。", service="",
                                          kind="forbidden_phrases"))
    await published(client, article("抢修到达时限", "城区45分钟。", service="fault",
                                    kind="policy"))
    agent = await login(client, "agent1")
    r = await client.get("/api/kb/suggestions", params=[
        ("service", "billing"), ("ivr", "language=1"), ("ivr", "main=3")], headers=agent)
    assert [(h["id"], h["score"]) for h in r.json()] == [(tariff, 3), (billing, 2), (faq, 1)]
    await client.post(f"/api/kb/articles/{billing}/helped", json={"call_id": "x"},
                      headers=agent)
    r = await client.get("/api/kb/suggestions", params={"service": "billing"}, headers=agent)
    assert [h["id"] for h in r.json()] == [billing, tariff, faq]
    r = await client.get("/api/kb/suggestions", params={"ivr": "main=3"}, headers=agent)
    assert [h["id"] for h in r.json()] == [tariff, faq]


async def test_load_published_is_searchable_as_published_ones(
        conn: asyncpg.Connection) -> None:
    """The bulk import (bench.kb's) makes the same rows as publishing through the API."""
    drafts = [Draft(f"第{i}号 光伏并网 说明", "分布式光伏并网需提交申请。", "business",
                    ArticleKind.PROCEDURE) for i in range(3)]
    await queries.load_published(conn, [(d, words_of(d)) for d in drafts], "import", T0)
    hits = await queries.search(conn, ["光伏", "并网"])
    assert len(hits) == 3
    a = await queries.get(conn, hits[0].id)
    assert a is not None and (a.state, a.published, a.latest_state) == (
        "published", 1, "published")
    assert await conn.fetchval("SELECT nextval('kb_articles_id_seq')") > max(h.id for h in hits)


async def test_title_matches_are_ranked_however_many_bodies_match(
        conn: asyncpg.Connection) -> None:
    """Title first (queries.TITLE_CANDIDATES, through title_search of migration 027): an
    article with the words in its title is ranked, and first, even when more than
    CANDIDATES articles say them only in their body and come before it in the table; the
    title's words follow what is published (a new version's title, retirement)."""
    body_only = [Draft(f"第{i}号 常见问题", "分布式光伏并网需提交申请，光伏并网后按月结算。",
                       "business", ArticleKind.PROCEDURE) for i in range(queries.CANDIDATES + 20)]
    await queries.load_published(conn, [(d, words_of(d)) for d in body_only], "import", T0)
    titled = Draft("光伏并网说明", "见营业厅告示。", "business", ArticleKind.PROCEDURE)
    await queries.load_published(conn, [(titled, words_of(titled))], "import", T0)
    title_id = int(await conn.fetchval("SELECT max(id) FROM kb_articles"))
    hits = await queries.search(conn, ["光伏", "并网"], limit=3)
    assert hits[0].id == title_id, hits
    assert hits[0].score > hits[1].score
    # a new version with another title: its old title words are body words no more in title
    await conn.execute(
        "UPDATE kb_articles SET title = '电费说明', search = kb_search_vector('电费 说明', '',"
        " '见 营业厅 告示') WHERE id = $1", title_id)
    assert title_id not in {h.id for h in await queries.search(conn, ["光伏", "并网"])}
    assert [h.id for h in await queries.search(conn, ["电费"])] == [title_id]
    await conn.execute("UPDATE kb_articles SET state = 'retired', search = NULL WHERE id = $1",
                       title_id)
    assert await conn.fetchval("SELECT title_search FROM kb_articles WHERE id = $1",
                               title_id) is None
    assert await queries.search(conn, ["电费"]) == []
