"""Tuya LAN: frames/s through the codec per version, and N emulated stock meters (another process)
followed by one process: our sources alone, our whole gateway, and tinytuya polling as tuya-local does."""

from __future__ import annotations

import time

from farm import farm
from farm import follow as follow_with

from tuyameter.tuyalan.codec import Codec
from tuyameter.tuyalan.constants import Command
from tuyameter.tuyalan.frame import FrameDecoder

KEY = b"0123456789abcdef"
DPS = {str(dp): 1000 + dp for dp in range(101, 121)}  # a 20-DP STATUS, as the meter's


def codec_rate(version: str, n: int) -> float:
    dev, client = Codec(version, KEY, "device"), Codec(version, KEY, "client")
    if version in ("3.4", "3.5"):
        dev.session_key = client.session_key = b"S" * 16
    stream = b"".join(dev.pack(Command.STATUS, {"protocol": 4, "t": 1, "data": {"dps": DPS}}) for _ in range(n))
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for raw in FrameDecoder().feed(stream):
            client.unpack(raw).data  # noqa: B018 — open, verify, decrypt, parse
        best = max(best, n / (time.perf_counter() - t))
    return best


def follow(n: int, seconds: float) -> dict[str, dict[str, object]]:
    with farm("lan_farm.py", str(n), "3.4") as urls:
        res = {kind: follow_with(kind, urls, seconds) for kind in ("tinytuya", "sources", "gateway")}
    with farm("floor.py", "server", str(n)) as urls:
        res["floor"] = follow_with("floor", urls, seconds)
    return res


def run(quick: bool) -> list[tuple[str, str, str]]:
    rows = []
    n = 5_000 if quick else 50_000
    for v in ("3.1", "3.3", "3.4", "3.5"):
        rows.append((f"Tuya LAN {v}: frames opened", f"{codec_rate(v, n):,.0f} frames/s",
                     f"{n:,} 20-DP STATUS frames: split, verify, decrypt, JSON; best of 3"))  # fmt: skip
    for meters in (10, 100) if quick else (10, 100, 500, 2_000):
        res = follow(meters, 10.0 if quick else 20.0)
        kinds = (
            ("tinytuya", "tinytuya polling, a thread each (tuya-local's way)"),
            ("sources", "our tuya:// sources alone"),
            ("gateway", "our whole gateway (no store)"),
            ("floor", "bare asyncio sockets, same traffic, no protocol (the floor)"),
        )
        for kind, what in kinds:
            r = res[kind]
            if "error" in r:
                rows.append((f"{meters} stock meters (3.4, report 3 s): {what}", str(r["error"]), ""))
                continue
            lat = f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms" if r["p50_ms"] is not None else "no samples"
            per_core = meters / r["cpu"] if r["cpu"] else float("inf")  # type: ignore[operator]
            rows.append((
                f"{meters} stock meters (3.4, report 3 s): {what}",
                f"{r['cpu'] * 100:.1f} % of a core, {per_core:,.0f} meters/core",  # type: ignore[operator]
                f"{r['updates_per_s']} updates/s, {lat}, RSS {r['rss_mb']} MB, {r['threads']} threads; "
                "emulators in another process",
            ))  # fmt: skip
        rows.append(_ratios(meters, res))
    return rows


def _ratios(meters: int, res: dict[str, dict[str, object]]) -> tuple[str, str, str]:
    """Devices per core against tinytuya's, and the most the floor allows any asyncio client."""
    cpu = {k: r.get("cpu") for k, r in res.items()}
    if not all(isinstance(v, float) and v > 0 for v in cpu.values()):
        return (f"{meters} stock meters: devices per core vs tinytuya", "a run failed", "")
    t = cpu["tinytuya"]
    return (
        f"{meters} stock meters: devices per core vs tinytuya",
        f"sources {t / cpu['sources']:.1f}×, gateway {t / cpu['gateway']:.1f}×",  # type: ignore[operator]
        f"bare sockets alone reach only {t / cpu['floor']:.1f}× (tinytuya's CPU ÷ the floor's)",  # type: ignore[operator]
    )
