"""Time each agent spends in each state, per interval, today and in the sliding window.

State time is clock time: a stretch of `ready` from 10:10 to 10:20 counts 5 minutes in the
10:00 interval and 5 in the 10:15 one (the owner flushes every open stretch at each interval
boundary). Live read-outs include the open stretch up to `now`. Time while logged out is not
kept. The first event seen for an agent starts its clock at that event (what came before is
unknown).

The seconds are accumulated by the `agent_time` kernel (core_ext/, Cython with a pure-Python
twin); this module maps agent ids and (state, reason) keys to the kernel's dense numbers.
"""

from __future__ import annotations

from types import ModuleType

from hotline.core.lifecycle import AgentState
from hotline.core_ext.select import load

#: A state-time key: (state, reason); reason is "" except for not_ready.
Key = tuple[AgentState, str]

_SCOPES = {"interval": 0, "today": 1, "window": 2}


# Members as module constants: `AgentState.X` goes through EnumType's __getattr__ hook.
_NOT_READY = AgentState.NOT_READY
_LOGGED_OUT = AgentState.LOGGED_OUT


def _key(state: AgentState, reason: str) -> Key:
    return (state, reason if state is _NOT_READY else "")


class AgentClocks:
    def __init__(self, kernel: ModuleType | None = None) -> None:
        self.kernel = kernel or load("agent_time")
        self._clocks = self.kernel.Clocks()
        self._index: dict[str, int] = {}
        self._keys: list[Key] = []
        self._key_index: dict[Key, int] = {}
        #: the key of (state, "") by its state; logged out: -1 (its time is not kept)
        self._state_key: dict[AgentState, int] = {_LOGGED_OUT: -1}
        self.state: dict[str, AgentState] = {}
        self.reason: dict[str, str] = {}
        self.queues: dict[str, frozenset[str]] = {}

    def __contains__(self, agent_id: str) -> bool:
        return agent_id in self._index

    def ids(self) -> list[str]:
        return list(self._index)

    def ensure(self, agent_id: str, since: float) -> None:
        """Starts an agent's clock (logged out) at `since` if it has none yet."""
        if agent_id not in self._index:
            self._index[agent_id] = self._clocks.add_agent(since)
            self.state[agent_id] = AgentState.LOGGED_OUT
            self.reason[agent_id] = ""
            self.queues[agent_id] = frozenset()

    def change(self, agent_id: str, t: float, state: AgentState, reason: str) -> None:
        # on every agent state change (four a call): the helpers inlined
        a = self._index.get(agent_id)
        if a is None:
            self.ensure(agent_id, t)
            a = self._index[agent_id]
        key = self._state_key.get(state)  # never holds not_ready: its key has the reason
        if key is None:
            if state is _NOT_READY:
                pair = (state, reason)
                key = self._key_index.get(pair)
                if key is None:
                    key = self._key_number(pair)
            else:
                key = self._state_key[state] = self._key_number((state, ""))
        self._clocks.change(a, t, key)
        self.state[agent_id] = state
        self.reason[agent_id] = reason

    def flush_all(self, t: float) -> None:
        """Books every open stretch up to t (an interval boundary)."""
        self._clocks.flush_all(t)

    def skip_to(self, start: float) -> None:
        self._clocks.skip_to(start)

    def prune(self, cutoff: float) -> None:
        self._clocks.prune(cutoff)

    def clear_interval(self) -> None:
        self._clocks.clear_interval()

    def clear_today(self) -> None:
        self._clocks.clear_today()

    def add(self, agent_id: str, scope: str, state: AgentState, reason: str,
            seconds: float) -> None:
        """Saved seconds in (state, reason) added to the agent's interval or today scope (a
        restore at start)."""
        self.ensure(agent_id, 0.0)
        key = self._key_number(_key(state, reason))
        self._clocks.add_seconds(self._index[agent_id], _SCOPES[scope], key, seconds)

    def times(self, agent_id: str, scope: str, now: float, window_s: float) -> dict[Key, float]:
        """Seconds per state key in scope, the open stretch up to now included."""
        a = self._index.get(agent_id)
        if a is None:
            return {}
        seconds = self._clocks.read(a, _SCOPES[scope], now, window_s)
        return {self._keys[k]: s for k, s in enumerate(seconds) if s > 0}

    def _key_number(self, key: Key) -> int:
        k = self._key_index.get(key)
        if k is None:
            k = self._key_index[key] = self._clocks.add_key()
            self._keys.append(key)
        return k
