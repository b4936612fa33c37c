"""PostgreSQL store, for fleets: many gateways can write into one database.

Each meter's row is locked for the duration of its reading's transaction, so two
gateways never interleave one meter's energy. A new database on a server with TimescaleDB
gets hypertables and continuous aggregates (store/timescale.py).
"""

from __future__ import annotations

import array
import contextlib
import datetime as dt
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from tuyameter.store import timescale
from tuyameter.store.base import Record
from tuyameter.store.batch import plan
from tuyameter.store.lease import holder_text, refused
from tuyameter.store.queries import SqlQueries
from tuyameter.store.rollup import TABLES, Columns, RollupSql

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
    # 4: energy per local day and month (store/rollup.py; a column per counter is added as it appears)
    """
    CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE energy_day (meter TEXT NOT NULL, day INTEGER NOT NULL, PRIMARY KEY (meter, day));
    CREATE TABLE energy_month (meter TEXT NOT NULL, month INTEGER NOT NULL, PRIMARY KEY (meter, month));
    """,
    # 5: what happened to a meter's data: counter resets, glitches, restarts (gateway/meter_events.py)
    """
    CREATE TABLE meter_event (
        meter TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL
    );
    CREATE INDEX meter_event_meter_ts ON meter_event (meter, ts);
    """,
    # 6: with TimescaleDB, energy becomes a hypertable too (store/timescale.py; nothing without it)
    "",
]


class PostgresStore(SqlQueries):
    PH = "%s"
    FLOOR = "FLOOR({})::bigint"
    STEP_DOWN = "{0} - ({0}::bigint %% {1})"

    def __init__(self, dsn: str, rollup_zone: str | None = None) -> None:
        """``rollup_zone``: the zone whose local days and months the rollups keep (store/rollup.py);
        None keeps the one the database has."""
        self.dsn = dsn
        self.db = psycopg.connect(dsn, autocommit=True)
        self.timescale = False
        self._migrate()
        self.rollups = PackedRollupSql(
            self._query, self._many, self._columns, ph="%s", real="DOUBLE PRECISION", arrays=True,
            fetch=self._query_binary,
        )  # fmt: skip
        self._open_rollups(rollup_zone)
        if self.timescale:
            timescale.keep_aggregates(self.db, self.rollup_zone)

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
                if i == 1 and timescale.usable(self.db):
                    timescale.create(self.db)
                if i == 6 and timescale.created(self.db):
                    timescale.energy_hypertable(self.db)
                self.db.execute("UPDATE tuyameter_schema SET version = %s", (i,))
        self.timescale = timescale.in_use(self.db)

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
        """Several readings in one transaction, a statement per table; the meters' rows are locked
        (``FOR UPDATE``, in id order) for the whole transaction."""
        try:
            with self.db.transaction():
                b = plan(records, self._last_of, self.rollup)
                at = ", at" if self.timescale else ""  # TimescaleDB: each bucket also as its hypertable's time
                self._bulk(
                    f"INSERT INTO energy (meter, name, bucket, wh{at})", "text text float8 float8", b.energy_rows(),
                    f"ON CONFLICT (meter, name, bucket{at}) DO UPDATE SET wh = energy.wh + excluded.wh",
                    select="c1, c2, c3, c4, to_timestamp(c3)" if self.timescale else "*",
                )  # fmt: skip
                self.rollups.add("energy_day", "day", b.days)
                self.rollups.add("energy_month", "month", b.months)
                with self.db.cursor() as cur, cur.copy("COPY reading (meter, ts, data) FROM STDIN") as copy:
                    for meter, ts, data in b.readings:  # an append: COPY, three times the rate of an INSERT
                        copy.write_row((meter, dt.datetime.fromtimestamp(ts, dt.UTC), data))
                self._bulk("INSERT INTO meter_event (meter, ts, kind, text)", "text float8 text text", b.events)
                self._bulk(
                    "INSERT INTO power_minute", "text text float8 float8 float8 float8 int4", b.power_rows(),
                    "ON CONFLICT (meter, name, minute) DO UPDATE SET "
                    "min = LEAST(power_minute.min, excluded.min), max = GREATEST(power_minute.max, excluded.max), "
                    "sum = power_minute.sum + excluded.sum, n = power_minute.n + excluded.n",
                )  # fmt: skip
                self._bulk(
                    "INSERT INTO meter (id, state, last_ts, last_totals)", "text text float8 text", b.meter_rows(),
                    "ON CONFLICT (id) DO UPDATE SET state = excluded.state, last_ts = excluded.last_ts, "
                    "last_totals = excluded.last_totals",
                    select="c1, c2::jsonb, c3, c4::jsonb",
                )  # fmt: skip
        except BaseException:
            self.rollups.forget_columns()
            raise

    def _last_of(self, meters: list[str]) -> dict[str, tuple[float, Mapping[str, float]]]:
        rows = self.db.execute(
            "SELECT id, last_ts, last_totals FROM meter WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (meters,)
        ).fetchall()
        return {m: (float(ts), dict(tot)) for m, ts, tot in rows}

    def _many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            with self.db.cursor() as cur:
                cur.executemany(sql.encode(), rows)

    def _bulk(
        self, insert: str, types: str, rows: Sequence[tuple[Any, ...]], tail: str = "", *, select: str = "*"
    ) -> None:
        """``insert`` fed by one statement: the rows go as one array per column (``types``, PostgreSQL's
        names), unnested into columns c1, c2, …; ``select`` may convert them."""
        if not rows:
            return
        kinds = types.split()
        arrays = ", ".join(f"%s::{t}[]" for t in kinds)
        names = ", ".join(f"c{i + 1}" for i in range(len(kinds)))
        sql = f"{insert} SELECT {select} FROM unnest({arrays}) AS u({names}) {tail}"
        self.db.execute(sql.encode(), [list(col) for col in zip(*rows, strict=True)])

    def _filter(self, column: str, meter: str | None, start: float, end: float) -> tuple[str, list[object]]:
        sql, args = super()._filter(column, meter, start, end)
        if column == "bucket" and self.timescale:  # the same range on the hypertable's time: only its chunks
            sql += " AND at >= to_timestamp(%s) AND at < to_timestamp(%s)"
            args += [start, end]
        return sql, args

    def _columns(self, table: str) -> list[str]:
        rows = self._query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s",
            [table],
        )
        return [str(r[0]) for r in rows]

    def _transaction(self) -> contextlib.AbstractContextManager[Any]:
        return self.db.transaction()

    def _query(self, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
        cur = self.db.execute(sql.encode(), args)
        return cur.fetchall() if cur.description is not None else []

    def _query_binary(self, sql: str, args: list[object]) -> list[tuple[Any, ...]]:
        """A query whose many rows come back in binary (numbers unparsed: half the time of text)."""
        return self.db.execute(sql.encode(), args, binary=True).fetchall()

    def purge_readings(self, before: float) -> int:
        cur = self.db.execute("DELETE FROM reading WHERE ts < to_timestamp(%s)", (before,))
        self.db.execute("DELETE FROM meter_event WHERE ts < %s", (before,))
        return int(cur.rowcount)

    def close(self) -> None:
        self.db.close()


class PackedRollupSql(RollupSql):
    """The rollups of PostgreSQL, whose columns come back packed: one row per meter, each column its
    values as one ``bytea`` of big-endian numbers (``int4send`` / ``float8send`` strung together in
    the server), unpacked by the array module. A year of days of 100 meters is then 100 rows instead
    of 36,500 rows of 11 values for psycopg to convert one by one (docs/performance.md)."""

    def read_columns(self, by: str, meter: str | None, lo: int, hi: int) -> tuple[list[str], list[Columns]]:
        table, key = TABLES[by], by
        exprs = self.kwh_exprs(self.counter_names(table, key))
        names = sorted(exprs)
        # No ORDER BY in the aggregates (each would sort the group again): the server feeds a group's
        # rows to all its aggregates in one pass, so the columns line up whatever the order; sorted below
        packed = "".join(f", string_agg(float8send(COALESCE({exprs[n]}, 'NaN')), ''::bytea)" for n in names)
        where, args = self._where(key, meter, lo, hi)
        sql = f"SELECT meter, string_agg(int4send({key}), ''::bytea){packed} FROM {table}{where} GROUP BY meter"
        out: list[Columns] = []
        for m, ns_packed, *packed_cols in self._fetch(sql + " ORDER BY meter", args):
            ns = _unpack("i", ns_packed)
            cols = [_unpack("d", c) for c in packed_cols]
            if ns != sorted(ns):
                order = sorted(range(len(ns)), key=ns.__getitem__)
                ns = [ns[i] for i in order]
                cols = [[c[i] for i in order] for c in cols]
            out.append((m, ns, [_absent_as_none(c) for c in cols]))
        return names, out


def _unpack(code: str, data: bytes) -> list[Any]:
    """Big-endian numbers strung together → a list (``i``: 4-byte integers, ``d``: doubles)."""
    values = array.array(code, data)
    if values.itemsize != (4 if code == "i" else 8):
        raise RuntimeError(f"this platform's array code {code!r} is {values.itemsize} bytes")
    if sys.byteorder == "little":
        values.byteswap()
    return values.tolist()


def _absent_as_none(column: list[float]) -> list[float | None]:
    """NaN (how an absent value travels packed) back to None; one sum tells whether there is any."""
    if not math.isnan(sum(column)):
        return column  # type: ignore[return-value]
    return [None if math.isnan(x) else x for x in column]
