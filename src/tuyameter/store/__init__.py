"""Persistent store of readings, energy totals and accountant state."""

from __future__ import annotations

from pathlib import Path

from tuyameter.store.base import EnergyRow, Store
from tuyameter.store.sqlite import SqliteStore, default_db_path

__all__ = ["EnergyRow", "SqliteStore", "Store", "default_db_path", "is_postgres", "open_store"]


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://")) or "host=" in target or "dbname=" in target


def open_store(target: str | None, rollup_zone: str | None = None) -> SqliteStore | Store:
    """A SQLite file path (default: the user data directory) or a PostgreSQL URL / DSN. ``rollup_zone``:
    the time zone whose local days and months the store keeps totals for (None: the one it has)."""
    if target and is_postgres(target):
        try:
            from tuyameter.store.postgres import PostgresStore
        except ImportError as e:
            raise RuntimeError("PostgreSQL needs psycopg: pip install 'tuyameter[postgres]'") from e
        return PostgresStore(target, rollup_zone)
    return SqliteStore(Path(target) if target else default_db_path(), rollup_zone)
