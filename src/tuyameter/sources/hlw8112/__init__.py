"""The HLW8112 source: the metering chip read directly, over SPI (``spi://``, or an FTDI adapter
``ftdi://``) or a serial line (``…?proto=hlw8112``)."""

from tuyameter.sources.base import register_source
from tuyameter.sources.hlw8112.source import Hlw8112Source

register_source(("spi", "ftdi"), Hlw8112Source)
register_source(("", "file", "serial", "socket", "rfc2217"), Hlw8112Source, proto="hlw8112")

__all__ = ["Hlw8112Source"]
