"""Staffing per interval: Erlang C, Erlang A (with caller patience) and shrinkage. Pure.

Inputs are per interval: `calls` offered in `interval_s` seconds, `aht_s` the average handling
time (talk + hold + after-call work), so the traffic is A = calls * aht_s / interval_s Erlangs.
Formulas and sources are in docs/planning.md.

Numerically stable for hundreds of agents: Erlang B by its recurrence
B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)) (no factorial, no power of A), Erlang C from it,
and Erlang A's queue states in log space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: the largest number of agents the search tries (a guard against an impossible target)
MAX_AGENTS = 100_000
#: Erlang A: the longest queue its distribution is summed over
_MAX_QUEUE = 1_000_000


def traffic(calls: float, aht_s: float, interval_s: float) -> float:
    """Offered traffic in Erlangs."""
    if calls < 0 or aht_s <= 0 or interval_s <= 0:
        raise ValueError("calls >= 0, aht_s > 0 and interval_s > 0 required")
    return calls * aht_s / interval_s


def erlang_b(agents: int, a: float) -> float:
    """Blocking probability of M/M/n/n by the recurrence (stable for any n)."""
    if agents < 0 or a < 0:
        raise ValueError("agents >= 0 and traffic >= 0 required")
    b = 1.0
    for k in range(1, agents + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(agents: int, a: float) -> float:
    """P(wait > 0) of M/M/n (Erlang C); 1.0 when the queue is unstable (n <= A)."""
    if agents <= a:
        return 1.0
    b = erlang_b(agents, a)
    return agents * b / (agents - a * (1.0 - b))


@dataclass(frozen=True, slots=True)
class Staffing:
    """What `agents` agents give for one interval's traffic (Erlang C or A)."""

    agents: int
    traffic: float  # Erlangs
    p_wait: float  # probability that a caller waits at all
    service_level: float  # answered within T / (answered + abandoned), see docs/planning.md
    asa_s: float  # average wait of the answered calls
    occupancy: float  # carried traffic / agents
    p_abandon: float = 0.0  # Erlang A only


def erlang_c_staffing(agents: int, calls: float, aht_s: float, interval_s: float,
                      target_s: float) -> Staffing:
    """Erlang C (M/M/n, callers never hang up) for `agents` agents. An unstable queue
    (agents <= traffic) gives service level 0, infinite ASA and occupancy 1."""
    a = traffic(calls, aht_s, interval_s)
    if agents <= a:
        return Staffing(agents, a, 1.0, 0.0, math.inf, 1.0 if agents else 0.0)
    pw = erlang_c(agents, a)
    sl = 1.0 - pw * math.exp(-(agents - a) * target_s / aht_s)
    return Staffing(agents, a, pw, sl, pw * aht_s / (agents - a), a / agents)


def erlang_a_staffing(agents: int, calls: float, aht_s: float, interval_s: float,
                      target_s: float, patience_s: float) -> Staffing:
    """Erlang A (M/M/n+M, Palm): callers hang up after an exponential patience of mean
    `patience_s`. Service level counts abandons in its denominator (as the metrics do, short
    abandons aside); ASA is the mean wait of the answered calls. math.inf patience is
    Erlang C."""
    if math.isinf(patience_s):
        return erlang_c_staffing(agents, calls, aht_s, interval_s, target_s)
    if patience_s <= 0:
        raise ValueError("patience_s must be > 0")
    a = traffic(calls, aht_s, interval_s)
    lam, mu, theta = calls / interval_s, 1.0 / aht_s, 1.0 / patience_s
    if lam == 0:
        return Staffing(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    if agents == 0:
        return Staffing(0, a, 1.0, 0.0, math.inf, 0.0, 1.0)
    n_mu = agents * mu
    if lam > n_mu and (lam - n_mu) / theta > _MAX_QUEUE:
        # Overloaded and almost never hanging up: the queue grows to (lam - n mu) / theta
        # callers (more than _MAX_QUEUE) before abandons balance it. In the limit everyone
        # waits, nobody within T, and what the agents cannot carry is abandoned.
        return Staffing(agents, a, 1.0, 0.0, math.inf, 1.0, 1.0 - n_mu / lam)
    # Stationary distribution: states 0..n as M/M/n/n scaled so that sum_{k<=n} = 1 (so
    # pi_n = Erlang B), then queue states n+j with ratio lam / (n mu + j theta); in log space.
    b = erlang_b(agents, a)
    log_pn = math.log(b)
    logs: list[float] = []  # log pi_{n+j}, j = 1..J
    log_p, peak = log_pn, log_pn
    j = 0
    while True:
        j += 1
        log_p += math.log(lam / (n_mu + j * theta))
        logs.append(log_p)
        peak = max(peak, log_p)
        if lam < n_mu + j * theta and log_p < peak - 40.0:  # falling, and negligible
            break
        if j >= _MAX_QUEUE:  # a tail this long only near n mu = lam with no patience
            break
    scale = max(peak, 0.0)
    below = (1.0 - b) * math.exp(-scale)  # states 0..n-1: a caller is answered at once
    queue = [math.exp(x - scale) for x in logs]
    p_n = math.exp(log_pn - scale)
    # a caller arriving at state n+j (j callers ahead) waits (PASTA)
    waiting = [p_n, *queue]
    total = below + sum(waiting)
    p_wait = sum(waiting) / total
    # served S_j and E[W; served] M_j for a caller with j ahead: from "j ahead" the caller
    # leaves at rate r_j = n mu + j theta + theta: moving up (rate n mu + j theta: a service
    # or an abandon ahead) or abandoning itself (theta). Exact recurrences, no integration.
    served = wait_served = 0.0
    s_prev = m_prev = 0.0
    for jj, weight in enumerate(waiting):
        up = n_mu + jj * theta
        r = up + theta
        s = up / r if jj == 0 else up / r * s_prev
        m = s / r + (0.0 if jj == 0 else up / r * m_prev)
        served += weight * s
        wait_served += weight * m
        s_prev, m_prev = s, m
    p_served = (below + served) / total
    within = (below + float(_served_within(waiting, n_mu, theta, target_s))) / total
    carried = lam * p_served * aht_s
    return Staffing(
        agents=agents,
        traffic=a,
        p_wait=p_wait,
        service_level=within,
        asa_s=(wait_served / total) / p_served,
        occupancy=carried / agents,
        p_abandon=1.0 - p_served,
    )


def _served_within(start: list[float], n_mu: float, theta: float, t: float) -> float:
    """Mass of callers (weights `start` by the number ahead) answered within t seconds: the
    pure-death chain "j ahead" -> "j-1 ahead" (rate n mu + j theta) -> ... -> answered (n mu),
    killed at rate theta by the caller's own patience, solved by uniformization: with N(t)
    ~ Poisson(L t) steps of the embedded chain, answered-by-t = sum_k P(N = k) A_k."""
    if t <= 0:
        return 0.0
    size = len(start)
    for _ in range(2):  # a caller j ahead needs j + 1 steps: more than k_max never make it
        lam_u = n_mu + size * theta  # the largest exit rate
        k_max = int(lam_u * t + 10.0 * math.sqrt(lam_u * t) + 20.0)
        size = min(size, k_max + 1)
    p = np.asarray(start[:size], dtype=float)
    rate_up = n_mu + np.arange(size) * theta
    stay = 1.0 - (rate_up + theta) / lam_u
    move = rate_up[1:] / lam_u
    first = n_mu / lam_u
    x = lam_u * t
    log_x = math.log(x)
    answered = result = 0.0
    for k in range(k_max + 1):
        result += math.exp(k * log_x - x - math.lgamma(k + 1)) * answered
        answered += p[0] * first
        nxt = p * stay
        nxt[:-1] += p[1:] * move
        p = nxt
    return result


def needed_agents(calls: float, aht_s: float, interval_s: float, target_s: float,
                  sl_target: float | None = None, asa_target_s: float | None = None,
                  patience_s: float = math.inf, max_occupancy: float = 1.0) -> Staffing:
    """The fewest agents meeting every target given (service level of `sl_target` within
    `target_s`, ASA at most `asa_target_s`, occupancy at most `max_occupancy`), by Erlang C
    (infinite patience) or Erlang A. Service level, ASA and occupancy improve with each agent,
    so the first that meets them all is the answer."""
    if sl_target is not None and not 0.0 <= sl_target < 1.0:
        raise ValueError("sl_target must be in [0, 1)")
    a = traffic(calls, aht_s, interval_s)
    if a == 0:
        return erlang_a_staffing(0, calls, aht_s, interval_s, target_s, patience_s)

    def meets(n: int) -> Staffing | None:
        f = erlang_a_staffing(n, calls, aht_s, interval_s, target_s, patience_s)
        ok = ((sl_target is None or f.service_level >= sl_target)
              and (asa_target_s is None or f.asa_s <= asa_target_s)
              and f.occupancy <= max_occupancy)
        return f if ok else None

    # Bisection over n: each figure improves with every agent (a property test checks it).
    low = math.floor(a) if math.isinf(patience_s) else 0  # fails (or no agent)
    high = max(low + 1, 1)
    while meets(high) is None:
        low, high = high, high * 2
        if high > MAX_AGENTS:
            raise ValueError("no staffing up to MAX_AGENTS meets the targets")
    while high - low > 1:
        mid = (low + high) // 2
        if meets(mid) is None:
            low = mid
        else:
            high = mid
    found = meets(high)
    assert found is not None
    return found


def scheduled_agents(required: float, shrinkage: float) -> int:
    """Agents to schedule so that `required` are on the phones: required / (1 - shrinkage),
    rounded up; shrinkage is the share of paid time off the phones (breaks, training, leave)."""
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError("shrinkage must be in [0, 1)")
    return math.ceil(required / (1.0 - shrinkage) - 1e-9)


def patience_estimate(wait_answered_s: float, wait_abandoned_s: float, abandoned: int) -> float:
    """Mean caller patience from measured waits (the exponential model's maximum-likelihood
    estimate): the total wait of all callers, answered and abandoned, over the abandons.
    math.inf when nobody hung up (no evidence of impatience)."""
    if wait_answered_s < 0 or wait_abandoned_s < 0 or abandoned < 0:
        raise ValueError("waits and abandons must be >= 0")
    if abandoned == 0:
        return math.inf
    return (wait_answered_s + wait_abandoned_s) / abandoned


__all__ = [
    "MAX_AGENTS",
    "Staffing",
    "erlang_a_staffing",
    "erlang_b",
    "erlang_c",
    "erlang_c_staffing",
    "needed_agents",
    "patience_estimate",
    "scheduled_agents",
    "traffic",
]
