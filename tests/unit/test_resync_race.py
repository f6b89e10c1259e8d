"""A call that ends while a resync reads the node (#15, found by the kill -9 proof,
asterisk/test_kill_controller.py): the restarted controller read the channels, then each
failsafe caller's variables; one caller hung up meanwhile. Its hang-up reached the controller
first (for a call it did not know yet, so it ended nothing), then the replay opened the call
again: it stayed open for good, counted in today's figures (offered, answered, failsafe) but
never written to history, and its agent held not ready ("failsafe call") for good."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hotline.core.events import CallAnswered, CallEnded, Event, FailsafeTaken
from hotline.core.lifecycle import AgentState, AgentTrigger
from hotline.core.settings import Settings
from hotline.history.service import Recorder
from hotline.process.controller import Controller
from hotline.process.controller import resync as resync_mod
from hotline.store.records import CallRecord
from hotline.telephony.ami.replies import LiveChannel
from tests.helpers import testbed

CALL = "n1-1000.1"
T0 = 1_000.0


def channel(name: str, uniqueid: str, context: str) -> LiveChannel:
    return LiveChannel(channel=name, uniqueid=uniqueid, linkedid=CALL, context=context,
                       exten="s", caller="13900000001", application="Queue", bridged=True,
                       duration_s=20.0)


class NodeWhoseCallerHangsUp:
    """The node as a resync reads it: one caller in app_queue, talking to agent3, who hangs
    up (the controller hears it) while the resync reads the caller's variables."""

    node = "n1"

    def __init__(self, hang_up: Any) -> None:
        self.hang_up = hang_up
        self.hung_up = False
        self.vars = {"HL_QUEUE": "general", "HL_SERVICE": "general", "HL_PRIORITY": "0",
                     "HL_QUEUED_AT": str(T0 + 5), "HL_FAILSAFE_AT": str(T0 + 9),
                     "HL_ANSWERED_AT": str(T0 + 10)}

    async def db_get(self, family: str, key: str) -> str:
        return str(T0)

    async def db_put(self, family: str, key: str, value: str) -> None:
        return None

    async def endpoint_reachability(self) -> dict[str, bool]:
        return {}

    async def db_tree(self, family: str) -> dict[str, str]:
        return {}  # an empty ledger

    async def started(self) -> str:
        return "2026-12-07 08:00:00"

    async def channels(self) -> list[LiveChannel]:
        return [channel("PJSIP/caller-00000001", CALL, "hotline-failsafe"),
                channel("PJSIP/agent3-00000002", "n1-1000.2", "hotline-failsafe-answered")]

    async def getvar(self, channel: str, name: str) -> str:
        if not self.hung_up:
            self.hung_up = True
            self.hang_up(CallEnded(T0 + 20, node=self.node, call_id=CALL, cause=16))
        return self.vars.get(name, "")


class Rows:
    def __init__(self) -> None:
        self.rows: list[Any] = []

    def submit(self, record: Any) -> None:
        self.rows.append(record)


async def test_a_call_that_ends_while_a_resync_reads_the_node_ends_once_replayed(
        tmp_path: Path) -> None:
    settings = Settings(node_name="n1")
    controller = Controller(settings, testbed.test_centre(), clock=lambda: T0 + 21,
                            emit_line=lambda _: None)
    rows = Rows()
    recorder = Recorder(rows, tmp_path, "/var/spool/asterisk/hotline",
                        settings.short_abandon_s)
    seen: list[Event] = []
    controller.observe(recorder.observe)
    controller.observe(lambda item: seen.append(item) if isinstance(item, Event) else None)
    controller.agent_command("agent3", AgentTrigger.LOGIN)
    controller.agent_command("agent3", AgentTrigger.READY)

    link = NodeWhoseCallerHangsUp(controller.handle)
    await resync_mod.resync(controller._state, link, controller.handle)  # type: ignore[arg-type]

    mine = [e for e in seen if getattr(e, "call_id", "") == CALL]
    assert any(isinstance(e, FailsafeTaken) for e in mine), mine
    assert isinstance(mine[-1], CallEnded), mine  # replayed, then ended: not open for good
    calls = [r for r in rows.rows if isinstance(r, CallRecord) and r.call_id == CALL]
    assert [(c.outcome, c.agent_id, c.ended_at) for c in calls] == [
        ("failsafe", "agent3", T0 + 20)]
    assert controller.router.agent("agent3").state is AgentState.READY  # not held for good


class NodeWhoseAgentAnswers(NodeWhoseCallerHangsUp):
    """app_queue rings agent1 when the resync reads the channels; agent1 answers (the
    controller hears it) while the resync reads the caller's variables (not yet answered
    when read), then the caller hangs up."""

    def __init__(self, hear: Any) -> None:
        super().__init__(hear)
        del self.vars["HL_ANSWERED_AT"]

    async def channels(self) -> list[LiveChannel]:
        ringing = channel("PJSIP/agent1-00000002", "n1-1000.2", "hotline-failsafe-answered")
        return [channel("PJSIP/caller-00000001", CALL, "hotline-failsafe"),
                dataclasses.replace(ringing, bridged=False)]

    async def getvar(self, channel: str, name: str) -> str:
        if not self.hung_up:
            self.hung_up = True
            self.hang_up(CallAnswered(T0 + 12, node=self.node, call_id=CALL,
                                      agent_id="agent1", channel="PJSIP/agent1-00000002"))
        return self.vars.get(name, "")


async def test_an_answer_heard_while_a_resync_reads_the_node_counts(tmp_path: Path) -> None:
    """The same race, with app_queue's answer: the replay said ringing, the call ended
    unanswered and was written as abandoned (short), though agent1 talked to the caller."""
    settings = Settings(node_name="n1")
    controller = Controller(settings, testbed.test_centre(), clock=lambda: T0 + 13,
                            emit_line=lambda _: None)
    rows = Rows()
    controller.observe(Recorder(rows, tmp_path, "/var/spool/asterisk/hotline",
                                settings.short_abandon_s).observe)
    link = NodeWhoseAgentAnswers(controller.handle)
    await resync_mod.resync(controller._state, link, controller.handle)  # type: ignore[arg-type]
    controller.handle(CallEnded(T0 + 20, node="n1", call_id=CALL, cause=16))
    calls = [r for r in rows.rows if isinstance(r, CallRecord) and r.call_id == CALL]
    assert [(c.outcome, c.agent_id, c.answered_at) for c in calls] == [
        ("failsafe", "agent1", T0 + 12)]
