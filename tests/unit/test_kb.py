"""The knowledge base's pure parts: Chinese word segmentation (jieba and the utility's own
terms) and the life cycle's rules (hotline/kb/model.py), the latter also as properties over
every sequence of actions; the relaxed queries search tries in turn."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.kb.model import (
    RULES,
    ArticleState,
    KbAction,
    KbRefused,
    VersionState,
    check_ivr_keys,
    decide,
    is_stale,
    may_edit,
)
from hotline.kb.queries import relaxed
from hotline.kb.segment import query_words, segmented, words


def test_words_are_words_not_characters() -> None:
    w = words("请问阶梯电价怎么计算？欠费停电后多久复电")
    # the search mode keeps a long word and its parts; stop words and punctuation go
    assert {"阶梯电价", "阶梯", "电价", "欠费停电", "停电", "复电", "计算"} <= set(w)
    assert not {"请问", "怎么", "？", "价", "电"} & set(w)
    # the utility's terms stay whole: 峰谷电价 is one word, not 峰/谷/电价 alone
    assert "峰谷电价" in words("峰谷电价的时段")
    assert "光伏并网" in words("分布式光伏并网申请")


def test_mixed_text_keeps_only_letters_and_digits() -> None:
    assert query_words("95598 Smart-Meter 电表_读数！！") == [
        "95598", "smart", "meter", "电表", "读数"]
    assert query_words("？！。……") == []
    assert segmented("阶梯电价") == "阶梯 电价 阶梯电价"
    # a query's words: distinct, the first `limit`
    assert query_words("电费 电费 电价 抢修 户号", limit=2) == ["电费", "电价"]


def test_relaxed_tries_all_words_first_then_fewer() -> None:
    assert relaxed(["a", "b", "c"]) == ["(a & b & c)", "(a & b) | (a & c) | (b & c)",
                                        "(a) | (b) | (c)"]
    assert relaxed([]) == []


def test_publish_needs_review_and_another_editor() -> None:
    with pytest.raises(KbRefused) as refused:
        decide(KbAction.PUBLISH, ArticleState.DRAFT, VersionState.DRAFT, author="a", actor="b")
    assert refused.value.error_id == "kb-wrong-state"
    with pytest.raises(KbRefused) as refused:
        decide(KbAction.PUBLISH, ArticleState.DRAFT, VersionState.IN_REVIEW, author="a",
               actor="a")
    assert refused.value.error_id == "kb-own-version"
    assert decide(KbAction.PUBLISH, ArticleState.DRAFT, VersionState.IN_REVIEW, author="a",
                  actor="a", actor_is_admin=True).article is ArticleState.PUBLISHED
    move = decide(KbAction.PUBLISH, ArticleState.PUBLISHED, VersionState.IN_REVIEW,
                  author="a", actor="b")
    assert (move.article, move.version) == (ArticleState.PUBLISHED, VersionState.PUBLISHED)


def test_retired_is_final_and_stale_is_for_published_only() -> None:
    for action in KbAction:
        with pytest.raises(KbRefused):
            decide(action, ArticleState.RETIRED, VersionState.DRAFT, author="a", actor="b")
    with pytest.raises(KbRefused):
        may_edit(ArticleState.RETIRED)
    may_edit(ArticleState.PUBLISHED)
    day = 86_400.0
    assert is_stale(ArticleState.PUBLISHED, 0.0, 30 * day, 30)
    assert not is_stale(ArticleState.PUBLISHED, 0.0, 30 * day - 1, 30)
    assert not is_stale(ArticleState.DRAFT, 0.0, 300 * day, 30)
    assert not is_stale(ArticleState.RETIRED, 0.0, 300 * day, 30)


def test_ivr_keys_are_menu_digit_steps() -> None:
    assert check_ivr_keys(["main=3", "language=1", "main=3"]) == ["main=3", "language=1"]
    with pytest.raises(ValueError):
        check_ivr_keys(["main"])


@given(st.lists(st.tuples(st.sampled_from(list(KbAction)), st.booleans()), max_size=30))
def test_any_sequence_of_actions_keeps_the_rules(steps: list[tuple[KbAction, bool]]) -> None:
    """Whatever editors try: a retired article never comes back, a draft article is only
    published through review by another editor, the published version is only ever replaced
    by publishing, and a refusal changes nothing."""
    article, latest, published_ever = ArticleState.DRAFT, VersionState.DRAFT, False
    for action, same_editor in steps:
        before = (article, latest)
        try:
            move = decide(action, article, latest, author="ed1",
                          actor="ed1" if same_editor else "ed2")
        except KbRefused:
            assert (article, latest) == before
            continue
        states, needs, _, _ = RULES[action]
        assert before[0] in states and (needs is None or before[1] is needs)
        if move.article is ArticleState.PUBLISHED and before[0] is ArticleState.DRAFT:
            assert action is KbAction.PUBLISH and not same_editor
            assert before[1] is VersionState.IN_REVIEW
        if before[0] is ArticleState.RETIRED:
            raise AssertionError("a retired article moved")
        if published_ever:
            assert move.article is not ArticleState.DRAFT
        article, latest = move.article, move.version
        published_ever |= article is ArticleState.PUBLISHED
        if latest is VersionState.PUBLISHED:  # the editor writes the next version
            latest = VersionState.DRAFT
