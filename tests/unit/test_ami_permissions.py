"""The AMI user's classes as rendered for a production node (issue #14.4): writes only what
the controller's actions need, never config, user, agent or command."""

from __future__ import annotations

import re

from hotline.core.settings import Settings
from hotline.telephony.node.render import render_all


def _classes(conf: str, key: str) -> set[str]:
    [line] = re.findall(rf"^{key} = (.*)$", conf, flags=re.MULTILINE)
    return set(line.split(","))


def test_the_ami_user_writes_only_what_the_controller_uses() -> None:
    conf = render_all(Settings(), [])["manager.conf"]
    assert _classes(conf, "write") == {"system", "call", "originate"}
    # the events the mapper reads: system (FullyBooted, ContactStatus), call, agent
    # (app_queue), user (UserEvent), dtmf (DTMFEnd)
    assert _classes(conf, "read") == {"system", "call", "agent", "user", "dtmf"}
