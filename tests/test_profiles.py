"""Profiles as data: shipped layouts, validation with file:line, matching, write validation."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tuyameter.profiles import ProfileError, find_profile, list_profiles, load_profile
from tuyameter.profiles.loader import load_profile_text
from tuyameter.profiles.match import rank_profiles
from tuyameter.profiles.model import Profile
from tuyameter.tuyamcu.constants import DPType

CONTRACT = [
    "power_a", "power_b", "power_total", "direction_a", "direction_b", "current_a", "current_b", "voltage",
    "frequency", "power_factor_a", "power_factor_b", "energy_forward_a", "energy_reverse_a", "energy_forward_b",
    "energy_reverse_b", "energy_forward_total", "energy_reverse_total", "report_rate", "calibration_voltage",
    "calibration_current_a", "calibration_power_a", "calibration_energy_forward_a", "calibration_energy_reverse_a",
    "calibration_frequency", "calibration_current_b", "calibration_power_b", "calibration_energy_forward_b",
    "calibration_energy_reverse_b", "reset_coefficients_a", "reset_coefficients_b",
]  # fmt: skip


def test_pj1103a_names_are_the_contract() -> None:
    p = find_profile("pj1103a")
    names = {d.name for d in p.dps} | {c.name for c in p.computed}
    assert set(CONTRACT) <= names
    by = p.by_dp()
    assert (by[101].name, by[101].scale, by[101].unit, by[101].signed_by) == ("power_a", 0.1, "W", "direction_a")
    assert by[129].range == (3, 60) and by[129].writable
    calibrations = (116, 117, 118, 119, 122, 123, 124, 125, 127, 128)
    assert all(by[dp].range == (0.8, 1.2) and by[dp].raw_range == (800, 1200) for dp in calibrations)
    assert all(by[dp].private for dp in calibrations)
    assert by[120].access == "wo" and by[120].ha == "button"
    assert by[102].options == {0: "forward", 1: "reverse"}
    assert by[115].name == "power_total_mcu" and by[115].diagnostic


def test_other_layout_is_data_too() -> None:
    q = find_profile("pj1103a_qqb5tzcb1qarf0s3")
    assert q.by_dp()[101].name == "voltage" and q.by_dp()[1].name == "energy_forward_total"
    assert "pj1103a" in list_profiles() and "pj1103a_qqb5tzcb1qarf0s3" in list_profiles()


def test_matching_tells_layouts_apart() -> None:
    profiles = [find_profile("pj1103a"), find_profile("pj1103a_qqb5tzcb1qarf0s3")]
    seen_a = {d.dp: d.type for d in profiles[0].dps if d.access != "wo"}
    seen_q = {d.dp: d.type for d in profiles[1].dps}
    assert rank_profiles(profiles, seen_a)[0].profile == "pj1103a" and rank_profiles(profiles, seen_a)[0].fits
    assert rank_profiles(profiles, seen_q)[0].profile == "pj1103a_qqb5tzcb1qarf0s3"
    odd = dict(seen_a) | {200: DPType.RAW, 101: DPType.BOOL}
    best = rank_profiles(profiles, odd)[0]
    assert not best.fits
    assert "dp200 seen but not in pj1103a" in best.differences()
    assert "dp101 is bool, pj1103a expects value" in best.differences()


def test_write_validation_against_ranges() -> None:
    by = find_profile("pj1103a").by_name()
    assert by["calibration_voltage"].to_raw(1.05) == 1050
    assert by["report_rate"].to_raw(5) == 5
    with pytest.raises(ValueError, match=r"outside 3\.\.60"):
        by["report_rate"].to_raw(99)
    with pytest.raises(ValueError, match="outside"):
        by["calibration_current_a"].to_raw(1.3)
    with pytest.raises(ValueError, match="multiple"):
        by["calibration_current_a"].to_raw(1.0005)
    assert by["direction_a"].to_raw("reverse") == 1


BAD = [
    ("name: x\ndps:\n  - {dp: 1, name: a, type: value}\n  - {dp: 1, name: b, type: value}\n", 4, "defined twice"),
    ("name: x\ndps:\n  - {dp: 1, name: a, type: vlaue}\n", 3, "type 'vlaue'"),
    ("name: x\ndps:\n  - dp: 1\n    name: a\n    type: value\n    colour: red\n", 6, "unknown key 'colour'"),
    ("name: x\ndps:\n  - {dp: 1, name: a, type: value, range: [5, 1]}\n", 3, "range"),
    ("name: x\ndps:\n  - {dp: 300, name: a, type: value}\n", 3, "outside 0..255"),
    ("name: x\ndps: [\n", 3, "YAML error"),
    ("name: x\ndps:\n  - {dp: 1, name: a, type: value, signed_by: nope}\n", 3, "signed_by"),
    ("name: x\nname: y\ndps: []\n", 2, "duplicate key"),
    ("name: x\ndps:\n  - {dp: 1, name: a, type: value, scale: .nan}\n", 3, "finite"),
    ("name: x\ndps:\n  - {dp: 1, name: a, type: value, scale: .inf}\n", 3, "finite"),
    ("name: x\ndps:\n  - {dp: 1, name: a, type: value, scale: 1.0e+300}\n", 3, "less than or equal"),
    ("name: x\ndps:\n  - {dp: 1, name: a, type: value, range: [0, .inf]}\n", 3, "finite"),
    ("name: x\ntuyamcu: {baud: 0}\nquantities: []\n", 2, "greater than or equal to 50"),
    ("name: x\ntuyamcu:\n  wifi_state: 9\nquantities: []\n", 3, "less than or equal to 5"),
    ("name: x\nreport_ends_with: nope\ndps:\n  - {dp: 1, name: a, type: value}\n", 2, "report_ends_with"),
    ("name: x\nhlw8112:\n  k2: 1.0\n  phase_a: 200\nquantities: []\n", 4, "less than or equal to 127"),
    ("name: x\nhlw8112:\n  rms_ib_os: -40000\nquantities: []\n", 3, "greater than or equal to -32768"),
]


@pytest.mark.parametrize(("text", "line", "msg"), BAD)
def test_profile_errors_name_file_and_line(tmp_path: Path, text: str, line: int, msg: str) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text(text)
    with pytest.raises(ProfileError) as ei:
        load_profile(f)
    assert str(ei.value).startswith(f"{f}:{line}:"), str(ei.value)
    assert msg in str(ei.value)


def test_user_profile_directory(tmp_path: Path) -> None:
    (tmp_path / "custom.yaml").write_text("name: custom\ndps:\n  - {dp: 5, name: watts, type: value, unit: W}\n")
    p = find_profile("custom", [tmp_path])
    assert p.by_dp()[5].unit == "W"
    with pytest.raises(ProfileError, match="no such profile"):
        find_profile("custom")


@given(st.text(max_size=300))
def test_garbage_profile_text_gives_a_clear_error(text: str) -> None:
    try:
        load_profile_text(text, "fuzz.yaml")
    except ProfileError as e:
        assert str(e).startswith("fuzz.yaml")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                    max_leaves=20))  # fmt: skip
def test_garbage_profile_structures_give_a_clear_error(obj: object) -> None:
    import yaml

    with contextlib.suppress(ProfileError):
        load_profile_text(yaml.safe_dump({"name": "x", "dps": [obj]}), "fuzz.yaml")


# -- the TuyaMCU binding's precomputed converters equal the profile's own conversion ----------------


@functools.cache
def _shipped(name: str) -> Profile:
    return find_profile(name)  # parsed once: a YAML load per example took this test past its timeout


@given(st.data())
def test_binding_converters_equal_to_value_for_every_quantity(data: st.DataObject) -> None:
    from tuyameter.sources.tuyamcu.binding import DPBinding
    from tuyameter.tuyamcu.dp import DPRecord

    with_dps = [n for n in sorted(list_profiles()) if _shipped(n).dps]  # not the HLW8112 boards
    assert len(with_dps) >= 2
    profile = _shipped(data.draw(st.sampled_from(with_dps)))
    spec = data.draw(st.sampled_from([q for q in profile.quantities if q.tuyamcu is not None]))
    lengths = {DPType.BOOL: [0, 1], DPType.VALUE: [0, 4], DPType.ENUM: [0, 1], DPType.BITMAP: [0, 1, 2, 4]}
    size = data.draw(st.sampled_from(lengths.get(spec.type, [0, 1, 5, 17])))
    raw = data.draw(st.binary(min_size=size, max_size=size))
    rec = DPRecord(spec.dp, spec.type, raw)
    assert DPBinding(profile).readings([rec]) == [(spec.name, spec.to_value(rec.value))]
    other = DPType.RAW if spec.type is not DPType.RAW else DPType.BOOL
    binding = DPBinding(profile)
    assert binding.readings([DPRecord(spec.dp, other, b"\x01")]) == []  # another type: refused, counted
    assert binding.stats.type_mismatches == 1


@given(raw=st.integers(-(2**31), 2**32 - 1), digits=st.integers(1, 9))
@example(raw=2319, digits=1)  # 231.9 V: 2319 * 0.1 is 231.90000000000003 before rounding
@example(raw=-(2**31), digits=9)
def test_dividing_by_a_power_of_ten_is_rounding_the_scaled_value(raw: int, digits: int) -> None:
    """The binding's shortcut for scales 0.1, 0.01, …: the same float as the profile's own rounding."""
    scale = 10.0**-digits
    assert raw / 10**digits == round(raw * scale, digits)
