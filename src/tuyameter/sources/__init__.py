"""Sources: where readings come from (TuyaMCU link; Tuya LAN and HLW8112 later).

A source yields :class:`~tuyameter.pipeline.Batch` and
:class:`~tuyameter.pipeline.SourceStatus` items and takes validated writes; it
owns its connection and reconnects by itself. Everything after it is shared.
"""

from tuyameter.sources.base import Source, SourceOptions, open_source, register_source, source_schemes

__all__ = ["Source", "SourceOptions", "open_source", "register_source", "source_schemes"]
