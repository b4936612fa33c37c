"""A throw-away PostgreSQL cluster (initdb) on a free loopback port, for tests."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from broker import free_port


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def timescale_installed() -> bool:
    """Whether this machine's PostgreSQL has the TimescaleDB extension (its control file)."""
    try:
        share = subprocess.run([_bin("pg_config"), "--sharedir"], capture_output=True, text=True, check=False).stdout
    except RuntimeError:
        return False
    return bool(share.strip()) and Path(share.strip(), "extension", "timescaledb.control").exists()


class Postgres:
    """``timescale``: preload TimescaleDB, with telemetry off (tests talk to nobody) and no background
    jobs (a test runs a policy itself, so no refresh races what it compares)."""

    def __init__(self, *, timescale: bool = False) -> None:
        self.timescale = timescale
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tuyameter-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        self.start()

    def start(self) -> None:
        """Start the server (again, after :meth:`halt`) and wait until it takes connections."""
        self._run([_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                   f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off{self._preload}",
                   "start"])  # fmt: skip
        self._wait()

    @property
    def _preload(self) -> str:
        if not self.timescale:
            return ""
        return (
            " -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off"
            " -c timescaledb.max_background_workers=0"
        )

    def halt(self) -> None:
        """Stop the server abruptly, keeping its data (as a crash or an outage would)."""
        self._run([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])

    def _run(self, cmd: list[str]) -> None:
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def _wait(self) -> None:
        import psycopg

        end = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"'.encode())
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={name}"

    def stop(self) -> None:
        try:
            self._run([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
