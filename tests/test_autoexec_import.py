"""OpenBeken autoexec.bat → profile: the seed's real script, unknown commands, garbage."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from e2e import run_cli
from tuyameter.interop.autoexec import parse_autoexec
from tuyameter.interop.to_profile import autoexec_to_profile
from tuyameter.profiles import find_profile, load_profile
from tuyameter.profiles.loader import all_profiles

KNOWN = all_profiles()


def _shared_fixture(name: str) -> Path:
    """The workplace's shared fixtures sit beside the checkout (``../shared``); a clone made
    elsewhere finds them through TUYAMETER_SHARED or the workplace's own location."""
    roots = [Path(os.environ["TUYAMETER_SHARED"])] if os.environ.get("TUYAMETER_SHARED") else []
    roots += [p / "shared" for p in Path(__file__).resolve().parents] + [Path("/work/shared")]
    for root in roots:
        if (root / "fixtures" / name).is_file():
            return root / "fixtures" / name
    raise FileNotFoundError(f"fixture {name} not found in {[str(r) for r in roots]}; set TUYAMETER_SHARED")


FIXTURE = _shared_fixture("pj1103a-autoexec.bat")


def test_parse_the_seed_script() -> None:
    a = parse_autoexec(FIXTURE.read_text())
    assert a.drivers == ["TuyaMCU", "NTP"] and a.baud == 9600 and a.wifi_state == 4
    linked = {c.dp: c for c in a.channels.values() if c.dp}
    assert len(linked) == 28
    assert linked[112].type == "Voltage_div10" and linked[112].label == "Voltage" and not linked[112].private
    assert linked[116].type == "TextField" and linked[116].private
    assert not a.unknown and not a.errors


def test_the_fixture_imports_to_the_shipped_profile(tmp_path: Path) -> None:
    out = tmp_path / "seed.yaml"
    r = run_cli("profile", "import-autoexec", str(FIXTURE), "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["based_on"] == "pj1103a" and info["dps"] == 31
    imported, shipped = load_profile(out), find_profile("pj1103a")
    assert (imported.baud, imported.wifi_state) == (shipped.baud, shipped.wifi_state)
    a, b = imported.by_dp(), shipped.by_dp()
    assert set(a) == set(b)
    for dp, s in b.items():
        i = a[dp]
        assert (i.name, i.type, i.scale, i.unit, i.access, i.range, i.private, i.options, i.signed_by) == (
            s.name, s.type, s.scale, s.unit, s.access, s.range, s.private, s.options, s.signed_by), dp  # fmt: skip
    assert [c.name for c in imported.computed] == ["power_total"]


def test_unknown_commands_are_listed_never_dropped() -> None:
    text = FIXTURE.read_text() + "\nsetPinRole 6 Btn\nfrobnicate now\nsetChannelType x y\n"
    a = parse_autoexec(text)
    assert [t for _, t in a.unknown] == ["setPinRole 6 Btn", "frobnicate now"]
    assert a.errors and "setChannelType x y" in a.errors[0][1]
    res = autoexec_to_profile(a, "x", KNOWN)
    assert any("setPinRole" in n for n in res.notes) and any("frobnicate" in n for n in res.notes)


def test_a_script_that_is_not_tuyamcu_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="TuyaMCU"):
        autoexec_to_profile(parse_autoexec("startDriver BL0942\n"), "x", KNOWN)


@given(st.text(max_size=400))
def test_garbage_scripts_never_crash(text: str) -> None:
    a = parse_autoexec(text)
    with contextlib.suppress(ValueError):
        autoexec_to_profile(a, "x", KNOWN)
