"""Leases: one gateway at a time writes a meter's history.

Two gateways writing one meter id into one database would both add its energy (the
"today" figures came out 50–100× too high). The store takes a lease per meter id
when a gateway opens it and refuses the second gateway with who holds it:

- SQLite: a write lock on one byte of ``<db>.lock`` per meter (the byte's offset is
  the meter's slot in the ``lease`` table); an open-file-description lock, so it is
  per connection, and the kernel drops it when the process dies, even by ``kill -9``;
- PostgreSQL: a session advisory lock per meter id, dropped with the connection.

The ``lease`` table keeps who took each lease last, for the error message.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import socket
import struct

from tuyameter.store.base import StoreError


class LeaseError(StoreError):
    """Another gateway holds the lease of a meter in this database."""


def holder_text() -> str:
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return f"pid {os.getpid()} on {socket.gethostname()} since {now}"


def refused(meter: str, holder: str | None, where: str) -> LeaseError:
    who = holder or "another gateway"
    return LeaseError(
        f"meter {meter!r} in {where} is already being written by another gateway ({who}); "
        "stop that one first, or give this gateway its own database or meter ids"
    )


_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", None)


def try_lock_byte(fd: int, offset: int) -> bool:
    """An exclusive lock on byte ``offset`` of ``fd``; False if someone else holds it."""
    if _OFD_SETLK is not None:  # Linux: per open file, so two stores in one process conflict too
        req = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
        try:
            fcntl.fcntl(fd, _OFD_SETLK, req)
        except OSError:
            return False
        return True
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
    except OSError:
        return False
    return True
