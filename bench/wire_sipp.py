"""SIPp for the wire benchmark: many agents per SIPp process, callers by rate, and what their
traces say (when each INVITE reached an agent's phone, how many calls SIPp counted as failed).

The scenarios are the platform's (hotline/devtools/sipp/agent.xml, caller.xml); the command
lines differ from hotline.devtools.sipp_phones: every process logs each message with its time
(-trace_msg),
callers write their final counters (-trace_stat) and each call draws its own caller number
from an injection file (the rendered caller scenario reads [field0] where it had [number]),
so a caller's 200 OK can be joined to its call over AMI (CallEntered.caller).
"""

from __future__ import annotations

import csv
import ctypes
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hotline.devtools.sipp_phones import SCENARIOS, SippProcess, sipp_binary

_STAMP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$")
_REQUEST_USER = re.compile(r"^[A-Z]+ sip:([^@;>\s]+)@")
_URI_USER = re.compile(r"sip:([^@;>\s]+)@")


#: The phones' niceness: in a contact centre they are other machines, so here they take only
#: the CPU Asterisk and the controller leave (bench.wire --sipp-nice; 0: compete as equals).
SIPP_NICE = {"value": 0}


def _in_child() -> None:
    """In the child: SIGTERM when the benchmark dies, however it dies (PR_SET_PDEATHSIG), and
    the phones' niceness."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    # absolute, not inherited: the controller's thread that starts them may run at a higher
    # priority of its own (Settings.controller_nice)
    os.setpriority(os.PRIO_PROCESS, 0, SIPP_NICE["value"])


def _render(name: str, workdir: Path, **values: int) -> Path:
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    out = workdir / name
    out.write_text(text)
    return out


def _spawn(args: list[str], workdir: Path, name: str) -> SippProcess:
    proc = subprocess.Popen(
        [sipp_binary(), *args, "-nostdin", "-trace_err", "-error_file",
         str(workdir / f"{name}_errors.log")],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_in_child,
    )
    return SippProcess(proc=proc, workdir=workdir, name=name)


def start_agent_phones(port: int, media_port: int, ring_ms: int, talk_ms: int) -> SippProcess:
    """One SIPp UAS on 127.0.0.1:port answering every agent whose contact points here; each
    INVITE is its own call (SIPp keys calls by Call-ID), so one process serves many agents."""
    workdir = Path(tempfile.mkdtemp(prefix=f"wire-agents-{port}-"))
    scenario = _render("agent.xml", workdir, RING_MS=ring_ms, TALK_MS=talk_ms)
    args = ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
            "-mp", str(media_port), "-rtp_echo", "-m", "1000000", "-bind_local",
            "-trace_msg", "-message_file", str(workdir / "messages.log")]
    return _spawn(args, workdir, f"agents-{port}")


def start_callers(numbers: list[str], target: str, service: str, rate: float,
                  talk_ms: int, port: int, media_port: int) -> SippProcess:
    """One call per number in `numbers`, at `rate` per second; each caller stays `talk_ms`
    after the hotline answered unless the far end hangs up first (as the agent does)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"wire-callers-{port}-"))
    scenario = _render("caller.xml", workdir, TALK_MS=talk_ms)
    scenario.write_text(scenario.read_text().replace("[number]", "[field0]"))
    inject = workdir / "numbers.csv"
    inject.write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in numbers))
    calls = len(numbers)
    args = ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
            "-mp", str(media_port), "-s", service, "-inf", str(inject),
            "-m", str(calls), "-r", f"{rate:g}", "-l", str(max(1, calls)),
            "-trace_stat", "-stf", str(workdir / "stats.csv"),
            "-trace_msg", "-message_file", str(workdir / "messages.log"), target]
    return _spawn(args, workdir, f"callers-{port}")


@dataclass(frozen=True, slots=True)
class Traced:
    """One message of a SIPp -trace_msg log."""

    at: float  # epoch seconds (SIPp writes local time)
    received: bool
    start_line: str
    headers: dict[str, str]  # first value of each header, lower-case names


def traced_messages(path: Path) -> Iterator[Traced]:
    """Every message of a SIPp message log, with its time and direction."""
    if not path.exists():
        return
    block: list[str] = []
    at: float | None = None

    def flush() -> Traced | None:
        if at is None or len(block) < 2:
            return None
        rest = block[1:]
        while rest and not rest[0].strip():
            rest = rest[1:]
        if not rest:
            return None
        headers: dict[str, str] = {}
        for line in rest[1:]:
            if not line.strip():
                break  # the body follows
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        return Traced(at, "received" in block[0], rest[0], headers)

    with path.open(errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = _STAMP.match(line)
            if m:
                msg = flush()
                if msg is not None:
                    yield msg
                at = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                block = []
            else:
                block.append(line)
    msg = flush()
    if msg is not None:
        yield msg


def _call_id(msg: Traced) -> str:
    return msg.headers.get("call-id") or msg.headers.get("i", "")


@dataclass(frozen=True, slots=True)
class Invite:
    agent: str  # the Request-URI's user: the agent id
    caller: str  # the From user: the caller's number, which Dial() passes on
    at: float


def invite_arrivals(phone: SippProcess) -> list[Invite]:
    """Each INVITE an agents' process received, first copy only (a retransmission repeats
    the Call-ID)."""
    out: list[Invite] = []
    seen: set[str] = set()
    for msg in traced_messages(phone.workdir / "messages.log"):
        if not (msg.received and msg.start_line.startswith("INVITE ")):
            continue
        m = _REQUEST_USER.match(msg.start_line)
        call_id = _call_id(msg)
        if m and call_id not in seen:
            seen.add(call_id)
            caller = _URI_USER.search(msg.headers.get("from", "") or msg.headers.get("f", ""))
            out.append(Invite(m.group(1), caller.group(1) if caller else "", msg.at))
    return out


def answers_at_callers(phone: SippProcess) -> dict[str, float]:
    """caller number -> when the hotline's 200 OK to its INVITE reached the caller."""
    out: dict[str, float] = {}
    for msg in traced_messages(phone.workdir / "messages.log"):
        if not (msg.received and msg.start_line.startswith("SIP/2.0 200")):
            continue
        if not msg.headers.get("cseq", "").endswith("INVITE"):
            continue
        m = _URI_USER.search(msg.headers.get("from", ""))
        if m:
            out.setdefault(m.group(1), msg.at)
    return out


@dataclass(frozen=True, slots=True)
class CallerCounts:
    created: int
    successful: int
    failed: int


def caller_counts(phone: SippProcess) -> CallerCounts | None:
    """SIPp's cumulative counters from the last row of its -trace_stat file (written at exit)."""
    path = phone.workdir / "stats.csv"
    if not path.exists():
        return None
    rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    if len(rows) < 2:
        return None
    last = dict(zip(rows[0], rows[-1], strict=False))
    try:
        return CallerCounts(created=int(last["TotalCallCreated"]),
                            successful=int(last["SuccessfulCall(C)"]),
                            failed=int(last["FailedCall(C)"]))
    except (KeyError, ValueError):
        return None
