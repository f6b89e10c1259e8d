"""The router's tests run on both agent-selection kernels: the compiled one and its twin."""

from __future__ import annotations

from types import ModuleType

import pytest

from hotline.core_ext import select as selector
from hotline.core_ext import select_agent_py
from tests.helpers.router_floor import KERNELS


@pytest.fixture(params=KERNELS, ids=KERNELS)
def kernel(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "py":
        return select_agent_py
    try:
        return selector.load_compiled("select_agent")
    except ImportError:
        pytest.skip("compiled select_agent not built (kernels/test_built.py checks the build)")
