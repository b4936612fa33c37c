"""The Source protocol and the registry that picks a source by URL scheme."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from tuyameter.pipeline.events import Batch, SourceState, SourceStatus, TrafficLine
from tuyameter.pipeline.writes import WriteOutcome
from tuyameter.profiles.model import Profile, Value
from tuyameter.util.redact import redact_url


@dataclass(frozen=True)
class SourceOptions:
    """What a meter's configuration says about its source (each source reads what it knows)."""

    baud: int | None = None
    wifi_state: int | None = None
    heartbeat_interval: float = 10.0
    #: the device's clock runs this much faster than the wall clock (an emulator's --speed)
    clock_rate: float | None = None
    reconnect_max: float = 10.0


class Source(Protocol):
    description: str

    @property
    def state(self) -> SourceState: ...

    async def __aenter__(self) -> Source: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def readings(self) -> AsyncIterator[Batch | SourceStatus]: ...

    async def write(self, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome: ...

    async def wait_ready(self, timeout: float) -> bool: ...

    def diagnostics(self) -> dict[str, object]: ...

    def recent_traffic(self) -> list[TrafficLine]:
        """The link's last frames or messages (both ways, oldest first), decoded for people."""
        ...

    def clock(self) -> float:
        """The source's time in seconds (what :attr:`Batch.time` is measured in)."""
        ...


SourceFactory = Callable[[str, Profile, SourceOptions], Source]
#: (scheme, proto) → factory: a serial line carries TuyaMCU unless its URL says ``proto=…``
_REGISTRY: dict[tuple[str, str], SourceFactory] = {}


def register_source(schemes: tuple[str, ...], factory: SourceFactory, proto: str = "") -> None:
    """Make ``factory`` open URLs of these schemes ('' = a device path), with ``?proto=`` this protocol."""
    for s in schemes:
        _REGISTRY[s, proto] = factory


def source_schemes() -> list[str]:
    return sorted({s for s, _ in _REGISTRY})


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme
    return "" if len(scheme) <= 1 else scheme  # C:\\… is a path too


def url_proto(url: str) -> str:
    """The ``proto=`` of a URL's query ('' when it has none)."""
    return (parse_qs(urlsplit(url).query).get("proto") or [""])[-1]


def source_factory(url: str) -> SourceFactory:
    """The factory for ``url``; ValueError naming the known schemes (or protocols) if none fits."""
    _load_builtin()
    scheme, proto = _scheme(url), url_proto(url)
    f = _REGISTRY.get((scheme, proto))
    if f is None:
        if proto and any(s == scheme for s, _ in _REGISTRY):
            protos = ", ".join(sorted(p for s, p in _REGISTRY if s == scheme and p))
            raise ValueError(f"{redact_url(url)}: no protocol {proto!r} on this kind of link (known: {protos})")
        known = ", ".join(f"{s}://" for s in source_schemes() if s)
        raise ValueError(f"{redact_url(url)}: no source for this kind of URL (a device path, or {known})")
    return f


def open_source(url: str, profile: Profile, options: SourceOptions | None = None) -> Source:
    return source_factory(url)(url, profile, options or SourceOptions())


def _load_builtin() -> None:
    import tuyameter.sources.hlw8112
    import tuyameter.sources.tuyalan
    import tuyameter.sources.tuyamcu  # noqa: F401
