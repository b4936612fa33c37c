"""SQLite store (WAL): the embedded default.

Each transaction writes the raw readings handed to it (one, or a few when the
writer is behind), adds the energy that flowed since each meter's previous reading
to its 15-minute buckets and saves the accountant's state with it, so a crash loses
at most the readings being written and a restart continues the totals exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tuyameter.store.base import Record
from tuyameter.store.batch import plan
from tuyameter.store.lease import holder_text, refused, try_lock_byte
from tuyameter.store.queries import SqlQueries
from tuyameter.store.rollup import RollupSql

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
    # 4: energy per local day and month (store/rollup.py; a column per counter is added as it appears)
    """
    CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE energy_day (meter TEXT NOT NULL, day INTEGER NOT NULL, PRIMARY KEY (meter, day)) WITHOUT ROWID;
    CREATE TABLE energy_month (meter TEXT NOT NULL, month INTEGER NOT NULL, PRIMARY KEY (meter, month)) WITHOUT ROWID;
    """,
    # 5: what happened to a meter's data: counter resets, glitches, restarts (gateway/meter_events.py)
    """
    CREATE TABLE meter_event (meter TEXT NOT NULL, ts REAL NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);
    CREATE INDEX meter_event_meter_ts ON meter_event (meter, ts);
    """,
]


def default_db_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "tuyameter" / "tuyameter.db"


class SqliteStore(SqlQueries):
    def __init__(self, path: str | Path, rollup_zone: str | None = None) -> None:
        """``rollup_zone``: the zone whose local days and months the rollups keep (store/rollup.py);
        None keeps the one the database has."""
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._migrate()
        self._lock_fd: int | None = None
        self.rollups = RollupSql(self._query, self._many, self._columns, ph="?", real="REAL")
        self._open_rollups(rollup_zone)

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
        """Several readings (of one or many meters) in one transaction, a statement per table."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            b = plan(records, self._last_of, self.rollup)
            db.executemany(
                "INSERT INTO energy (meter, name, bucket, wh) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (meter, name, bucket) DO UPDATE SET wh = wh + excluded.wh",
                b.energy_rows(),
            )
            self.rollups.add("energy_day", "day", b.days)
            self.rollups.add("energy_month", "month", b.months)
            db.executemany("INSERT INTO reading (meter, ts, data) VALUES (?, ?, ?)", b.readings)
            if b.events:
                db.executemany("INSERT INTO meter_event (meter, ts, kind, text) VALUES (?, ?, ?, ?)", b.events)
            db.executemany(
                "INSERT INTO power_minute VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (meter, name, minute) DO UPDATE SET min = MIN(min, excluded.min), "
                "max = MAX(max, excluded.max), sum = sum + excluded.sum, n = n + excluded.n",
                b.power_rows(),
            )
            db.executemany(
                "INSERT INTO meter (id, state, last_ts, last_totals) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, last_ts = excluded.last_ts, "
                "last_totals = excluded.last_totals",
                b.meter_rows(),
            )
            db.execute("COMMIT")
        except BaseException:
            self.rollups.forget_columns()
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _last_of(self, meters: list[str]) -> dict[str, tuple[float, Mapping[str, float]]]:
        out: dict[str, tuple[float, Mapping[str, float]]] = {}
        for i in range(0, len(meters), 500):
            part = meters[i : i + 500]
            sql = f"SELECT id, last_ts, last_totals FROM meter WHERE id IN ({', '.join('?' * len(part))})"
            out.update((m, (float(ts), json.loads(tot))) for m, ts, tot in self.db.execute(sql, part))
        return out

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.db.executemany(sql, rows)

    def _columns(self, table: str) -> list[str]:
        return [r[1] for r in self.db.execute(f"PRAGMA table_info({table})")]

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        return _immediate(self.db)

    def _query(self, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, args).fetchall()

    def purge_readings(self, before: float) -> int:
        cur = self.db.execute("DELETE FROM reading WHERE ts < ?", (before,))
        self.db.execute("DELETE FROM meter_event WHERE ts < ?", (before,))
        return int(cur.rowcount)

    def close(self) -> None:
        self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the leases go with it
            self._lock_fd = None


@contextlib.contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
