"""Where the web page listens and who may use it.

Bound to loopback it needs nothing; bound anywhere else it needs a token, and every request
but the page's own files and its sign-in must carry it (``Authorization: Bearer …`` or the
cookie the sign-in sets).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 8080
MIN_TOKEN = 16


class WebSettingsError(ValueError):
    """The web settings cannot work (the message says why and what to do)."""


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def __repr__(self) -> str:  # the token never goes into a log
        return f"WebSettings(host={self.host!r}, port={self.port}, token={'set' if self.token else None})"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT``, ``HOST`` or ``:PORT`` → (host, port); loopback and 8080 by default."""
    text = text.strip()
    host, port = text, str(DEFAULT_PORT)
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise WebSettingsError(f"web address {text!r}: missing ']'")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise WebSettingsError(f"web address {text!r}: expected ':PORT' after ']'")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.count(":") > 1:
        raise WebSettingsError(f"web address {text!r}: write an IPv6 address as [ADDR]:PORT")
    host = host or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise WebSettingsError(f"web address {text!r}: the port must be 0..65535")
    return host, int(port)


def read_token(*, token_file: str | Path | None = None, token_env: str | None = None) -> str | None:
    """The token from a file (its first line) or an environment variable, never from a command line."""
    if token_file is not None:
        try:
            text = Path(token_file).expanduser().read_text().strip().splitlines()
        except OSError as e:
            raise WebSettingsError(f"web token file {token_file}: {e.strerror or e}") from None
        return text[0].strip() if text else ""
    if token_env is not None:
        value = os.environ.get(token_env)
        if value is None:
            raise WebSettingsError(f"web token: the environment variable {token_env} is not set")
        return value.strip()
    return None


def page_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def web_settings(listen: str, token: str | None = None) -> WebSettings:
    """The settings for ``HOST:PORT`` (:func:`parse_listen`) and the token, checked."""
    return checked_settings(*parse_listen(listen), token)


def checked_settings(host: str, port: int, token: str | None) -> WebSettings:
    """A token long enough, and one at all when the address is not loopback, or WebSettingsError."""
    if token is not None and len(token) < MIN_TOKEN:
        raise WebSettingsError(f"web token: at least {MIN_TOKEN} characters (it guards writes to the meters)")
    if token is None and not is_loopback(host):
        raise WebSettingsError(
            f"the web page on {host} (not loopback) needs a token: web: {{token_file: FILE}} in the configuration "
            "or --web-token-file FILE (anyone who can reach the address could otherwise change the meters)"
        )
    return WebSettings(host, port, token)
