"""Worker processes for one fleet: the share-out of meters, and the supervisor with real processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuyameter.gateway.workers import WorkerSupervisor, parse_worker, share, worker_bridge, worker_of

_ids = st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True), unique=True, max_size=60)


@given(_ids, st.integers(1, 9), st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True))
def test_every_meter_has_one_worker_and_keeps_it_when_the_fleet_changes(ids: list[str], n: int, new: str) -> None:
    shares = [share(ids, k, n, key=str) for k in range(n)]
    assert sorted(m for s in shares for m in s) == sorted(ids)  # each meter exactly once
    assert all(s == [m for m in ids if m in s] for s in shares)  # in the configured order
    grown = [share([*ids, new], k, n, key=str) for k in range(n)]
    for k in range(n):  # one more meter moves no other
        assert [m for m in grown[k] if m != new] == [m for m in shares[k] if m != new]


def test_share_out_is_even_enough_for_a_large_fleet() -> None:
    counts = [len(share([f"meter-{i:05d}" for i in range(10_000)], k, 2, key=str)) for k in range(2)]
    assert min(counts) > 4_800, counts


def test_worker_option_and_bridge_names() -> None:
    assert parse_worker("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "1/0", ""):
        with pytest.raises(ValueError, match="K/N"):
            parse_worker(bad)
    assert worker_of("x", 1) == 0
    assert worker_bridge(None, 3) == "w3" and worker_bridge("attic", 0) == "attic-w0"


def _script(tmp_path: Path, body: str) -> list[str]:
    f = tmp_path / "worker.py"
    f.write_text("import os, signal, sys, time\nk = sys.argv[-1].split('/')[0]\n" + body)
    return [sys.executable, str(f)]


def test_a_worker_that_fails_is_started_again_and_one_that_finishes_is_not(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    # worker 0 fails twice (exit 3, then killed by a signal) and then finishes; worker 1 finishes at once
    cmd = _script(tmp_path, f"""
d = {str(runs)!r}
n = len([f for f in os.listdir(d) if f.startswith(k + '-')])
open(os.path.join(d, f'{{k}}-{{n}}'), 'w').close()
if k == '0' and n == 0:
    sys.exit(3)
if k == '0' and n == 1:
    os.kill(os.getpid(), signal.SIGKILL)
sys.exit(0)
""")  # fmt: skip
    sup = WorkerSupervisor(cmd, 2, backoff_max=0.2)
    assert asyncio.run(asyncio.wait_for(sup.run(), 30)) == 0
    assert [w.starts for w in sup.workers] == [3, 1]
    assert sorted(p.name for p in runs.iterdir()) == ["0-0", "0-1", "0-2", "1-0"]


def test_stopping_the_supervisor_stops_every_worker_and_kills_a_stubborn_one(tmp_path: Path) -> None:
    cmd = _script(tmp_path, f"""
if k == '1':
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(os.path.join({str(tmp_path)!r}, 'ready-' + k), 'w').close()
while True:  # until a signal ends it (worker 1 ignores SIGTERM: only SIGKILL will)
    signal.pause()
""")  # fmt: skip

    async def main() -> tuple[WorkerSupervisor, float]:
        sup = WorkerSupervisor(cmd, 2, grace=1.0)
        task = asyncio.ensure_future(sup.run())
        while not all((tmp_path / f"ready-{k}").exists() for k in (0, 1)):  # signal handlers set
            await asyncio.sleep(0.02)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return sup, time.monotonic() - t0

    sup, took = asyncio.run(main())
    assert took < 10
    procs = {w.index: w.pid for w in sup.workers}
    for pid in procs.values():
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone (and reaped)


def _limit_run(soft: int, hard: int, links: int) -> str:
    code = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
        "from tuyameter.util.fdlimit import raise_open_files\n"
        f"w = raise_open_files({links})\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], w)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_a_fleet_raises_its_open_files_limit_up_to_the_hard_limit() -> None:
    """Many systems start a process with 1,024 open files: 5,000 bridged meters need more."""
    assert _limit_run(256, 8000, 5000).split()[0] == str(5000 + 64)
    out = _limit_run(256, 2000, 5000)
    assert out.startswith("2000 ") and "5000 meters need about 5064 open files" in out and "--workers" in out
    assert _limit_run(8000, 8000, 100).strip() == "8000 None"  # never lowered
