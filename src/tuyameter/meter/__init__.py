"""Meter model: DP records → typed, scaled, signed readings."""

from tuyameter.meter.state import MeterOptions, MeterState, MeterStats

__all__ = ["MeterOptions", "MeterState", "MeterStats"]
