"""The wire benchmark's own Asterisk node: name "wire", a temporary run dir, ports 29000-29999
(SIP, AMI, AGI and the SIPp phones) and RTP 50000-59999, so it never meets another engineer's
test bed or a developer's node on the same machine.

The node is the repository's configuration, unchanged, plus one extension added at run time
over AMI (DialplanExtensionAdd, nothing written to disk): BENCH_APPQUEUE_NUMBER in context
`hotline` answers and goes straight to `hotline-failsafe`, i.e. Asterisk's own app_queue with
the same static members, with no controller in the path; BENCH_HOLD_NUMBER takes the same
steps and goes to `hotline-hold`, where our controller holds the caller. Unless told to keep
the shipped queue settings, the node's rendered queues.conf also gets `autofill = yes` (see
autofill_failsafe).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hotline.centre.model import AgentSpec, Centre, QueueSpec
from hotline.core.settings import Settings
from hotline.core.values import ServiceType
from hotline.telephony.agi.server import Agi
from hotline.telephony.ami.link import AmiLink
from hotline.telephony.node.box import root_dir

NODE = "wire"
AMI_PORT = 29038
SIP_PORT = 29060
WSS_PORT, HTTP_LOOPBACK_PORT = 29043, 29044  # the softphone's websocket: unused, own ports
AGI_PORT = 29073
AGENT_SIP_BASE = 29100  # agent phone process k listens on AGENT_SIP_BASE + k
CALLER_SIP_BASE = 29200
RTP_START, RTP_END = 50000, 57999  # Asterisk's RTP; the SIPp phones' media sits above
PHONE_MEDIA_BASE = 58000  # SIPp media ports, stepping by 4 up to 59999
BENCH_APPQUEUE_NUMBER = "95599"
BENCH_HOLD_NUMBER = "95597"  # ours: straight to hotline-hold (the hotline number's own IVR skipped)


def wire_settings(base: Path, wrap_up_s: float, ring_timeout_s: int = 5) -> Settings:
    return Settings(
        node_name=NODE,
        asterisk_run_dir=base / "asterisk",
        recordings_dir=base / "recordings",
        data_dir=base / "data",
        centre_file=base / "centre.toml",  # not read: the Centre is built in code
        ami_port=AMI_PORT,
        ami_write="system,call,originate,command",  # the bench's `queue reload all`
        sip_port=SIP_PORT,
        wss_port=WSS_PORT,
        http_loopback_port=HTTP_LOOPBACK_PORT,
        agi_port=AGI_PORT,
        rtp_start=RTP_START,
        rtp_end=RTP_END,
        ring_timeout_s=ring_timeout_s,
        failsafe_guard_s=5,
        heartbeat_interval_s=0.5,
        wrap_up_s=wrap_up_s,
    )


@dataclass(frozen=True, slots=True)
class AgentPlan:
    """Which SIPp process (UDP port) serves which agents: agent i -> process i % processes."""

    agents: int
    processes: int
    base: int = AGENT_SIP_BASE  # process k listens on base + k

    def port_of(self, index: int) -> int:
        return self.base + index % self.processes

    def ports(self) -> list[int]:
        return [self.base + k for k in range(self.processes)]


def wire_centre(plan: AgentPlan) -> Centre:
    """One queue, `plan.agents` equal agents; longest idle first, as app_queue's leastrecent."""
    agents = [
        AgentSpec(id=f"agent{i + 1}", name=f"Agent {i + 1}", secret=f"pw{i + 1}",
                  contact=f"sip:agent{i + 1}@127.0.0.1:{plan.port_of(i)}",
                  skills={"general": 3})
        for i in range(plan.agents)
    ]
    queues = [QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 1},
                        policy="longest_idle")]
    return Centre(queues=queues, agents=agents)


# The bench-only entries: what [hotline] does before the holding context (without the IVR,
# which these callers would only time out of), then app_queue or our holding context. The
# two differ in their last step only.
# Every variable [hotline] sets before its IVR is set here too: the hangup handler's ledger
# line reads them (tests/unit/test_config_files.py checks).
_ENTRY_STEPS = [
    ("Answer", ",i"),
    ("Set", "HL_CALLID=${CHANNEL(linkedid)}"),
    ("Set", "HL_ENTERED_AT=${STRFTIME(,,%s.%6q)}"),
    ("Set", "CHANNEL(hangup_handler_push)=hotline-hangup,s,1"),
    ("Set", "HL_CALLER=${FILTER(0-9+,${CALLERID(num)})}"),
    ("Set", "CALLERID(num)=${HL_CALLER}"),
    ("UserEvent", "HotlineEntered,Caller: ${HL_CALLER},Dialed: ${EXTEN}"),
    ("Set", "HL_QUEUE=general"),
    ("Set", "HL_SERVICE=general"),
    ("Set", "HL_PRIORITY=0"),
]
_ENTRIES = {
    BENCH_APPQUEUE_NUMBER: [*_ENTRY_STEPS, ("Goto", "hotline-failsafe,s,1")],
    BENCH_HOLD_NUMBER: [*_ENTRY_STEPS, ("Goto", "hotline-hold,s,1")],
}


async def add_bench_entries(link: AmiLink) -> None:
    for number, steps in _ENTRIES.items():
        for priority, (app, data) in enumerate(steps, start=1):
            await link.action("DialplanExtensionAdd", Context="hotline",
                              Extension=number, Priority=str(priority),
                              Application=app, ApplicationData=data, Replace="yes")


async def skip_survey(agi: Agi) -> None:
    """The benches' callers hang up when the agent does: their survey ends at once."""


def autofill_failsafe(settings: Settings) -> None:
    """Turns on app_queue's autofill in the node's rendered queues.conf (the repository's
    copy is left alone); a `queue reload all` applies it. Without autofill only the caller at
    the head of the queue is rung, so app_queue serves one caller at a time."""
    path = root_dir(settings) / "etc/asterisk/queues.conf"
    text = path.read_text()
    if "\nautofill" not in text:
        path.write_text(text.replace("[general]\n", "[general]\nautofill = yes\n", 1))


def manager_messages(settings: Settings) -> int | None:
    """Messages the node's AMI core has turned into manager events so far (its stasis
    taskprocessor's Processed count, `core show taskprocessors`): every event Asterisk makes
    for AMI, before any session's eventfilter, so what the dialplan costs the manager
    whatever the load. None when the CLI does not answer."""
    proc = subprocess.run(["chroot", str(root_dir(settings)), "/usr/sbin/asterisk", "-rx",
                           "core show taskprocessors like stasis/m:manager:core"],
                          capture_output=True, text=True, timeout=30, check=False)
    for line in proc.stdout.splitlines():
        fields = line.split()
        if fields and fields[0].startswith("stasis/m:manager:core") and len(fields) > 1:
            return int(fields[1]) if fields[1].isdigit() else None
    return None


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    # after the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread of `pid`, keyed "name/tid" (/proc/<pid>/task)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw.rpartition(")")[2].split()
        out[f"{name}/{tid}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def busiest_threads(before: dict[str, float], after: dict[str, float],
                    n: int = 4) -> list[tuple[str, float]]:
    """The `n` threads that used most CPU between two `thread_cpu` readings."""
    used = [(k, v - before.get(k, 0.0)) for k, v in after.items()]
    return sorted(used, key=lambda kv: -kv[1])[:n]


def machine_ticks() -> tuple[int, int, int]:
    """(busy, total, steal) CPU ticks of the whole machine, all cores, from /proc/stat; steal
    is time the hypervisor gave another guest (counted in busy)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    steal = values[7] if len(values) > 7 else 0
    return sum(values) - idle, sum(values), steal


def udp_receive_drops() -> int:
    """Datagrams the kernel dropped, machine-wide, because a UDP socket's receive buffer was
    full (/proc/net/snmp RcvbufErrors): a dropped SIP message costs a retransmission (500 ms
    and more), so a burst of them shows as a slow tail."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    names, values = rows[0], rows[1]
    return int(values[names.index("RcvbufErrors")])


def listen_overflows() -> int:
    """Connections the kernel refused, machine-wide, because a listening socket's accept queue
    was full (/proc/net/netstat ListenOverflows): the SYN is dropped and the client (Asterisk
    opening a FastAGI session) tries again a second later."""
    with open("/proc/net/netstat") as f:
        rows = [line.split() for line in f if line.startswith("TcpExt:")]
    names, values = rows[0], rows[1]
    return int(values[names.index("ListenOverflows")])


def pressure_stall_us() -> dict[str, int]:
    """Cumulative stall time (µs) from the kernel's pressure stall information: "io_some" (some
    task waited on disk), "io_full" (every runnable task did), "cpu_some" (a task waited for a
    core). Empty where /proc/pressure is missing."""
    out: dict[str, int] = {}
    for resource in ("io", "cpu"):
        try:
            with open(f"/proc/pressure/{resource}") as f:
                for line in f:
                    kind, *fields = line.split()
                    total = dict(x.split("=", 1) for x in fields)["total"]
                    out[f"{resource}_{kind}"] = int(total)
        except (FileNotFoundError, KeyError, ValueError):
            continue
    return out


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def overload_warnings(path: Path, since: int) -> dict[str, int]:
    """Asterisk's "task processor queue reached N scheduled tasks" warnings written to its log
    after byte `since`, per task processor. While any queue is over its high-water mark,
    res_pjsip's distributor ignores new SIP requests (taskprocessor_overload_trigger), and the
    phones' retransmissions (0.5 s, 1 s, 2 s...) become the wait's tail."""
    counts: dict[str, int] = {}
    try:
        with path.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return counts
    for line in text.splitlines():
        if "task processor queue reached" in line:
            name = line.split("The '", 1)[-1].split("'", 1)[0]
            name = name.rstrip("0123456789").rstrip("-")  # one counter per kind of processor
            counts[name] = counts.get(name, 0) + 1
    return counts


def udp_socket_drops() -> dict[str, int]:
    """Drops so far per open UDP socket, by local address (`ss -uanm`'s skmem d counter): says
    whose buffer overflowed, Asterisk's SIP port, an agent phone's or a caller's."""
    out = subprocess.run(["ss", "-uanm"], capture_output=True, text=True, check=False).stdout
    drops: dict[str, int] = {}
    local = ""
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] in ("UNCONN", "ESTAB") and len(fields) >= 4:
            local = fields[3]
        elif "skmem:(" in line and local:
            for item in line.split("skmem:(", 1)[1].rstrip(")").split(","):
                if item.startswith("d") and item[1:].isdigit() and int(item[1:]):
                    drops[local] = drops.get(local, 0) + int(item[1:])
            local = ""
    return drops


def mounts_under(path: Path) -> list[str]:
    """Mount points below `path`: while any is left, the run dir must not be deleted (one of
    them is the host's /dev, bind-mounted into the node's root)."""
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
