"""The garbage collector, set for a long-running gateway once it has started."""

from __future__ import annotations

import gc

#: net allocations of container objects between two collections of the youngest generation (Python's
#: default is 700): a gateway allocates a few short-lived tuples and lists per frame, nearly all freed
#: at once by their reference counts, so collecting every 700 is mostly time spent finding nothing
YOUNG_THRESHOLD = 20_000


def settle_heap() -> None:
    """Start-up is done: what it built (modules, profiles, configuration) is frozen out of the
    collector's scans, and the youngest generation is collected less often. Cycles are still found
    (asyncio makes a few); they wait a little longer. Measured in ``make bench`` (pipeline part)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
