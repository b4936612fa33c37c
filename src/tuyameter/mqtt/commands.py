"""Incoming MQTT commands: topic and payload → (meter, name, value), or a clear error."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tuyameter.mqtt.discovery import PRESS, entity_kind
from tuyameter.mqtt.settings import MqttSettings
from tuyameter.profiles.model import Profile, Value
from tuyameter.util import safejson

MAX_PAYLOAD = 64


class CommandError(ValueError):
    """A command that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Command:
    meter: str
    name: str
    value: Value


def command_filter(settings: MqttSettings) -> str:
    return f"{settings.topic_prefix}/+/set/+"


def parse_command(settings: MqttSettings, topic: str, payload: bytes, profiles: dict[str, Profile]) -> Command:
    prefix = settings.topic_prefix + "/"
    if not topic.startswith(prefix):
        raise CommandError(f"topic {topic!r} is not under {prefix}")
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 3 or parts[1] != "set":
        raise CommandError(f"topic {topic!r} is not <prefix>/<meter>/set/<name>")
    meter, _, name = parts
    profile = profiles.get(meter)
    if profile is None:
        raise CommandError(f"unknown meter {meter!r}")
    spec = profile.by_name().get(name)
    if spec is None or not spec.writable:
        raise CommandError(f"{meter}: {name!r} is not a writable setting")
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(f"{meter}/{name}: payload of {len(payload)} bytes is too long")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CommandError(f"{meter}/{name}: payload is not UTF-8 text") from None
    kind = entity_kind(spec)
    if kind == "button":
        if text.upper() != PRESS:
            raise CommandError(f"{meter}/{name}: a button takes {PRESS!r}, got {text!r}")
        return Command(meter, name, True)
    if spec.options and text in spec.options.values():
        return Command(meter, name, text)
    try:
        value = safejson.loads(text)
    except ValueError:
        raise CommandError(f"{meter}/{name}: {text!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CommandError(f"{meter}/{name}: {text!r} is not a number")
    return Command(meter, name, value)
