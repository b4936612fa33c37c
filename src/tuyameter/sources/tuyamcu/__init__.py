"""The TuyaMCU source (serial port, pyserial URL, or sim:// emulator)."""

import tuyameter.emulator.simlink  # noqa: F401  (registers the sim:// link)
from tuyameter.sources.base import register_source
from tuyameter.sources.tuyamcu.binding import DPBinding
from tuyameter.sources.tuyamcu.source import TuyaMcuSource

register_source(("", "file", "serial", "socket", "rfc2217", "loop", "sim"), TuyaMcuSource)

__all__ = ["DPBinding", "TuyaMcuSource"]
