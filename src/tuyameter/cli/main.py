"""Entry point: ``tuyameter <command> …``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import NoReturn

from tuyameter import __version__
from tuyameter.cli.commands import COMMANDS
from tuyameter.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError, DeviceError, emit_json


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 2, as JSON on stdout when the command line asks for --json."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            emit_json({"error": message, "kind": "usage", "exit_code": EXIT_USAGE})
            raise SystemExit(EXIT_USAGE)
        super().error(message)


class _Version(argparse.Action):
    """The version, and whether the per-frame path runs compiled (looked up only when asked)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        from tuyameter.compiled import build_text

        print(f"tuyameter {__version__} ({build_text()})")
        parser.exit()


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser for the command named in ``argv`` (its module imported); every other command
    as a line of help. Without ``argv``: every command in full (for tests and documentation)."""
    p = _Parser(
        prog="tuyameter",
        description="Local, cloud-free gateway and tools for PJ-1103A-family Tuya energy meters.",
    )
    p.add_argument("--version", action=_Version, nargs=0, help="show the version and whether its core is compiled")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    wanted = set(COMMANDS) if argv is None else {_command_in(argv)}
    modules = {COMMANDS[c][0] for c in wanted if c in COMMANDS}
    for name, (module, help_text) in COMMANDS.items():
        if module in modules:
            importlib.import_module(f"tuyameter.cli.{module}").register(sub)
            modules.discard(module)
        if name not in sub.choices:
            sub.add_parser(name, help=help_text, add_help=False)
    return p


def _command_in(argv: list[str]) -> str | None:
    """The command word: the first argument that is not an option (the options before it take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 ok, 1 the device refused or failed, 2 usage / configuration / store error,
    130 interrupted (Ctrl-C). With --json, errors are a JSON object on standard output too."""
    argv = sys.argv[1:] if argv is None else argv
    _Parser.json_errors = "--json" in argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    args.argv = argv  # what a command that starts copies of itself (run --workers) gives them
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args))
    except CliError as e:
        print(f"tuyameter {args.command}: {e}", file=sys.stderr)
        if getattr(args, "json", False):
            kind = "device" if isinstance(e, DeviceError) else "error"
            emit_json({"error": str(e), "kind": kind, "command": args.command, "exit_code": e.exit_code})
        return e.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
