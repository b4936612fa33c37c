"""Diagnostic tools built on the cores: probe, monitor, decode."""
