"""``tuya://DEVICE_ID@HOST[:PORT]?version=3.4&key_file=…`` — where a stock meter is and how to reach it.

The local key comes from ``key_file=PATH`` (first line), ``key_env=NAME`` (an environment
variable) or, for quick tests, ``key=…``; it is never part of a description or a log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tuyameter.tuyalan.constants import DEFAULT_PORT, VERSIONS

KNOWN = {"version", "key", "key_file", "key_env"}


@dataclass(frozen=True)
class LanTarget:
    device_id: str
    host: str
    port: int
    version: str
    key: bytes = field(repr=False)
    #: whether the URL named the version (probe tries them all when it did not)
    version_given: bool = True

    @property
    def description(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tuya://{self.device_id}@{host}:{self.port} (protocol {self.version})"


def parse_lan_url(url: str) -> LanTarget:
    """ValueError naming what is wrong (never echoing the key)."""
    u = urlsplit(url)
    if u.scheme != "tuya":
        raise ValueError(f"not a tuya:// URL: {u.scheme}://…")
    device_id = u.username or ""
    if not device_id or not device_id.isascii() or not device_id.isalnum():
        raise ValueError("tuya:// needs the device id before '@' (letters and digits): tuya://DEVICE_ID@HOST")
    try:
        host, port = u.hostname or "", u.port or DEFAULT_PORT
    except ValueError:
        raise ValueError("tuya:// port must be a number 1..65535") from None
    if not host:
        raise ValueError("tuya:// needs the device's address after '@'")
    params = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
    unknown = set(params) - KNOWN
    if unknown:
        raise ValueError(f"unknown tuya:// parameter {sorted(unknown)[0]!r}; known: {', '.join(sorted(KNOWN))}")
    version = params.get("version", "3.3")
    if version not in VERSIONS:
        raise ValueError(f"protocol version {version!r} is not one of {', '.join(VERSIONS)}")
    return LanTarget(device_id, host, port, version, _key(params), "version" in params)


def _key(params: dict[str, str]) -> bytes:
    given = [k for k in ("key", "key_file", "key_env") if k in params]
    if len(given) != 1:
        raise ValueError("tuya:// needs the local key once: key_file=PATH, key_env=VARIABLE or key=…")
    if "key_file" in params:
        path = Path(params["key_file"]).expanduser()
        try:
            text = path.read_text(encoding="utf-8").splitlines()[0].strip() if path.stat().st_size < 4096 else ""
        except (OSError, IndexError, UnicodeDecodeError) as e:
            raise ValueError(f"cannot read the local key from {path}: {getattr(e, 'strerror', None) or e}") from None
    elif "key_env" in params:
        text = os.environ.get(params["key_env"], "").strip()
        if not text:
            raise ValueError(f"the environment variable {params['key_env']} holding the local key is not set")
    else:
        text = params["key"]
    if len(text) != 16 or not text.isascii():
        raise ValueError(f"a local key has 16 ASCII characters; this one has {len(text)}")
    return text.encode()
