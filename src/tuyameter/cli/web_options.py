"""The web page's options of ``run`` and ``demo`` (``--web``), and the output they make."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tuyameter.cli.common import CliError

if TYPE_CHECKING:  # the web stack (FastAPI, uvicorn) loads only when a page is served
    from tuyameter.config import GatewayConfig
    from tuyameter.web.output import WebOutput

DEMO_WEB = "127.0.0.1:8080"


def add_web_options(p: argparse.ArgumentParser, *, demo: bool = False) -> None:
    g = p.add_argument_group("web page")
    if demo:
        g.add_argument(
            "--web", metavar="HOST:PORT", default=DEMO_WEB,
            help=f"serve the page here (default {DEMO_WEB}; another free port if that one is taken)",
        )  # fmt: skip
        g.add_argument("--no-web", action="store_true", help="no web page")
    else:
        g.add_argument("--web", metavar="HOST:PORT", nargs="?", const=DEMO_WEB,
                       help=f"serve the web page and its API (default address {DEMO_WEB}; loopback unless a token "
                       "is given)")  # fmt: skip
    g.add_argument("--web-token-file", metavar="FILE", help="the page's token: the first line of FILE")
    g.add_argument("--web-token-env", metavar="VAR", help="the page's token: the environment variable VAR")


def web_output(args: argparse.Namespace, cfg: GatewayConfig, *, demo: bool = False) -> WebOutput | None:
    """The web output the command line or the configuration asks for, listening already (a taken
    address is an error here, before any meter starts), its URL printed; None without one."""
    if getattr(args, "no_web", False):
        return None
    from tuyameter.web.output import WebError, WebOutput
    from tuyameter.web.settings import WebSettingsError, checked_settings, read_token, web_settings

    settings = cfg.web
    listen = getattr(args, "web", None)
    try:
        token = read_token(token_file=args.web_token_file, token_env=args.web_token_env)
        if listen is not None:
            settings = web_settings(listen, token if token is not None else (settings.token if settings else None))
        elif settings is not None and token is not None:
            settings = checked_settings(settings.host, settings.port, token)
    except WebSettingsError as e:
        raise CliError(str(e)) from None
    if settings is None:
        return None
    out = WebOutput(settings)
    try:
        url = out.open(any_port_if_taken=demo)
    except WebError as e:
        raise CliError(str(e)) from None
    print(f"web page: {url}", file=sys.stderr if args.json else sys.stdout, flush=True)
    return out
