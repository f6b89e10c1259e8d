"""reconcile(): the router's view of a node brought in line with its live channels."""

from __future__ import annotations

from hotline.core.events import (
    AgentRinging,
    CallAnswered,
    CallEnded,
    CallQueued,
    FailsafeTaken,
    RecordingStarted,
    RingNoAnswer,
)
from hotline.core.values import ServiceType
from hotline.process.controller.reconcile import (
    ChannelView,
    KnownCall,
    QueueVars,
    node_restarted,
    reconcile,
)

NOW = 1_000.0


def caller(call_id: str, context: str, bridged: bool = False, duration: float = 30.0,
           number: str = "139") -> ChannelView:
    return ChannelView(channel=f"PJSIP/caller-{call_id}", uniqueid=call_id, linkedid=call_id,
                       context=context, caller=number, bridged=bridged, duration_s=duration)


def agent_leg(call_id: str, agent: str, bridged: bool = True) -> ChannelView:
    return ChannelView(channel=f"PJSIP/{agent}-0001", uniqueid=f"{call_id}.9", linkedid=call_id,
                       context="hotline-agent", caller=agent, bridged=bridged, duration_s=5.0)


def test_nothing_missed_means_no_events() -> None:
    known = [KnownCall("a", "queued"), KnownCall("b", "talking", "agent1")]
    live = [caller("a", "hotline-hold"), caller("b", "hotline-connect", bridged=True),
            agent_leg("b", "agent1")]
    assert reconcile("n1", known, live, {}, NOW) == []


def test_a_call_gone_while_away_ends_once() -> None:
    events = reconcile("n1", [KnownCall("a", "talking", "agent1")], [], {}, NOW)
    assert events == [CallEnded(NOW, node="n1", call_id="a", cause=0,
                                cause_text="ended while the controller was not connected")]
    assert not events[0].node_failure  # the node did not restart: the caller hung up


def test_calls_gone_while_away_from_a_restarted_node_are_lost_to_its_failure() -> None:
    """#15.5: the node restarted meanwhile (its start time changed): every known call it no
    longer has was dropped by it; a call still there is left alone."""
    known = [KnownCall("a", "queued"), KnownCall("b", "talking", "agent1"),
             KnownCall("c", "queued")]
    events = reconcile("n1", known, [caller("c", "hotline-hold")], {}, NOW, restarted=True)
    assert [(e.call_id, e.node_failure) for e in events
            if isinstance(e, CallEnded)] == [("a", True), ("b", True)]
    assert all("node failure" in e.cause_text for e in events)  # type: ignore[attr-defined]


def test_only_another_start_time_means_the_node_restarted() -> None:
    assert node_restarted("2026-12-07 03:00:01", "2026-12-07 03:19:32")
    assert not node_restarted("2026-12-07 03:00:01", "2026-12-07 03:00:01")  # link blip
    assert not node_restarted(None, "2026-12-07 03:00:01")  # the first login
    assert not node_restarted("2026-12-07 03:00:01", "")  # unknown now


def test_offered_call_answered_or_back_in_hold() -> None:
    known = [KnownCall("a", "offered", "agent1"), KnownCall("b", "offered", "agent2")]
    live = [caller("a", "hotline-connect", bridged=True), agent_leg("a", "agent1"),
            caller("b", "hotline-hold")]
    events = reconcile("n1", known, live, {}, NOW)
    assert CallAnswered(NOW, node="n1", call_id="a", agent_id="agent1") in events
    assert RingNoAnswer(NOW, node="n1", call_id="b", agent_id="agent2", cause=19) in events
    assert len(events) == 2


def test_a_caller_who_joined_while_away_is_queued_with_the_original_time() -> None:
    live = [caller("c", "hotline-hold", duration=12.0, number="13800000009")]
    with_time = {"c": QueueVars("billing", ServiceType.BILLING, 1, queued_at=990.0)}
    [event] = reconcile("n1", [], live, with_time, NOW)
    # where it came from is unknown: its keys while waiting never ask for a callback
    assert event == CallQueued(990.0, node="n1", call_id="c", queue="billing",
                               service=ServiceType.BILLING, caller="13800000009", priority=1,
                               channel="PJSIP/caller-c", takes_callback_key=False)
    [event] = reconcile("n1", [], live, {"c": QueueVars("general", ServiceType.GENERAL)}, NOW)
    assert event.at == NOW - 12.0  # without HL_QUEUED_AT: the channel's age


def test_calls_served_by_the_failsafe_meanwhile_make_their_agents_busy() -> None:
    live = [caller("f", "hotline-failsafe", bridged=True), agent_leg("f", "agent3"),
            caller("g", "hotline-failsafe")]  # g still rings app_queue's members
    events = reconcile("n1", [], live, {}, NOW)
    assert events == [
        FailsafeTaken(NOW, node="n1", call_id="f", queue=""),
        AgentRinging(NOW, node="n1", call_id="f", agent_id="agent3",
                     channel="PJSIP/agent3-0001"),
        CallAnswered(NOW, node="n1", call_id="f", agent_id="agent3",
                     channel="PJSIP/agent3-0001"),
        FailsafeTaken(NOW, node="n1", call_id="g", queue=""),
    ]


def test_an_agent_app_queue_is_ringing_is_busy_too() -> None:
    """Issue #15.3: the agent leg of a failsafe call, not bridged yet, is app_queue ringing
    that agent: the controller that comes back must not offer it a call too."""
    live = [caller("g", "hotline-failsafe"), agent_leg("g", "agent2", bridged=False)]
    assert reconcile("n1", [], live, {}, NOW) == [
        FailsafeTaken(NOW, node="n1", call_id="g", queue=""),
        AgentRinging(NOW, node="n1", call_id="g", agent_id="agent2",
                     channel="PJSIP/agent2-0001"),
    ]


def test_known_callers_are_never_queued_twice_and_other_contexts_are_left() -> None:
    live = [caller("a", "hotline-hold"), caller("d", "hotline-connect"),
            caller("e", "hotline-ivr")]
    vars_ = {"a": QueueVars("general", ServiceType.GENERAL),
             "e": QueueVars("general", ServiceType.GENERAL)}
    # (d: in hotline-connect without the hold's variables: nothing to replay it from)
    assert reconcile("n1", [KnownCall("a", "queued")], live, vars_, NOW) == []


def test_a_call_app_queue_serves_is_replayed_with_its_recording() -> None:
    """Found by the kill -9 proof (asterisk/test_kill_controller.py): a caller app_queue took
    while the controller was away, still talking when it came back, was written to history
    without its recording (the dialplan's MixMonitor had started it in hotline-failsafe)."""
    live = [caller("f", "hotline-failsafe", bridged=True), agent_leg("f", "agent3")]
    path = "/var/spool/asterisk/hotline/f.wav"
    qv = QueueVars("general", ServiceType.GENERAL, queued_at=990.0, failsafe_at=994.0,
                   answered_at=995.0, recording=path)
    events = reconcile("n1", [], live, {"f": qv}, NOW)
    assert RecordingStarted(994.0, node="n1", call_id="f", path=path) in events
    assert events.index(RecordingStarted(994.0, node="n1", call_id="f", path=path)) \
        < next(i for i, e in enumerate(events) if isinstance(e, CallAnswered))


def test_a_call_a_dead_controller_put_through_is_replayed_from_its_start() -> None:
    """Killed (-9) while the caller talked to the agent it chose: the next controller finds
    the caller in hotline-connect and writes the call whole, with the dialplan's times."""
    live = [caller("d", "hotline-connect", bridged=True, duration=40.0, number="13800000004"),
            agent_leg("d", "agent3")]
    vars_ = {"d": QueueVars("general", ServiceType.GENERAL, queued_at=962.5,
                            answered_at=963.0)}
    events = reconcile("n1", [], live, vars_, NOW)
    assert [type(e).__name__ for e in events] == [
        "CallEntered", "CallQueued", "AgentRinging", "CallAnswered"]
    entered, queued, rung, answered = events
    assert (entered.at, entered.caller, queued.at, queued.queue) == (
        960.0, "13800000004", 962.5, "general")
    assert (rung.agent_id, rung.at) == ("agent3", 963.0)
    assert answered == CallAnswered(963.0, node="n1", call_id="d", agent_id="agent3",
                                    channel="PJSIP/agent3-0001")
    # still ringing: rung when its leg was made, not answered
    ringing = [caller("f", "hotline-connect", duration=3.0), agent_leg("f", "agent1", False)]
    events = reconcile("n1", [], ringing, {"f": QueueVars("general", ServiceType.GENERAL,
                                                          queued_at=998.0)}, NOW)
    assert [type(e).__name__ for e in events] == ["CallEntered", "CallQueued", "AgentRinging"]
    assert events[2].at == 998.0  # (the leg's age, 5 s, is older than the queueing)




def test_a_call_opened_while_resyncing_is_left_to_its_live_events() -> None:
    """A call first heard during the resync entered after the channel snapshot was taken (the
    snapshot's reply comes behind the node's event backlog) or ends in events still to come:
    either way the live events tell its life. Ended or rung again from the older snapshot, a
    caller who had just pressed for a callback was taken for gone, and its callback rang while
    its own channel still held the call id (found by the kill -9 proof with PostgreSQL away)."""
    known = [KnownCall("new", "offered", "agent1"), KnownCall("old", "queued"),
             KnownCall("seen", "offered", "agent2")]
    live = [caller("seen", "hotline-hold")]
    events = reconcile("n1", known, live, {}, NOW, fresh={"new", "seen"})
    assert [(type(e).__name__, e.call_id) for e in events] == [("CallEnded", "old")]
