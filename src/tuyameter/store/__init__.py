"""Persistent store of readings, energy totals and accountant state."""

from tuyameter.store.base import EnergyRow, Store
from tuyameter.store.sqlite import SqliteStore, default_db_path

__all__ = ["EnergyRow", "SqliteStore", "Store", "default_db_path"]
