"""Entry point: ``tuyameter <command> …``."""

from __future__ import annotations

import argparse
import logging
import sys

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
    set_cmd,
    sim_cmd,
)
from tuyameter.cli.common import CliError

COMMANDS = (run_cmd, sim_cmd, probe_cmd, monitor_cmd, decode_cmd, set_cmd, energy_cmd, profile_cmd, flash_cmd)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tuyameter",
        description="Local, cloud-free gateway and tools for PJ-1103A-family Tuya energy meters.",
    )
    p.add_argument("--version", action="version", version=f"tuyameter {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in COMMANDS:
        mod.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args))
    except CliError as e:
        print(f"tuyameter {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
