"""Logging what may repeat without end (a hostile meter's bad readings): not every time."""

from __future__ import annotations


def worth_logging(count: int) -> bool:
    """True for the 1st, 2nd, 4th, 8th … occurrence: a flood leaves a few lines, with its count."""
    return count > 0 and count & (count - 1) == 0
