"""SQLite faults mid-run: the disk fills, the database turns read-only. Readings keep flowing to the
outputs, the real error is logged once, and when the store works again the history has no hole."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from test_gateway import FAST, PROFILE, Collect, wait_for
from tuyameter.gateway import Gateway, MeterConfig
from tuyameter.store.sqlite import SqliteStore


class Faulty:
    """Opens the store as the gateway would, with a fault that the test switches on and off."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.fault: str | None = None

    def __call__(self) -> SqliteStore:
        s = SqliteStore(self.db)
        if self.fault == "full":  # no page beyond those in use: SQLITE_FULL, as on a full disk
            (pages,) = s.db.execute("PRAGMA page_count").fetchone()
            s.db.execute(f"PRAGMA max_page_count = {pages}")
        elif self.fault == "read-only":
            s.db.execute("PRAGMA query_only = ON")
        return s

    def break_open_store(self, store: object) -> None:
        assert isinstance(store, SqliteStore)
        if self.fault == "full":
            (pages,) = store.db.execute("PRAGMA page_count").fetchone()
            store.db.execute(f"PRAGMA max_page_count = {pages}")
        else:
            store.db.execute("PRAGMA query_only = ON")


@pytest.mark.parametrize(("fault", "message"), [("full", "full"), ("read-only", "readonly")])
def test_store_fault_mid_run(tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: str, message: str) -> None:
    caplog.set_level(logging.WARNING)
    db = tmp_path / "f.db"
    opener = Faulty(db)

    async def main() -> None:
        out = Collect()
        meters = [MeterConfig("a", FAST.format(5)), MeterConfig("b", FAST.format(6))]
        async with Gateway(meters, {"a": PROFILE, "b": PROFILE}, store=opener, outputs=[out]) as gw:
            w = gw.writer
            assert w is not None
            await wait_for(lambda: w.stats.written >= 6, 20, "readings written")
            opener.fault = fault
            await w.call(opener.break_open_store)  # the running connection hits it too
            await wait_for(lambda: w.stats.store_errors >= 3, 30, "store errors counted")
            n = len(out.updates)
            await wait_for(lambda: len(out.updates) >= n + 6, 10, "updates while the store fails")
            assert gw.diagnostics("a")["online"] and gw.diagnostics("b")["online"]
            opener.fault = None  # space freed / permissions back: the next reopen works
            written = w.stats.written
            await wait_for(lambda: w.stats.last_error is None and w.stats.written > written + 4, 30, "writing again")
            assert w.stats.store_dropped == 0  # the bounded buffer held everything of the outage

    asyncio.run(main())
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "store:" in r.getMessage()]
    assert 1 <= len(errors) <= 2 and message in errors[0].lower(), errors  # the real error, once
    assert not any("rollback" in e for e in errors)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = SqliteStore(db)
    try:
        for meter in ("a", "b"):
            q = "SELECT data FROM reading WHERE meter = ? ORDER BY ts"
            rows = [json.loads(r[0]) for r in con.execute(q, (meter,))]
            first, last = rows[0], rows[-1]
            for name in ("energy_forward_total", "energy_forward_a"):
                wh = sum(r.wh for r in store.energy_rows(meter, 0, 1e12) if r.name == name)
                assert wh == pytest.approx((last[name] - first[name]) * 1000, abs=1.5), (meter, name)
    finally:
        store.close()
        con.close()
