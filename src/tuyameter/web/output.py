"""The web page as one of the gateway's outputs: it runs uvicorn on the gateway's event loop and
hears every update and status change for the live streams."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

from tuyameter.pipeline.events import MeterStatus, MeterUpdate
from tuyameter.web.backend import Gateway, LocalBackend, WebBackend
from tuyameter.web.live import LiveHub
from tuyameter.web.settings import WebSettings, page_url

log = logging.getLogger(__name__)


class WebError(RuntimeError):
    """The web server cannot start (its address is taken, …)."""


class WebOutput:
    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.hub = LiveHub()
        self.url: str | None = None
        self._sock: socket.socket | None = None
        self.listening = asyncio.Event()

    async def update(self, u: MeterUpdate) -> None:
        await self.hub.update(u)

    async def status(self, s: MeterStatus) -> None:
        await self.hub.status(s)

    def open(self, *, any_port_if_taken: bool = False) -> str:
        """Listen now (so that a taken address is an error at start-up, not a restart loop later);
        ``any_port_if_taken``: another free port on the same host instead. Returns the page's URL."""
        if self._sock is None:
            try:
                self._sock = _listen(self.settings.host, self.settings.port)
            except OSError as e:
                if not any_port_if_taken:
                    where = f"{self.settings.host}:{self.settings.port}"
                    raise WebError(f"web page: cannot listen on {where}: {e.strerror or e}") from None
                self._sock = _listen(self.settings.host, 0)
            self.url = page_url(self.settings.host, self._sock.getsockname()[1])
        assert self.url is not None
        return self.url

    async def run(self, gateway: Gateway) -> None:
        """Serve the page for a gateway of this process (as one of its outputs)."""
        await self.serve(LocalBackend(gateway))

    async def serve(self, backend: WebBackend) -> None:
        """Serve the page for any backend (a fleet's supervisor: ``gateway/fleet_backend.py``)."""
        import uvicorn

        from tuyameter.web.app import create_app

        self.open()
        sock = self._sock
        assert sock is not None
        app = create_app(backend, self.settings, self.hub)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)  # fmt: skip
        server = _server_class()(config)
        log.info("web page on %s", self.url)
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        self.listening.set()
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            server.should_exit = True  # close the connections (live streams too) and stop, then go
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(serving, 5)
            raise
        finally:
            self.listening.clear()
            sock.close()
            self._sock = None


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn without its signal handlers: the command that runs the gateway owns the signals."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
