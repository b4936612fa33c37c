"""Emulators of the meter: the PJ-1103A's MCU side of TuyaMCU (sans-IO core)."""
