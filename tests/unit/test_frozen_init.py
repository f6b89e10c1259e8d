"""hotline/core/frozen.py: the events' and decisions' faster constructor builds the same
objects as the dataclass's own __init__ (same signature, same fields, still frozen)."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from hotline.core import events
from hotline.core.frozen import fast_init
from hotline.core.lifecycle import AgentState
from hotline.router.decisions import CallbackDue, Explanation, Offer

EVENT_CLASSES = [c for c in vars(events).values()
                 if isinstance(c, type) and issubclass(c, events.Event)]


def _reference(cls: type) -> type:
    """The same fields as a plain frozen, slotted dataclass: its generated __init__."""
    return dataclasses.make_dataclass(
        "Reference" + cls.__name__,
        [(f.name, f.type, dataclasses.field(default=f.default, kw_only=f.kw_only))
         if f.default is not dataclasses.MISSING else (f.name, f.type)
         for f in sorted(dataclasses.fields(cls), key=lambda f: f.kw_only)],
        frozen=True, slots=True)


@pytest.mark.parametrize("cls", [*EVENT_CLASSES, Offer, CallbackDue],
                         ids=lambda c: c.__name__)
def test_same_signature_as_the_generated_init(cls: type) -> None:
    assert cls.__init__ is not _reference(cls).__init__
    ours = inspect.signature(cls.__init__)
    generated = inspect.signature(_reference(cls).__init__)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in generated.parameters.values()]


def test_builds_the_same_object_and_stays_frozen() -> None:
    ev = events.AgentStateChanged(5.0, "a1", AgentState.READY, AgentState.RESERVED,
                                  call_id="c1", node="n1")
    assert (ev.at, ev.agent_id, ev.old, ev.new, ev.reason, ev.call_id, ev.node) == (
        5.0, "a1", AgentState.READY, AgentState.RESERVED, "", "c1", "n1")
    assert ev == events.AgentStateChanged(5.0, "a1", AgentState.READY, AgentState.RESERVED,
                                          "", "c1", node="n1")
    assert hash(ev) == hash(dataclasses.replace(ev))
    assert pickle.loads(pickle.dumps(ev)) == ev
    assert dataclasses.replace(ev, reason="break").reason == "break"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.at = 6.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        events.CallEnded(1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        events.CallEnded(1.0, "c1", 16, "", False, "n1")  # type: ignore[call-arg]
    why = Explanation("c1", 1.0, "q", "most_skilled", (), "policy", "a1", (), ())
    offer = Offer("c1", "a1", "q", 2.5, why)
    assert (offer.call_id, offer.agent_id, offer.queue, offer.wait_s, offer.explanation) == (
        "c1", "a1", "q", 2.5, why)


def test_refuses_what_it_would_build_differently() -> None:
    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        x: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        x: int

        def __post_init__(self) -> None:
            pass

    for cls in (NotFrozen, Factory, PostInit):
        with pytest.raises(TypeError):
            fast_init(cls)
