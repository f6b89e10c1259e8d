"""The knowledge base as the API uses it: segmentation (jieba, CPU work) in a worker thread,
off the event loop that routes calls, around the SQL of queries.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from hotline.core.values import ServiceType
from hotline.kb import queries, segment
from hotline.kb.model import KbAction
from hotline.kb.queries import Article, Draft, Hit, NoSuchArticle, Words
from hotline.kb.segment import query_words, segmented

#: How the service's name reads in search (a tag of every article of that service).
SERVICE_WORDS: dict[str, str] = {
    ServiceType.FAULT: "故障报修", ServiceType.OUTAGE_INFO: "停电信息",
    ServiceType.BILLING: "电量电费", ServiceType.BUSINESS: "业务咨询",
    ServiceType.COMPLAINT: "投诉", ServiceType.REPORT: "举报",
    ServiceType.OPINION: "意见建议", ServiceType.PRAISE: "表扬",
    ServiceType.EV: "电动汽车", ServiceType.GENERAL: "综合",
}


def words_of(d: Draft) -> Words:
    """A version's content segmented for its search vector: the title; the tags and the
    service's name; the body."""
    tags = " ".join((*d.tags, SERVICE_WORDS.get(d.service, "")))
    return Words(segmented(d.title), segmented(tags), segmented(d.body))


async def act(conn: asyncpg.Connection, article_id: int, action: KbAction, version: int,
              by: str, at: float, *, by_admin: bool = False, note: str = "") -> Article:
    """queries.act, with the version's words when publishing."""
    words = None
    if action is KbAction.PUBLISH:
        v = await queries.version(conn, article_id, version)
        if v is None:
            raise NoSuchArticle(f"no version {version} of article {article_id}",
                                details={"article_id": article_id, "version": version})
        words = await asyncio.to_thread(words_of, v.draft)
    return await queries.act(conn, article_id, action, version, by, at, by_admin=by_admin,
                             note=note, words=words)


#: A question's content words that search looks for (queries.relaxed tries their subsets)
MAX_QUERY_WORDS = 6


async def search(conn: asyncpg.Connection, text: str, service: str | None = None,
                 limit: int = 10) -> list[Hit]:
    """Published articles for a question in Chinese (or English words, or digits). A
    question is short (the API takes 200 characters: well under a millisecond of jieba), so
    it is segmented here, unless the dictionary is still loading."""
    if segment.ready():
        words = query_words(text, MAX_QUERY_WORDS)
    else:
        words = await asyncio.to_thread(query_words, text, MAX_QUERY_WORDS)
    return await queries.search(conn, words, service, limit)


async def suggest(conn: asyncpg.Connection, service: str | None, ivr_keys: Sequence[str],
                  limit: int = 5) -> list[Hit]:
    return await queries.suggest(conn, service, ivr_keys, limit)


__all__ = ["MAX_QUERY_WORDS", "SERVICE_WORDS", "act", "search", "suggest", "words_of"]
