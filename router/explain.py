"""Builds the human explanation of one offer decision, with bounded work.

The ranking of the eligible agents comes from the selection kernel itself (`ranked`), so it is
the order the decision used. Agents passed over for their state or their skills are found by
walking the holders of the decision's primary skill, highest level first (every agent when the
queue requires no skill), and stop after `limit` of them or after looking at 3 x `limit`
more agents; the rest are counted in `omitted`.
`explain_offer` gathers both from the router's state; `ExplanationLog` keeps them per call
(encoded: explain_codec).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hotline.core.lifecycle import AgentState
from hotline.router.agent_records import AgentRecord
from hotline.router.decisions import (
    NOT_PREFERRED,
    NOT_READY,
    RANKED_LOWER,
    SKILL,
    Considered,
    Explanation,
)
from hotline.router.explain_codec import decode, encode

if TYPE_CHECKING:  # state.py imports ExplanationLog from here
    from hotline.router.calls import RoutedCall
    from hotline.router.definitions import QueueConfig
    from hotline.router.state import RouterState

PREFERRED = "preferred_agent"

# Considered built positionally (agent_id, verdict, rank, policy, skill, level, minimum, state,
# reason, idle_since, calls_today, preferred): a decision builds dozens, and NamedTuple's
# keyword constructor costs six times as much (bench.ami: explanations were a third of the
# router's time). The ranked-lower and passed-over records come from the selection kernel's
# Verdicts (compiled: they are built for every offer), in this field order.
_new = tuple.__new__
SCAN_FACTOR = 3


def verdicts(kernel: ModuleType) -> Any:
    """The record builder of the select_agent `kernel` (compiled or its twin), one per router
    (it keeps each not-ready agent's record until the agent's state changes)."""
    return kernel.Verdicts(Considered, RANKED_LOWER, SKILL, NOT_READY, AgentState.READY)


def explain(
    *,
    verdicts: Any,
    call_id: str,
    at: float,
    queue: str,
    policy: str,
    requirements: Mapping[str, int],
    reason: str,
    ranked: Sequence[AgentRecord],
    candidates: Iterable[AgentRecord],
    total: int,
    limit: int,
) -> Explanation:
    """`ranked`: the eligible ready agents best first, the chosen one first. `candidates`:
    the agents to look at for the passed-over list (`total` of them), best level first.
    `verdicts`: the kernel's record builder (see `verdicts`)."""
    chosen = ranked[0]
    primary = next(iter(requirements), None)
    if reason == PREFERRED:
        # The call waited for the agent who handled the caller's open work order.
        lower = [
            _new(Considered, (a.agent_id, NOT_PREFERRED, 0, "", "", 0, 0, "", "", 0.0, 0,
                              chosen.agent_id))
            for a in ranked[1:]
        ]
    else:
        lower = verdicts.ranked_lower(ranked[1:], policy, primary or "")
    eligible = tuple([a.agent_id for a in ranked])
    reqs = tuple(requirements.items())
    # At most SCAN_FACTOR * limit agents looked at: on a floor where most holders are ready
    # and eligible (ranked beyond the limit) the walk would otherwise cross all of them.
    others = verdicts.passed_over(candidates, set(eligible), reqs, limit, SCAN_FACTOR * limit)
    return Explanation(
        call_id=call_id,
        at=at,
        queue=queue,
        policy=policy,
        requirements=reqs,
        reason=reason,
        chosen=chosen.agent_id,
        eligible=eligible,
        passed_over=(*lower, *others),
        omitted=max(0, total - len(ranked) - len(others)),
    )


def explain_offer(
    state: RouterState,
    call: RoutedCall,
    chosen: AgentRecord,
    q: QueueConfig,
    req: Mapping[str, int],
    reason: str,
    now: float,
) -> Explanation:
    """The explanation of offering `call` to `chosen`; built before the agent leaves ready,
    so the kernel's ranking still holds it."""
    limit = state.config.explain_limit
    skills, mins = state.skills.columns(req)
    cursor = state.rr_cursor.get(q.name, -1)
    top = state.index.ranked(skills, mins, state.policy_codes[q.policy], cursor, limit)
    ranked = [state.by_index[i] for i in top if i != chosen.index]
    if reason != PREFERRED and (not top or top[0] != chosen.index):
        # The invariant (router.py's docstring) says the kernel ranks the chosen agent first;
        # counted rather than raised, so a routing bug never stops the controller.
        state.rank_mismatches += 1
    primary = next(iter(req), None)
    if primary is None:
        candidates: Iterable[AgentRecord] = state.agents.values()
        total = len(state.agents)
    else:
        by_level = state.holders.get(primary, [])
        candidates = chain.from_iterable(reversed([d.values() for d in by_level]))
        total = sum(map(len, by_level))
    return explain(
        verdicts=state.verdicts,
        call_id=call.call_id,
        at=now,
        queue=q.name,
        policy=PREFERRED if reason == PREFERRED else q.policy,
        requirements=req,
        reason=reason,
        ranked=[chosen, *(a for a in ranked if a is not None)][:limit],
        candidates=candidates,
        total=total,
        limit=limit,
    )


#: New explanations stay objects until the router's tick (every 0.2 s in the controller)
#: encodes them, off the decision that built them; beyond this many, one per new one.
FRESH_MAX = 64
_Kept = Explanation | bytes  # an explanation, or its encoding (explain_codec)
#: What the kept explanations may weigh encoded, whatever their count (a call offered again
#: and again keeps one per offer): ~400 bytes each, so explain_keep's 10,000 calls fit.
KEEP_BYTES = 16 * 2**20


class ExplanationLog:
    """Every offer decision per call, oldest first, for the `keep` most recent calls and
    within `keep_bytes` once encoded (explain_codec). A new explanation is kept as it is
    until `compact` encodes it: with the router ticking, no decision waits for an encoding.

    A call is one entry of a plain dict, in the order of its first offer: its explanation
    itself when it has one (most calls), a list of them once offered again, so a call costs
    its encoded bytes and a dict slot, not a list and an OrderedDict's links besides (~140 B;
    docs/metrics.md, the soak's RSS)."""

    def __init__(self, keep: int, keep_bytes: int = KEEP_BYTES) -> None:
        self._keep, self._keep_bytes = keep, keep_bytes
        self._by_call: dict[str, _Kept | list[_Kept]] = {}
        #: (call id, the explanation, its place in the call's list or -1: the call's only one)
        self._fresh: deque[tuple[str, Explanation, int]] = deque()
        self.bytes = 0  # the encoded explanations kept

    def add(self, why: Explanation) -> None:
        by_call, call_id = self._by_call, why.call_id
        kept = by_call.get(call_id)
        if kept is None:
            by_call[call_id] = why
            self._fresh.append((call_id, why, -1))
            self._trim()
        elif type(kept) is list:
            self._fresh.append((call_id, why, len(kept)))
            kept.append(why)
        else:
            by_call[call_id] = [kept, why]  # type: ignore[list-item]
            if type(kept) is not bytes:  # its fresh entry moves into the list
                self._fresh = deque((c, w, 0 if w is kept else at)
                                    for c, w, at in self._fresh)
            self._fresh.append((call_id, why, 1))
        if len(self._fresh) > FRESH_MAX:
            # no tick for a while (a burst, or a router without a ticker): the oldest one
            # now, one per decision rather than a pause every FRESH_MAX decisions
            self._encode(*self._fresh.popleft())
            self._trim()

    def compact(self) -> None:
        """Encodes the explanations added since the last compaction."""
        while self._fresh:
            self._encode(*self._fresh.popleft())
        self._trim()

    def _encode(self, call_id: str, why: Explanation, at: int) -> None:
        kept = self._by_call.get(call_id)
        if kept is why:
            blob = self._by_call[call_id] = encode(why)
        elif type(kept) is list and at < len(kept) and kept[at] is why:
            blob = kept[at] = encode(why)
        else:  # dropped meanwhile
            return
        self.bytes += len(blob)

    def of(self, call_id: str) -> list[Explanation]:
        kept = self._by_call.get(call_id)
        if kept is None:
            return []
        return [decode(x) if type(x) is bytes else x  # type: ignore[misc]
                for x in (kept if type(kept) is list else (kept,))]

    def _trim(self) -> None:
        """The oldest calls out, beyond the count or the bytes (the newest call stays)."""
        by_call = self._by_call
        while len(by_call) > self._keep or (self.bytes > self._keep_bytes and len(by_call) > 1):
            dropped = by_call.pop(next(iter(by_call)))
            self.bytes -= sum(len(x) for x in (dropped if type(dropped) is list else (dropped,))
                              if type(x) is bytes)  # type: ignore[arg-type]
