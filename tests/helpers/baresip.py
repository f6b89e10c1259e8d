"""baresip (Debian's) as an agent's desk softphone: it registers with the agent's SIP account
and answers every call by itself (answermode=auto), sending a 440 Hz tone (ausine) and
writing what it hears to a WAV file (aufile). No sound card, no terminal: its log is its
stdout, kept in its work folder."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hotline.devtools.sipp_phones import _die_with_parent

BARESIP = "/usr/bin/baresip"
MODULES = "/usr/lib/baresip/modules"


@dataclass
class Baresip:
    proc: subprocess.Popen[bytes]
    workdir: Path

    @property
    def log(self) -> str:
        return (self.workdir / "baresip.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_baresip(agent_id: str, secret: str, registrar: str, sip_port: int,
                  rtp_port: int) -> Baresip:
    """`registrar`: host:port of the node's SIP (UDP); the phone listens on 127.0.0.1:sip_port
    and sends RTP from rtp_port..rtp_port+3."""
    workdir = Path(tempfile.mkdtemp(prefix=f"baresip-{agent_id}-"))
    (workdir / "config").write_text("\n".join([
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        "sip_transports udp",
        "audio_source ausine,440",
        # ausine makes 48 kHz stereo only; baresip resamples and mixes down for G.711
        "ausrc_srate 48000",
        "ausrc_channels 2",
        f"audio_player aufile,{workdir / 'heard'}",
        "audio_alert aufile,/dev/null",
        f"rtp_ports {rtp_port}-{rtp_port + 3}",
        "rtp_timeout 0",
        f"module_path {MODULES}",
        "module g711.so",
        "module ausine.so",
        "module aufile.so",
        "module_app account.so",
        "module_app menu.so",
        "",
    ]))
    (workdir / "accounts").write_text(
        f"<sip:{agent_id}@{registrar};transport=udp>;auth_user={agent_id};auth_pass={secret};"
        "answermode=auto;regint=60;audio_codecs=PCMA,PCMU\n")
    (workdir / "contacts").write_text("")
    with open(workdir / "baresip.log", "wb") as log:
        proc = subprocess.Popen([BARESIP, "-f", str(workdir)], cwd=workdir,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)
    return Baresip(proc, workdir)


__all__ = ["Baresip", "start_baresip"]
