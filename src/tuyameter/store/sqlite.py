"""SQLite store (WAL): the embedded default.

Each transaction writes the raw readings handed to it (one, or a few when the
writer is behind), adds the energy that flowed since each meter's previous reading
to its 15-minute buckets and saves the accountant's state with it, so a crash loses
at most the readings being written and a restart continues the totals exactly.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tuyameter.store.base import Record, energy_deltas
from tuyameter.store.lease import holder_text, refused, try_lock_byte
from tuyameter.store.queries import SqlQueries

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE meter (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,           -- accountant state, JSON
        last_ts REAL NOT NULL,
        last_totals TEXT NOT NULL      -- name → total Wh at last_ts, JSON
    );
    CREATE TABLE reading (
        meter TEXT NOT NULL,
        ts REAL NOT NULL,
        data TEXT NOT NULL             -- the update's values, JSON
    );
    CREATE INDEX reading_meter_ts ON reading (meter, ts);
    CREATE TABLE energy (
        meter TEXT NOT NULL,
        name TEXT NOT NULL,
        bucket REAL NOT NULL,          -- start of a 15-minute bucket, epoch s UTC
        wh REAL NOT NULL,
        PRIMARY KEY (meter, name, bucket)
    ) WITHOUT ROWID;
    """,
    # 2: power statistics per minute
    """
    CREATE TABLE power_minute (
        meter TEXT NOT NULL,
        name TEXT NOT NULL,
        minute REAL NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        sum REAL NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (meter, name, minute)
    ) WITHOUT ROWID;
    """,
    # 3: who writes which meter (store/lease.py)
    """
    CREATE TABLE lease (
        meter TEXT PRIMARY KEY,
        slot INTEGER NOT NULL UNIQUE,  -- byte offset locked in <db>.lock
        holder TEXT NOT NULL
    );
    """,
]


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "tuyameter" / "tuyameter.db"


class SqliteStore(SqlQueries):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        self._lock_fd: int | None = None

    def claim(self, meters: Sequence[str]) -> None:
        """Take the lease of each meter id, or LeaseError naming who holds one."""
        if str(self.path) == ":memory:" or not meters:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        holder = holder_text()
        for meter in meters:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "INSERT OR IGNORE INTO lease (meter, slot, holder) "
                    "VALUES (?, (SELECT COALESCE(MAX(slot), -1) + 1 FROM lease), '')",
                    (meter,),
                )
                slot, held_by = self.db.execute("SELECT slot, holder FROM lease WHERE meter = ?", (meter,)).fetchone()
                if not try_lock_byte(self._lock_fd, int(slot)):
                    raise refused(meter, held_by, str(self.path))
                self.db.execute("UPDATE lease SET holder = ? WHERE meter = ?", (holder, meter))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        (version,) = self.db.execute("PRAGMA user_version").fetchone()
        for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for stmt in filter(None, (s.strip() for s in script.split(";"))):
                    self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {i}")
                self.db.execute("COMMIT")
            except Exception:
                self.db.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def load_state(self, meter: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT state FROM meter WHERE id = ?", (meter,)).fetchone()
        return dict(json.loads(row[0])) if row else None

    def record(
        self,
        meter: str,
        ts: float,
        values: Mapping[str, object],
        totals_wh: Mapping[str, float],
        state: Mapping[str, Any],
        *,
        power: Mapping[str, float] | None = None,
    ) -> None:
        self.record_many([Record(meter, ts, values, totals_wh, state, power or {})])

    def record_many(self, records: Sequence[Record]) -> None:
        """Several readings (of one or many meters) in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for r in records:
                self._record(r)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _record(self, r: Record) -> None:
        db, meter, ts = self.db, r.meter, r.ts
        row = db.execute("SELECT last_ts, last_totals FROM meter WHERE id = ?", (meter,)).fetchone()
        if row is not None:
            db.executemany(
                "INSERT INTO energy (meter, name, bucket, wh) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (meter, name, bucket) DO UPDATE SET wh = wh + excluded.wh",
                [(meter, n, b, wh) for n, b, wh in energy_deltas(float(row[0]), json.loads(row[1]), ts, r.totals_wh)],
            )
        db.execute("INSERT INTO reading (meter, ts, data) VALUES (?, ?, ?)", (meter, ts, json.dumps(r.values)))
        minute = ts - ts % 60
        db.executemany(
            "INSERT INTO power_minute VALUES (?, ?, ?, ?, ?, ?, 1) "
            "ON CONFLICT (meter, name, minute) DO UPDATE SET min = MIN(min, excluded.min), "
            "max = MAX(max, excluded.max), sum = sum + excluded.sum, n = n + 1",
            [(meter, name, minute, p, p, p) for name, p in list(r.power.items())],
        )
        db.execute(
            "INSERT INTO meter (id, state, last_ts, last_totals) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state, last_ts = excluded.last_ts, "
            "last_totals = excluded.last_totals",
            (meter, json.dumps(dict(r.state)), ts, json.dumps(dict(r.totals_wh))),
        )

    def _query(self, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, args).fetchall()

    def purge_readings(self, before: float) -> int:
        cur = self.db.execute("DELETE FROM reading WHERE ts < ?", (before,))
        return int(cur.rowcount)

    def close(self) -> None:
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the leases go with it
            self._lock_fd = None
