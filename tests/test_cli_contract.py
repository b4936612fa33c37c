"""What every command shares: the same link/profile/output options, exit codes, errors as JSON."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys

import pytest

from e2e import Proc, run_cli
from tuyameter.cli.main import build_parser

SHARED = ["--baud", "115200", "--profile", "pj1103a", "--profile-dir", "/tmp", "--json"]


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "sim://pj1103a"],
        ["monitor", "sim://pj1103a"],
        ["probe", "sim://pj1103a"],
        ["set", "sim://pj1103a", "report_rate", "5"],
    ],
)
def test_link_profile_and_json_options_are_the_same_everywhere(argv: list[str]) -> None:
    args = build_parser().parse_args([*argv, *SHARED])
    assert (args.url, args.baud, args.profile, args.profile_dir, args.json) == (
        "sim://pj1103a", [115200], "pj1103a", ["/tmp"], True,
    )  # fmt: skip


def test_refused_by_the_profile_is_exit_2_with_a_json_error() -> None:
    r = run_cli("set", "sim://pj1103a", "report_rate", "99", "--json")
    assert r.returncode == 2
    err = json.loads(r.stdout)
    assert err["exit_code"] == 2 and "outside 3..60" in err["error"] and err["command"] == "set"


def test_device_that_does_not_answer_is_exit_1() -> None:
    with socket.socket() as silent:  # a TCP "MCU" that takes the connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"socket://127.0.0.1:{silent.getsockname()[1]}"
        r = run_cli("set", url, "report_rate", "5", "--timeout", "2", "--json")
    assert r.returncode == 1, r.stderr
    err = json.loads(r.stdout)
    assert err["kind"] == "device" and err["exit_code"] == 1


def test_an_unknown_emulator_is_a_usage_error() -> None:
    r = run_cli("set", "sim://nosuchmeter", "report_rate", "5", "--timeout", "1", "--json")
    assert r.returncode == 2 and "unknown emulator" in json.loads(r.stdout)["error"]


def test_usage_error_is_exit_2_and_json_when_asked() -> None:
    r = run_cli("probe", "--json")
    assert r.returncode == 2 and json.loads(r.stdout)["kind"] == "usage"
    r = run_cli("probe")
    assert r.returncode == 2 and "usage:" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_interrupted_is_130_and_a_stop_is_0(sig: int, code: int) -> None:
    gw = Proc("run", "sim://pj1103a?speed=30", "--no-store", "--json")
    try:
        gw.wait_line(lambda s: s.startswith("{"), timeout=15)
    finally:
        assert gw.stop(sig) == code
    assert any('"diagnostics"' in line for line in gw.err)  # it stopped cleanly, diagnostics printed


# -- start-up: each command loads what it needs, --help nothing heavy -------------------------------

HEAVY = ("asyncio", "pydantic", "cryptography", "aiomqtt", "yaml", "serial", "psycopg", "sqlite3", "zoneinfo")


def _heavy_after(argv: list[str]) -> list[str]:
    code = (
        "import contextlib, io, sys\n"
        "from tuyameter.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_help_and_decode_import_nothing_heavy_but_run_loads_its_command() -> None:
    assert _heavy_after(["--help"]) == []
    assert _heavy_after(["decode", "55AA0307000802020004000000647D"]) == []
    assert "pydantic" in _heavy_after(["decode", "55AA0307000802020004000000647D", "--profile", "pj1103a"])
    assert {"asyncio", "pydantic"} <= set(_heavy_after(["run", "--help"]))


def test_every_command_is_listed_and_parses_in_full_when_named() -> None:
    from tuyameter.cli.commands import COMMANDS

    def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return dict(action.choices)

    full = commands(build_parser())
    listing = " ".join(build_parser(["--help"]).format_help().split())
    assert list(full) == list(COMMANDS)
    for name, (_, help_text) in COMMANDS.items():
        assert f"{name} {help_text}" in listing
        assert commands(build_parser([name]))[name].format_help() == full[name].format_help()
