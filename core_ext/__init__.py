"""Compiled kernels (Cython) and their pure-Python twins.

Every kernel `NAME` exists twice with one interface: `NAME_py.py` (the reference and the
specification mypy reads) and `NAME.pyx` (compiled). `hotline.core_ext.select` picks the compiled
one unless HOTLINE_PURE_PYTHON=1; both stay importable by name for tests and benchmarks.
"""
