"""Offer delivery (hotline/process/controller/delivery.py): the transition table over every
(state, trigger) pair, and the per-call record the controller keeps through it."""

from __future__ import annotations

import itertools

import pytest

from hotline.core.lifecycle import IllegalTransition
from hotline.process.controller.delivery import (
    DELIVERY_TRANSITIONS,
    Deliveries,
    DeliveryState,
    DeliveryTrigger,
    next_delivery_state,
)

S, T = DeliveryState, DeliveryTrigger

#: The rules, written out independently of the module's table: an offer goes out once (into
#: a hold session or by Redirect); only a hold delivery may be sent once more (into a new
#: session, the first one having been lost); a new offer, the ring or the end forget it.
ALLOWED: dict[tuple[DeliveryState, DeliveryTrigger], DeliveryState] = {
    (S.UNSENT, T.OFFER): S.UNSENT,
    (S.UNSENT, T.HOLD): S.HELD,
    (S.UNSENT, T.REDIRECT): S.REDIRECTED,
    (S.UNSENT, T.RING): S.UNSENT,
    (S.UNSENT, T.END): S.UNSENT,
    (S.HELD, T.OFFER): S.UNSENT,
    (S.HELD, T.HOLD_AGAIN): S.HELD_AGAIN,
    (S.HELD, T.RING): S.UNSENT,
    (S.HELD, T.END): S.UNSENT,
    (S.HELD_AGAIN, T.OFFER): S.UNSENT,
    (S.HELD_AGAIN, T.RING): S.UNSENT,
    (S.HELD_AGAIN, T.END): S.UNSENT,
    (S.REDIRECTED, T.OFFER): S.UNSENT,
    (S.REDIRECTED, T.RING): S.UNSENT,
    (S.REDIRECTED, T.END): S.UNSENT,
}

PAIRS = list(itertools.product(DeliveryState, DeliveryTrigger))


def test_the_table_covers_every_state_and_names_only_known_moves() -> None:
    assert set(DELIVERY_TRANSITIONS) == set(DeliveryState)
    listed = {(s, t) for s, moves in DELIVERY_TRANSITIONS.items() for t in moves}
    assert listed == set(ALLOWED)


@pytest.mark.parametrize(("state", "trigger"), PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_every_pair_moves_where_the_rules_say_or_raises(
        state: DeliveryState, trigger: DeliveryTrigger) -> None:
    if (state, trigger) in ALLOWED:
        assert next_delivery_state(state, trigger) is ALLOWED[state, trigger]
        return
    with pytest.raises(IllegalTransition) as raised:
        next_delivery_state(state, trigger)
    assert (raised.value.state, raised.value.trigger) == (state, trigger)
    assert f"'{state}'" in str(raised.value) and f"'{trigger}'" in str(raised.value)
    assert "offer delivery" in str(raised.value)


@pytest.mark.parametrize(("state", "trigger"), PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_the_record_follows_the_table(state: DeliveryState, trigger: DeliveryTrigger) -> None:
    """Brought to `state` by legal moves, a call's record then moves as the table says, or
    refuses and stays as it was."""
    d = Deliveries()
    path = {S.UNSENT: [], S.HELD: [T.HOLD], S.HELD_AGAIN: [T.HOLD, T.HOLD_AGAIN],
            S.REDIRECTED: [T.REDIRECT]}[state]
    for step in path:
        d.move("c1", "agent1", step)
    assert d.state("c1", "agent1") is state
    if (state, trigger) not in ALLOWED:
        with pytest.raises(IllegalTransition):
            d.move("c1", "agent1", trigger)
        assert d.state("c1", "agent1") is state
        return
    assert d.move("c1", "agent1", trigger) is ALLOWED[state, trigger]
    assert d.state("c1", "agent1") is ALLOWED[state, trigger]
    assert len(d) == (0 if ALLOWED[state, trigger] is S.UNSENT else 1)


def test_an_offer_sent_to_one_agent_is_unsent_for_another() -> None:
    d = Deliveries()
    d.move("c1", "agent1", T.HOLD)
    assert d.sent("c1") == ("agent1", S.HELD)
    assert d.state("c1", "agent2") is S.UNSENT
    d.move("c1", "agent2", T.REDIRECT)  # the record is the latest offer's
    assert d.sent("c1") == ("agent2", S.REDIRECTED)
    assert d.state("c1", "agent1") is S.UNSENT
    assert d.state("c2", "agent1") is S.UNSENT  # other calls: nothing sent


@pytest.mark.parametrize("trigger", [T.OFFER, T.RING, T.END])
def test_forget_clears_whatever_was_sent(trigger: DeliveryTrigger) -> None:
    d = Deliveries()
    for sent in ([T.HOLD], [T.HOLD, T.HOLD_AGAIN], [T.REDIRECT]):
        for step in sent:
            d.move("c1", "agent1", step)
        d.forget("c1", trigger)
        assert d.sent("c1") is None
    d.forget("c9", trigger)  # nothing sent: nothing to forget
    assert len(d) == 0


def test_a_refused_move_changes_nothing() -> None:
    d = Deliveries()
    d.move("c1", "agent1", T.REDIRECT)
    with pytest.raises(IllegalTransition):
        d.check("c1", "agent1", T.HOLD)
    assert d.sent("c1") == ("agent1", S.REDIRECTED)
