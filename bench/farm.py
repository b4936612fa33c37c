"""Start a farm of emulated meters in another process and follow it with one follower process."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).parent


@contextlib.contextmanager
def farm(script: str, *args: str) -> Iterator[str]:
    """Run ``script`` (it prints URLs, then 'ready'); yield the path of a file with the URLs."""
    with farm_process(script, *args) as (urls, _):
        yield urls


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def farm_process(script: str, *args: str) -> Iterator[tuple[str, int]]:
    """:func:`farm`, with the farm's pid (to measure its CPU)."""
    proc = subprocess.Popen([sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE, text=True)
    urls: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "ready":
                break
            urls.append(line.strip())
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(urls))
        yield f.name, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


#: the compiled build of ``make compiled``
COMPILED = HERE.parent / "build" / "compiled"


def compiled_built() -> bool:
    return (COMPILED / "tuyameter").is_dir()


def build_env(compiled: bool) -> dict[str, str]:
    """The environment of a child process that runs the compiled build, or this installation's own."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(COMPILED)} if compiled else env


def follow(kind: str, urls_file: str, seconds: float, *, compiled: bool = False) -> dict[str, object]:
    """One ``lan_follow.py`` run: its JSON line (CPU, RSS, updates/s, threads, latency); ``compiled``:
    on the compiled build."""
    env = build_env(compiled)
    try:
        r = subprocess.run([sys.executable, str(HERE / "lan_follow.py"), kind, urls_file, str(seconds)], env=env,
                           capture_output=True, text=True, timeout=300 + 2 * seconds, check=True)  # fmt: skip
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:  # a row that says so, not a lost table
        why = "did not finish" if isinstance(e, subprocess.TimeoutExpired) else f"failed ({e.returncode})"
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        last = err.strip().splitlines()[-1:] if err.strip() else []
        return {"error": why + (f": {last[0][:200]}" if last else "")}  # what it said last, to look into
    res: dict[str, object] = json.loads(r.stdout.strip().splitlines()[-1])
    return res
