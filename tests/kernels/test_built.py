"""Every Cython kernel in core_ext/ was built and loads as compiled code, and its twin is the
pure-Python one: otherwise the suite would silently test only the twins."""

from __future__ import annotations

import pytest

from hotline.core.settings import REPO_ROOT
from hotline.core_ext.select import is_compiled, load_compiled, load_pure

KERNELS = sorted(pyx.stem for pyx in (REPO_ROOT / "core_ext").glob("*.pyx"))


def test_the_kernels_are_found() -> None:
    assert {"agent_time", "ami_parse", "metrics", "select_agent"} <= set(KERNELS)


@pytest.mark.parametrize("name", KERNELS)
def test_the_compiled_kernel_loaded(name: str) -> None:
    assert is_compiled(load_compiled(name))
    assert not is_compiled(load_pure(name))
