"""Helpers for end-to-end tests that run the real ``tuyameter`` programs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

TUYAMETER = [sys.executable, "-m", "tuyameter"]


def wait_until(pred: Callable[[], object], timeout: float, what: str = "condition") -> None:
    """Poll ``pred`` until it is true; AssertionError naming ``what`` after ``timeout`` s."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


class Proc:
    """A running tuyameter command whose output lines are collected in the background."""

    def __init__(self, *args: str) -> None:
        self.args = [*TUYAMETER, *args]
        self.p = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.p.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.p.stderr, self.err), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_line(self, pred: Callable[[str], bool] = lambda s: True, timeout: float = 10.0, start: int = 0) -> str:
        end = time.monotonic() + timeout
        i = start
        while time.monotonic() < end:
            while i < len(self.out):
                if pred(self.out[i]):
                    return self.out[i]
                i += 1
            if self.p.poll() is not None and i >= len(self.out):
                break
            time.sleep(0.02)
        raise AssertionError(f"{self.args}: no matching line in {timeout}s; out={self.out[-5:]} err={self.err[-10:]}")

    def json_lines(self, start: int = 0) -> list[dict[str, Any]]:
        """The JSON lines printed so far (from output line ``start`` on)."""
        out = []
        for line in list(self.out)[start:]:
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def wait_json(self, n: int, timeout: float = 20.0, start: int = 0) -> list[dict[str, Any]]:
        """Wait until ``n`` JSON lines have come (from output line ``start`` on); return them all."""
        wait_until(lambda: len(self.json_lines(start)) >= n or self.p.poll() is not None, timeout, f"{n} JSON lines")
        lines = self.json_lines(start)
        assert len(lines) >= n, f"{self.args} ended: out={self.out[-5:]} err={self.err[-10:]}"
        return lines

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.p.poll() is None:
            os.killpg(self.p.pid, sig)
        try:
            return self.p.wait(10)
        finally:
            for t in self._threads:
                t.join(2)


def start_sim(*args: str) -> tuple[Proc, str]:
    """An emulator; its simulated day starts at noon unless ``--start`` says otherwise, so that what
    a test sees (clamp B exporting solar power) does not depend on the hour the test runs at."""
    if "--start" not in args:
        args = (*args, "--start", "12:00")
    proc = Proc("sim", "pj1103a", *args)
    endpoint = proc.wait_line(timeout=15)
    return proc, endpoint


def run_cli(*args: str, timeout: float = 60.0, input_: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TUYAMETER, *args], capture_output=True, text=True, timeout=timeout, input=input_, check=False
    )
