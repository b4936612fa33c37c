"""Meters on TuyaMCU links behind TCP bridges (``mcu_farm.py``, another process) followed by gateway
processes: CPU, RSS, threads and updates per second as the fleet grows, and 10,000 meters shared by
two gateway processes on this machine's two cores."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from farm import compiled_built, cpu_seconds, farm_process, follow

REPORT_S = 3


def run(quick: bool) -> list[tuple[str, str, str]]:
    rows = []
    sizes = (10, 100) if quick else (100, 1_000, 5_000)
    secs = 10.0 if quick else 20.0
    for n in sizes:
        with farm_process("mcu_farm.py", str(n), str(REPORT_S)) as (urls, pid):
            kinds = [("gateway", "one thread, chunks read by the event loop", False)]
            if n >= 1_000 and compiled_built():
                kinds.append(("gateway", "the same, compiled core (`make compiled`)", True))
            if n < 5_000:  # at 5,000 the farm takes most of the other core: no room for a broker
                kinds.append(("gateway-mqtt", "the same, publishing to mosquitto", False))
            if n == sizes[0]:
                kinds.insert(0, ("gateway-pyserial", "before: pyserial's reader thread per link", False))
            for kind, what, compiled in kinds:
                c0, t0 = cpu_seconds(pid), time.monotonic()
                r = follow(kind, urls, secs, compiled=compiled)
                farm_cpu = (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
                title = f"{n:,} TuyaMCU meters over socket:// (report {REPORT_S} s, 9600-baud pacing): {what}"
                rows.append(_row(title, r, n, kind, f"the emulators in another process at {farm_cpu:.0%} of a core"))
    if not quick:
        rows += _two_processes(10_000, secs)
    return rows


def _row(title: str, r: dict[str, object], n: int, kind: str, farm_text: str) -> tuple[str, str, str]:
    if "error" in r:
        return title, str(r["error"]), ""
    lat = f", update → MQTT subscriber p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms" if kind.endswith("mqtt") else ""
    return (
        title,
        f"{r['cpu'] * 100:.1f} % of a core",  # type: ignore[operator]
        f"{r['updates_per_s']} updates/s (one per burst: {n / REPORT_S:.1f}), {r['online']} online, RSS "
        f"{r['rss_mb']} MB, {r['threads']} threads{lat}; {farm_text}; no store",
    )


def _two_processes(n: int, secs: float) -> list[tuple[str, str, str]]:
    """Two gateway processes, each following half of ``n`` meters played by two farm processes (the
    farms replay recorded report cycles: their physics would need a core of their own)."""
    half = n // 2
    with (
        farm_process("mcu_farm.py", str(half), str(REPORT_S), "--replay") as (urls0, pid0),
        farm_process("mcu_farm.py", str(half), str(REPORT_S), "--replay", "--first", str(half)) as (urls1, pid1),
    ):
        c0, t0 = cpu_seconds(pid0) + cpu_seconds(pid1), time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda u: follow("gateway", u, secs), (urls0, urls1)))
        farm_cpu = (cpu_seconds(pid0) + cpu_seconds(pid1) - c0) / (time.monotonic() - t0)
    rows = []
    for k, r in enumerate(results):
        title = f"{n:,} meters on two gateway processes (report {REPORT_S} s, 9600-baud pacing): process {k + 1}"
        farm_text = (
            f"the emulators in two other processes, {farm_cpu:.0%} of a core together, replaying recorded cycles"
        )
        rows.append(_row(title, r, half, "gateway", farm_text))
    return rows
