"""MQTT connection settings, from a URL such as ``mqtts://user:pass@host:8883``."""

from __future__ import annotations

import math
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

_TOPIC_PART = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class MqttSettingsError(ValueError):
    pass


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    tls_insecure: bool = False  # skip certificate and host name checks
    client_id: str = ""
    topic_prefix: str = "tuyameter"
    discovery_prefix: str = "homeassistant"
    refresh: float = 60.0  # seconds between full state re-publications
    keepalive: int = 30
    #: this gateway's name when several share a broker (each with its own meters): its own
    #: availability topic and last will, so one stopping does not mark the others' meters offline
    bridge: str | None = None

    @property
    def bridge_availability(self) -> str:
        if self.bridge:
            return f"{self.topic_prefix}/bridge/{self.bridge}/availability"
        return f"{self.topic_prefix}/bridge/availability"

    def meter_topic(self, meter: str, leaf: str) -> str:
        return f"{self.topic_prefix}/{meter}/{leaf}"

    def redacted_url(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_mqtt_url(
    url: str,
    *,
    ca_file: str | None = None,
    tls_insecure: bool = False,
    client_id: str | None = None,
    topic_prefix: str | None = None,
    discovery_prefix: str | None = None,
    bridge: str | None = None,
) -> MqttSettings:
    """``mqtt://[user[:pass]@]host[:port][?client_id=…&prefix=…&discovery_prefix=…&bridge=…&ca=…&insecure=1]``."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise MqttSettingsError(f"{url!r}: the broker URL must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise MqttSettingsError(f"{url!r}: no broker host")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise MqttSettingsError(f"{url!r}: bad port") from None
    query = dict(parse_qsl(parts.query))
    unknown = set(query) - {"client_id", "prefix", "discovery_prefix", "bridge", "ca", "insecure", "refresh"}
    if unknown:
        raise MqttSettingsError(f"{url!r}: unknown option(s) {', '.join(sorted(unknown))}")
    prefix = topic_prefix or query.get("prefix", "tuyameter")
    disc = discovery_prefix or query.get("discovery_prefix", "homeassistant")
    for name, value in (("topic prefix", prefix), ("discovery prefix", disc)):
        if not _TOPIC_PART.match(value):
            raise MqttSettingsError(f"{name} {value!r} may only use letters, digits, '_', '-' and '/'")
    bridge = bridge or query.get("bridge") or None
    if bridge is not None and not _NAME.match(bridge):
        raise MqttSettingsError(f"bridge name {bridge!r} may only use letters, digits, '_' and '-'")
    try:
        refresh = float(query.get("refresh", 60))
    except ValueError:
        refresh = math.nan
    if not 0 < refresh <= 86400:
        raise MqttSettingsError(f"{url!r}: refresh must be a number of seconds (more than 0, at most 86400)")
    ca = ca_file or query.get("ca")
    if ca is not None:
        try:
            ssl.create_default_context(cafile=ca)  # read it now: a missing or bad file is an error at start
        except (OSError, ssl.SSLError, ValueError) as e:
            raise MqttSettingsError(
                f"CA file {ca}: {e.strerror if isinstance(e, OSError) and e.strerror else e}"
            ) from None
    return MqttSettings(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "mqtts",
        ca_file=ca,
        tls_insecure=tls_insecure or query.get("insecure", "0") in ("1", "true", "yes"),
        client_id=client_id or query.get("client_id") or _default_client_id(prefix, bridge),
        topic_prefix=prefix,
        discovery_prefix=disc,
        refresh=max(5.0, refresh),
        bridge=bridge,
    )


def _default_client_id(prefix: str, bridge: str | None) -> str:
    """One per gateway: two clients with one id throw each other off the broker."""
    return f"tuyameter-{socket.gethostname()}-{prefix.replace('/', '-')}" + (f"-{bridge}" if bridge else "")
