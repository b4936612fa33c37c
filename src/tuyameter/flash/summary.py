"""What a person can act on, from a decoded Tuya store: chip, TuyaMCU and baud, pins, keys, DP schema."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tuyameter.flash.kv import Store
from tuyameter.flash.values import Parsed, parse_value

#: (pattern on the user_param_key name, role); first match wins
PIN_ROLES: list[tuple[str, str]] = [
    (r"^(ele_pin|epin)$", "BL0937 CF (power pulses)"),
    (r"^(vi_pin|ivpin)$", "BL0937 CF1 (voltage/current pulses)"),
    (r"^(sel_pin_pin|ivcpin)$", "BL0937 SEL"),
    (r"^rl(\d+)_pin$", "relay {0}"),
    (r"^bt(\d+)_pin$", "button {0}"),
    (r"^led(\d+)_pin$", "LED {0}"),
    (r"^(netled\d*_pin|wfst_pin|wfst)$", "Wi-Fi status LED"),
    (r"^(uart_tx_pin|tx_pin)$", "UART TX"),
    (r"^(uart_rx_pin|rx_pin)$", "UART RX"),
    (r"^bz_pin_pin$|^buzzer_io$", "buzzer"),
    (r"^(ch\d+|r|g|b|c|w)_pin$", "PWM {0}"),
    (r"^iic_(scl|sda)$", "I2C {0}"),
    # Catch-alls, so that no pin of an unknown layout is dropped (9 of 24 real dumps had such pins):
    (r"^iic\w*$", "I2C"),
    (r"^samp_\w+$", "sampling"),
    (r"^ctrl_\w+$", "control"),
    (r"^\w+_pin$", "pin"),
]
#: Secret by name wherever they appear (real dumps: gw_ai.lckey, ble_beaconkey), and by pattern:
#: anything ending in "key" (lckey, beaconkey, auth_key …) or a password / PSK / token / auth field.
KNOWN_SECRETS = frozenset({
    "lckey", "local_key", "localkey", "lk", "sec_key", "seckey", "auth_key", "authkey", "ble_beaconkey",
    "beaconkey", "psk", "passwd", "password", "pwd", "token", "secret", "mqtt_pw", "ap_pwd", "key",
})  # fmt: skip
_SECRET = re.compile(r"(key|(^|_)(passwd|password|pwd|psk\w*|pin|secret|token|auth\w*))$", re.I)
_NOT_SECRET = {"pk", "firmk", "user_param_key", "product_key", "productkey", "prod_key", "s_id"}
#: Where Tuya firmware keeps the device's local key (the key of the Tuya LAN protocol), checked
#: against Tuya's SDK headers and 24 public BK7231T/N dumps (docs/flash.md):
#: - TuyaOS on BK7231T/N (and RTL87x0C): the activation record gw_ai holds "lckey", the SDK's
#:   local_key ("key used by lan/mqtt"); its "key" beside it is the secKey for HTTP, not the LAN key.
#:   Both are null until the device is paired; the device id is then gw_di.id.
#: - Tuya's connect kit / TuyaOpen (Linux and newer SDKs): the cloud's activation answer is stored
#:   whole, under the uuid, as JSON with devId, secKey and localKey.
ACTIVATION_RECORD = "gw_ai"
ACTIVATION_KEYS = ("localKey", "devId")


def chip_for_module(module: str) -> str | None:
    m = module.upper()
    if m.startswith(("WR", "CR")):
        return "RTL87x0C"
    if m.startswith("WD"):
        return "RDA5981"
    if m.startswith("T1"):
        return "BK7238"
    if m.startswith(("CB", "T34", "T2")):
        return "BK7231N"
    if m.startswith("W"):
        return "BK7231T"
    return None


def mask(secret: str) -> str:
    return secret[:2] + "*" * max(len(secret) - 4, 4) + secret[-2:] if len(secret) > 6 else "*" * len(secret)


def is_secret(name: str) -> bool:
    low = name.lower()
    return low in KNOWN_SECRETS or (low not in _NOT_SECRET and bool(_SECRET.search(low)))


def redact(value: Any, show: bool) -> Any:
    """Mask secret-looking fields inside parsed values (recursively) unless ``show``."""
    if show:
        return value
    if isinstance(value, dict):
        return {
            k: (mask(v) if isinstance(v, str) and v and is_secret(k) else redact(v, show)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, show) for v in value]
    return value


@dataclass
class Summary:
    chip: str | None = None
    chip_source: str | None = None
    module: str | None = None
    tuyamcu: bool = False
    baud: int | None = None
    pins: dict[int, list[str]] = field(default_factory=dict)
    device_id: str | None = None
    product_key: str | None = None
    schema_id: str | None = None
    firmware: str | None = None
    lan_version: str | None = None  # gw_di.lpv: the Tuya LAN protocol version the firmware speaks
    local_key: str | None = None
    local_key_source: str | None = None  # "gw_ai.lckey": where it was found
    firmware_key: str | None = None  # gw_di.firmk where it differs from the product key (pk)
    uuid: str | None = None
    auth_key: str | None = None
    wifi_ssid: str | None = None
    schema: list[dict[str, Any]] | None = None
    schema_key: str | None = None
    parsed: dict[str, Parsed] = field(default_factory=dict)

    @property
    def paired(self) -> bool:
        """Activated by the Tuya app: only then has the device an id and a local key."""
        return bool(self.device_id or self.local_key)


def _dict(parsed: dict[str, Parsed], name: str) -> dict[str, Any]:
    p = parsed.get(name)
    return p.value if p is not None and isinstance(p.value, dict) else {}


def summarize(store: Store, image: bytes | None = None) -> Summary:
    s = Summary()
    s.parsed = {n: parse_value(v.raw) for n, v in store.values.items() if v.raw is not None}
    baud = _dict(s.parsed, "baud_cfg")
    if baud:
        s.tuyamcu = True
        b = baud.get("baud")
        s.baud = int(b) if isinstance(b, int | str) and str(b).isdigit() else None
    upk = _dict(s.parsed, "user_param_key")
    module = upk.get("module")
    if isinstance(module, str):
        s.module = module
        s.chip, s.chip_source = chip_for_module(module), f"module {module}"
    for name, val in upk.items():
        if not isinstance(val, int) or isinstance(val, bool):
            continue
        for pattern, role in PIN_ROLES:
            m = re.match(pattern, name)
            if m:
                s.pins.setdefault(val, []).append(role.format(*m.groups()) + f" ({name})")
                break
    di = _dict(s.parsed, "gw_di")
    s.device_id = _str(di.get("id"))
    s.product_key = _str(di.get("pk")) or _str(di.get("firmk"))
    firmk = _str(di.get("firmk"))
    s.firmware_key = firmk if firmk and firmk != s.product_key else None
    s.schema_id = _str(di.get("s_id"))
    s.firmware = _str(di.get("swv")) or _str(di.get("dev_swv"))
    s.lan_version = _str(di.get("lpv"))
    if key := _str(_dict(s.parsed, ACTIVATION_RECORD).get("lckey")):
        s.local_key, s.local_key_source = key, f"{ACTIVATION_RECORD}.lckey"
    else:
        for name, parsed in s.parsed.items():
            record = parsed.value
            if isinstance(record, dict) and all(isinstance(record.get(k), str) for k in ACTIVATION_KEYS):
                s.local_key, s.local_key_source = record["localKey"], f"{name}.localKey"
                s.device_id = s.device_id or record["devId"]
                break
    bi = _dict(s.parsed, "gw_bi")
    s.uuid, s.auth_key = _str(bi.get("uuid")), _str(bi.get("auth_key"))
    s.wifi_ssid = _str(_dict(s.parsed, "gw_wsm").get("ssid"))
    s.schema_key, s.schema = _find_schema(s.parsed, s.schema_id)
    if s.chip is None and image is not None and len(image) > 0x100000:
        s.chip, s.chip_source = _chip_from_strings(image)
    return s


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _find_schema(parsed: dict[str, Parsed], schema_id: str | None) -> tuple[str | None, list[dict[str, Any]] | None]:
    names = ([schema_id] if schema_id else []) + sorted(parsed)
    for name in names:
        p = parsed.get(name)
        if p is not None and _looks_like_schema(p.value):
            return name, p.value
    return None, None


def _looks_like_schema(v: Any) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(d, dict) and isinstance(d.get("id"), int) and isinstance(d.get("type"), str) for d in v)
    )


def _chip_from_strings(image: bytes) -> tuple[str | None, str | None]:
    low = image[:0x1D0000].lower()
    counts = {chip: low.count(chip.lower().encode()) for chip in ("BK7231N", "BK7231T", "BK7238")}
    chip = max(counts, key=lambda c: counts[c])
    return (chip, "firmware strings") if counts[chip] else (None, None)
