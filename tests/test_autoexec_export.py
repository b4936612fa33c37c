"""Profile → OpenBeken autoexec.bat, and import → export → import keeping the meaning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from e2e import run_cli
from test_autoexec_import import FIXTURE, KNOWN
from tuyameter.interop.autoexec import parse_autoexec
from tuyameter.interop.to_autoexec import profile_to_autoexec
from tuyameter.interop.to_profile import autoexec_to_profile
from tuyameter.profiles import find_profile
from tuyameter.profiles.loader import load_profile_text
from tuyameter.profiles.model import DPSpec, Profile, TuyaMcuBinding
from tuyameter.tuyamcu.constants import DPType

MEANING = ("name", "type", "scale", "unit", "access", "range", "private", "options", "label", "counter", "signed_by")


def loaded(data: dict[str, Any], source: str) -> Profile:
    """Through YAML and the profile validator, as the CLI writes and reads it."""
    return load_profile_text(yaml.safe_dump(data, sort_keys=False), source)


def meaning(p: Profile, fields: tuple[str, ...] = MEANING) -> dict[int, tuple[object, ...]]:
    return {d.dp: tuple(getattr(d, f) for f in fields) for d in p.dps}


def reimport(p: Profile, known: list[Profile], name: str, hints: bool = True) -> Profile:
    text = profile_to_autoexec(p, hints=hints).text
    parsed = parse_autoexec(text)
    assert not parsed.unknown and not parsed.errors, (parsed.unknown, parsed.errors)
    return loaded(autoexec_to_profile(parsed, name, known).data, "<reimport>")


def test_export_of_the_shipped_profile() -> None:
    pj = find_profile("pj1103a")
    ex = profile_to_autoexec(pj)
    a = parse_autoexec(ex.text)
    assert a.baud == 9600 and a.wifi_state == 4 and a.drivers == ["TuyaMCU"]
    by_dp = {c.dp: c for c in a.channels.values() if c.dp is not None}
    assert set(by_dp) == {d.dp for d in pj.dps if d.access != "wo"}
    assert by_dp[102].type == "ReadOnlyEnum" and by_dp[102].options == {0: "forward", 1: "reverse"}
    assert by_dp[102].dp_type == "enum" and by_dp[101].dp_type == "value"
    assert by_dp[101].type == "Power_div10" and by_dp[106].type == "EnergyTotal_kWh_div100"
    assert by_dp[110].type == "PowerFactor_div100" and by_dp[112].type == "Voltage_div10"
    assert by_dp[129].type == "Dimmer" and by_dp[129].private  # 3..60 fits OpenBeken's 0..100 slider
    assert by_dp[116].type == "TextField"  # 800..1200 fits no OpenBeken number input
    assert any("800–1200" in n for n in ex.notes) and any("dp120" in n for n in ex.notes)


def test_fixture_import_export_import_keeps_the_meaning() -> None:
    first = loaded(autoexec_to_profile(parse_autoexec(FIXTURE.read_text()), "seed", KNOWN).data, "<seed>")
    second = reimport(first, KNOWN, "seed")
    assert meaning(second) == meaning(first)
    assert [c.sum for c in second.computed] == [c.sum for c in first.computed]


def test_round_trip_without_a_shipped_profile_to_lean_on() -> None:
    pj = find_profile("pj1103a")
    back = reimport(pj, [], "pj1103a")  # the script's tuyameter-… comments carry the rest
    assert meaning(back) == meaning(pj)
    assert back.computed == pj.computed
    assert (back.model, back.channels, back.report_rate, back.product_ids) == (
        pj.model, pj.channels, pj.report_rate, pj.product_ids)  # fmt: skip
    bare = profile_to_autoexec(pj, hints=False).text
    assert "tuyameter-" not in bare
    plain = loaded(autoexec_to_profile(parse_autoexec(bare), "bare", []).data, "<bare>")
    fields = ("type", "private", "options", "label", "writable")  # a setting's unit ("s") has no channel type
    want = {d.dp: tuple(getattr(d, f) for f in fields) for d in pj.dps if d.access != "wo"}
    assert {d.dp: tuple(getattr(d, f) for f in fields) for d in plain.dps} == want
    # what OpenBeken's channel types carry: the meters' scaling; settings stay raw numbers
    meters = [d for d in pj.dps if d.unit in ("W", "V", "A", "kWh", "Hz")]
    assert all((plain.by_dp()[d.dp].scale, plain.by_dp()[d.dp].unit) == (d.scale, d.unit) for d in meters)


def test_cli_export_to_stdout_and_file(tmp_path: Path) -> None:
    r = run_cli("profile", "export-autoexec", "pj1103a", "--first-channel", "2")
    assert r.returncode == 0 and "linkTuyaMCUOutputToChannel 130 2 " in r.stdout
    assert "setChannelType 2 Power_div10" in r.stdout
    out = tmp_path / "autoexec.bat"
    r = run_cli("profile", "export-autoexec", "pj1103a", "-o", str(out), "--json")
    info = json.loads(r.stdout)
    assert r.returncode == 0 and info["file"] == str(out) and len(info["channels"]) == 29
    r = run_cli("profile", "import-autoexec", str(out), "-o", str(tmp_path / "back.yaml"), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["based_on"] == "pj1103a"
    r = run_cli("profile", "export-autoexec", "no_such_profile")
    assert r.returncode == 2


_SCALES = {"W": [1.0, 0.1, 0.01], "V": [0.1, 0.01], "A": [0.1, 0.01, 0.001], "kWh": [0.01, 0.001], "Hz": [0.1, 0.01]}
_label = st.text(st.characters(codec="ascii", categories=("L", "N", "Zs", "P")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and '"' not in s and "\\" not in s and "//" not in s and "'" not in s
)


@st.composite
def specs(draw: st.DrawFn) -> list[DPSpec]:
    dps = draw(st.lists(st.integers(1, 255), min_size=1, max_size=12, unique=True))
    out = []
    for dp in dps:
        kind = draw(st.sampled_from(["meter", "enum", "setting", "bool"]))
        common = {"name": f"dp_{dp}", "label": draw(_label), "private": draw(st.booleans())}
        if kind == "meter":
            unit = draw(st.sampled_from(sorted(_SCALES)))
            bind = TuyaMcuBinding(dp=dp, type=DPType.VALUE, scale=draw(st.sampled_from(_SCALES[unit])))
            out.append(DPSpec(tuyamcu=bind, unit=unit, **common))
        elif kind == "enum":
            n = draw(st.integers(2, 5))
            opts = {i: draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True)) for i in range(n)}
            out.append(DPSpec(tuyamcu=TuyaMcuBinding(dp=dp, type=DPType.ENUM), options=opts, **common))
        elif kind == "setting":
            lo = draw(st.integers(0, 2000))
            bind = TuyaMcuBinding(dp=dp, type=DPType.VALUE)
            out.append(DPSpec(tuyamcu=bind, access="rw", range=(lo, lo + draw(st.integers(0, 2000))), **common))
        else:
            out.append(DPSpec(tuyamcu=TuyaMcuBinding(dp=dp, type=DPType.BOOL), **common))
    return out


@settings(max_examples=60, deadline=None)
@given(specs())
def test_any_profile_survives_export_and_import(dps: list[DPSpec]) -> None:
    prof = Profile(name="gen", description="generated", source="<gen>", quantities=tuple(dps))
    back = reimport(prof, [], "gen", hints=False)  # the channel types alone
    fields = ("dp", "type", "scale", "unit", "private", "options", "label", "writable")
    assert {d.dp: tuple(getattr(d, f) for f in fields) for d in back.dps} == {
        d.dp: tuple(getattr(d, f) for f in fields) for d in dps
    }
