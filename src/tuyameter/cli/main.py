"""Entry point: ``tuyameter <command> …``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn

import tuyameter.emulator.simlink  # noqa: F401  (registers sim:// links for every command)
from tuyameter import __version__
from tuyameter.cli import (
    decode_cmd,
    energy_cmd,
    flash_cmd,
    monitor_cmd,
    probe_cmd,
    profile_cmd,
    run_cmd,
    scan_cmd,
    set_cmd,
    sim_cmd,
)
from tuyameter.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CliError, DeviceError, emit_json

COMMANDS = (
    run_cmd, sim_cmd, probe_cmd, monitor_cmd, decode_cmd, set_cmd, scan_cmd, energy_cmd, profile_cmd, flash_cmd,
)  # fmt: skip


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 2, as JSON on stdout when the command line asks for --json."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            emit_json({"error": message, "kind": "usage", "exit_code": EXIT_USAGE})
            raise SystemExit(EXIT_USAGE)
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tuyameter",
        description="Local, cloud-free gateway and tools for PJ-1103A-family Tuya energy meters.",
    )
    p.add_argument("--version", action="version", version=f"tuyameter {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for mod in COMMANDS:
        mod.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 ok, 1 the device refused or failed, 2 usage / configuration / store error,
    130 interrupted (Ctrl-C). With --json, errors are a JSON object on standard output too."""
    argv = sys.argv[1:] if argv is None else argv
    _Parser.json_errors = "--json" in argv
    parser = build_parser()
    args = parser.parse_args(argv)
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
