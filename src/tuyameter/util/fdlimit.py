"""Open files for a fleet: a link per meter is a file descriptor, and many systems start a process
with a soft limit of 1,024, far below what thousands of bridged or Wi-Fi meters need."""

from __future__ import annotations

import resource

#: descriptors besides the meters' links: the store, the broker, logs, the event loop's own
SPARE = 64


def raise_open_files(links: int) -> str | None:
    """Raise the soft limit of open files to what ``links`` meters need, up to the hard limit.
    Returns a warning when even the hard limit is too low (the user's to raise)."""
    wanted = links + SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return None
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    if new < wanted:
        return (
            f"{links} meters need about {wanted} open files and this system allows a process {hard} "
            "(ulimit -Hn): raise the limit (LimitNOFILE= in a systemd unit) or share the meters with --workers"
        )
    return None
