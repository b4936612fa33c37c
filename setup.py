"""Packaging is declared in pyproject.toml; this file only adds the optional compiled build.

``TUYAMETER_COMPILE=1 pip install --no-build-isolation .`` (with mypy and a C compiler) compiles
the per-frame path's modules (listed in src/tuyameter/compiled.py) with mypyc into C extensions
beside their Python sources: the same code, about twice as fast (docs/performance.md). Without it
the package is pure Python and behaves the same; ``make test`` runs the core tests on both."""

import os
import runpy

from setuptools import setup

ext_modules = []
if os.environ.get("TUYAMETER_COMPILE") == "1":
    from mypyc.build import mypycify

    modules = runpy.run_path("src/tuyameter/compiled.py")["MODULES"]
    paths = ["src/" + m.replace(".", "/") + ".py" for m in modules]
    ext_modules = mypycify(paths, opt_level="3", group_name="tuyameter_core")

setup(ext_modules=ext_modules)
