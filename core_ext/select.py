"""Picks, for each kernel, the compiled module or its pure-Python twin.

`load("NAME")` returns `hotline.core_ext.NAME` (built from NAME.pyx) unless the environment
sets HOTLINE_PURE_PYTHON=1 or the compiled module fails to import; then it returns the twin
`hotline.core_ext.NAME_py`. Both keep the same interface, so callers never branch on which one
they got; `is_compiled(module)` tells tests and benchmarks which one it was.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
from types import ModuleType

PACKAGE = "hotline.core_ext"
PURE_ENV = "HOTLINE_PURE_PYTHON"
_TWIN_SUFFIX = "_py"


def pure_python_forced() -> bool:
    """True when the environment asks for the pure-Python twins everywhere."""
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def load_compiled(name: str) -> ModuleType:
    """The compiled kernel itself; raises ImportError if it was not built."""
    module = importlib.import_module(f"{PACKAGE}.{name}")
    if not is_compiled(module):
        # A stray NAME.py must never pass for the compiled kernel.
        raise ImportError(f"{PACKAGE}.{name} is not a compiled extension: {module.__file__}")
    return module


def load_pure(name: str) -> ModuleType:
    """The pure-Python twin, the readable specification of the kernel."""
    return importlib.import_module(f"{PACKAGE}.{name}{_TWIN_SUFFIX}")


def load(name: str) -> ModuleType:
    """The kernel to use: compiled when available and not disabled, else the twin."""
    if not pure_python_forced():
        try:
            return load_compiled(name)
        except ImportError:
            pass
    return load_pure(name)


def is_compiled(module: ModuleType) -> bool:
    """Whether `module` came from a compiled extension rather than a .py source file."""
    path = getattr(module, "__file__", None) or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
