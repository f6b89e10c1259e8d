"""One fixture for every Cython kernel's tests: `kernel` is the module named by the test
module's KERNEL (a core_ext/NAME.pyx), compiled (id "c") or its pure-Python twin NAME_py
(id "py"); each test taking it runs on both. test_built.py fails when a compiled kernel did
not load, so a broken build never leaves only the twin tested."""

from __future__ import annotations

from types import ModuleType

import pytest

from hotline.core_ext.select import load_compiled, load_pure

KERNEL_IDS = ["c", "py"]


@pytest.fixture(params=KERNEL_IDS, ids=KERNEL_IDS)
def kernel(request: pytest.FixtureRequest) -> ModuleType:
    name: str = request.module.KERNEL
    if request.param == "py":
        return load_pure(name)
    try:
        return load_compiled(name)
    except ImportError as exc:
        pytest.skip(f"compiled {name} not loaded ({exc}); kernels/test_built.py fails for it")
