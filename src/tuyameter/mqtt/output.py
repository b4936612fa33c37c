"""The MQTT output of the gateway: an asyncio client that never holds up the pipeline.

Updates and statuses only record the latest state and wake a publisher; a
connection loop (re)connects forever with backoff and, on every connect and
whenever Home Assistant announces itself, publishes availability, discovery and
the latest states. Commands become profile-validated DP writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import aiomqtt

from tuyameter.mqtt.commands import Command, CommandError, command_filter, parse_command
from tuyameter.mqtt.discovery import device_config, discovery_topic, state_document
from tuyameter.mqtt.pacing import Rotation, Window
from tuyameter.mqtt.settings import MqttSettings
from tuyameter.pipeline.events import MeterStatus, MeterUpdate
from tuyameter.pipeline.writes import WriteOutcome, WriteRefused
from tuyameter.profiles.model import Profile, Value

log = logging.getLogger(__name__)


class Api(Protocol):
    """What this output needs of the gateway (commands and diagnostics)."""

    async def write(self, meter: str, name: str, value: Value, timeout: float = 5.0) -> WriteOutcome: ...

    def diagnostics(self, meter: str) -> dict[str, object]: ...


DIAG_INTERVAL = 10.0
BACKOFF_MAX = 60.0


@dataclass
class MqttStats:
    connects: int = 0
    connection_failures: int = 0
    published: int = 0
    commands_ok: int = 0
    commands_refused: int = 0
    commands_malformed: int = 0
    commands_superseded: int = 0  # replaced by a newer command for the same setting before it was sent


@dataclass
class _Meter:
    profile: Profile
    values: dict[str, Value] = field(default_factory=dict)
    online: bool = False
    dirty_state: bool = False
    dirty_availability: bool = True
    dirty_diagnostics: bool = True
    last_frames: tuple[float, int] | None = None
    time: str | None = None


#: QoS 1 publishes awaiting the broker's acknowledgement at once (paho's default is 20)
INFLIGHT = 200


class MqttOutput:
    def __init__(self, settings: MqttSettings, profiles: dict[str, Profile]) -> None:
        self.settings = settings
        self.meters = {m: _Meter(p) for m, p in profiles.items()}
        self.profiles = profiles
        self.api: Api | None = None
        self.stats = MqttStats()
        self.connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._dirty: dict[str, None] = {}  # the meters with something to publish, in order
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[tuple[str, str]] = set()  # (meter, name) being written
        self._latest: dict[tuple[str, str], Command] = {}  # the newest command waiting for each

    # -- Output interface: never blocks ---------------------------------------

    async def update(self, u: MeterUpdate) -> None:
        m = self.meters.get(u.meter)
        if m is None:
            return
        m.values.update(u.values)
        m.values.update(u.private)
        m.time = u.time.isoformat(timespec="milliseconds")
        self._mark(u.meter, state=True)
        self._wake.set()

    async def status(self, s: MeterStatus) -> None:
        m = self.meters.get(s.meter)
        if m is None or m.online == s.online:
            return
        m.online = s.online
        self._mark(s.meter, availability=True, diagnostics=True)
        self._wake.set()

    def _mark(self, meter: str, *, state: bool = False, availability: bool = False, diagnostics: bool = False) -> None:
        """Something of a meter's to publish: the flags say what, and the meter joins the queue the
        publisher works through (a flag set without it would wait for the next refresh)."""
        m = self.meters[meter]
        m.dirty_state |= state
        m.dirty_availability |= availability
        m.dirty_diagnostics |= diagnostics
        self._dirty[meter] = None

    # -- connection loop ------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        s = self.settings
        tls_context = None
        if s.tls:
            tls_context = ssl.create_default_context(cafile=s.ca_file)
            if s.tls_insecure:
                tls_context.check_hostname = False
                tls_context.verify_mode = ssl.CERT_NONE
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            will=aiomqtt.Will(s.bridge_availability, "offline", qos=1, retain=True),
            keepalive=s.keepalive,
            tls_context=tls_context,
            timeout=10,
            max_inflight_messages=INFLIGHT,
            # Publishes are small and come one after another: without this, Nagle's algorithm holds
            # each behind the broker's delayed ACK of the one before (~40 ms a publish on Linux).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        # A flush of many meters has a publish per meter waiting at once, by design (paho queues what
        # is beyond the in-flight window): aiomqtt's warning past 10 waiting would fire on every flush.
        client.pending_calls_threshold = 1_000_000
        return client

    async def run(self, api: Api | None = None) -> None:
        """Connect, publish and serve commands forever; cancel to stop (publishes offline)."""
        self.api = api
        delay = 1.0
        failing = False
        while True:
            try:
                async with self._client() as client:
                    self.stats.connects += 1
                    delay = 1.0
                    log.warning("MQTT: connected to %s", self.settings.redacted_url())
                    failing = False
                    try:
                        await self._serve(client)
                    finally:
                        self.connected.clear()
                        task = asyncio.current_task()
                        if task is not None and task.cancelling():
                            await self._goodbye(client)
            except aiomqtt.MqttError as e:
                self.stats.connection_failures += 1
                if not failing:
                    log.warning("MQTT: %s unreachable (%s); retrying with backoff", self.settings.redacted_url(), e)
                    failing = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def _goodbye(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError, asyncio.TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(2):
                for meter, m in self.meters.items():
                    if self.api is not None:  # the retained diagnostics must not say "online" after we stop
                        diag = self._diag(meter, m) | {"online": False}
                        await self._publish(client, self.settings.meter_topic(meter, "diagnostics"), json.dumps(diag))
                    await self._publish(client, self.settings.meter_topic(meter, "availability"), "offline")
                await self._publish(client, self.settings.bridge_availability, "offline")

    async def _serve(self, client: aiomqtt.Client) -> None:
        s = self.settings
        await client.subscribe(f"{s.discovery_prefix}/status", qos=1)
        await client.subscribe(command_filter(s), qos=1)
        await self._publish(client, s.bridge_availability, "online")
        await self._publish_everything(client)
        self.connected.set()
        publisher = asyncio.ensure_future(self._publisher(client))
        try:
            async for msg in client.messages:
                if publisher.done():
                    publisher.result()  # a publish failed: reconnect
                await self._on_message(client, str(msg.topic), msg.payload)
        finally:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await publisher

    async def _publish(self, client: aiomqtt.Client, topic: str, payload: str, retain: bool = True) -> None:
        await client.publish(topic, payload, qos=1, retain=retain)
        self.stats.published += 1

    async def _publish_everything(self, client: aiomqtt.Client) -> None:
        for meter, m in self.meters.items():
            cfg = device_config(self.settings, meter, m.profile)
            await self._publish(client, discovery_topic(self.settings, meter), json.dumps(cfg))
            self._mark(meter, state=True, availability=True, diagnostics=True)
        await self._flush(client)

    async def _flush(
        self, client: aiomqtt.Client, window: Window | None = None, refresh: Iterable[str] = (),
        diagnostics: Iterable[str] = (),
    ) -> None:  # fmt: skip
        """What is dirty goes out, and the meters named for a refresh (state and availability) and
        for diagnostics. Availability and states first: periodic documents never hold up a fresh
        reading. With a window the acknowledgements are not waited for here (an update that comes
        meanwhile goes out at once); without, they are awaited together. Either way one meter's
        publish never waits for another's round trip to the broker."""
        for meter in refresh:
            self._mark(meter, state=True, availability=True)
        for meter in diagnostics:
            self._mark(meter, diagnostics=True)
        out: list[tuple[str, str]] = []
        later: list[tuple[str, str]] = []
        dirty, self._dirty = self._dirty, {}
        for meter in dirty:
            m = self.meters[meter]
            if m.dirty_availability:
                m.dirty_availability = False
                out.append((self.settings.meter_topic(meter, "availability"), "online" if m.online else "offline"))
            if m.dirty_state and m.values:
                m.dirty_state = False
                doc = state_document(m.profile, m.values) | {"time": m.time}
                out.append((self.settings.meter_topic(meter, "state"), json.dumps(doc)))
            if m.dirty_diagnostics:
                m.dirty_diagnostics = False
                if self.api is not None:
                    later.append((self.settings.meter_topic(meter, "diagnostics"), json.dumps(self._diag(meter, m))))
        out += later
        if window is not None:
            for topic, payload in out:
                await window.send(self._publish(client, topic, payload))
        else:
            await asyncio.gather(*(self._publish(client, topic, payload) for topic, payload in out))

    def _diag(self, meter: str, m: _Meter) -> dict[str, object]:
        assert self.api is not None
        d = dict(self.api.diagnostics(meter))
        now, frames = time.monotonic(), int(d.get("frames_in", 0) or 0)  # type: ignore[call-overload]
        rate = None
        if m.last_frames is not None and now > m.last_frames[0]:
            rate = round((frames - m.last_frames[1]) / (now - m.last_frames[0]), 2)
        m.last_frames = (now, frames)
        d["frames_per_second"] = rate
        return d

    async def _publisher(self, client: aiomqtt.Client) -> None:
        """Publishes what updates mark, and each meter's full state every ``refresh`` seconds and its
        diagnostics every :data:`DIAG_INTERVAL`, spread over the interval rather than all at once."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        refresh = Rotation(list(self.meters), self.settings.refresh, start)
        diagnostics = Rotation(list(self.meters), DIAG_INTERVAL, start)
        window = Window(INFLIGHT, self._wake)
        try:
            while True:
                timeout = max(0.0, min(refresh.next_time(), diagnostics.next_time()) - loop.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self._wake.clear()
                window.check()  # a publish failed: end here, and the connection is made anew
                now = loop.time()
                await self._flush(client, window, refresh.due(now), diagnostics.due(now))
        finally:
            window.cancel()

    # -- commands -------------------------------------------------------------

    async def _on_message(self, client: aiomqtt.Client, topic: str, payload: object) -> None:
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        if topic == f"{self.settings.discovery_prefix}/status":
            if data.strip().lower() == b"online":
                log.info("MQTT: Home Assistant is online; re-publishing discovery and states")
                await self._publish_everything(client)
            return
        try:
            cmd = parse_command(self.settings, topic, data, self.profiles)
        except CommandError as e:
            self.stats.commands_malformed += 1
            log.warning("MQTT command ignored: %s", e)
            return
        key = (cmd.meter, cmd.name)
        if key in self._running:
            # One write per setting at a time; of the commands that come meanwhile only the last
            # counts (a slider's final value), the others are superseded.
            if self._latest.pop(key, None) is not None:
                self.stats.commands_superseded += 1
            self._latest[key] = cmd
            return
        self._running.add(key)
        task = asyncio.ensure_future(self._execute_latest(key, cmd))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute_latest(self, key: tuple[str, str], cmd: Command) -> None:
        try:
            while True:
                await self._execute(cmd)
                nxt = self._latest.pop(key, None)
                if nxt is None:
                    return
                cmd = nxt
        finally:
            self._running.discard(key)

    async def _execute(self, cmd: Command) -> None:
        if self.api is None:
            log.warning("MQTT command for %s/%s ignored: no gateway", cmd.meter, cmd.name)
            return
        try:
            res = await self.api.write(cmd.meter, cmd.name, cmd.value)
        except WriteRefused as e:
            self.stats.commands_refused += 1
            log.warning("MQTT command refused: %s: %s", cmd.meter, e)
        else:
            if res.ok:
                self.stats.commands_ok += 1
                return
            self.stats.commands_refused += 1
            # the gateway logs the failure itself
            log.debug("MQTT command %s/%s=%s not applied: %s", cmd.meter, cmd.name, cmd.value, res.error)
        # Whatever was asked, show the true state again so the UI does not keep the refused value.
        self._mark(cmd.meter, state=True)
        self._wake.set()
