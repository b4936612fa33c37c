"""The Tuya LAN source: meters on stock firmware, over Wi-Fi (``tuya://``)."""

from tuyameter.sources.base import register_source
from tuyameter.sources.tuyalan.binding import LanBinding
from tuyameter.sources.tuyalan.source import TuyaLanSource
from tuyameter.sources.tuyalan.target import LanTarget, parse_lan_url

register_source(("tuya",), TuyaLanSource)

__all__ = ["LanBinding", "LanTarget", "TuyaLanSource", "parse_lan_url"]
