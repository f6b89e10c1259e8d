"""Compiles every Cython kernel in core_ext/; the rest of the build lives in pyproject.toml."""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
extensions = [
    Extension(f"hotline.core_ext.{pyx.stem}", [str(pyx.relative_to(HERE))])
    for pyx in sorted((HERE / "core_ext").glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
