"""The knowledge base's SQL (migration 018_knowledge_base.sql): articles and their versions,
the life-cycle moves of hotline/kb/model.py under a row lock, search over the published
versions, suggestions for a call, and the "helped" clicks. Words come in already segmented
(hotline/kb/segment.py); `kb_search_vector` in the migration is the one definition of what is
matched and how it weighs. Times are epoch floats on the Python side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import asyncpg

from hotline.core.errors import Conflict, NotFound
from hotline.history.queries import AuditEntry, audit
from hotline.kb.model import ArticleKind, ArticleState, KbAction, VersionState, decide, may_edit
from hotline.store.queries import epoch, ts


class NoSuchArticle(NotFound):
    error_id = "no-such-article"


class StaleVersion(Conflict):
    """The action or edit names a version that is no longer the latest."""

    error_id = "stale-version"


@dataclass(frozen=True, slots=True)
class Draft:
    """What an editor writes: one version's content."""

    title: str
    body: str
    service: str  # a service type, '' for every service
    kind: ArticleKind
    tags: tuple[str, ...] = ()
    ivr_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Words:
    """A version's content segmented into words (space-separated), for its search vector."""

    title: str
    tags: str
    body: str


@dataclass(frozen=True, slots=True)
class Version:
    article_id: int
    version: int
    state: VersionState
    draft: Draft
    written_by: str
    written_at: float
    published_by: str | None
    published_at: float | None
    note: str


@dataclass(frozen=True, slots=True)
class Article:
    """An article: its published content (empty before the first publish) and where its
    versions stand."""

    id: int
    service: str
    kind: ArticleKind
    state: ArticleState
    latest: int
    latest_state: VersionState
    published: int | None
    title: str
    body: str
    tags: tuple[str, ...]
    ivr_keys: tuple[str, ...]
    helped: int
    reviewed_at: float | None
    created_by: str
    updated_at: float


@dataclass(frozen=True, slots=True)
class Hit:
    """A published article found by search or suggested for a call."""

    id: int
    service: str
    kind: ArticleKind
    title: str
    body: str
    tags: tuple[str, ...]
    helped: int
    reviewed_at: float | None
    score: float  # search: ts_rank_cd; suggestions: the match score (docs/knowledge-base.md)


_ARTICLE = ("SELECT a.*, v.state AS latest_state FROM kb_articles a"
            " JOIN kb_versions v ON v.article_id = a.id AND v.version = a.latest")


def _article(r: asyncpg.Record) -> Article:
    return Article(r["id"], r["service"], ArticleKind(r["kind"]), ArticleState(r["state"]),
                   r["latest"], VersionState(r["latest_state"]), r["published"], r["title"],
                   r["body"], tuple(r["tags"]), tuple(r["ivr_keys"]), r["helped"],
                   epoch(r["reviewed_at"]), r["created_by"], epoch(r["updated_at"]) or 0.0)


def _version(r: asyncpg.Record) -> Version:
    return Version(r["article_id"], r["version"], VersionState(r["state"]), Draft(
        r["title"], r["body"], r["service"], ArticleKind(r["kind"]), tuple(r["tags"]),
        tuple(r["ivr_keys"])), r["written_by"], epoch(r["written_at"]) or 0.0,
        r["published_by"], epoch(r["published_at"]), r["note"])


async def _insert_version(conn: asyncpg.Connection, article_id: int, version: int,
                          d: Draft, by: str, at: float) -> None:
    await conn.execute(
        "INSERT INTO kb_versions (article_id, version, title, body, service, kind, tags,"
        " ivr_keys, written_by, written_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        article_id, version, d.title, d.body, d.service, str(d.kind), list(d.tags),
        list(d.ivr_keys), by, ts(at))


async def create(conn: asyncpg.Connection, d: Draft, by: str, at: float) -> int:
    """A new article with its first version, a draft; its id."""
    async with conn.transaction():
        article_id = int(await conn.fetchval(
            "INSERT INTO kb_articles (service, kind, created_by, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $4) RETURNING id", d.service, str(d.kind), by, ts(at)))
        await _insert_version(conn, article_id, 1, d, by, at)
        await audit(conn, AuditEntry(by, at, "kb.create", {"article_id": article_id}))
    return article_id


async def _locked(conn: asyncpg.Connection, article_id: int) -> Article:
    r = await conn.fetchrow(_ARTICLE + " WHERE a.id = $1 FOR UPDATE OF a", article_id)
    if r is None:
        raise NoSuchArticle(f"no article {article_id}", details={"article_id": article_id})
    return _article(r)


def _check_latest(article: Article, version: int) -> None:
    if version != article.latest:
        raise StaleVersion(f"version {version} is not the latest ({article.latest})",
                           details={"latest": article.latest})


async def write_version(conn: asyncpg.Connection, article_id: int, base: int, d: Draft,
                        by: str, at: float) -> int:
    """The next version of the article, a draft written over version `base` (the latest, or
    StaleVersion: someone wrote one since). The published version stays live."""
    async with conn.transaction():
        article = await _locked(conn, article_id)
        may_edit(article.state)
        _check_latest(article, base)
        version = article.latest + 1
        await _insert_version(conn, article_id, version, d, by, at)
        await conn.execute("UPDATE kb_articles SET latest = $2, updated_at = $3"
                           " WHERE id = $1", article_id, version, ts(at))
        await audit(conn, AuditEntry(by, at, "kb.write", {"article_id": article_id,
                                                           "version": version}))
    return version


async def act(conn: asyncpg.Connection, article_id: int, action: KbAction, version: int,
              by: str, at: float, *, by_admin: bool = False, note: str = "",
              words: Words | None = None) -> Article:
    """Takes `action` on the article's latest version `version` (model.decide's rules).
    Publishing needs the version's `words` (its content segmented); it supersedes the version
    published before and restarts the stale clock, as does confirming."""
    async with conn.transaction():
        article = await _locked(conn, article_id)
        if action not in (KbAction.CONFIRM, KbAction.RETIRE):
            _check_latest(article, version)
        author = await conn.fetchval("SELECT written_by FROM kb_versions WHERE article_id = $1"
                                     " AND version = $2", article_id, article.latest)
        move = decide(action, article.state, article.latest_state, author=author, actor=by,
                      actor_is_admin=by_admin)
        if move.version is not article.latest_state:
            await conn.execute(
                "UPDATE kb_versions SET state = $3,"
                " submitted_by = CASE WHEN $3 = 'in_review' THEN $4 ELSE submitted_by END,"
                " note = CASE WHEN $4::text IS NULL THEN note ELSE $5 END"
                " WHERE article_id = $1 AND version = $2",
                article_id, article.latest, str(move.version), by if action in (
                    KbAction.SUBMIT, KbAction.REJECT) else None, note)
        if action is KbAction.PUBLISH:
            if words is None:
                raise ValueError("publishing needs the version's words")
            await conn.execute(
                "UPDATE kb_versions SET state = 'superseded' WHERE article_id = $1"
                " AND state = 'published'", article_id)
            await conn.execute(
                "UPDATE kb_versions SET state = 'published', published_by = $3,"
                " published_at = $4 WHERE article_id = $1 AND version = $2",
                article_id, article.latest, by, ts(at))
            await conn.execute(
                "UPDATE kb_articles a SET state = 'published', published = v.version,"
                " title = v.title, body = v.body, tags = v.tags, ivr_keys = v.ivr_keys,"
                " service = v.service, kind = v.kind,"
                " search = kb_search_vector($3, $4, $5), reviewed_at = $6, updated_at = $6"
                " FROM kb_versions v WHERE a.id = $1 AND v.article_id = a.id"
                " AND v.version = $2",
                article_id, article.latest, words.title, words.tags, words.body, ts(at))
        elif action is KbAction.CONFIRM:
            await conn.execute("UPDATE kb_articles SET reviewed_at = $2, updated_at = $2"
                               " WHERE id = $1", article_id, ts(at))
        elif action is KbAction.RETIRE:
            await conn.execute(
                "UPDATE kb_articles SET state = 'retired', search = NULL, retired_by = $2,"
                " retired_at = $3, updated_at = $3 WHERE id = $1", article_id, by, ts(at))
        else:
            await conn.execute("UPDATE kb_articles SET updated_at = $2 WHERE id = $1",
                               article_id, ts(at))
        await audit(conn, AuditEntry(by, at, f"kb.{action}", {
            "article_id": article_id, "version": article.latest, "note": note}))
        return _article(await conn.fetchrow(_ARTICLE + " WHERE a.id = $1", article_id))


async def get(conn: asyncpg.Connection, article_id: int) -> Article | None:
    r = await conn.fetchrow(_ARTICLE + " WHERE a.id = $1", article_id)
    return _article(r) if r else None


async def version(conn: asyncpg.Connection, article_id: int, number: int) -> Version | None:
    r = await conn.fetchrow("SELECT * FROM kb_versions WHERE article_id = $1 AND version = $2",
                            article_id, number)
    return _version(r) if r else None


async def versions(conn: asyncpg.Connection, article_id: int, *, limit: int = 100,
                   offset: int = 0) -> list[Version]:
    """The article's versions, newest first, a page of them."""
    rows = await conn.fetch("SELECT * FROM kb_versions WHERE article_id = $1"
                            " ORDER BY version DESC LIMIT $2 OFFSET $3", article_id, limit,
                            offset)
    return [_version(r) for r in rows]


async def articles(conn: asyncpg.Connection, *, state: ArticleState | None = None,
                   latest_state: VersionState | None = None, service: str | None = None,
                   reviewed_before: float | None = None, title: str = "", limit: int = 100,
                   offset: int = 0) -> list[Article]:
    """The editors' list, newest change first: by state, by the latest version's state (what
    waits for review), service, reviewed before a time (the stale ones), a title fragment."""
    rows = await conn.fetch(
        _ARTICLE + " WHERE ($1::text IS NULL OR a.state = $1)"
        " AND ($2::text IS NULL OR v.state = $2) AND ($3::text IS NULL OR a.service = $3)"
        " AND ($4::timestamptz IS NULL OR (a.state = 'published' AND a.reviewed_at <= $4))"
        " AND ($5 = '' OR v.title ILIKE '%' || $5 || '%')"
        " ORDER BY a.updated_at DESC, a.id DESC LIMIT $6 OFFSET $7",
        state and str(state), latest_state and str(latest_state), service,
        ts(reviewed_before), title.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"),
        limit, offset)
    return [_article(r) for r in rows]


_HIT = ("SELECT id, service, kind, title, left(body, 300) AS body, tags, helped,"
        " reviewed_at, {score} AS score FROM kb_articles")


def _hit(r: asyncpg.Record) -> Hit:
    return Hit(r["id"], r["service"], ArticleKind(r["kind"]), r["title"], r["body"],
               tuple(r["tags"]), r["helped"], epoch(r["reviewed_at"]), float(r["score"]))


#: Search ranks at most this many matching articles: the first TITLE_CANDIDATES with every
#: looked-for word in the title, and the first CANDIDATES with them anywhere. A question so
#: general that more match is ranked among those (it needs another word, not a longer sort);
#: this is what bounds a search's time whatever the words (bench.kb).
TITLE_CANDIDATES = 100
CANDIDATES = 300


def relaxed(words: Sequence[str]) -> list[str]:
    """The tsqueries search tries in turn: every word, then any all-but-one of them, and so
    on down to any one word (the first that finds something wins, so an article with more of
    the question's words always comes before one with fewer). Each is asked of the titles
    (`title_search`, migration 027) and of the whole (`search`). `words`: letters and digits
    only (segment.query_words), so safe in to_tsquery's syntax."""
    return [" | ".join("(" + " & ".join(c) + ")" for c in combinations(words, k))
            for k in range(len(words), 0, -1)]


_SEARCH = (
    "WITH c AS ((SELECT id FROM kb_articles WHERE title_search @@ to_tsquery('simple', $1)"
    "  AND state = 'published' AND ($3::text IS NULL OR service = $3 OR service = '')"
    f"  LIMIT {TITLE_CANDIDATES})"
    " UNION (SELECT id FROM kb_articles WHERE search @@ to_tsquery('simple', $1)"
    "  AND state = 'published' AND ($3::text IS NULL OR service = $3 OR service = '')"
    f"  LIMIT {CANDIDATES}))"
    " SELECT a.id, a.service, a.kind, a.title, left(a.body, 300) AS body, a.tags, a.helped,"
    " a.reviewed_at, ts_rank_cd(a.search, to_tsquery('simple', $2)) AS score"
    " FROM kb_articles a WHERE a.id = ANY(ARRAY(SELECT id FROM c))"  # by the primary key
    " ORDER BY score DESC, a.helped DESC, a.id LIMIT $4")


async def search(conn: asyncpg.Connection, words: Sequence[str], service: str | None = None,
                 limit: int = 10) -> list[Hit]:
    """Published articles with the most of the query's words (`relaxed`), ranked by
    ts_rank_cd against any of the words (the title weighs most: kb_search_vector), then by
    helped clicks, among the candidates (TITLE_CANDIDATES, CANDIDATES)."""
    if not words:
        return []
    any_word = " | ".join(words)
    for query in relaxed(words):
        rows = await conn.fetch(_SEARCH, query, any_word, service, limit)
        if rows:
            return [_hit(r) for r in rows]
    return []


#: Suggestions score at most this many of each kind of match (the service's, the IVR steps',
#: both, the forbidden phrases), the most helpful of each: what bounds their time.
SUGGEST_CANDIDATES = 50
_PUBLISHED = "SELECT id FROM kb_articles WHERE state = 'published' AND "
_SUGGEST = (
    "WITH c AS ("
    f" ({_PUBLISHED} service = $1 AND ivr_keys && $2::text[] ORDER BY helped DESC, id"
    f"  LIMIT {SUGGEST_CANDIDATES})"
    f" UNION ({_PUBLISHED} service = $1 ORDER BY helped DESC, id LIMIT {SUGGEST_CANDIDATES})"
    f" UNION ({_PUBLISHED} ivr_keys && $2::text[] ORDER BY helped DESC, id"
    f"  LIMIT {SUGGEST_CANDIDATES})"
    f" UNION ({_PUBLISHED} service = '' AND kind = 'forbidden_phrases'"
    f"  ORDER BY helped DESC, id LIMIT {SUGGEST_CANDIDATES}))"
    " SELECT id, service, kind, title, left(body, 300) AS body, tags, helped, reviewed_at,"
    " (CASE WHEN service = $1 THEN 2 ELSE 0 END"
    " + CASE WHEN service = '' AND kind = 'forbidden_phrases' THEN 1 ELSE 0 END"
    " + cardinality(ARRAY(SELECT unnest(ivr_keys) INTERSECT SELECT unnest($2::text[]))))"
    " AS score FROM kb_articles WHERE id = ANY(ARRAY(SELECT id FROM c))"
    " ORDER BY score DESC, helped DESC, id LIMIT $3")


async def suggest(conn: asyncpg.Connection, service: str | None, ivr_keys: Sequence[str],
                  limit: int = 5) -> list[Hit]:
    """Published articles for a call: score 2 for the call's service type, plus 1 for each
    IVR step of the call's path the article names, plus 1 for the forbidden phrases that
    hold for every service; best score first, then the most helpful (among
    SUGGEST_CANDIDATES of each kind of match)."""
    # no service: "\x01", which no article's service is
    rows = await conn.fetch(_SUGGEST, service or "\x01", list(ivr_keys), limit)
    return [_hit(r) for r in rows]


async def helped(conn: asyncpg.Connection, article_id: int, username: str, call_id: str,
                 at: float) -> bool:
    """Counts a "this helped" click on a published article: once per user and call (True:
    counted now; False: already counted). NoSuchArticle for one agents do not see."""
    async with conn.transaction():
        state = await conn.fetchval("SELECT state FROM kb_articles WHERE id = $1", article_id)
        if state != ArticleState.PUBLISHED:
            raise NoSuchArticle(f"no article {article_id}", details={"article_id": article_id})
        new = await conn.fetchval(
            "INSERT INTO kb_helped (article_id, username, call_id, at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING RETURNING true", article_id, username, call_id, ts(at))
        if new:
            await conn.execute("UPDATE kb_articles SET helped = helped + 1 WHERE id = $1",
                               article_id)
    return bool(new)


async def load_published(conn: asyncpg.Connection,
                         rows: Sequence[tuple[Draft, Words]], by: str, at: float) -> None:
    """Many articles at once, published as they are (an import; the bench): each with its
    version 1 published by `by`. Two COPYs and two statements, not a row at a time."""
    async with conn.transaction():
        ids = [int(i) for i in await conn.fetchval(
            "SELECT array_agg(nextval('kb_articles_id_seq')) FROM generate_series(1, $1)",
            len(rows))] if rows else []
        await conn.execute("CREATE TEMP TABLE kb_load (id bigint, title text, body text,"
                           " service text, kind text, tags text[], ivr_keys text[],"
                           " tw text, gw text, bw text) ON COMMIT DROP")
        await conn.copy_records_to_table("kb_load", records=[
            (i, d.title, d.body, d.service, str(d.kind), list(d.tags), list(d.ivr_keys),
             w.title, w.tags, w.body) for i, (d, w) in zip(ids, rows, strict=True)])
        await conn.execute(
            "INSERT INTO kb_articles (id, service, kind, state, latest, published, title,"
            " body, tags, ivr_keys, search, reviewed_at, created_by, created_at, updated_at)"
            " SELECT id, service, kind, 'published', 1, 1, title, body, tags, ivr_keys,"
            " kb_search_vector(tw, gw, bw), $1, $2, $1, $1 FROM kb_load", ts(at), by)
        await conn.execute(
            "INSERT INTO kb_versions (article_id, version, state, title, body, service, kind,"
            " tags, ivr_keys, written_by, written_at, published_by, published_at)"
            " SELECT id, 1, 'published', title, body, service, kind, tags, ivr_keys, $2, $1,"
            " $2, $1 FROM kb_load", ts(at), by)


__all__ = ["CANDIDATES", "SUGGEST_CANDIDATES", "TITLE_CANDIDATES", "Article", "Draft", "Hit",
           "NoSuchArticle",
           "StaleVersion", "Version", "Words", "act", "articles", "create", "get", "helped",
           "load_published", "relaxed", "search", "suggest", "version", "versions",
           "write_version"]
