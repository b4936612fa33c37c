"""The optional compiled build: ``make test`` runs the core tests a second time on it
(TUYAMETER_TEST_COMPILED=1, build/compiled first on the path); this file makes sure that second run
really has the compiled modules, and that a compiled class keeps the behaviour the code relies on."""

from __future__ import annotations

import os

import pytest

from tuyameter.compiled import MODULES, build_text, compiled_modules
from tuyameter.tuyamcu.constants import DPType
from tuyameter.tuyamcu.dp import DPRecord
from tuyameter.tuyamcu.events import DPUpdate
from tuyameter.tuyamcu.frame import Frame

COMPILED_RUN = os.environ.get("TUYAMETER_TEST_COMPILED") == "1"


def test_the_build_is_what_this_run_was_asked_to_test() -> None:
    got = compiled_modules()
    if COMPILED_RUN:
        assert got == list(MODULES), f"only {got} compiled: build/compiled is stale or the build failed"
        assert build_text() == "compiled core"
        e = DPUpdate(1.0, (), 7)
        with pytest.raises(AttributeError):  # a compiled event is sealed (a pure one is only type-checked)
            e.records = ()  # type: ignore[misc]
    else:
        assert got == [], f"{got} compiled in a run that tests the pure Python sources"
        assert build_text() == "pure Python"


def test_events_and_frames_keep_their_value_semantics() -> None:
    rec = DPRecord.make(101, DPType.VALUE, 1500)
    a, b = DPUpdate(1.0, (rec,), 7, None, 1), DPUpdate(1.0, (rec,), 7)
    assert a == b and hash(a) == hash(b) and a != DPUpdate(1.0, (rec,), 7, None, 2)
    assert "DPUpdate(time=1.0" in repr(a)
    frame = Frame(7, b"\x01", 3)
    assert frame == Frame.trusted(7, b"\x01", 3) and frame.payload == b"\x01" and isinstance(frame, tuple)
    with pytest.raises(ValueError, match="not a byte"):
        Frame(256)
