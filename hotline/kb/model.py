"""The knowledge base's life cycle (知识库), pure: articles by service type and kind, their
versions, who may move them where, and when a published article is stale.

An article is written in versions. Each edit is a new version, a draft; an editor submits it
for review, and another editor publishes it (four eyes: never the version's author, an admin
excepted) or sends it back to draft. Agents see only the published version; a newer draft
leaves it live until it is published in its place. A published article must be confirmed
(reviewed, still true) every `stale_days`, else it is flagged stale; a retired article leaves
search and suggestions for good. docs/knowledge-base.md states the same rules for people.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hotline.core.errors import Conflict
from hotline.core.values import ServiceType


class ArticleKind(enum.StrEnum):
    POLICY = "policy"  # 政策法规
    TARIFF = "tariff"  # 电价电费
    OUTAGE_SCRIPT = "outage_script"  # 停电话术
    SENSITIVE_SCRIPT = "sensitive_script"  # 敏感场景话术
    FORBIDDEN_PHRASES = "forbidden_phrases"  # 服务忌语
    PROCEDURE = "procedure"  # 业务办理流程


class ArticleState(enum.StrEnum):
    DRAFT = "draft"  # never published
    PUBLISHED = "published"
    RETIRED = "retired"


class VersionState(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"  # the version agents see
    SUPERSEDED = "superseded"  # published once, replaced by a later one


class KbAction(enum.StrEnum):
    SUBMIT = "submit"  # the latest version, draft -> in review
    PUBLISH = "publish"  # the latest version, in review -> published (another editor)
    REJECT = "reject"  # the latest version, in review -> draft, with a note
    CONFIRM = "confirm"  # a published article is still true: its review clock restarts
    RETIRE = "retire"  # out of search and suggestions, for good


#: What each action needs of the article and its latest version, and what it makes of them:
#: action -> (article states it may act on, the latest version's state it needs (None: any),
#:            the article's next state (None: unchanged), the version's next state (None:
#:            unchanged)). One table, one place.
A, V = ArticleState, VersionState
RULES: dict[KbAction, tuple[frozenset[ArticleState], VersionState | None,
                            ArticleState | None, VersionState | None]] = {
    KbAction.SUBMIT: (frozenset({A.DRAFT, A.PUBLISHED}), V.DRAFT, None, V.IN_REVIEW),
    KbAction.PUBLISH: (frozenset({A.DRAFT, A.PUBLISHED}), V.IN_REVIEW, A.PUBLISHED,
                       V.PUBLISHED),
    KbAction.REJECT: (frozenset({A.DRAFT, A.PUBLISHED}), V.IN_REVIEW, None, V.DRAFT),
    KbAction.CONFIRM: (frozenset({A.PUBLISHED}), None, None, None),
    KbAction.RETIRE: (frozenset({A.DRAFT, A.PUBLISHED}), None, A.RETIRED, None),
}
del A, V

#: Limits the API's schema and the CHECKs of migration 018 share (tests/integration/
#: test_limits_agree.py).
TITLE_MAX_LEN = 200
BODY_MAX_LEN = 20_000
NOTE_MAX_LEN = 2_000
MAX_IVR_KEYS = 20
MAX_TAGS = 20
TAG_MAX_LEN = 40
#: An IVR step as the agent desk reports it: menu=digit (hotline/history/desk.py)
IVR_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}=[0-9*#]$"
_IVR_KEY = re.compile(IVR_KEY_PATTERN)
#: A published article not confirmed for this long is stale (HOTLINE_KB_STALE_DAYS).
DEFAULT_STALE_DAYS = 180


class KbRefused(Conflict):
    """The article's state does not allow the action (or the actor may not take it)."""

    error_id = "kb-refused"


@dataclass(frozen=True, slots=True)
class Move:
    """What an action does: the article's and the latest version's next states."""

    article: ArticleState
    version: VersionState


def decide(action: KbAction, article: ArticleState, latest: VersionState, *,
           author: str, actor: str, actor_is_admin: bool = False) -> Move:
    """The next states after `action` by `actor` on an article whose latest version (written
    by `author`) is in `latest`. Raises KbRefused naming the reason."""
    states, needs, next_article, next_version = RULES[action]
    if article not in states:
        raise KbRefused(f"{action}: not allowed on a {article} article",
                        error_id="kb-wrong-state",
                        details={"action": str(action), "article_state": str(article)})
    if needs is not None and latest is not needs:
        raise KbRefused(f"{action} needs the latest version {needs}, it is {latest}",
                        error_id="kb-wrong-state",
                        details={"action": str(action), "version_state": str(latest)})
    if action is KbAction.PUBLISH and actor == author and not actor_is_admin:
        raise KbRefused("another editor must publish what you wrote (four eyes)",
                        error_id="kb-own-version", details={"author": author})
    return Move(next_article or article, next_version or latest)


def may_edit(article: ArticleState) -> None:
    """A new version may be written unless the article is retired."""
    if article is ArticleState.RETIRED:
        raise KbRefused("a retired article is not edited: write a new one",
                        error_id="kb-wrong-state", details={"article_state": str(article)})


def is_stale(state: ArticleState, reviewed_at: float | None, now: float,
             stale_days: int) -> bool:
    """A published article whose last review (publish or confirm) is `stale_days` old."""
    return (state is ArticleState.PUBLISHED and reviewed_at is not None
            and now - reviewed_at >= stale_days * 86_400.0)


def check_ivr_keys(keys: list[str]) -> list[str]:
    """The IVR steps an article is suggested for, deduplicated in order; ValueError for one
    that is not menu=digit."""
    bad = [k for k in keys if not _IVR_KEY.match(k)]
    if bad:
        raise ValueError(f"not an IVR step (menu=digit): {bad[0]!r}")
    return list(dict.fromkeys(keys))


SERVICES: tuple[str, ...] = ("", *(s.value for s in ServiceType))  # '': every service

__all__ = ["BODY_MAX_LEN", "DEFAULT_STALE_DAYS", "IVR_KEY_PATTERN", "MAX_IVR_KEYS", "MAX_TAGS",
           "NOTE_MAX_LEN", "RULES", "SERVICES", "TAG_MAX_LEN", "TITLE_MAX_LEN", "ArticleKind",
           "ArticleState", "KbAction", "KbRefused", "Move", "VersionState", "check_ivr_keys",
           "decide", "is_stale", "may_edit"]
