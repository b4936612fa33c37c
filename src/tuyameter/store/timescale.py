"""TimescaleDB, when the PostgreSQL server has it: hypertables and continuous aggregates.

A new database on a server with the extension installed *and preloaded*
(``shared_preload_libraries``) gets it: the raw readings and the 15-minute energy buckets
become hypertables (chunks by time), and the energy per local day and month of the store's
rollup zone is kept by TimescaleDB as two continuous aggregates, ``energy_daily`` and
``energy_monthly`` (the month one built on the day one), each a row per meter, counter and
period with its Wh, refreshed by a background policy and answering with the rows not yet
materialised added on the fly (real-time aggregation). They are there for the user's own
SQL (Grafana, reports); tuyameter's own queries keep reading the rollup tables that every
write updates (store/rollup.py), which answer a year of days several times faster
(docs/performance.md). A server where the extension is installed but not preloaded is
used as plain PostgreSQL, and the log says why.

Hypertables want the time column in every unique key and cannot partition by a generated
column, so ``energy`` carries its bucket twice: ``bucket`` (epoch seconds, what every
query reads) and ``at`` (the same instant as a timestamp, written beside it).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg

log = logging.getLogger(__name__)

#: the continuous aggregates, in the order they are made (the month one reads the day one): view →
#: (period, what it sums, its time column, how often the policy refreshes it, how far behind now it stops)
AGGREGATES = {
    "energy_daily": ("day", "energy", "at", "5 minutes", "15 minutes"),
    "energy_monthly": ("month", "energy_daily", "day", "1 hour", "1 day"),
}
_ZONE_KEY = "timescale_zone"
_ZONE = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")


def usable(db: Any) -> bool:
    """Whether the server can give a new database TimescaleDB: installed and preloaded. Installed
    but not preloaded (``CREATE EXTENSION`` would fail) is logged."""
    if not db.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone():
        return False
    row = db.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    # a list such as "pg_stat_statements, timescaledb", a library perhaps quoted or given by its path
    loaded = {x.strip().strip('"').rsplit("/", 1)[-1] for x in str(row[0] if row else "").split(",")}
    if "timescaledb" not in loaded:
        log.warning(
            "TimescaleDB is installed on this PostgreSQL server but not preloaded "
            "(shared_preload_libraries = 'timescaledb' in postgresql.conf, then a restart); "
            "this database is made as plain PostgreSQL"
        )
        return False
    return True


def create(db: Any) -> None:
    """The extension and the readings' hypertable, in a new database (migration 1's tables)."""
    db.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    db.execute("SELECT create_hypertable('reading', 'ts', migrate_data => true)")


def created(db: Any) -> bool:
    """Whether this database has the extension."""
    return bool(db.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone())


def in_use(db: Any) -> bool:
    """Whether the store writes this database the TimescaleDB way: ``energy`` is a hypertable (made by
    migration 6 where the extension was there; an extension added by hand later changes nothing)."""
    return created(db) and bool(
        db.execute(
            "SELECT 1 FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = current_schema() AND hypertable_name = 'energy'"
        ).fetchone()
    )


def energy_hypertable(db: Any) -> None:
    """``energy`` as a hypertable on ``at`` (its buckets as timestamps), its rows kept."""
    db.execute("ALTER TABLE energy ADD COLUMN at TIMESTAMPTZ")
    db.execute("UPDATE energy SET at = to_timestamp(bucket)")
    db.execute("ALTER TABLE energy ALTER COLUMN at SET NOT NULL")
    db.execute("ALTER TABLE energy DROP CONSTRAINT energy_pkey")
    db.execute("ALTER TABLE energy ADD PRIMARY KEY (meter, name, bucket, at)")
    db.execute(
        "SELECT create_hypertable('energy', 'at', chunk_time_interval => INTERVAL '30 days', migrate_data => true)"
    )


def keep_aggregates(db: Any, zone: str | None) -> None:
    """Make the continuous aggregates for ``zone``'s local days and months, unless those are there;
    a store opened with another zone replaces them (as it rebuilds its rollup tables), unless a view
    of the user's depends on them: then they stay, and the log says why. They start
    empty: the policy materialises them in the background, and real-time aggregation answers
    from the buckets meanwhile, so opening a store with a long history does not wait."""
    if zone is None:
        log.info("TimescaleDB: hypertables reading and energy; no continuous aggregates (no rollup zone)")
        return
    if not _ZONE.match(zone):
        raise ValueError(f"time zone name {zone!r} cannot be used in a continuous aggregate")
    with db.transaction():
        db.execute("SELECT pg_advisory_xact_lock(72874)")  # one gateway at a time makes them
        row = db.execute("SELECT value FROM store_meta WHERE key = %s", (_ZONE_KEY,)).fetchone()
        if row is not None and row[0] == zone:
            log.info("TimescaleDB: hypertables reading and energy; continuous aggregates energy_daily and "
                     "energy_monthly for %s", zone)  # fmt: skip
            return
        try:
            with db.transaction():  # a savepoint: a refused drop leaves everything as it was
                for view in reversed(AGGREGATES):
                    db.execute(f"DROP MATERIALIZED VIEW IF EXISTS {view}".encode())
        except psycopg.errors.DependentObjectsStillExist as e:  # never CASCADE into the user's own views
            log.warning(
                "TimescaleDB continuous aggregates stay those of %s, not %s: something else depends on them "
                "(%s); drop that, and the next start makes them for %s",
                row[0] if row else "another zone", zone, e.diag.message_detail or e, zone,
            )  # fmt: skip
            return
        for view, (period, source, column, every, lag) in AGGREGATES.items():
            db.execute(
                f"CREATE MATERIALIZED VIEW {view} WITH (timescaledb.continuous, timescaledb.materialized_only = false) "
                f"AS SELECT meter, name, time_bucket(INTERVAL '1 {period}', {column}, '{zone}') AS {period}, "
                f"sum(wh) AS wh FROM {source} GROUP BY meter, name, {period} WITH NO DATA".encode()
            )
            db.execute(
                f"SELECT add_continuous_aggregate_policy('{view}', start_offset => NULL, "
                f"end_offset => INTERVAL '{lag}', schedule_interval => INTERVAL '{every}')".encode()
            )
        db.execute("DELETE FROM store_meta WHERE key = %s", (_ZONE_KEY,))
        db.execute("INSERT INTO store_meta (key, value) VALUES (%s, %s)", (_ZONE_KEY, zone))
    log.info("TimescaleDB continuous aggregates energy_daily and energy_monthly made for %s (was %s)",
             zone, row[0] if row else "none")  # fmt: skip
