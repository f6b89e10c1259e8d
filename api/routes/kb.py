"""The knowledge base (知识库): search and suggestions for everyone signed in (the published
articles only), "this helped" clicks, and the editors' side: drafts, versions, review,
publishing, confirming and retiring. The rules are hotline/kb/model.py's; who may do what and
how search ranks: docs/knowledge-base.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from hotline.api.deps import CurrentUser, Editor, ServicesDep, SettingsDep
from hotline.api.errors import ErrorResponse
from hotline.api.limits import MAX_PAGE, Offset
from hotline.api.routes.history import store as history_store
from hotline.api.security import KB_EDITORS, Claims, Role
from hotline.kb import model, queries, service
from hotline.kb.model import ArticleKind, ArticleState, KbAction, VersionState
from hotline.kb.queries import Article, Draft, Hit, NoSuchArticle

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 422, 503)}
NO_NUL = r"^[^\x00]*$"
SOME_TEXT = r"^[^\x00]*[^\x00\s][^\x00]*$"  # no NUL, not blank
MAX_HITS = 50
ArticleId = Annotated[int, Path(ge=1, le=2**53, description="an article's id")]
Service = Literal[model.SERVICES]  # type: ignore[valid-type]
Tag = Annotated[str, Field(min_length=1, max_length=model.TAG_MAX_LEN,
                           pattern=r"^[^\x00-\x1f\x7f]+$")]
IvrKey = Annotated[str, Field(pattern=model.IVR_KEY_PATTERN)]
CallId = Annotated[str, Field(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]


class ArticleIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=model.TITLE_MAX_LEN,
                                pattern=SOME_TEXT)]
    body: Annotated[str, Field(max_length=model.BODY_MAX_LEN, pattern=NO_NUL)]
    service: Service = Field("", description="a service type; '' for every service")
    kind: ArticleKind
    tags: Annotated[list[Tag], Field(max_length=model.MAX_TAGS)] = []
    ivr_keys: Annotated[list[IvrKey], Field(
        max_length=model.MAX_IVR_KEYS, description="IVR steps (menu=digit) of the calls it "
                                                   "is suggested for")] = []

    def draft(self) -> Draft:
        return Draft(self.title, self.body, self.service, self.kind,
                     tuple(dict.fromkeys(self.tags)), tuple(model.check_ivr_keys(self.ivr_keys)))


class ArticleEdit(ArticleIn):
    base_version: Annotated[int, Field(ge=1, le=2**31 - 1, description=(
        "the latest version when you read it (409 stale-version if someone wrote since)"))]


class ActionIn(BaseModel):
    action: KbAction
    version: Annotated[int, Field(ge=1, le=2**31 - 1, description=(
        "the latest version, which submit, publish and reject act on"))]
    note: Annotated[str, Field(max_length=model.NOTE_MAX_LEN, pattern=NO_NUL)] = ""


class HelpedIn(BaseModel):
    call_id: CallId = Field("", description="the call it helped on ('' for none)")


class ArticleOut(BaseModel):
    id: int
    service: str
    kind: str
    state: str
    latest: int
    latest_state: str
    published: int | None
    title: str  # of the published version ('' before the first publish)
    body: str
    tags: list[str]
    ivr_keys: list[str]
    helped: int
    reviewed_at: float | None
    stale: bool
    created_by: str
    updated_at: float


class VersionOut(BaseModel):
    version: int
    state: str
    title: str
    body: str
    service: str
    kind: str
    tags: list[str]
    ivr_keys: list[str]
    written_by: str
    written_at: float
    published_by: str | None
    published_at: float | None
    note: str


class HitOut(BaseModel):
    id: int
    service: str
    kind: str
    title: str
    snippet: str  # the body's start
    tags: list[str]
    helped: int
    stale: bool
    score: float


class HelpedOut(BaseModel):
    counted: bool  # False: this user already said so for this call
    helped: int


def _stale(state: ArticleState, reviewed_at: float | None, services: Any,
           settings: Any) -> bool:
    return model.is_stale(state, reviewed_at, services.clock(), settings.kb_stale_days)


def article_out(a: Article, services: Any, settings: Any) -> ArticleOut:
    return ArticleOut(
        id=a.id, service=a.service, kind=a.kind, state=a.state, latest=a.latest,
        latest_state=a.latest_state, published=a.published, title=a.title, body=a.body,
        tags=list(a.tags), ivr_keys=list(a.ivr_keys), helped=a.helped,
        reviewed_at=a.reviewed_at, stale=_stale(a.state, a.reviewed_at, services, settings),
        created_by=a.created_by, updated_at=a.updated_at)


def hit_out(h: Hit, services: Any, settings: Any) -> HitOut:
    return HitOut(id=h.id, service=h.service, kind=h.kind, title=h.title, snippet=h.body,
                  tags=list(h.tags), helped=h.helped, score=round(h.score, 6),
                  stale=_stale(ArticleState.PUBLISHED, h.reviewed_at, services, settings))


def _editor(user: Claims) -> bool:
    return user.has_any(KB_EDITORS)


@router.get("/search", responses=ERRORS)
async def search(_: CurrentUser, services: ServicesDep, settings: SettingsDep,
                 q: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)],
                 service_type: Annotated[Service | None, Query(alias="service")] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_HITS)] = 10) -> list[HitOut]:
    """Published articles for a question, best first: every word of it (segmented), the
    title weighing most; if none has every word, any of them."""
    async with history_store(services) as conn:
        hits = await service.search(conn, q, service_type, limit)
    return [hit_out(h, services, settings) for h in hits]


@router.get("/suggestions", responses=ERRORS)
async def suggestions(_: CurrentUser, services: ServicesDep, settings: SettingsDep,
                      service_type: Annotated[Service | None, Query(alias="service")] = None,
                      ivr: Annotated[list[str], Query(
                          max_length=model.MAX_IVR_KEYS, description="the call's IVR path, "
                          "menu=digit steps")] = [],  # noqa: B006 (FastAPI copies it)
                      limit: Annotated[int, Query(ge=1, le=MAX_HITS)] = 5) -> list[HitOut]:
    """Published articles for a ringing call: its service type and IVR path."""
    keys = [k for k in ivr if len(k) <= 80]  # a step that is no menu=digit matches nothing
    async with history_store(services) as conn:
        hits = await service.suggest(conn, service_type or None, keys, limit)
    return [hit_out(h, services, settings) for h in hits]


@router.get("/articles", responses=ERRORS)
async def list_articles(
        _: Editor, services: ServicesDep, settings: SettingsDep,
        state: ArticleState | None = None,
        review: Annotated[VersionState | None, Query(
            description="the latest version's state (in_review: what waits for review)")]
        = None,
        service_type: Annotated[Service | None, Query(alias="service")] = None,
        stale: Annotated[bool, Query(description="only published articles due a review")]
        = False,
        title: Annotated[str, Query(max_length=200, pattern=NO_NUL)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Offset = 0) -> list[ArticleOut]:
    """Every article, drafts and retired ones included, newest change first."""
    before = services.clock() - settings.kb_stale_days * 86_400.0 if stale else None
    async with history_store(services) as conn:
        found = await queries.articles(conn, state=state, latest_state=review,
                                       service=service_type, reviewed_before=before,
                                       title=title, limit=limit, offset=offset)
    return [article_out(a, services, settings) for a in found]


@router.get("/articles/{article_id}", responses=ERRORS)
async def one_article(user: CurrentUser, services: ServicesDep, settings: SettingsDep,
                      article_id: ArticleId) -> ArticleOut:
    """An article: editors see every one; everyone else a published one only (else 404)."""
    async with history_store(services) as conn:
        a = await queries.get(conn, article_id)
    if a is None or (a.state is not ArticleState.PUBLISHED and not _editor(user)):
        raise NoSuchArticle(f"no article {article_id}", details={"article_id": article_id})
    return article_out(a, services, settings)


@router.get("/articles/{article_id}/versions", responses=ERRORS)
async def article_versions(_: Editor, services: ServicesDep, article_id: ArticleId,
                           limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
                           offset: Offset = 0) -> list[VersionOut]:
    """The versions, newest first, a page of them."""
    async with history_store(services) as conn:
        found = await queries.versions(conn, article_id, limit=limit, offset=offset)
    if not found and offset == 0:
        raise NoSuchArticle(f"no article {article_id}", details={"article_id": article_id})
    return [VersionOut(
        version=v.version, state=v.state, title=v.draft.title, body=v.draft.body,
        service=v.draft.service, kind=v.draft.kind, tags=list(v.draft.tags),
        ivr_keys=list(v.draft.ivr_keys), written_by=v.written_by, written_at=v.written_at,
        published_by=v.published_by, published_at=v.published_at, note=v.note)
        for v in found]


@router.post("/articles", status_code=201, responses=ERRORS)
async def create_article(user: Editor, services: ServicesDep, settings: SettingsDep,
                         body: ArticleIn) -> ArticleOut:
    """A new article: version 1, a draft."""
    async with history_store(services) as conn:
        article_id = await queries.create(conn, body.draft(), user.username, services.clock())
        a = await queries.get(conn, article_id)
    assert a is not None
    return article_out(a, services, settings)


@router.put("/articles/{article_id}", responses=ERRORS)
async def edit_article(user: Editor, services: ServicesDep, settings: SettingsDep,
                       article_id: ArticleId, body: ArticleEdit) -> ArticleOut:
    """The next version, a draft; the published one stays live until this one is."""
    async with history_store(services) as conn:
        await queries.write_version(conn, article_id, body.base_version, body.draft(),
                                    user.username, services.clock())
        a = await queries.get(conn, article_id)
    assert a is not None
    return article_out(a, services, settings)


@router.post("/articles/{article_id}/actions", responses=ERRORS)
async def article_action(user: Editor, services: ServicesDep, settings: SettingsDep,
                         article_id: ArticleId, body: ActionIn) -> ArticleOut:
    """submit, publish (another editor than the version's author), reject (with a note),
    confirm (still true: restarts the stale clock), retire. 409 kb-wrong-state,
    kb-own-version, stale-version."""
    async with history_store(services) as conn:
        a = await service.act(conn, article_id, body.action, body.version, user.username,
                              services.clock(), by_admin=Role.ADMIN in user.roles,
                              note=body.note)
    return article_out(a, services, settings)


@router.post("/articles/{article_id}/helped", responses=ERRORS)
async def article_helped(user: CurrentUser, services: ServicesDep, article_id: ArticleId,
                         body: HelpedIn) -> HelpedOut:
    """"This helped": counted once per user and call, on a published article."""
    async with history_store(services) as conn:
        counted = await queries.helped(conn, article_id, user.username, body.call_id,
                                       services.clock())
        a = await queries.get(conn, article_id)
    return HelpedOut(counted=counted, helped=a.helped if a else 0)


__all__ = ["router"]
