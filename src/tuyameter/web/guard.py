"""Who may use the API: an ASGI middleware in front of the app.

- With a token, every ``/api/`` request but the sign-in needs it, as ``Authorization: Bearer``
  or the ``HttpOnly``, ``SameSite=Strict`` cookie the sign-in sets (the page's own files carry
  no data and load without it).
- A request that changes something (any method but GET/HEAD) must send JSON and, if the browser
  names its origin, come from the page's own: another site open in the same browser cannot make
  the meters' settings change (cross-site request forgery), token or not.
- On loopback without a token, the Host header must name a loopback host: a web page cannot
  reach the API by making its own name resolve to 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from tuyameter.web.settings import WebSettings, is_loopback

COOKIE = "tuyameter_token"
OPEN_PATHS = ("/api/login",)
SAFE = ("GET", "HEAD", "OPTIONS")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Guard:
    def __init__(self, app: App, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        why = self.check(scope)
        if why is None:
            await self.app(scope, receive, send)
            return
        self.refused += 1
        status, detail = why
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b'Bearer realm="tuyameter"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def check(self, scope: Scope) -> tuple[int, str] | None:
        """(status, reason) when the request is refused, else None."""
        headers = _headers(scope)
        host = _hostname(headers.get("host", ""))
        if self.settings.token is None and self.settings.loopback and not is_loopback(host):
            return 403, f"this API answers on loopback only, not to the host name {host!r}"
        path: str = scope.get("path", "")
        if scope.get("method", "GET") not in SAFE:
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                return 415, "send JSON (Content-Type: application/json)"
            origin = headers.get("origin")
            if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
                return 403, f"a request from another site ({origin}) may not change anything here"
        if self.settings.token is not None and path.startswith("/api/") and path not in OPEN_PATHS:
            given = _token(headers)
            if given is None:
                return 401, "sign in: this gateway's web token is needed (Authorization: Bearer TOKEN)"
            if not hmac.compare_digest(given.encode(), self.settings.token.encode()):
                return 401, "wrong web token"
        return None


def token_ok(settings: WebSettings, given: str) -> bool:
    return settings.token is not None and hmac.compare_digest(given.encode(), settings.token.encode())


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _token(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    cookie = headers.get("cookie")
    if cookie:
        try:
            jar = SimpleCookie(cookie)
        except CookieError:
            return None
        if COOKIE in jar:
            return jar[COOKIE].value
    return None
