"""Files are never destroyed: outputs go through a temp file, odd targets are refused, inputs are bounded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from e2e import run_cli
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink"])
def test_output_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "out.bat"
    real = tmp_path / "real.bat"
    if kind == "fifo":
        os.mkfifo(out)  # stands in for a device node such as /dev/null (never touch the real one)
    elif kind == "directory":
        out.mkdir()
    else:
        real.write_text("keep me\n")
        out.symlink_to(real)
    r = run_cli("profile", "export-autoexec", "pj1103a", "-o", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "cannot write" in r.stderr, r.stderr
    assert {"fifo": out.is_fifo(), "directory": out.is_dir(), "symlink": out.is_symlink()}[kind]
    if kind == "symlink":
        assert real.read_text() == "keep me\n"


def test_a_failed_profile_import_leaves_the_existing_file(tmp_path: Path) -> None:
    from test_flash_restore import A

    dump, existing = tmp_path / "d.bin", tmp_path / "existing.yaml"
    dump.write_bytes(A)  # a store without a DP schema
    existing.write_text("# my own profile\n")
    r = run_cli("flash", "inspect", str(dump), "--profile", str(existing))
    assert r.returncode == 2 and "no profile written" in r.stderr
    assert existing.read_text() == "# my own profile\n"


def test_oversized_or_endless_dump_is_a_clear_error() -> None:
    r = run_cli("flash", "inspect", "/dev/zero", timeout=30)
    assert r.returncode == 2 and "larger than 16 MiB" in r.stderr and "Traceback" not in r.stderr


def test_odd_hex_that_looks_like_a_frame_is_an_error() -> None:
    r = run_cli("decode", "55aa0307000")
    assert r.returncode == 2 and "do not pair up" in r.stderr


def test_a_long_run_of_headers_is_one_garbage_run_and_every_byte_is_accounted() -> None:
    data = b"\x55\xaa" * 100_000 + bytes.fromhex("55aa0307000802020004000000647d")
    dec = FrameDecoder(max_payload=0xFFFF)
    out = dec.feed(data, 0.0) + dec.flush()
    frames = [i for i in out if not isinstance(i, Garbage)]
    assert len(frames) == 1 and frames[0].payload.hex() == "0202000400000064"
    assert sum(len(i.data) for i in out if isinstance(i, Garbage)) == len(data) - 15
    assert len(out) < 100  # merged runs, not one object per skipped byte
