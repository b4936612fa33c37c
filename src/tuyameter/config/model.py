"""The gateway's YAML configuration file.

```yaml
profile_dirs: [~/meter-profiles]     # optional, searched before the shipped profiles
meters:
  - id: house                        # letters, digits, '-' and '_'
    url: /dev/ttyUSB0                # or socket://host:port, rfc2217://…, sim://pj1103a, tuya://…
    profile: pj1103a                 # a profile name or a .yaml path
    baud: 9600                       # default: the profile's
    late_direction: [b]              # channels whose direction DP arrives one cycle late
    suppress_lone_zeros: true
    wifi_state: 4                    # default: the profile's
    heartbeat_interval: 10           # seconds, 1..120
  - id: garage                       # a meter on stock firmware, over Wi-Fi (instead of url:)
    tuya: {device_id: bf0123456789abcdefghij, host: 192.0.2.20, version: "3.4", key_file: garage.key}
mqtt: {url: "mqtt://user:pass@127.0.0.1:1883"}   # ca, insecure, client_id, topic_prefix, discovery_prefix, bridge
store: {db: /var/lib/tuyameter/tuyameter.db, keep_days: 90, timezone: Europe/Berlin}   # local days in this zone
web: {listen: "127.0.0.1:8080"}      # the page; not on loopback: token_file (or token_env) too
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from tuyameter.gateway.meter_config import MeterConfig
from tuyameter.mqtt.settings import MqttSettings, MqttSettingsError, parse_mqtt_url
from tuyameter.sources.tuyalan.target import parse_lan_url
from tuyameter.util.limits import Baud, ClockRate, Days, Port
from tuyameter.util.validation import Loc, LocatedError, line_of, validate_yaml
from tuyameter.util.yamlfile import LineDict, YamlFileError, load_yaml_file
from tuyameter.web.settings import WebSettings, WebSettingsError, parse_listen, read_token, web_settings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TuyaSection(_Section):
    """A stock meter on the Tuya LAN; the local key from a file or an environment variable, never inline."""

    device_id: StrictStr
    host: StrictStr
    port: Port = 6668
    version: Literal["3.1", "3.3", "3.4", "3.5"] = "3.3"
    key_file: StrictStr | None = None
    key_env: StrictStr | None = None

    @model_validator(mode="after")
    def _one_key(self) -> TuyaSection:
        if (self.key_file is None) == (self.key_env is None):
            raise ValueError("give the local key once: key_file (a file holding it) or key_env (a variable)")
        return self

    def url(self, base: Path) -> str:
        if self.key_file is not None:
            key = f"key_file={quote(str(base / Path(self.key_file).expanduser()), safe='/')}"
        else:
            key = f"key_env={quote(self.key_env or '')}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tuya://{quote(self.device_id)}@{host}:{self.port}?version={self.version}&{key}"


class MeterSection(_Section):
    id: StrictStr
    url: StrictStr | None = None
    tuya: TuyaSection | None = None
    profile: StrictStr = "pj1103a"
    baud: Baud | None = None
    late_direction: list[StrictStr] = Field(default_factory=list)
    suppress_lone_zeros: StrictBool = False
    wifi_state: StrictInt | None = None
    heartbeat_interval: float = 10.0
    time_scale: ClockRate | None = Field(None, description="the meter's clock rate (an emulator's --speed)")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not 1 <= len(v) <= 64 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in v):
            raise ValueError(f"id {v!r} may only use letters, digits, '-' and '_' (1..64 of them)")
        return v

    @model_validator(mode="after")
    def _where(self) -> MeterSection:
        if (self.url is None) == (self.tuya is None):
            raise ValueError("give the meter's url or its tuya: section (one of them)")
        return self

    @field_validator("wifi_state")
    @classmethod
    def _wifi(cls, v: int | None) -> int | None:
        if v is not None and not 0 <= v <= 5:
            raise ValueError("wifi_state must be 0..5")
        return v

    @field_validator("heartbeat_interval")
    @classmethod
    def _heartbeat(cls, v: float) -> float:
        if not 1 <= v <= 120:
            raise ValueError("heartbeat_interval must be 1..120 s")
        return v

    def meter(self, base: Path = Path(".")) -> MeterConfig:
        url = self.url if self.tuya is None else self.tuya.url(base)
        assert url is not None
        return MeterConfig(
            id=self.id,
            url=url,
            profile=self.profile,
            baud=self.baud,
            late_direction=list(self.late_direction),
            suppress_lone_zeros=self.suppress_lone_zeros,
            wifi_state=self.wifi_state,
            heartbeat_interval=self.heartbeat_interval,
            clock_rate=self.time_scale,
        )


class MqttSection(_Section):
    url: StrictStr
    ca: StrictStr | None = None
    insecure: StrictBool = False
    client_id: StrictStr | None = None
    topic_prefix: StrictStr | None = None
    discovery_prefix: StrictStr | None = None
    #: this gateway's name when several share the broker (each its own meters)
    bridge: StrictStr | None = None

    def settings(self) -> MqttSettings:
        return parse_mqtt_url(
            self.url,
            ca_file=self.ca,
            tls_insecure=self.insecure,
            client_id=self.client_id,
            topic_prefix=self.topic_prefix,
            discovery_prefix=self.discovery_prefix,
            bridge=self.bridge,
        )

    @model_validator(mode="after")
    def _url(self) -> MqttSection:
        try:
            self.settings()
        except MqttSettingsError as e:
            raise LocatedError(("url",), str(e)) from None
        return self


class StoreSection(_Section):
    db: StrictStr | None = None
    keep_days: Days | None = None
    #: the zone of the local days and months energy is totalled by (default: this machine's)
    timezone: StrictStr | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {v!r} (an IANA name such as Europe/Berlin)") from None
        return v


class WebSection(_Section):
    listen: StrictStr = "127.0.0.1:8080"
    #: the token guarding the page and API: the first line of a file, or an environment variable
    token_file: StrictStr | None = None
    token_env: StrictStr | None = None

    def settings(self, base: Path) -> WebSettings:
        path = None if self.token_file is None else base / Path(self.token_file).expanduser()
        return web_settings(self.listen, read_token(token_file=path, token_env=self.token_env))

    @model_validator(mode="after")
    def _check(self) -> WebSection:
        if self.token_file is not None and self.token_env is not None:
            raise LocatedError(("token_file",), "give token_file or token_env, not both")
        try:
            parse_listen(self.listen)
        except WebSettingsError as e:
            raise LocatedError(("listen",), str(e)) from None
        return self


class ConfigFile(_Section):
    meters: list[MeterSection]
    profile_dirs: list[StrictStr] = Field(default_factory=list)
    mqtt: MqttSection | None = None
    store: StoreSection | None = None
    web: WebSection | None = None

    @model_validator(mode="after")
    def _check(self) -> ConfigFile:
        if not self.meters:
            raise LocatedError(("meters",), "'meters' must be a non-empty list")
        seen: set[str] = set()
        for i, m in enumerate(self.meters):
            if m.id in seen:
                raise LocatedError(("meters", i, "id"), f"meters[{i}]: id {m.id!r} is used twice")
            seen.add(m.id)
        return self


@dataclass
class GatewayConfig:
    meters: list[MeterConfig]
    profile_dirs: list[str] = field(default_factory=list)
    source: str = ""
    mqtt: MqttSettings | None = None
    db: str | None = None  # SQLite path or postgresql:// URL
    keep_days: float | None = None
    timezone: str | None = None  # IANA name of the zone energy days are local to
    web: WebSettings | None = None


def _what(loc: Loc) -> str:
    if len(loc) >= 2 and loc[0] == "meters" and isinstance(loc[1], int):
        return f"meters[{loc[1]}]: "
    if loc and loc[0] in ("mqtt", "store", "web"):
        return f"{loc[0]}: "
    return ""


def parse_config(data: Any, src: str) -> GatewayConfig:
    if not isinstance(data, LineDict):
        raise YamlFileError(src, None, "the configuration must be a mapping with a 'meters' list")
    cfg: ConfigFile = validate_yaml(ConfigFile, data, src, _what)
    base = Path(src).parent
    web = None
    if cfg.web is not None:
        try:
            web = cfg.web.settings(base)
        except WebSettingsError as e:
            raise YamlFileError(src, line_of(data, ("web",)), f"web: {e}") from None
    for i, m in enumerate(cfg.meters):
        if m.tuya is not None:
            try:
                parse_lan_url(m.tuya.url(base))
            except ValueError as e:
                line = line_of(data, ("meters", i, "tuya"))
                raise YamlFileError(src, line, f"meters[{i}].tuya: {e}") from None
    return GatewayConfig(
        meters=[m.meter(base) for m in cfg.meters],
        profile_dirs=list(cfg.profile_dirs),
        source=src,
        mqtt=cfg.mqtt.settings() if cfg.mqtt else None,
        db=cfg.store.db if cfg.store else None,
        keep_days=cfg.store.keep_days if cfg.store else None,
        timezone=cfg.store.timezone if cfg.store else None,
        web=web,
    )


def load_config(path: str | Path) -> GatewayConfig:
    return parse_config(load_yaml_file(Path(path)), str(path))
