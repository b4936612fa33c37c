"""What a TuyaMCU session is set up with (its timings) and what it counts, and the phases of its
handshake: the plain data around :class:`tuyameter.tuyamcu.session.Session`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tuyameter.tuyamcu.constants import WifiState


class Phase(Enum):
    HEARTBEAT = "heartbeat"
    PRODUCT = "product"
    MODE = "working-mode"
    WIFI = "wifi-state"
    QUERY = "query"
    RUNNING = "running"


@dataclass
class SessionConfig:
    wifi_state: int = WifiState.CLOUD
    heartbeat_interval: float = 10.0
    #: until the MCU first answers, a heartbeat every second (as Tuya modules do after power-on);
    #: then every heartbeat_interval
    handshake_heartbeat_timeout: float = 1.0
    heartbeat_timeout: float = 3.0
    missed_heartbeats_down: int = 3
    request_timeout: float = 1.0
    request_retries: int = 2
    wifi_refresh: float = 60.0
    #: The MCU answers a DP set within ~300 ms, but at 9600 baud its answer can queue
    #: behind a report burst (~0.3 s on the wire), so allow for both.
    write_timeout: float = 0.8
    write_retries: int = 3
    spacing: float = 0.010
    rssi: int = -50
    #: plain reports (0x07) received together come out as one DPUpdate, records in arrival order;
    #: False: a DPUpdate per frame (what a stock Wi-Fi module forwards)
    coalesce_reports: bool = True


@dataclass
class SessionStats:
    frames_in: int = 0
    frames_out: int = 0
    timeouts: int = 0
    mcu_restarts: int = 0
    link_downs: int = 0
    malformed: int = 0
    unknown_commands: int = 0  # commands from the MCU this session does not know (logged at debug)
    writes_ok: int = 0
    writes_failed: int = 0
