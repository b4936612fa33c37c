"""Streaming, resynchronising TuyaMCU frame decoder (sans-IO).

Feed it bytes as they arrive together with the current time; it returns the
frames that completed and the garbage it had to skip. It never raises on
input and never holds more than one candidate frame: a bad checksum, an
over-long length or a partial frame that goes quiet for ``idle_timeout``
seconds is abandoned by skipping one byte past its header and scanning the
rest again, so a good frame that follows garbage is never lost.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from tuyameter.tuyamcu.constants import HEADER, MIN_FRAME
from tuyameter.tuyamcu.frame import Frame, checksum

DEFAULT_MAX_PAYLOAD = 4096
DEFAULT_IDLE_TIMEOUT = 0.4
#: A small frame's bytes (checksum included) → its Frame, for every decoder of the process: a
#: meter repeats most of its frames byte for byte (settings, idle channels, a steady voltage), and
#: meters of one model send many of the same, so a repeat is one lookup instead of a checksum and
#: a new Frame (frames are immutable: handing the same one again is safe). Bounded: when full, it
#: starts again, so a fleet of changing values costs a clear now and then, not memory.
_SEEN: dict[bytes, Frame] = {}
_SEEN_MAX = 4096


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
        self._scan(out, final=True)
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

    def _coming(self, buf: bytearray) -> bool:
        """Whether the frame whose whole header starts the buffer may still complete."""
        length = _length(buf)
        return length <= self.max_payload and len(buf) < MIN_FRAME + length

    def _scan(self, out: list[Frame | Garbage], final: bool = False) -> None:
        """Take every frame the buffer holds, in linear time however hostile the bytes are.

        The buffer is walked with an index and cut once at the end; a checksum over a long
        candidate comes from prefix sums (computed once per scan, only when needed), so a run
        of headers that announce long payloads costs O(1) per header, not O(length); a run of
        skipped bytes comes out as one Garbage that says why, and how often. ``final``: no more
        bytes will come, so a candidate still incomplete is abandoned (one byte past its header)."""
        buf = self._buf
        n, pos = len(buf), 0
        # Whole small frames back to back from the buffer's start (what a link delivers nearly
        # always) are taken here, from a copy of the buffer as bytes (one allocation per slice);
        # anything else (garbage, a partial or long frame) below.
        small, trusted = min(self.max_payload, 64 - MIN_FRAME), Frame.trusted
        if n >= MIN_FRAME and buf[0] == 0x55 and buf[1] == 0xAA and ((buf[4] << 8) | buf[5]) <= small:
            view, seen, first = bytes(buf), _SEEN, len(out)
            while n - pos >= MIN_FRAME and view[pos] == 0x55 and view[pos + 1] == 0xAA:
                length = (view[pos + 4] << 8) | view[pos + 5]
                end = pos + 6 + length
                if length > small or end >= n:
                    break
                raw = view[pos : end + 1]
                frame = seen.get(raw)
                if frame is None:
                    if (sum(raw) - raw[-1]) & 0xFF != raw[-1]:
                        break
                    frame = trusted(view[pos + 3], view[pos + 6 : end], view[pos + 2])
                    if len(seen) >= _SEEN_MAX:
                        seen.clear()
                    seen[raw] = frame
                out.append(frame)
                pos = end + 1
            if pos:
                self.stats.frames += len(out) - first
                del buf[:pos]
                n, pos = len(buf), 0
        if not n:
            return
        if not final and buf[0] == 0x55 and (n == 1 or buf[1] == 0xAA) and (n < 6 or self._coming(buf)):
            return  # the start of a frame still coming
        sums: bytearray | None = None  # sums[i] = sum(buf[:i]) mod 256
        run: list[int] = []  # [start, end] of skipped bytes not yet output
        reasons: dict[str, int] = {}  # why, and how often, within that run

        def skip(a: int, b: int, reason: str) -> None:
            self.stats.garbage_bytes += b - a
            self.stats.resyncs += 1
            if not run or run[1] != a:
                emit()
                run[:] = [a, a]
            run[1] = b
            reasons[reason] = reasons.get(reason, 0) + 1

        def emit() -> None:
            if run:
                if len(reasons) == 1 and sum(reasons.values()) == 1:
                    why = next(iter(reasons))
                else:
                    why = "; ".join(f"{r} ×{k}" if k > 1 else r for r, k in reasons.items())
                out.append(Garbage(bytes(buf[run[0] : run[1]]), why))
                run.clear()
                reasons.clear()

        while pos < n:
            start = buf.find(HEADER, pos)
            if start < 0:
                # Keep a trailing 0x55: it may be the first half of a header.
                end = n - 1 if buf[n - 1] == HEADER[0] and not final else n
                if end > pos:
                    skip(pos, end, "no frame header" if end < n or not final else "trailing bytes without frame")
                pos = end
                break
            if start > pos:
                skip(pos, start, "bytes before frame header")
                pos = start
            total = 6  # until the length is in, the header is all there is to wait for
            if n - pos >= 6:
                length = (buf[pos + 4] << 8) | buf[pos + 5]
                if length > self.max_payload:
                    self.stats.oversize += 1
                    skip(pos, pos + 1, f"length {length} exceeds {self.max_payload}")
                    pos += 1
                    continue
                total = length + MIN_FRAME
            if n - pos < total:
                if not final:
                    break
                self.stats.partial_timeouts += 1
                skip(pos, pos + 1, "partial frame timed out")
                pos += 1
                continue
            end = pos + total - 1
            if total <= 64:
                ck = checksum(buf[pos:end])
            else:
                if sums is None:
                    sums = bytearray(1)
                    sums += bytes(x & 0xFF for x in itertools.accumulate(buf))
                ck = (sums[end] - sums[pos]) & 0xFF
            if ck != buf[end]:
                self.stats.checksum_errors += 1
                skip(pos, pos + 1, "checksum error")
                pos += 1
                continue
            emit()
            out.append(trusted(buf[pos + 3], bytes(buf[pos + 6 : end]), buf[pos + 2]))
            self.stats.frames += 1
            pos += total
        emit()
        del buf[:pos]


def _length(buf: bytearray) -> int:
    """The payload length a frame header at the buffer's start announces."""
    return (buf[4] << 8) | buf[5]
