"""Maps the top-level capability folders under the `hotline` namespace, discovers their
packages, and compiles every Cython kernel in core_ext/; the rest lives in pyproject.toml."""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, find_namespace_packages, setup

HERE = Path(__file__).parent
# package -> folder: one concern per top-level folder, one namespace once installed.
PACKAGE_DIRS = {
    "hotline": "hotline",
    "hotline.telephony": "telephony",
    "hotline.router": "router",
    "hotline.realtime": "realtime",
    "hotline.core_ext": "core_ext",
    "hotline.api": "api",
}
# Every folder below a mapped one is a package (data folders such as migrations/ and static/
# too, as namespace packages), so nothing installs "as data" with a warning.
packages = [
    name + (f".{sub}" if sub else "")
    for name, folder in PACKAGE_DIRS.items()
    for sub in ["", *find_namespace_packages(folder, exclude=["*__pycache__*"])]
]
extensions = [
    Extension(f"hotline.core_ext.{pyx.stem}", [str(pyx.relative_to(HERE))])
    for pyx in sorted((HERE / "core_ext").glob("*.pyx"))
]

setup(
    package_dir=PACKAGE_DIRS,
    packages=packages,
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )
)
