"""PostgreSQL store, for fleets: many gateways can write into one database.

Each meter's row is locked for the duration of its reading's transaction, so two
gateways never interleave one meter's energy. When the TimescaleDB extension is
available, raw readings go into a hypertable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from tuyameter.store.base import Record, energy_deltas
from tuyameter.store.lease import holder_text, refused
from tuyameter.store.queries import SqlQueries

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE meter (
        id TEXT PRIMARY KEY,
        state JSONB NOT NULL,
        last_ts DOUBLE PRECISION NOT NULL,
        last_totals JSONB NOT NULL
    );
    CREATE TABLE reading (
        meter TEXT NOT NULL,
        ts TIMESTAMPTZ NOT NULL,
        data JSONB NOT NULL
    );
    CREATE INDEX reading_meter_ts ON reading (meter, ts);
    CREATE TABLE energy (
        meter TEXT NOT NULL,
        name TEXT NOT NULL,
        bucket DOUBLE PRECISION NOT NULL,
        wh DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (meter, name, bucket)
    );
    """,
    # 2: power statistics per minute
    """
    CREATE TABLE power_minute (
        meter TEXT NOT NULL,
        name TEXT NOT NULL,
        minute DOUBLE PRECISION NOT NULL,
        min DOUBLE PRECISION NOT NULL,
        max DOUBLE PRECISION NOT NULL,
        sum DOUBLE PRECISION NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (meter, name, minute)
    );
    """,
    # 3: who writes which meter (store/lease.py)
    """
    CREATE TABLE lease (
        meter TEXT PRIMARY KEY,
        holder TEXT NOT NULL
    );
    """,
]


class PostgresStore(SqlQueries):
    PH = "%s"
    FLOOR = "FLOOR({})::bigint"
    BUCKET_DOWN = "bucket - (bucket::bigint %% {})"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.db = psycopg.connect(dsn, autocommit=True)
        self.timescale = False
        self._migrate()

    def _migrate(self) -> None:
        with self.db.transaction():
            self.db.execute("SELECT pg_advisory_xact_lock(72873)")  # one migrator at a time
            self.db.execute("CREATE TABLE IF NOT EXISTS tuyameter_schema (version INTEGER NOT NULL)")
            row = self.db.execute("SELECT version FROM tuyameter_schema").fetchone()
            version = row[0] if row else 0
            if row is None:
                self.db.execute("INSERT INTO tuyameter_schema VALUES (0)")
            for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for stmt in filter(None, (s.strip() for s in script.split(";"))):
                    self.db.execute(stmt.encode())
                if i == 1:
                    self._maybe_timescale()
                self.db.execute("UPDATE tuyameter_schema SET version = %s", (i,))
        self.timescale = bool(self.db.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone())

    def _maybe_timescale(self) -> None:
        if self.db.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone():
            self.db.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            self.db.execute("SELECT create_hypertable('reading', 'ts', migrate_data => true)")

    def claim(self, meters: Sequence[str]) -> None:
        """Take the lease of each meter id (an advisory lock held by this connection), or LeaseError."""
        holder = holder_text()
        for meter in meters:
            got = self.db.execute(
                "SELECT pg_try_advisory_lock(hashtextextended('tuyameter meter ' || %s, 0))", (meter,)
            ).fetchone()
            if not (got and got[0]):
                row = self.db.execute("SELECT holder FROM lease WHERE meter = %s", (meter,)).fetchone()
                raise refused(meter, row[0] if row else None, "this PostgreSQL database")
            self.db.execute(
                "INSERT INTO lease (meter, holder) VALUES (%s, %s) ON CONFLICT (meter) DO UPDATE SET holder = %s",
                (meter, holder, holder),
            )

    @property
    def schema_version(self) -> int:
        row = self.db.execute("SELECT version FROM tuyameter_schema").fetchone()
        return int(row[0]) if row else 0

    def load_state(self, meter: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT state FROM meter WHERE id = %s", (meter,)).fetchone()
        return dict(row[0]) if row else None

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
        """Several readings in one transaction; each meter's row is locked while it is written."""
        with self.db.transaction():
            for r in records:
                self._record(r)

    def _record(self, r: Record) -> None:
        meter, ts = r.meter, r.ts
        row = self.db.execute("SELECT last_ts, last_totals FROM meter WHERE id = %s FOR UPDATE", (meter,)).fetchone()
        with self.db.cursor() as cur:
            if row is not None:
                deltas = energy_deltas(float(row[0]), row[1], ts, r.totals_wh)
                if deltas:
                    cur.executemany(
                        "INSERT INTO energy (meter, name, bucket, wh) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (meter, name, bucket) DO UPDATE SET wh = energy.wh + excluded.wh",
                        [(meter, n, b, w) for n, b, w in deltas],
                    )
            cur.execute(
                "INSERT INTO reading (meter, ts, data) VALUES (%s, to_timestamp(%s), %s)",
                (meter, ts, json.dumps(r.values)),
            )
            minute = ts - ts % 60
            samples = list(r.power.items())
            if samples:
                cur.executemany(
                    "INSERT INTO power_minute VALUES (%s, %s, %s, %s, %s, %s, 1) "
                    "ON CONFLICT (meter, name, minute) DO UPDATE SET "
                    "min = LEAST(power_minute.min, excluded.min), max = GREATEST(power_minute.max, excluded.max), "
                    "sum = power_minute.sum + excluded.sum, n = power_minute.n + 1",
                    [(meter, name, minute, p, p, p) for name, p in samples],
                )
            cur.execute(
                "INSERT INTO meter (id, state, last_ts, last_totals) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, last_ts = excluded.last_ts, "
                "last_totals = excluded.last_totals",
                (meter, json.dumps(dict(r.state)), ts, json.dumps(dict(r.totals_wh))),
            )

    def _query(self, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
        return self.db.execute(sql.encode(), args).fetchall()

    def purge_readings(self, before: float) -> int:
        cur = self.db.execute("DELETE FROM reading WHERE ts < to_timestamp(%s)", (before,))
        return int(cur.rowcount)

    def close(self) -> None:
        self.db.close()
