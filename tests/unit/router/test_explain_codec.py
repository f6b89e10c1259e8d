"""The kept explanations' compact form: every Explanation comes back equal, and the log that
keeps them answers as a plain list of them would, within its count and its bytes."""

from __future__ import annotations

import gc
import tracemalloc
from collections import OrderedDict

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core.lifecycle import AgentState
from hotline.router.decisions import NOT_READY, RANKED_LOWER, SKILL, Considered, Explanation
from hotline.router.explain import ExplanationLog
from hotline.router.explain_codec import decode, encode

words = st.text(max_size=12)  # any str: agent ids, skills, reasons, unicode included
floats = st.floats(allow_nan=False)  # NaN is not equal to itself: no round trip to compare
small = st.integers(min_value=-(2**40), max_value=2**70)  # beyond 64 bits too

considered = st.builds(
    Considered, agent_id=words,
    verdict=st.sampled_from([RANKED_LOWER, SKILL, NOT_READY, "not_preferred"]) | words,
    rank=small, policy=words, skill=words, level=small, minimum=small,
    state=st.sampled_from(list(AgentState)) | words, reason=words, idle_since=floats,
    calls_today=small, preferred=words)

explanations = st.builds(
    Explanation, call_id=words, at=floats, queue=words, policy=words,
    requirements=st.lists(st.tuples(words, small), max_size=4).map(tuple),
    reason=words, chosen=words, eligible=st.lists(words, max_size=25).map(tuple),
    passed_over=st.lists(considered, max_size=45).map(tuple), omitted=small,
    callback_attempt=small)


@given(explanations)
def test_an_explanation_comes_back_equal(why: Explanation) -> None:
    back = decode(encode(why))
    assert back == why
    assert all(type(c) is Considered for c in back.passed_over)
    # an enum member comes back as the plain str it equals (the API shows its value)
    assert all(type(c.state) is str for c in back.passed_over)


def test_a_full_explanation_packs_into_a_fraction_of_its_text() -> None:
    """explain_limit (20) ranked and 39 passed over, as the router writes them."""
    ranked = tuple(f"agent{i}" for i in range(1, 21))
    lower = tuple(Considered(a, RANKED_LOWER, i + 2, "most_skilled", "s5", 3, 0, "", "",
                             1795478000.0 + i, i) for i, a in enumerate(ranked[1:]))
    other = tuple(Considered(f"agent{1000 + i}", NOT_READY, state="not_ready", reason="break")
                  for i in range(20))
    why = Explanation("1795478000.1", 1795478001.25, "q5", "most_skilled", (("s5", 1),),
                      "policy", ranked[0], ranked, lower + other, omitted=300)
    blob = encode(why)
    assert decode(blob) == why
    assert len(blob) < len(repr(why)) / 4


# ---- the log

# each step: add an explanation of call k (from a few), or compact
steps = st.lists(st.one_of(st.integers(min_value=0, max_value=12), st.none()), max_size=120)


@settings(max_examples=60)
@given(steps, st.integers(min_value=1, max_value=6))
def test_the_log_answers_as_a_plain_list_would(script: list[int | None], keep: int) -> None:
    log = ExplanationLog(keep)
    model: OrderedDict[str, list[Explanation]] = OrderedDict()
    for n, step in enumerate(script):
        if step is None:
            log.compact()
            continue
        why = Explanation(f"c{step}", float(n), "q", "longest_idle", (("s1", 1),), "policy",
                          f"agent{n}", (f"agent{n}",),
                          (Considered(f"agent{n + 1}", NOT_READY, state=AgentState.NOT_READY),))
        log.add(why)
        if why.call_id not in model:
            model[why.call_id] = []
            while len(model) > keep:
                model.popitem(last=False)
        model[why.call_id].append(why)
    for k in range(13):
        assert log.of(f"c{k}") == model.get(f"c{k}", [])
    log.compact()
    for k in range(13):
        assert log.of(f"c{k}") == model.get(f"c{k}", [])
    assert log.bytes == sum(len(encode(w)) for kept in model.values() for w in kept)


def test_the_log_keeps_within_its_bytes() -> None:
    """Calls offered again and again weigh more than their count says: the oldest go first,
    the newest call stays."""
    log = ExplanationLog(keep=10_000, keep_bytes=4_000)
    for n in range(200):
        log.add(Explanation(f"c{n // 10}", float(n), "q", "most_skilled", (), "policy",
                            f"agent{n}", tuple(f"agent{n + i}" for i in range(20)), ()))
    log.compact()
    assert 0 < log.bytes <= 4_000
    assert len(log.of("c19")) == 10  # the newest call, whole
    assert log.of("c0") == []


def floor_explanation(n: int) -> Explanation:
    """An offer on a busy floor as the router writes it: 20 eligible (19 ranked lower, each
    with its own idle time), a few passed over for their state, and a fresh call id."""
    base = 1795478000.0 + n
    ranked = tuple(f"agent{(n * 7 + i * 13) % 9973}" for i in range(20))
    lower = tuple(Considered(a, RANKED_LOWER, i + 2, "most_skilled", "s22", 5, 0, "", "",
                             base - 15.0 - i * 0.0137 - (n % 97) * 1e-6, n % 5)
                  for i, a in enumerate(ranked[1:]))
    states = (AgentState.RESERVED, AgentState.ON_CALL, AgentState.NOT_READY)
    other = tuple(Considered(f"agent{(n * 11 + i * 17) % 9973}", NOT_READY,
                             state=states[i % 3]) for i in range(6))
    return Explanation(f"1795478000.{n}", base + 0.25 + n * 1e-7, "q22", "most_skilled",
                       (("s22", 1),), "policy", ranked[0], ranked, lower + other, omitted=1127)


def test_a_kept_explanation_weighs_few_bytes() -> None:
    """What each call's explanation weighs in the log once compacted, its slot included
    (docs/metrics.md, the soak's RSS; 10,000 calls are kept). Before: zlib of the records as
    rows (~580 B here) in a list in an OrderedDict, ~790 B a call; now columns, deflated with a
    preset dictionary (~390 B), the bytes themselves the dict's value: ~460 B a call."""
    n = 3000
    whys = [floor_explanation(i) for i in range(n + 1)]
    log = ExplanationLog(keep=10_000)
    log.add(whys[0])
    log.compact()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for why in whys[1:]:
            log.add(why)
            log.compact()
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before,
                                                                                "filename"))
    finally:
        tracemalloc.stop()
    assert log.of(whys[-1].call_id) == [whys[-1]]
    assert log.bytes / (n + 1) < 450, f"{log.bytes / (n + 1):.0f} B encoded"
    assert grown / n < 560, f"{grown / n:.0f} B per call"
