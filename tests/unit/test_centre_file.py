"""A centre written as a centre file reads back the same (hotline/centre/centre_file.py)."""

from __future__ import annotations

import tomllib

import pytest

from hotline.centre.centre_file import centre_toml
from hotline.centre.model import (
    AgentSpec,
    Centre,
    CentreFileError,
    QueueSpec,
    load_centre,
    parse_centre,
)
from hotline.core.settings import REPO_ROOT
from hotline.core.values import ServiceType
from tests.helpers import testbed


def test_the_test_beds_and_the_shipped_centre_read_back_the_same() -> None:
    for centre in (testbed.test_centre(), load_centre(REPO_ROOT / "asterisk-config/centre.toml")):
        assert parse_centre(tomllib.loads(centre_toml(centre))) == centre


def test_every_field_and_awkward_strings_survive() -> None:
    centre = Centre(
        queues=[QueueSpec(name="general", service=ServiceType.GENERAL, required={"general": 2},
                          policy="longest_idle", priority=3, sl_target=0.9, sl_seconds=15.0)],
        agents=[AgentSpec(id="agent7", name='Wáng "Xiǎo" 王\\', secret="s3=c#ret",
                          contact="sip:agent7@127.0.0.1:5070", skills={"general": 5})])
    assert parse_centre(tomllib.loads(centre_toml(centre))) == centre


def test_vip_numbers_read_back_and_bad_ones_are_refused() -> None:
    queues = [{"name": "general", "service": "general"}]
    centre = parse_centre({"vip_numbers": ["13900000888", "+862100000001"], "queues": queues})
    assert centre.vip_numbers == ["13900000888", "+862100000001"]
    assert parse_centre(tomllib.loads(centre_toml(centre))) == centre
    assert parse_centre({"queues": queues}).vip_numbers == []
    for bad in (["139-888"], ["888", "888"], "888", [""]):
        with pytest.raises(CentreFileError):
            parse_centre({"vip_numbers": bad, "queues": queues})
