"""All configuration in one place: environment variables (HOTLINE_*) or a .env / TOML-free file.

Nothing else in the code holds a host, a port or a path. Tests build their own Settings with
their own ports; the CLI and the API get theirs through `get_settings()`.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The environment that allows the built-in secrets below (hotline/core/deployment.py).
DEVELOPMENT = "development"
#: The FastAGI secret of a development set-up: refused at start-up outside development.
DEV_AGI_SECRET = "hotline-dev-agi-secret"
#: The AMI secret of a development set-up: refused at start-up outside development.
DEV_AMI_SECRET = "hotline-dev-secret"
#: The repeat-call window a centre may choose (hours) and the default: Settings.repeat_window_h
_AGI_ADDRESS = re.compile(r"[0-9A-Za-z.\-]{1,253}:[0-9]{1,5}")
REPEAT_WINDOW_CHOICES_H = (12, 24)
DEFAULT_REPEAT_WINDOW_H = 24
DEFAULT_REPEAT_WINDOW_S = DEFAULT_REPEAT_WINDOW_H * 3600.0


class AsteriskNode(BaseModel):
    """Where the controller reaches one Asterisk node over AMI."""

    name: str
    host: str = "127.0.0.1"
    ami_port: int
    ami_user: str = "hotline"
    ami_secret: str = DEV_AMI_SECRET
    # FastAGI: the secret this node's dialplan passes (HL_AGI_KEY), and the addresses or
    # networks its connections come from (empty: `host`; docs/security.md)
    agi_secret: str = DEV_AGI_SECRET
    agi_sources: list[str] = Field(default_factory=list)

    @property
    def agi_peers(self) -> list[str]:
        """Where this node's FastAGI connections may come from."""
        if self.agi_sources:
            return list(self.agi_sources)
        # a controller bound to every address still hears a local node from loopback
        return ["127.0.0.1", "::1"] if self.host in ("0.0.0.0", "::", "") else [self.host]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    # --- Asterisk, run from a Debian sid root file system that the project builds
    asterisk_suite: str = "sid"
    # debootstrap's Debian archive; empty: the one this machine's apt uses (its sources)
    asterisk_mirror: str = ""
    asterisk_packages: list[str] = Field(
        default=["asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm"]
    )
    asterisk_cache_dir: Path = Path("/var/cache/hotline/rootfs")
    asterisk_run_dir: Path = Path("/var/lib/hotline/asterisk")  # the live root (a copy)
    asterisk_config_dir: Path = REPO_ROOT / "asterisk-config"
    node_name: str = "ast1"
    bind_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "hotline"
    ami_secret: str = DEV_AMI_SECRET
    # The AMI user's write classes (manager.conf): what the controller's actions need, no more
    # (docs/security.md). The test bed and benches add `command` (pjsip show channelstats,
    # queue reload all); `config` and `user` (UpdateConfig, forged UserEvents) never.
    ami_write: str = "system,call,originate"
    # Who else may use the node's AMI besides the node's own host (manager.conf permit lines):
    # the controllers' machines when they are not the node's (docs/deploy.md, "Several
    # machines"), as addresses or networks, e.g. '["10.0.0.5", "10.0.0.6"]'
    ami_permit: list[str] = Field(default_factory=list)
    sip_port: int = 5060
    caller_match: str = "127.0.0.0/8"  # where hotline calls come from (the trunk)
    # The agent page's softphone (api/static/softphone.js): SIP over a secure websocket on
    # Asterisk's HTTPS server, https://bind_host:wss_port/ws (docs/deploy.md, "Softphones").
    # The certificate and key are host paths copied into the node; empty: a self-signed pair
    # made under data_dir/tls at the node's start (development only: docs/security.md).
    wss_port: int = 8089
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Asterisk's plain HTTP server cannot be turned off while its HTTPS one runs: it listens
    # on loopback only, on this port (nothing outside the machine reaches it)
    http_loopback_port: int = 8088
    # Agents whose phone is the agent page's softphone: their endpoints speak WebRTC
    # (DTLS-SRTP, ICE, AVPF, rtcp-mux: pjsip webrtc=yes). Every other agent's phone is plain
    # SIP/RTP (a desk phone, SIPp, baresip). JSON list, e.g. '["agent7", "agent8"]'.
    webrtc_agents: list[str] = Field(default_factory=list)
    # Where the page's softphone connects; empty: wss://<the page's host>:wss_port/ws
    softphone_ws_url: str = ""
    agi_port: int = 4573
    # Where this controller's FastAGI listens, and the address the nodes are told to dial
    # (AstDB hotline/agi): a controller on a machine of its own (docs/deploy.md, "Several
    # machines"). Empty: bind_host (the controller beside its first node).
    agi_host: str = ""
    # FastAGI peers (docs/security.md): this node's secret, passed by its dialplan with every
    # AGI call, and the addresses its connections come from (empty: bind_host); other nodes
    # carry theirs in other_nodes. A connection must send its environment within
    # agi_env_timeout_s; at most agi_max_connections are open, agi_max_connections_per_peer
    # from one address (every waiting caller holds one).
    agi_secret: str = DEV_AGI_SECRET
    agi_sources: list[str] = Field(default_factory=list)
    agi_env_timeout_s: float = 5.0
    agi_max_connections: int = 4096
    agi_max_connections_per_peer: int = 2048
    rtp_start: int = 30000
    rtp_end: int = 39999
    # Further nodes the controller serves besides this one, e.g.
    # HOTLINE_OTHER_NODES='[{"name": "ast2", "host": "10.0.0.2", "ami_port": 5038}]'
    other_nodes: list[AsteriskNode] = Field(default_factory=list)
    # AMI link: reconnect backoff (doubling from base to max) and the dead-link Ping. The max
    # bounds how long a node that is back waits for its controller: a restarted Asterisk is
    # resynced within about 2 s of being up (a connect attempt every 2 s costs nothing).
    ami_reconnect_base_s: float = 0.5
    ami_reconnect_max_s: float = 2.0
    ami_ping_interval_s: float = 2.0
    ami_ping_timeout_s: float = 3.0
    # Late Pings in a row (the node still sending meanwhile: overloaded, not gone) before the
    # link is dropped anyway; a node silent through one Ping's wait is dropped at once.
    ami_ping_misses: int = Field(default=3, ge=1, le=20)
    # Seconds of silence from the controller before the dialplan uses app_queue on its own.
    failsafe_guard_s: int = 5
    # A node whose AMI link stays down this long is lost (its machine died, or its network
    # is cut): the calls the controller knew on it end as lost to a node failure, and what it
    # last said of the agents' phones no longer counts (they are reachable through the other
    # nodes). A node back after this is resynced as new; a restart within it is the resync's.
    node_lost_s: float = Field(default=10.0, gt=0.0, le=3600.0)
    # A waiting caller's FastAGI hold session is a lease of this many seconds (Asterisk's
    # TIMEOUT(absolute)), which the controller renews inside the session every half lease (AGI
    # SET AUTOHANGUP): a caller keeps one session for the whole wait. A controller that
    # freezes stops renewing: the lease runs out and the caller asks again if the heartbeat is
    # fresh, so it loses them to the failsafe within about two leases.
    hold_lease_s: int = 20
    # A controller answers an IVR session within this many seconds or the dialplan tries the
    # next controller (a paused one's kernel accepts the connection and nobody answers): the
    # session's TIMEOUT(absolute), lifted by the controller as it answers
    agi_answer_s: int = Field(default=3, ge=1, le=30)
    heartbeat_interval_s: float = 1.0
    # A hot-standby pair (docs/deploy.md, "Two controllers"): every controller's FastAGI
    # address (host:port), in the order the dialplan tries them after the active's own
    # (AstDB hotline/agi); empty: this controller's only (bind_host:agi_port)
    controller_agi: list[str] = Field(default_factory=list)
    # The leadership lease (hotline/store/leadership.py): a standby takes over within about
    # this long of the active's death; an active that cannot renew it for this long steps down
    lease_s: float = Field(default=2.0, ge=0.5, le=30.0)
    # The platform process's scheduling niceness (applied when it may raise its priority, as
    # root): every waiting caller's decision passes through it, and on a busy machine a
    # wake-up waiting for a core shows in the tail (bench.wire). 0 leaves it as started.
    controller_nice: int = -10
    ring_timeout_s: int = 15
    # The key a waiting caller presses to hang up and be called back (virtual hold)
    callback_key: str = "1"
    # How a callback reaches the caller: a pjsip dial string with {number}
    callback_dial: str = "PJSIP/{number}@caller"
    # Tries to reach a caller on virtual hold (busy / no answer), and the pause between them
    callback_attempts: int = 3
    callback_retry_s: float = 120.0
    # A work order's call-back (回访) waits this long after the previous one was placed: the
    # customer's phone does not ring again and again (POST /api/work-orders/{id}/call-back)
    work_order_callback_gap_s: float = 600.0
    # The deadline job (hotline/work_orders/escalation.py) runs this often: escalates overdue
    # orders level by level and tells customers of a reply deadline that will be missed
    # (within `work_order_notice_before_s` of it, or past it)
    work_order_deadline_job_s: float = 30.0
    work_order_notice_before_s: float = 3600.0
    # Outage notice campaigns (docs/campaigns.md): the job looks for running ones this often,
    # places at most this many calls at once over all campaigns, and reads quiet hours and
    # spoken restore times in the centre's local time, this many hours from UTC
    campaign_job_s: float = Field(default=2.0, gt=0, le=60)
    campaign_max_calls: int = Field(default=10, ge=1, le=100)
    campaign_utc_offset_h: float = Field(default=8.0, ge=-12, le=14)

    # --- the hotline itself
    hotline_number: str = "95598"
    centre_file: Path = REPO_ROOT / "asterisk-config" / "centre.toml"  # the queues and agents
    # After-call work ends by itself after this many seconds (0: the agent ends it)
    wrap_up_s: float = 0.0
    recordings_dir: Path = Path("/var/lib/hotline/recordings")
    # Recordings are deleted this many days after the call, per service type where listed
    recording_retention_days: int = 180
    recording_retention_by_service: dict[str, int] = Field(
        default_factory=lambda: {"complaint": 730, "report": 730})
    short_abandon_s: float = 5.0
    # Where "today" starts for the figures: the centre's local midnight, as seconds east of
    # UTC (the reference centre is in China, UTC+8)
    utc_offset_s: int = 8 * 3600
    # A published knowledge-base article not confirmed by an editor for this many days is
    # flagged stale (docs/knowledge-base.md)
    kb_stale_days: int = Field(default=180, ge=1, le=3650)
    # The repeat-call window, 12 or 24 hours, the one the centre states: repeat detection at
    # IVR time, the QA sample's repeat callers, first-call resolution and the repeat-call rate
    # (docs/metrics.md, "Repeat calls"). Read it through `repeat_window_s`.
    repeat_window_h: int = DEFAULT_REPEAT_WINDOW_H
    # Utilisation's rule (docs/metrics.md, "Report figures"): the not-ready reasons whose time
    # does not count against the agent (taken out of the logged-in time), e.g.
    # ["break", "meal", "training"]; empty: every logged-in second counts
    utilisation_excused_reasons: list[str] = Field(default_factory=list)
    # Every API process looks this often for a scheduled report due (its period ended): a
    # report is made at most this long after its period ends, once whatever the number of
    # processes (hotline/reports/scheduler.py); 0: this process makes none
    report_schedule_poll_s: float = 60.0

    # --- persistence and live state; empty means "start an embedded one"
    database_url: str = ""
    # redis://host:port/db, or a Sentinel-managed pair: redis+sentinel://sentinel:port,...
    # /<master name>[/db] (hotline/store/redis_client.py, docs/deploy.md)
    redis_url: str = ""
    data_dir: Path = Path("/var/lib/hotline/data")
    # History records wait in an on-disk outbox (data_dir/writer, docs/outbox.md) fsynced at
    # most this often (group commit): a record is durable within one loop turn plus this
    outbox_sync_interval_s: float = Field(default=0.005, ge=0.0, le=1.0)

    # Deterministic replay (docs/replay.md): the controller records its inputs (typed AMI
    # events, commands, ticks, each with the controller's clock) into an append-only journal,
    # one file per centre day in replay_dir (default data_dir/replay); a file stops growing at
    # replay_max_mb (the rest of that day is not recorded), files older than
    # replay_keep_days are deleted as a new day begins.
    replay_record: bool = False
    replay_dir: Path | None = None
    replay_max_mb: int = Field(default=1024, ge=1, le=1_000_000)
    replay_keep_days: int = Field(default=14, ge=1, le=3650)

    # A supervisor's own phone for listen / whisper / barge: user name -> PJSIP endpoint (an
    # endpoint of the agent set). A user who is also an agent has its agent's endpoint. A
    # supervisor's spy audio goes only to its own endpoint; an admin may name any
    # (api/spy_target.py, docs/security.md). E.g. HOTLINE_SUPERVISOR_ENDPOINTS='{"chen": "desk7"}'
    supervisor_endpoints: dict[str, str] = Field(default_factory=dict)

    # An API process apart from the controller (`hotline api`) sends agent, supervisor and
    # configuration commands over Redis Streams (docs/command-bus.md): no reply within this
    # is a 503 controller-unavailable, and a command the controller reads later is dropped
    command_deadline_s: float = Field(default=5.0, gt=0.0, le=60.0)

    # `hotline controller`'s health listener (/healthz, /readyz, /metrics; no HTTP API
    # there): loopback by default (unauthenticated; scrape it from this host or open it);
    # 0 = no listener
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=9100, ge=0, le=65535)

    # --- HTTP
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The live socket's own server (api/live_broadcast.py): None = api_port + 1; "" = api_host
    live_port: int | None = None
    live_host: str = ""
    # The event loop of `hotline run` and the demo: uvloop (libuv; the live server writes to
    # thousands of sockets per second) or Python's own asyncio loop
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # The console's lines and log records: text for a person, or one JSON object a line for a
    # log shipper (hotline/process/console.py; docs/operations.md, "Logs")
    log_format: Literal["text", "json"] = "text"
    # "development" allows a built-in token secret and one login per role (password = name);
    # anything else refuses to start without a real api_secret
    environment: str = "development"
    api_secret: str = ""
    api_token_ttl_s: float = 900.0
    # A refresh chain's absolute lifetime: no token renewed from a password log-in (refresh,
    # or the live socket's renewal) outlives it; then the user logs in again
    api_session_max_s: float = 12 * 3600.0
    # Log-in limits (api/login_limits.py, docs/security.md): password tries of one user name
    # that did not succeed, and tries from one client address, per sliding window; over
    # either the API answers 429 with Retry-After without checking the password. 0: no limit
    login_max_failures_per_user: int = 5
    login_user_window_s: float = 60.0
    login_max_tries_per_address: int = 20
    login_address_window_s: float = 60.0
    # users as "name:password:role+role;..." (roles: agent supervisor qa planner admin)
    api_users: str = ""

    @field_validator("controller_agi")
    @classmethod
    def _agi_addresses(cls, addresses: list[str]) -> list[str]:
        # rendered into the dialplan: host:port and nothing else (no ',', '|' or spaces)
        for address in addresses:
            if not _AGI_ADDRESS.fullmatch(address):
                raise ValueError(f"{address!r} is not host:port")
        return addresses

    @field_validator("ami_permit")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        # rendered into manager.conf: an address or a network and nothing else
        for network in networks:
            ipaddress.ip_network(network, strict=False)  # ValueError names it
        return networks

    @property
    def ami_permits(self) -> str:
        """manager.conf's permit lines for ami_permit (@@ami_permits@@)."""
        lines = []
        for entry in self.ami_permit:
            network = ipaddress.ip_network(entry, strict=False)
            text = network.with_netmask if network.version == 4 else network.with_prefixlen
            lines.append(f"permit = {text}")
        return "\n".join(lines) or "; (no other AMI client: HOTLINE_AMI_PERMIT)"

    @field_validator("agi_host")
    @classmethod
    def _agi_host(cls, host: str) -> str:
        # written into the nodes' AstDB and dialled by their dialplan: a host name or address
        if host and not _AGI_ADDRESS.fullmatch(f"{host}:1"):
            raise ValueError(f"{host!r} is not a host name or address")
        return host

    @field_validator("repeat_window_h")
    @classmethod
    def _one_of_the_windows(cls, hours: int) -> int:
        # an int checked here rather than Literal[12, 24]: a Literal of ints refuses the
        # environment's text "24"
        if hours not in REPEAT_WINDOW_CHOICES_H:
            raise ValueError(f"the repeat window is one of {REPEAT_WINDOW_CHOICES_H} hours")
        return hours

    @property
    def agi_address(self) -> str:
        """This controller's FastAGI address as the dialplan dials it."""
        return f"agi://{self.agi_listen_host}:{self.agi_port}"

    @property
    def agi_listen_host(self) -> str:
        """Where this controller's FastAGI listens (agi_host, else bind_host)."""
        return self.agi_host or self.bind_host

    @property
    def agi_addresses(self) -> str:
        """Every controller's FastAGI address, '|' between them (@@agi_addresses@@)."""
        return "|".join(f"agi://{a}" for a in self.controller_agi) or self.agi_address

    def nodes(self) -> list[AsteriskNode]:
        """This node first, then the others: the controller keeps one AMI link to each."""
        this = AsteriskNode(name=self.node_name, host=self.bind_host, ami_port=self.ami_port,
                            ami_user=self.ami_user, ami_secret=self.ami_secret,
                            agi_secret=self.agi_secret, agi_sources=self.agi_sources)
        return [this, *self.other_nodes]

    @property
    def repeat_window_s(self) -> float:
        """The repeat-call window in seconds (docs/metrics.md, "Repeat calls")."""
        return self.repeat_window_h * 3600.0

    @property
    def recordings_dir_in_root(self) -> str:
        """Where Asterisk writes recordings inside its chroot (bind-mounted from recordings_dir)."""
        return "/var/spool/asterisk/hotline"

    @property
    def heartbeat_stale_s(self) -> int:
        """A heartbeat older than this (whole seconds, as the dialplan's EPOCH counts; the
        beat is written truncated) at a call's end puts the call in the ledger: about two
        beats missed (docs/dialplan-contract.md, "The ledger"). A false alarm costs one entry
        that the next resync deletes."""
        return max(2, int(-(-2 * self.heartbeat_interval_s // 1)))


@lru_cache
def get_settings() -> Settings:
    return Settings()
