"""Meters on TuyaMCU links behind TCP bridges (``mcu_farm.py``, another process) followed by one
gateway process: CPU, RSS, threads and updates per second as the fleet grows."""

from __future__ import annotations

from farm import farm, follow

REPORT_S = 3


def run(quick: bool) -> list[tuple[str, str, str]]:
    rows = []
    sizes = (10, 100) if quick else (100, 1_000, 5_000)
    for n in sizes:
        with farm("mcu_farm.py", str(n), str(REPORT_S)) as urls:
            kinds = [("gateway", "one thread, chunks read by the event loop")]
            if n < 5_000:  # at 5,000 the farm takes most of the other core: no room for a broker
                kinds.append(("gateway-mqtt", "the same, publishing to mosquitto"))
            if n == sizes[0]:
                kinds.insert(0, ("gateway-pyserial", "before: pyserial's reader thread per link"))
            for kind, what in kinds:
                r = follow(kind, urls, 10.0 if quick else 20.0)
                title = f"{n:,} TuyaMCU meters over socket:// (report {REPORT_S} s, 9600-baud pacing): {what}"
                if "error" in r:
                    rows.append((title, str(r["error"]), ""))
                    continue
                ideal = n / REPORT_S
                lat = (
                    f", update → MQTT subscriber p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms"
                    if kind.endswith("mqtt")
                    else ""
                )
                rows.append((
                    title,
                    f"{r['cpu'] * 100:.1f} % of a core",  # type: ignore[operator]
                    f"{r['updates_per_s']} updates/s (one per burst: {ideal:.1f}), RSS {r['rss_mb']} MB, "
                    f"{r['threads']} threads{lat}; emulators in another process; no store",
                ))  # fmt: skip
    return rows
