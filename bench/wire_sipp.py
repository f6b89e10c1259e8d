"""SIPp for the wire benchmark: many agents per SIPp process, callers by rate, and what their
traces say (when each INVITE reached an agent's phone, how many calls SIPp counted as failed).

The scenarios are the test suite's (tests/sipp/agent.xml, caller.xml); only the command lines
differ from hotline.sipp_phones: agent processes log every message with its arrival time
(-trace_msg) and callers write their final counters (-trace_stat).
"""

from __future__ import annotations

import csv
import ctypes
import re
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hotline.sipp_phones import SCENARIOS, SippProcess, sipp_binary

_STAMP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$")
_INVITE = re.compile(r"^INVITE sip:([^@;>\s]+)@")
_CALL_ID = re.compile(r"^(?:Call-ID|i)\s*:\s*(\S+)", re.IGNORECASE)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the benchmark dies, however it dies (PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


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
        preexec_fn=_die_with_parent,
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


def start_callers(number: str, target: str, service: str, calls: int, rate: float,
                  talk_ms: int, port: int, media_port: int) -> SippProcess:
    """`calls` calls at `rate` per second; each caller stays `talk_ms` after the hotline
    answered unless the far end hangs up first (the agent ends a connected call sooner)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"wire-callers-{port}-"))
    scenario = _render("caller.xml", workdir, TALK_MS=talk_ms)
    args = ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
            "-mp", str(media_port), "-s", service, "-key", "number", number,
            "-m", str(calls), "-r", f"{rate:g}", "-l", str(max(1, calls)),
            "-trace_stat", "-stf", str(workdir / "stats.csv"), target]
    return _spawn(args, workdir, f"callers-{port}")


def invite_arrivals(phone: SippProcess) -> list[tuple[str, float]]:
    """(agent id, epoch seconds) of each INVITE the process received, first copy only (a
    retransmission repeats the Call-ID). SIPp stamps each message in local time."""
    path = phone.workdir / "messages.log"
    if not path.exists():
        return []
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    stamp: float | None = None
    agent: str | None = None
    with path.open(errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            m = _STAMP.match(line)
            if m:
                stamp = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                agent = None
                continue
            if stamp is None:
                continue
            m = _INVITE.match(line)
            if m:
                agent = m.group(1)
                continue
            if agent is not None:
                m = _CALL_ID.match(line)
                if m:
                    if m.group(1) not in seen:
                        seen.add(m.group(1))
                        out.append((agent, stamp))
                    agent, stamp = None, None
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
