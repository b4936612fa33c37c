"""Parse an OpenBeken ``autoexec.bat`` that configures a TuyaMCU meter (sans-IO, pure).

What we read: ``startDriver``, ``tuyaMcu_setBaudRate``, ``tuyaMcu_defWiFiState``,
``setChannelType``, ``setChannelLabel``, ``SetChannelEnum``, ``linkTuyaMCUOutputToChannel``
and ``setChannelPrivate`` (commands are case-insensitive, as in OpenBeken). Everything else
is kept in :attr:`Autoexec.unknown` with its line number — never silently dropped.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from tuyameter.util import safejson

#: OpenBeken channel types that carry a scaling, spelled as OpenBeken spells them →
#: (scale, unit, Home Assistant device class, state class). For one unit and scale, the
#: first listed is the one the exporter writes.
SCALING_TYPES: dict[str, tuple[float, str | None, str | None, str | None]] = {
    "Power": (1.0, "W", "power", "measurement"),
    "Power_div10": (0.1, "W", "power", "measurement"),
    "Power_div100": (0.01, "W", "power", "measurement"),
    "Voltage_div10": (0.1, "V", "voltage", "measurement"),
    "Voltage_div100": (0.01, "V", "voltage", "measurement"),
    "Current_div10": (0.1, "A", "current", "measurement"),
    "Current_div100": (0.01, "A", "current", "measurement"),
    "Current_div1000": (0.001, "A", "current", "measurement"),
    "EnergyTotal_kWh_div100": (0.01, "kWh", "energy", "total_increasing"),
    "EnergyTotal_kWh_div1000": (0.001, "kWh", "energy", "total_increasing"),
    "EnergyExport_kWh_div1000": (0.001, "kWh", "energy", "total_increasing"),
    "EnergyImport_kWh_div1000": (0.001, "kWh", "energy", "total_increasing"),
    "Frequency_div10": (0.1, "Hz", "frequency", "measurement"),
    "Frequency_div100": (0.01, "Hz", "frequency", "measurement"),
    "Frequency_div1000": (0.001, "Hz", "frequency", "measurement"),
    "PowerFactor_div100": (0.01, None, "power_factor", "measurement"),
    "PowerFactor_div1000": (0.001, None, "power_factor", "measurement"),
    "ReadOnly_div10": (0.1, None, None, None),
    "ReadOnly_div100": (0.01, None, None, None),
    "ReadOnly_div1000": (0.001, None, None, None),
}
#: the same, by lower-case name (OpenBeken compares type names case-insensitively)
CHANNEL_TYPES = {name.lower(): v for name, v in SCALING_TYPES.items()}

#: channel types that only say how OpenBeken shows or edits a value: no scaling in them
DISPLAY_TYPES = {"readonly", "textfield", "enum", "readonlyenum", "toggle", "dimmer", "dimmer256", "dimmer1000"}
#: of those, the ones a user edits on the device (so the DP is writable)
WRITABLE_TYPES = {"textfield", "enum", "toggle", "dimmer", "dimmer256", "dimmer1000"}

#: linkTuyaMCUOutputToChannel type number → our DP type name
LINK_TYPES = {0: "raw", 1: "bool", 2: "value", 3: "string", 4: "enum", 5: "bitmap"}


@dataclass
class Channel:
    number: int
    type: str | None = None
    label: str | None = None
    private: bool = False
    dp: int | None = None
    dp_type: str | None = None
    options: dict[int, str] = field(default_factory=dict)


@dataclass
class Autoexec:
    drivers: list[str] = field(default_factory=list)
    baud: int | None = None
    wifi_state: int | None = None
    channels: dict[int, Channel] = field(default_factory=dict)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (line, text)
    errors: list[tuple[int, str]] = field(default_factory=list)
    #: what tuyameter's exporter wrote in ``// tuyameter-…`` comments: the profile's own words
    #: for what OpenBeken's channel types cannot say (names, ranges, units, counters)
    hints: dict[int, dict[str, object]] = field(default_factory=dict)
    profile_hint: dict[str, object] = field(default_factory=dict)

    def channel(self, n: int) -> Channel:
        return self.channels.setdefault(n, Channel(n))


_IGNORED = {"ntp_setserver", "ntp_timezoneofs", "powersave"}  # understood, nothing to import


def parse_autoexec(text: str) -> Autoexec:
    """Never raises on input: problems go to ``errors``, unknown commands to ``unknown``."""
    out = Autoexec()
    for no, raw in enumerate(text.splitlines(), start=1):
        if raw.strip().startswith(HINT):
            _hint(out, no, raw.strip()[len(HINT) :])
            continue
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        try:
            parts = shlex.split(line)
        except ValueError as e:
            out.errors.append((no, f"cannot split {raw.strip()!r}: {e}"))
            continue
        cmd, args = parts[0].lower(), parts[1:]
        try:
            _apply(out, no, cmd, args, raw.strip())
        except (ValueError, IndexError):
            out.errors.append((no, f"bad arguments: {raw.strip()!r}"))
    return out


HINT = "// tuyameter-"


def _hint(out: Autoexec, no: int, text: str) -> None:
    kind, _, body = text.partition(" ")
    try:
        data = safejson.loads(body)
    except ValueError:
        out.errors.append((no, "unreadable tuyameter hint (ignored)"))
        return
    if kind == "profile" and isinstance(data, dict):
        out.profile_hint = data
    elif kind == "dp" and isinstance(data, dict) and isinstance(data.get("dp"), int):
        out.hints[data["dp"]] = data
    else:
        out.errors.append((no, "unreadable tuyameter hint (ignored)"))


def _apply(out: Autoexec, no: int, cmd: str, args: list[str], raw: str) -> None:
    if cmd == "startdriver":
        out.drivers.append(args[0])
    elif cmd == "tuyamcu_setbaudrate":
        out.baud = int(args[0])
    elif cmd == "tuyamcu_defwifistate":
        out.wifi_state = int(args[0])
    elif cmd == "setchanneltype":
        out.channel(int(args[0])).type = args[1]
    elif cmd == "setchannellabel":
        out.channel(int(args[0])).label = " ".join(args[1:])
    elif cmd == "setchannelenum":
        c = out.channel(int(args[0]))
        for opt in args[1:]:
            value, _, label = opt.partition(":")
            c.options[int(value)] = label
    elif cmd == "setchannelprivate":
        out.channel(int(args[0])).private = args[1].lower() in ("1", "true", "yes")
    elif cmd == "linktuyamcuoutputtochannel":
        dp, dtype, ch = int(args[0]), int(args[1]), int(args[2])
        c = out.channel(ch)
        c.dp, c.dp_type = dp, LINK_TYPES.get(dtype, "value")
    elif cmd in _IGNORED:
        pass
    else:
        out.unknown.append((no, raw))
