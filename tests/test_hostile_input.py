"""Hostile input from a device, a dump or a script: limits, never a crash (issue: reliability)."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given
from hypothesis import strategies as st

from e2e import run_cli
from tuyameter.flash.values import parse_value
from tuyameter.interop.autoexec import parse_autoexec
from tuyameter.tuyamcu import messages as m
from tuyameter.tuyamcu.constants import Command
from tuyameter.tuyamcu.frame import Frame
from tuyameter.util import safejson

NESTED = Frame(Command.PRODUCT_INFO, b"[" * 1000, 3)


def test_deeply_nested_product_info_is_malformed_not_a_crash() -> None:
    msg = m.parse(NESTED, m.Direction.FROM_MCU)
    assert isinstance(msg, m.ProductInfo) and msg.info == {} and msg.product_id is None
    assert msg.malformed and "nested 1000 deep" in msg.malformed
    assert len(msg.describe()) < 300  # the log line is bounded too
    ok = m.parse(Frame(Command.PRODUCT_INFO, b'{"p":"abc","v":"1.0"}', 3), m.Direction.FROM_MCU)
    assert isinstance(ok, m.ProductInfo) and ok.product_id == "abc" and ok.malformed is None


def test_decode_of_nested_json_exits_cleanly() -> None:
    r = run_cli("decode", NESTED.encode().hex(), "--json")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "malformed" in r.stdout


def test_flash_value_and_autoexec_hint_with_nested_json() -> None:
    assert parse_value(b"[" * 5000).kind == "text"
    script = parse_autoexec("// tuyameter-profile " + "[" * 5000 + "\nstartDriver TuyaMCU\n")
    assert script.errors and "hint" in script.errors[0][1]


@given(st.text(max_size=400))
def test_safejson_raises_only_valueerror(text: str) -> None:
    with contextlib.suppress(ValueError):
        safejson.loads(text)


@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
        max_leaves=20,
    )
)
def test_safejson_agrees_with_json_within_the_limits(value: object) -> None:
    text = json.dumps(value)
    if safejson.nesting_depth(text) <= safejson.MAX_DEPTH:
        assert safejson.loads(text) == value


def test_depth_ignores_brackets_inside_strings() -> None:
    assert safejson.nesting_depth(json.dumps({"a": "[[[[{{{{"})) == 1
    assert safejson.nesting_depth('["\\"[[["]') == 1
    assert safejson.loads('{"a": "' + "[" * 100 + '"}') == {"a": "[" * 100}


def test_decode_marks_what_the_gateway_would_drop() -> None:
    from tuyameter.tuyamcu.constants import DPType
    from tuyameter.tuyamcu.dp import DPRecord

    absurd = m.mcu_report_frame([DPRecord.make(110, DPType.VALUE, 100_000)]).encode().hex()  # PF 1000
    fine = m.mcu_report_frame([DPRecord.make(110, DPType.VALUE, 80)]).encode().hex()
    r = run_cli("decode", "--profile", "pj1103a", absurd, fine)
    assert r.returncode == 0
    lines = [line for line in r.stdout.splitlines() if "power_factor_a" in line]
    assert "implausible" in lines[0] and "implausible" not in lines[1]
    j = [json.loads(x) for x in run_cli("decode", "--profile", "pj1103a", "--json", absurd, fine).stdout.splitlines()]
    assert [d["dps"][0]["plausible"] for d in j] == [False, True]
