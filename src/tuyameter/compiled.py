"""Which modules an optional compiled build turns into C extensions, and whether this one did.

The per-frame path's sans-IO modules are plain, fully annotated Python that mypyc can compile
(``TUYAMETER_COMPILE=1``, see setup.py, which reads :data:`MODULES` from this file): the same code,
run about twice as fast. This module imports nothing of the package, so setup.py can read it."""

from __future__ import annotations

import importlib.machinery
import importlib.util

#: every received frame goes through these: frame and record types, decoder, events, report
#: gathering, session, binding, burst cutting, meter model (the asyncio adapters stay interpreted)
MODULES = (
    "tuyameter.tuyamcu.frame",
    "tuyameter.tuyamcu.dp",
    "tuyameter.tuyamcu.decoder",
    "tuyameter.tuyamcu.events",
    "tuyameter.tuyamcu.reports",
    "tuyameter.tuyamcu.session",
    "tuyameter.sources.tuyamcu.binding",
    "tuyameter.sources.tuyamcu.bursts",
    "tuyameter.meter.state",
)


def compiled_modules() -> list[str]:
    """The modules of :data:`MODULES` that this installation runs as C extensions (found, not run)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = [(m, importlib.util.find_spec(m)) for m in MODULES]
    return [m for m, spec in found if spec is not None and (spec.origin or "").endswith(suffixes)]


def build_text() -> str:
    """What ``tuyameter --version`` says of this installation's build."""
    n = len(compiled_modules())
    if not n:
        return "pure Python"
    return f"compiled core, {n} of {len(MODULES)} modules" if n < len(MODULES) else "compiled core"
