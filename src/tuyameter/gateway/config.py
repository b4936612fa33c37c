"""The gateway's YAML configuration file, validated with file:line messages.

```yaml
profile_dirs: [~/meter-profiles]     # optional, searched before the shipped profiles
meters:
  - id: house                        # letters, digits, '-' and '_'
    url: /dev/ttyUSB0                # or socket://host:port, rfc2217://…, sim://pj1103a
    profile: pj1103a                 # a profile name or a .yaml path
    baud: 9600                       # default: the profile's
    late_direction: [b]              # channels whose direction DP arrives one cycle late
    suppress_lone_zeros: true
    wifi_state: 4                    # default: the profile's
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuyameter.gateway.meter_config import MeterConfig
from tuyameter.mqtt.settings import MqttSettings, MqttSettingsError, parse_mqtt_url
from tuyameter.util.yamlfile import LineDict, YamlFileError, load_yaml_file

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_METER_KEYS = {
    "id",
    "url",
    "profile",
    "baud",
    "late_direction",
    "suppress_lone_zeros",
    "wifi_state",
    "heartbeat_interval",
}


@dataclass
class GatewayConfig:
    meters: list[MeterConfig]
    profile_dirs: list[str] = field(default_factory=list)
    source: str = ""
    mqtt: MqttSettings | None = None
    db: str | None = None  # SQLite path or postgresql:// URL
    keep_days: float | None = None


def _fail(src: str, m: LineDict | None, key: str | None, msg: str) -> YamlFileError:
    line = (m.line_of(key) if key else m.line) if m is not None else None
    return YamlFileError(src, line, msg)


def _typed(src: str, m: LineDict, key: str, kinds: tuple[type, ...], what: str) -> Any:
    v = m[key]
    if isinstance(v, bool) and bool not in kinds:
        raise _fail(src, m, key, f"{what}: {key} has the wrong type")
    if not isinstance(v, kinds):
        raise _fail(src, m, key, f"{what}: {key} has the wrong type ({type(v).__name__})")
    return v


def parse_config(data: Any, src: str) -> GatewayConfig:
    if not isinstance(data, LineDict):
        raise YamlFileError(src, None, "the configuration must be a mapping with a 'meters' list")
    for k in data:
        if k not in ("meters", "profile_dirs", "mqtt", "store"):
            raise _fail(src, data, k, f"unknown key {k!r} (allowed: meters, mqtt, profile_dirs, store)")
    meters_raw = data.get("meters")
    if not isinstance(meters_raw, list) or not meters_raw:
        raise _fail(src, data, "meters" if "meters" in data else None, "'meters' must be a non-empty list")
    dirs = data.get("profile_dirs", [])
    if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
        raise _fail(src, data, "profile_dirs", "profile_dirs must be a list of paths")
    meters: list[MeterConfig] = []
    ids: set[str] = set()
    for i, m in enumerate(meters_raw):
        what = f"meters[{i}]"
        if not isinstance(m, LineDict):
            raise _fail(src, data, "meters", f"{what} must be a mapping")
        for k in m:
            if k not in _METER_KEYS:
                raise _fail(src, m, k, f"{what}: unknown key {k!r} (allowed: {', '.join(sorted(_METER_KEYS))})")
        for req in ("id", "url"):
            if req not in m:
                raise _fail(src, m, None, f"{what}: missing {req!r}")
        mid = _typed(src, m, "id", (str,), what)
        if not _ID.match(mid):
            raise _fail(src, m, "id", f"{what}: id {mid!r} may only use letters, digits, '-' and '_'")
        if mid in ids:
            raise _fail(src, m, "id", f"{what}: id {mid!r} is used twice")
        ids.add(mid)
        cfg = MeterConfig(id=mid, url=_typed(src, m, "url", (str,), what))
        if "profile" in m:
            cfg.profile = _typed(src, m, "profile", (str,), what)
        if "baud" in m:
            cfg.baud = _typed(src, m, "baud", (int,), what)
            if cfg.baud <= 0:
                raise _fail(src, m, "baud", f"{what}: baud must be positive")
        if "late_direction" in m:
            ld = m["late_direction"]
            if not isinstance(ld, list) or not all(isinstance(x, str) for x in ld):
                raise _fail(src, m, "late_direction", f"{what}: late_direction must be a list of channels, e.g. [b]")
            cfg.late_direction = ld
        if "suppress_lone_zeros" in m:
            cfg.suppress_lone_zeros = _typed(src, m, "suppress_lone_zeros", (bool,), what)
        if "wifi_state" in m:
            ws = _typed(src, m, "wifi_state", (int,), what)
            if not 0 <= ws <= 5:
                raise _fail(src, m, "wifi_state", f"{what}: wifi_state must be 0..5")
            cfg.wifi_state = ws
        if "heartbeat_interval" in m:
            hb = _typed(src, m, "heartbeat_interval", (int, float), what)
            if not 1 <= hb <= 120:
                raise _fail(src, m, "heartbeat_interval", f"{what}: heartbeat_interval must be 1..120 s")
            cfg.heartbeat_interval = float(hb)
        meters.append(cfg)
    gw = GatewayConfig(meters, list(dirs), src, _parse_mqtt(src, data))
    store = data.get("store")
    if store is not None:
        if not isinstance(store, LineDict):
            raise _fail(src, data, "store", "store must be a mapping: {db: PATH-or-URL, keep_days: N}")
        for k in store:
            if k not in ("db", "keep_days"):
                raise _fail(src, store, k, f"store: unknown key {k!r} (allowed: db, keep_days)")
        if "db" in store:
            gw.db = _typed(src, store, "db", (str,), "store")
        if "keep_days" in store:
            kd = _typed(src, store, "keep_days", (int, float), "store")
            if kd <= 0:
                raise _fail(src, store, "keep_days", "store: keep_days must be positive")
            gw.keep_days = float(kd)
    return gw


_MQTT_KEYS = {"url", "ca", "insecure", "client_id", "topic_prefix", "discovery_prefix"}


def _parse_mqtt(src: str, data: LineDict) -> MqttSettings | None:
    m = data.get("mqtt")
    if m is None:
        return None
    if not isinstance(m, LineDict):
        raise _fail(src, data, "mqtt", "mqtt must be a mapping with at least 'url'")
    for k in m:
        if k not in _MQTT_KEYS:
            raise _fail(src, m, k, f"mqtt: unknown key {k!r} (allowed: {', '.join(sorted(_MQTT_KEYS))})")
    if "url" not in m:
        raise _fail(src, m, None, "mqtt: missing 'url' (e.g. mqtt://user:pass@127.0.0.1:1883)")
    for k in ("url", "ca", "client_id", "topic_prefix", "discovery_prefix"):
        if k in m:
            _typed(src, m, k, (str,), "mqtt")
    if "insecure" in m:
        _typed(src, m, "insecure", (bool,), "mqtt")
    try:
        return parse_mqtt_url(
            m["url"],
            ca_file=m.get("ca"),
            tls_insecure=bool(m.get("insecure", False)),
            client_id=m.get("client_id"),
            topic_prefix=m.get("topic_prefix"),
            discovery_prefix=m.get("discovery_prefix"),
        )
    except MqttSettingsError as e:
        raise _fail(src, m, "url", str(e)) from None


def load_config(path: str | Path) -> GatewayConfig:
    return parse_config(load_yaml_file(Path(path)), str(path))
