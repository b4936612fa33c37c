"""Module-side TuyaMCU session: a sans-IO state machine.

Bytes and the current (monotonic) time go in with :meth:`Session.receive_data`
and :meth:`Session.tick`; frames to write come out of :meth:`Session.data_to_send`
and events out of :meth:`Session.events`. :meth:`Session.next_deadline` tells
the adapter when to call :meth:`tick` again. Nothing here sleeps or does I/O.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import Command, ExtendedSub
from tuyameter.tuyamcu.decoder import FrameDecoder, Garbage
from tuyameter.tuyamcu.dp import DPRecord, DPValue, encode_records
from tuyameter.tuyamcu.events import (
    DPUpdate,
    Event,
    LinkDown,
    LinkUp,
    McuRestarted,
    SkippedBytes,
    Traffic,
    WriteResult,
)
from tuyameter.tuyamcu.frame import Frame
from tuyameter.tuyamcu.messages import DP_REPORT
from tuyameter.tuyamcu.reports import ReportGatherer
from tuyameter.tuyamcu.session_config import Phase, SessionConfig, SessionStats

__all__ = ["Phase", "Session", "SessionConfig", "SessionStats"]


log = logging.getLogger(__name__)


@dataclass
class _Request:
    frame: Frame
    kind: str
    timeout: float
    retries: int
    write_id: int | None = None
    records: tuple[DPRecord, ...] = ()
    attempts: int = 0
    deadline: float = 0.0
    echoed: dict[int, DPValue] = field(default_factory=dict)
    #: A write whose caller stops waiting at this time is dropped then, sent or not.
    expires: float = float("inf")


class Session:
    """The gateway's side of one TuyaMCU link."""

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        local_time: Callable[[], dt.datetime | None] | None = None,
        utc_time: Callable[[], dt.datetime | None] | None = None,
        trace: bool = False,
    ) -> None:
        """``local_time`` answers 0x1C, ``utc_time`` 0x0C (default: the local time given, in UTC;
        a naive local time is taken as the machine's). Either may return None: time not known."""
        self.config = config or SessionConfig()
        self.decoder = FrameDecoder()
        self.stats = SessionStats()
        self.trace = trace
        self._local_time = local_time or (lambda: None)
        self._utc_time = utc_time or (lambda: _as_utc(self._local_time()))
        self._events: list[Event] = []
        #: plain reports (0x07) received together, not yet an event (config.coalesce_reports)
        self._reports = ReportGatherer()
        #: while someone looks at the link, a ring of its last frames both ways: (time, sent by us, frame)
        self.recent: deque[tuple[float, bool, Frame]] | None = None
        self._responses: deque[Frame] = deque()
        self._requests: deque[_Request] = deque()
        self._current: _Request | None = None
        self._last_out = float("-inf")
        self._next_write_id = 1
        self.protocol_version = 0
        self.product_info: str | None = None
        self.product_id: str | None = None
        self.working_mode: bytes | None = None
        self.mcu_initialised = False
        self._missed = 0
        # Operational heartbeats start with the RUNNING phase; the handshake has its own.
        self._next_heartbeat = float("inf")
        self._next_wifi = float("inf")
        self.last_rx: float | None = None
        self.phase = Phase.HEARTBEAT
        self._start_phase(Phase.HEARTBEAT, 0.0)

    # -- public API --------------------------------------------------------

    @property
    def link_up(self) -> bool:
        return self.phase is Phase.RUNNING

    def receive_data(self, data: bytes, now: float) -> None:
        items = self.decoder.feed(data, now)
        cur = self._current
        if (
            (cur is None or cur.kind not in _WAITS_FOR_REPORTS)
            and self.recent is None
            and not self.trace
            and self.config.coalesce_reports
        ):
            taken = self._reports.take(items, now, self._events)
            if taken:
                self.stats.frames_in += taken
                self.last_rx = now
                items = items[taken:]
        for item in items:
            self._handle_item(item, now)
        self._pump(now)

    def tick(self, now: float) -> None:
        for item in self.decoder.tick(now):
            self._handle_item(item, now)
        self._check_timers(now)
        self._pump(now)

    def data_to_send(self, now: float) -> bytes:
        """Next frame's bytes if inter-frame spacing allows one now, else b''."""
        if now - self._last_out < self.config.spacing:
            return b""
        frame: Frame | None = None
        if self._responses:
            frame = self._responses.popleft()
        elif self._current is not None and self._current.deadline == 0.0:
            req = self._current
            req.attempts += 1
            req.deadline = now + req.timeout
            frame = req.frame
        if frame is None:
            return b""
        self._last_out = now
        self.stats.frames_out += 1
        if self.recent is not None:
            self.recent.append((now, True, frame))
        if self.trace:
            self._emit(Traffic(now, m.Direction.TO_MCU, frame, m.parse(frame, m.Direction.TO_MCU)))
        return frame.encode()

    def has_output(self) -> bool:
        """Whether :meth:`data_to_send` has a frame waiting (perhaps for the inter-frame spacing)."""
        return bool(self._responses) or (self._current is not None and self._current.deadline == 0.0)

    def events(self) -> list[Event]:
        if self._reports.pending:
            self._events.append(self._reports.update())
        out, self._events = self._events, []
        return out

    def next_deadline(self, now: float) -> float:
        """When :meth:`tick` has something to do next (never before ``now``). Asked after every chunk
        received, so it compares rather than builds a list."""
        due = self._next_wifi if self._next_wifi < self._next_heartbeat else self._next_heartbeat
        cur = self._current
        if cur is not None:
            due = min(due, cur.deadline or now + self.config.spacing, cur.expires)
        if self._responses:
            due = min(due, self._last_out + self.config.spacing)
        expiry = self.decoder.expiry()
        if expiry is not None and expiry + 0.01 < due:
            due = expiry + 0.01
        for r in self._requests:
            if r.kind == "write" and r.expires < due:
                due = r.expires
        return due if due > now else now

    def write(self, records: list[DPRecord] | tuple[DPRecord, ...], now: float, *, expires: float | None = None) -> int:
        """Queue a DP write; a :class:`WriteResult` with the returned id follows.

        ``expires``: the time the caller stops waiting. A write not confirmed by then
        fails with "expired" and is never sent (or retried) afterwards.
        """
        wid = self._next_write_id
        self._next_write_id += 1
        frame = m.module_frame(Command.SET_DP, encode_records(list(records)))
        req = _Request(frame, "write", self.config.write_timeout, self.config.write_retries, wid, tuple(records))
        if expires is not None:
            req.expires = expires
        self._requests.append(req)
        self._pump(now)
        return wid

    def cancel_write(self, write_id: int, now: float) -> bool:
        """The caller gave up: drop the write (queued or in flight); False if it was already done."""
        for req in self._requests:
            if req.write_id == write_id:
                self._requests.remove(req)
                self._fail_write(req, now, "cancelled")
                return True
        cur = self._current
        if cur is not None and cur.write_id == write_id:
            self._current = None
            self._fail_write(cur, now, "cancelled")
            self._pump(now)
            return True
        return False

    def query(self, now: float) -> None:
        self._enqueue(m.module_frame(Command.QUERY_STATE), "query", now)

    def set_wifi_state(self, state: int, now: float) -> None:
        self.config.wifi_state = state
        if self.link_up:
            self._enqueue(m.module_frame(Command.WIFI_STATE, bytes((state,))), "wifi", now)

    def connection_lost(self, now: float, reason: str = "connection lost") -> None:
        """The adapter lost the byte stream: forget partial input, redo the handshake."""
        self.decoder.flush()
        self._go_down(now, reason)

    # -- internals ---------------------------------------------------------

    def _emit(self, ev: Event) -> None:
        if self._reports.pending:
            self._events.append(self._reports.update())  # events stay in the order they happened
        self._events.append(ev)

    def _enqueue(self, frame: Frame, kind: str, now: float) -> None:
        timeout = self.config.request_timeout
        self._requests.append(_Request(frame, kind, timeout, self.config.request_retries))
        self._pump(now)

    def _pump(self, now: float) -> None:
        if self._current is None and self._requests:
            self._current = self._requests.popleft()

    @property
    def cooperative(self) -> bool:
        """The MCU drives its own LED and button and wants the Wi-Fi state (an empty 0x02 answer);
        in self-processing mode (two GPIO numbers) it does not acknowledge 0x03, so none is sent."""
        return not self.working_mode or len(self.working_mode) < 2

    def _start_phase(self, phase: Phase, now: float) -> None:
        if phase is Phase.WIFI and not self.cooperative:
            phase = Phase.QUERY
        self.phase = phase
        cfg = self.config
        if phase is Phase.HEARTBEAT:
            # In the handshake the heartbeat is retried forever every few seconds.
            self._requests.appendleft(
                _Request(m.module_frame(Command.HEARTBEAT), "hs-heartbeat", cfg.handshake_heartbeat_timeout, -1)
            )
        elif phase is Phase.PRODUCT:
            self._requests.appendleft(
                _Request(m.module_frame(Command.PRODUCT_INFO), "hs-product", cfg.request_timeout, cfg.request_retries)
            )
        elif phase is Phase.MODE:
            self._requests.appendleft(
                _Request(m.module_frame(Command.WORKING_MODE), "hs-mode", cfg.request_timeout, cfg.request_retries)
            )
        elif phase is Phase.WIFI:
            frame = m.module_frame(Command.WIFI_STATE, bytes((cfg.wifi_state,)))
            self._requests.appendleft(_Request(frame, "hs-wifi", cfg.request_timeout, cfg.request_retries))
        elif phase is Phase.QUERY:
            frame = m.module_frame(Command.QUERY_STATE)
            self._requests.appendleft(_Request(frame, "hs-query", cfg.request_timeout, cfg.request_retries))
        else:
            self._missed = 0
            self._next_heartbeat = now + cfg.heartbeat_interval
            self._next_wifi = now + cfg.wifi_refresh if self.cooperative else float("inf")
            self._emit(LinkUp(now, self.product_info, self.product_id, self.protocol_version, self.working_mode))
        self._pump(now)

    def _finish_current(self, now: float, next_phase: Phase | None = None) -> None:
        self._current = None
        if next_phase is not None:
            self._start_phase(next_phase, now)
        self._pump(now)

    def _go_down(self, now: float, reason: str) -> None:
        was_up = self.link_up
        if self._current is not None and self._current.kind == "write":
            self._fail_write(self._current, now, f"link down: {reason}")
        for req in self._requests:
            if req.kind == "write":
                self._fail_write(req, now, f"link down: {reason}")
        self._requests.clear()
        self._responses.clear()
        self._current = None
        self._next_heartbeat = float("inf")
        self._next_wifi = float("inf")
        # mcu_initialised stays: an MCU that answers its first heartbeat (0) after we had talked
        # to it has restarted, whether or not the link went down on the way (it does while it boots).
        if was_up:
            self.stats.link_downs += 1
            self._emit(LinkDown(now, reason))
        self._start_phase(Phase.HEARTBEAT, now)

    def _fail_write(self, req: _Request, now: float, error: str) -> None:
        self.stats.writes_failed += 1
        assert req.write_id is not None
        self._emit(WriteResult(now, req.write_id, req.records, False, req.attempts, dict(req.echoed), error))

    def _expire_writes(self, now: float) -> None:
        for req in [r for r in self._requests if r.kind == "write" and now >= r.expires]:
            self._requests.remove(req)
            self._fail_write(req, now, "expired before the MCU could take it")
        cur = self._current
        if cur is not None and cur.kind == "write" and now >= cur.expires:
            self._current = None
            self._fail_write(cur, now, f"expired unconfirmed after {cur.attempts} attempt(s)")

    def _check_timers(self, now: float) -> None:
        self._expire_writes(now)
        req = self._current
        if req is not None and req.deadline and now >= req.deadline:
            self.stats.timeouts += 1
            if req.kind == "heartbeat":
                self._missed += 1
                self._current = None
                if self._missed >= self.config.missed_heartbeats_down:
                    self._go_down(now, f"{self._missed} heartbeats unanswered")
            elif req.kind == "write" and all(w.dp in req.echoed for w in req.records):
                # The MCU answered, with values other than those written: it refused them.
                self._current = None
                self._fail_write(req, now, "the MCU kept its value (write refused)")
            elif req.retries < 0 or req.attempts <= req.retries:
                req.deadline = 0.0  # send again
            elif req.kind == "write":
                self._current = None
                self._fail_write(req, now, f"no echo after {req.attempts} attempts")
            else:
                # Handshake steps the MCU does not answer are skipped, not fatal.
                nxt = {
                    "hs-product": Phase.MODE,
                    "hs-mode": Phase.WIFI,
                    "hs-wifi": Phase.QUERY,
                    "hs-query": Phase.RUNNING,
                }.get(req.kind)
                self._finish_current(now, nxt)
        if self.link_up and now >= self._next_heartbeat:
            self._next_heartbeat = now + self.config.heartbeat_interval
            if not any(r.kind == "heartbeat" for r in self._requests) and (
                self._current is None or self._current.kind != "heartbeat"
            ):
                self._requests.appendleft(
                    _Request(m.module_frame(Command.HEARTBEAT), "heartbeat", self.config.heartbeat_timeout, 0)
                )
        if self.link_up and now >= self._next_wifi:
            self._next_wifi = now + self.config.wifi_refresh
            self._enqueue(m.module_frame(Command.WIFI_STATE, bytes((self.config.wifi_state,))), "wifi", now)

    def _handle_item(self, item: Frame | Garbage, now: float) -> None:
        if isinstance(item, Garbage):
            self._emit(SkippedBytes(now, item))
            return
        self.stats.frames_in += 1
        self.last_rx = now
        if self.recent is not None:
            self.recent.append((now, False, item))
        if item.command == DP_REPORT and not self.trace:  # nearly every frame: no message object
            self._handle_report(*self._reports.records(item.payload), DP_REPORT, False, now)
            return
        msg = m.parse(item, m.Direction.FROM_MCU)
        if self.trace:
            self._emit(Traffic(now, m.Direction.FROM_MCU, item, msg))
        self._handle_message(item, msg, now)

    def _respond(self, command: int, payload: bytes = b"") -> None:
        self._responses.append(m.module_frame(command, payload))

    def _handle_message(self, frame: Frame, msg: m.Message, now: float) -> None:
        if isinstance(msg, m.DPReport):
            self._handle_report(msg.records, msg.error, msg.command, msg.needs_ack, now)
            return
        cur = self._current
        kind = cur.kind if cur is not None else ""
        if isinstance(msg, m.Heartbeat):
            self.protocol_version = frame.version
            if msg.status == 0 and self.mcu_initialised:
                self.stats.mcu_restarts += 1
                self._emit(McuRestarted(now))
                self._go_down(now, "MCU restarted")
                # The reply we just got answers the new handshake's heartbeat too.
                self._current = None
                self._requests.clear()
                self._start_phase(Phase.PRODUCT, now)
                self.mcu_initialised = True
                return
            self.mcu_initialised = True
            if kind == "hs-heartbeat":
                self._finish_current(now, Phase.PRODUCT)
            elif kind == "heartbeat":
                if self._missed and self.link_up and self.cooperative:
                    # Answers went missing: if the MCU rebooted and its first answer (0) was among
                    # them, it now waits for the Wi-Fi state before it reports again. Tell it at once.
                    self._next_wifi = now
                self._missed = 0
                self._finish_current(now)
        elif isinstance(msg, m.ProductInfo):
            self.product_info, self.product_id = msg.text, msg.product_id
            if msg.malformed:
                self.stats.malformed += 1
            if kind == "hs-product":
                self._finish_current(now, Phase.MODE)
        elif isinstance(msg, m.WorkingMode):
            self.working_mode = msg.pins
            if kind == "hs-mode":
                self._finish_current(now, Phase.WIFI)
        elif isinstance(msg, m.Ack) and msg.command == Command.WIFI_STATE:
            if kind in ("hs-wifi", "wifi"):
                self._finish_current(now, Phase.QUERY if kind == "hs-wifi" else None)
        elif isinstance(msg, m.TimeRequest):
            if msg.utc:
                self._respond(Command.GMT_TIME, m.time_answer_frame(self._utc_time(), Command.GMT_TIME).payload)
            else:
                self._respond(Command.LOCAL_TIME, m.time_answer_frame(self._local_time()).payload)
            if self.link_up:
                # MCUs ask for the time right after booting: check on it now.
                self._next_heartbeat = now
        elif isinstance(msg, m.WifiResetRequest):
            self._respond(Command.WIFI_RESET)
        elif isinstance(msg, m.WifiSelectRequest):
            self._respond(Command.WIFI_SELECT)
        elif isinstance(msg, m.RssiRequest):
            self._respond(Command.RSSI, self.config.rssi.to_bytes(1, "big", signed=True))
        elif isinstance(msg, m.NetworkStatusRequest):
            self._respond(Command.NETWORK_STATUS, bytes((self.config.wifi_state,)))
        elif isinstance(msg, m.Extended):
            if msg.sub == ExtendedSub.TIME_NOTIFY_OPEN:
                # The 0x34/0x02 notifications are not sent, so do not claim to have opened them:
                # status 1 is "could not start" (the MCU can still ask 0x1C / 0x0C).
                self._respond(Command.EXTENDED, bytes((msg.sub, 1)))
            elif msg.sub == ExtendedSub.RESET_NOTIFY:
                self._respond(Command.EXTENDED, bytes((msg.sub, 0)))
            else:
                self.stats.unknown_commands += 1
                log.debug("MCU sent unknown 0x34 sub-command 0x%02X (not answered)", msg.sub)
        elif isinstance(msg, m.Malformed):
            if msg.reason == "unknown command":
                self.stats.unknown_commands += 1
                log.debug("MCU sent unknown command 0x%02X (%d bytes)", frame.command, len(frame.payload))
            else:
                self.stats.malformed += 1

    def _handle_report(
        self, records: Sequence[DPRecord], error: str | None, command: int, needs_ack: bool, now: float
    ) -> None:
        if error:
            self.stats.malformed += 1
        if needs_ack:
            if command == Command.DP_REPORT_ACKED:
                self._respond(Command.DP_REPORT_ACK, b"\x01")
            elif command == Command.EXTENDED:
                self._respond(Command.EXTENDED, bytes((ExtendedSub.RECORD_REPORT, 0)))
            elif command in (Command.QUERY_STATE, Command.WIFI_SELECT):
                self._respond(command, b"\x00")  # version-0 report confirmation
        if command == DP_REPORT and error is None and len(records) == 1 and self.config.coalesce_reports:
            self._reports.add(records, now, self._events)
        else:
            self._emit(DPUpdate(now, tuple(records), command, error))
        cur = self._current
        if cur is None:
            return
        if cur.kind in ("hs-query", "query") and cur.deadline:
            self._finish_current(now, Phase.RUNNING if cur.kind == "hs-query" else None)
        elif cur.kind == "write" and cur.deadline:
            for r in records:
                if any(w.dp == r.dp for w in cur.records):
                    cur.echoed[r.dp] = r.value
            # Only the written values confirm a write: a report with the old value may
            # have been on the wire already (a query answer, a report burst).
            if all(cur.echoed.get(w.dp, _NOTHING) == w.value for w in cur.records):
                self.stats.writes_ok += 1
                assert cur.write_id is not None
                self._emit(WriteResult(now, cur.write_id, cur.records, True, cur.attempts, dict(cur.echoed)))
                self._finish_current(now)


_NOTHING = object()
#: requests a report can answer (see the end of :meth:`Session._handle_report`)
_WAITS_FOR_REPORTS = frozenset({"hs-query", "query", "write"})


def _as_utc(t: dt.datetime | None) -> dt.datetime | None:
    return None if t is None else t.astimezone(dt.UTC)
