"""Streaming, resynchronising TuyaMCU frame decoder (sans-IO).

Feed it bytes as they arrive together with the current time; it returns the
frames that completed and the garbage it had to skip. It never raises on
input and never holds more than one candidate frame: a bad checksum, an
over-long length or a partial frame that goes quiet for ``idle_timeout``
seconds is abandoned by skipping one byte past its header and scanning the
rest again, so a good frame that follows garbage is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuyameter.tuyamcu.constants import HEADER, MIN_FRAME
from tuyameter.tuyamcu.frame import Frame, checksum

DEFAULT_MAX_PAYLOAD = 4096
DEFAULT_IDLE_TIMEOUT = 0.4


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that were skipped, with the reason."""

    data: bytes
    reason: str


@dataclass(slots=True)
class DecoderStats:
    frames: int = 0
    checksum_errors: int = 0
    resyncs: int = 0
    oversize: int = 0
    partial_timeouts: int = 0
    garbage_bytes: int = 0


@dataclass
class FrameDecoder:
    max_payload: int = DEFAULT_MAX_PAYLOAD
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    stats: DecoderStats = field(default_factory=DecoderStats)
    _buf: bytearray = field(default_factory=bytearray)
    _last_rx: float | None = None

    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def expiry(self) -> float | None:
        """When the partial frame held now will be abandoned (its last byte's time + idle timeout)."""
        if not self._buf or self._last_rx is None:
            return None
        return self._last_rx + self.idle_timeout

    def feed(self, data: bytes, now: float) -> list[Frame | Garbage]:
        """Add received bytes; return completed frames and skipped garbage in order."""
        out = self.tick(now)
        if data:
            self._buf += data
            self._last_rx = now
        self._scan(out)
        return out

    def tick(self, now: float) -> list[Frame | Garbage]:
        """Abandon a partial frame that has been quiet too long (call periodically)."""
        if self._buf and self._last_rx is not None and now - self._last_rx > self.idle_timeout:
            return self.flush()  # every byte held is that old: recover what frames it holds
        return []

    def flush(self) -> list[Frame | Garbage]:
        """Give up everything pending (end of stream), recovering any frame inside it."""
        out: list[Frame | Garbage] = []
        while self._buf:
            self._expire(out)
        return out

    # -- internals -------------------------------------------------------

    def _skip(self, n: int, reason: str, out: list[Frame | Garbage]) -> None:
        if n <= 0:
            return
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        self.stats.garbage_bytes += len(chunk)
        self.stats.resyncs += 1
        out.append(Garbage(chunk, reason))

    def _expire(self, out: list[Frame | Garbage]) -> None:
        """The candidate at the buffer start went quiet: skip past its header, rescan."""
        if not self._buf:
            return
        if self._buf.startswith(HEADER) and len(self._buf) >= 2:
            self.stats.partial_timeouts += 1
            self._skip(1, "partial frame timed out", out)
        else:
            self._skip(len(self._buf), "trailing bytes without frame", out)
        self._scan(out)

    def _scan(self, out: list[Frame | Garbage]) -> None:
        buf = self._buf
        while buf:
            start = buf.find(HEADER)
            if start < 0:
                # Keep a trailing 0x55: it may be the first half of a header.
                keep = 1 if buf[-1] == HEADER[0] else 0
                self._skip(len(buf) - keep, "no frame header", out)
                return
            if start:
                self._skip(start, "bytes before frame header", out)
            if len(buf) < 6:
                return
            length = (buf[4] << 8) | buf[5]
            if length > self.max_payload:
                self.stats.oversize += 1
                self._skip(1, f"length {length} exceeds {self.max_payload}", out)
                continue
            total = length + MIN_FRAME
            if len(buf) < total:
                return
            if checksum(buf[: total - 1]) != buf[total - 1]:
                self.stats.checksum_errors += 1
                self._skip(1, "checksum error", out)
                continue
            frame = Frame(command=buf[3], payload=bytes(buf[6 : total - 1]), version=buf[2])
            del buf[:total]
            self.stats.frames += 1
            out.append(frame)
