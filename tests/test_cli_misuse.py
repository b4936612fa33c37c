"""Numbers and options a careless user types: one clear line, exit 2, never a traceback or a hang."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from e2e import run_cli
from tuyameter.cli.main import build_parser

RESTORE = ["flash", "restore-config", "--backup", "/dev/null", "--into", "/dev/null", "-o", "/tmp/never-written.bin"]
MISUSES = [
    (["demo", "--speed", "0"], "--speed"),  # ran forever doing nothing
    (["demo", "--speed", "nan"], "--speed"),
    (["demo", "--meters", "0"], "--meters"),
    (["run", "sim://pj1103a", "--time-scale", "-1"], "--time-scale"),  # recorded no energy at all
    (["run", "sim://pj1103a", "--keep-days", "-1"], "--keep-days"),  # deleted every raw reading
    (["run", "sim://pj1103a", "--duration", "inf"], "--duration"),
    (["sim", "pj1103a", "--baud", "0"], "--baud"),  # divided by zero
    (["sim", "pj1103a", "--speed", "1e308"], "--speed"),
    (["sim", "pj1103a", "--report-rate", "0"], "--report-rate"),
    (["sim", "pj1103a", "--tcp", "127.0.0.1:70000"], "0..65535"),
    (["probe", "sim://pj1103a", "--listen", "-5"], "--listen"),
    (["set", "sim://pj1103a", "report_rate", "5", "--timeout", "0"], "--timeout"),
    (["monitor", "sim://pj1103a", "--baud", "x"], "--baud"),
    (["energy", "--minutes", "-1"], "--minutes"),
    (["run", "sim://pj1103a", "--id", "a/+/#"], "--id"),  # an MQTT wildcard in topics
    (["run", "socket://127.0.0.1:notaport"], "port must be a number"),  # was 'offline' for ever
    (["run", "sim://pj1103a?quirk=nosuch"], "unknown quirk"),
    (["demo", "--quirk", "nosuch"], "unknown quirk"),
    (["run", "sim://pj1103a", "--mqtt", "mqtts://127.0.0.1:1", "--mqtt-ca", "/nonexistent/ca.pem"], "CA file"),
    (["run", "sim://pj1103a", "--mqtt", "mqtt://127.0.0.1:1?refresh=nan"], "refresh"),
    ([*RESTORE, "--range=0x2000:0x1000"], "END must come after START"),
    ([*RESTORE, "--range=0x1000:0x1000"], "END must come after START"),
]


@pytest.mark.parametrize(("argv", "names"), MISUSES, ids=[" ".join(a) for a, _ in MISUSES])
def test_bad_number_is_one_clear_line_and_exit_2(argv: list[str], names: str) -> None:
    r = run_cli(*argv, timeout=20)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr and names in lines[-1]  # argparse's usage, then one error line
    assert len([line for line in lines if not line.startswith((" ", "usage:"))]) == 1


WORDS = ["run", "demo", "sim", "probe", "monitor", "decode", "set", "energy", "flash", "profile", "pj1103a",
         "sim://pj1103a", "--speed", "--baud", "--duration", "--json", "--id", "--keep-days", "--time-scale",
         "--meters", "--quirk", "0", "-1", "nan", "inf", "1e308", "9600", "x", "", "--", "-", "=", "a=b"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=8))
def test_any_argv_parses_or_is_a_usage_error(argv: list[str]) -> None:
    parser = build_parser()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(argv)
        except SystemExit as e:
            assert e.code in (0, 2)  # --help, or a usage error
