"""flash restore-config and flash inspect through the real command line, and a property test:
a restore never yields an image that fails validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvencode as kve
from e2e import run_cli
from tuyameter.flash.kv import read_store
from tuyameter.flash.restore import RestoreError, apply_restore, plan_restore, validate_result
from tuyameter.profiles import load_profile


def device(key: bytes, baud: bytes, mac: bytes, *, obk: bool = False, n: int = 6) -> bytes:
    s = kve.Store(device_key=key)
    s.put("baud_cfg", b'{"baud":' + baud + b"}")
    s.put("gw_di", json.dumps({"id": f"bf{key.hex()[:8]}", "pk": "z95s7p3z54xbsjnl"}).encode())
    s.put("gw_ai", json.dumps({"key": key.hex()[16:], "lckey": key.hex()[:16]}).encode())
    for i in range(n):
        s.put(f"v{i}", bytes([i]) * (200 * i + 1))
    return bytes(kve.full_dump(kve.config_region(s), mac=mac, obk_config=obk))


A = device(bytes(range(16)), b"9600", b"\x38\x1f\x8d\x00\x00\x01")
B = device(bytes(range(16, 32)), b"115200", b"\x38\x1f\x8d\x00\x00\x02", obk=True, n=14)


def test_restore_0x1d0000_to_end_validates_and_leaves_the_rest_identical(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.bin", tmp_path / "b.bin", tmp_path / "out.bin"
    a.write_bytes(A)
    b.write_bytes(B)
    args = [
        "flash",
        "restore-config",
        "--backup",
        str(a),
        "--into",
        str(b),
        "-o",
        str(out),
        "--range",
        "0x1D0000:0x200000",
    ]
    r = run_cli(*args)
    assert r.returncode == 2 and not out.exists(), "cloning the MAC and overwriting OBK config need --yes"
    assert "MAC 38:1f:8d:00:00:02 → 38:1f:8d:00:00:01" in r.stdout and "OpenBeken's own config" in r.stdout
    r = run_cli(*args, "--dry-run", "--json")
    rep = json.loads(r.stdout)
    assert r.returncode == 0 and rep["valid"] and rep["written"] is None and not out.exists()
    r = run_cli(*args, "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    res = out.read_bytes()
    assert res[:0x1D0000] == B[:0x1D0000] and res[0x1D0000:] == A[0x1D0000:]
    assert b.read_bytes() == B and a.read_bytes() == A, "inputs are never written"
    r = run_cli("flash", "inspect", str(out), "--json")
    info = json.loads(r.stdout)
    assert info["baud"] == 9600 and info["key_block"] == 0x1EE000 and not info["problems"]


def test_default_range_and_72k_backup(tmp_path: Path) -> None:
    cfg, b, out = tmp_path / "cfg.bin", tmp_path / "b.bin", tmp_path / "out.bin"
    cfg.write_bytes(A[0x1EE000:])
    b.write_bytes(B)
    r = run_cli("flash", "restore-config", "--backup", str(cfg), "--into", str(b), "-o", str(out), "--yes", "--json")
    rep = json.loads(r.stdout)
    assert r.returncode == 0 and rep["range"] == [0x1EE000, 0x200000] and rep["valid"]
    assert "another device (device id bf00010203 ≠ bf10111213)" in rep["needs_yes"][0]
    assert out.read_bytes()[:0x1EE000] == B[:0x1EE000] and out.read_bytes()[0x1EE000:] == A[0x1EE000:]
    assert set(rep["values"]["removed"]) >= {"v13"} and rep["values"]["changed"] == ["baud_cfg", "gw_ai", "gw_di"]


def test_refusals(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(A)
    b.write_bytes(B)
    r = run_cli("flash", "restore-config", "--backup", str(a), "--into", str(b), "-o", str(b), "--yes")
    assert r.returncode == 2 and "never writes in place" in r.stderr and b.read_bytes() == B
    r = run_cli("flash", "restore-config", "--backup", str(a), "--into", str(b), "-o", str(tmp_path / "o"),
                "--range", "0x1EE800:0x200000")  # fmt: skip
    assert r.returncode == 2 and "not aligned to 4 KB" in r.stderr
    r = run_cli("flash", "restore-config", "--backup", str(a), "--into", str(b), "-o", str(tmp_path / "o"),
                "--range", "0x1F0000:0x200000", "--yes")  # fmt: skip
    assert r.returncode == 2 and "REFUSED" in r.stdout and not (tmp_path / "o").exists()
    half = tmp_path / "half.bin"
    half.write_bytes(A[:0x100800])
    r = run_cli("flash", "restore-config", "--backup", str(half), "--into", str(b), "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and "whole 4 KB sectors" in r.stderr


def test_inspect_errors_and_profile(tmp_path: Path) -> None:
    erased, dump, prof = tmp_path / "erased.bin", tmp_path / "d.bin", tmp_path / "from_flash.yaml"
    erased.write_bytes(b"\xff" * 0x12000)
    r = run_cli("flash", "inspect", str(erased))
    assert r.returncode == 2 and "erased" in r.stderr
    r = run_cli("flash", "inspect", str(tmp_path / "missing.bin"))
    assert r.returncode == 2 and "cannot read" in r.stderr
    dump.write_bytes(A)
    r = run_cli("flash", "inspect", str(dump), "--profile", str(prof))
    assert r.returncode == 2 and "no DP schema" in r.stderr and not prof.exists()
    r = run_cli("flash", "inspect", str(dump))
    assert r.returncode == 0 and "9600 baud" in r.stdout and "--show-secrets to reveal" in r.stdout
    assert "000102030405060" not in r.stdout  # the local key is masked
    r = run_cli("flash", "inspect", str(dump), "--show-secrets")
    assert "0001020304050607" in r.stdout


def test_schema_becomes_a_profile(tmp_path: Path) -> None:
    from test_flash_kv import SCHEMA, build, meter_values

    dump, prof = tmp_path / "d.bin", tmp_path / "from_flash.yaml"
    _, region = build(meter_values())
    dump.write_bytes(bytes(kve.full_dump(region)))
    r = run_cli("flash", "inspect", str(dump), "--profile", str(prof))
    assert r.returncode == 0, r.stderr
    p = load_profile(prof)
    assert p.name == "from_flash" and "z95s7p3z54xbsjnl" in p.product_ids and p.baud == 9600
    by = p.by_dp()
    assert set(by) == {e["id"] for e in SCHEMA}
    assert by[101].name == "power_a" and by[101].raw_range == (0, 600000) and by[101].scale == 0.1
    assert by[102].options == {0: "forward", 1: "reverse"}
    assert by[129].access == "rw" and by[129].range == (3, 60)


_SECTORS = 0x200000 // 0x1000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0x1C0, _SECTORS - 1), st.integers(1, 0x40))
def test_a_restore_is_valid_or_refused(first: int, count: int) -> None:
    start, end = first * 0x1000, min(_SECTORS, first + count) * 0x1000
    try:
        plan = plan_restore(A, B, (start, end))
    except RestoreError:
        return
    result = apply_restore(plan, A, B)
    check = validate_result(result, plan, B)
    assert result[:start] == B[:start] and result[end:] == B[end:]
    if check.ok:  # what would be written holds the backup's store, intact
        st_ = read_store(result)
        assert {n: v.raw for n, v in st_.values.items()} == {n: v.raw for n, v in read_store(A).values.items()}
        assert all(v.crc_ok for v in st_.values.values())
    else:
        assert check.problems


SECRETS = {"lckey": "fedcba9876543210", "ble_beaconkey": "b" * 32, "auth_key": "A" * 32, "passwd": "hunter22hunter"}


def _real_shaped_dump(tmp_path: Path) -> Path:
    """As 11 of 24 public dumps: the local key as gw_ai.lckey, a BLE beacon key, no local key in gw_di."""
    from test_flash_kv import build

    values = {
        "baud_cfg": b'{"baud":9600}',
        "gw_bi": json.dumps({"uuid": "f00dfeed12345678", "auth_key": SECRETS["auth_key"]}).encode(),
        "gw_di": json.dumps({"id": "bf0123456789abcdefgh", "pk": "z95s7p3z54xbsjnl", "s_id": "x"}).encode(),
        "gw_ai": json.dumps(
            {"lckey": SECRETS["lckey"], "ble_beaconkey": SECRETS["ble_beaconkey"], "region": "eu"}
        ).encode(),
        "gw_wsm": json.dumps({"ssid": "home", "passwd": SECRETS["passwd"]}).encode(),
    }
    dump = tmp_path / "real.bin"
    dump.write_bytes(bytes(kve.full_dump(build(values)[1])))
    return dump


def test_local_key_from_gw_ai_and_no_secret_leaks_without_show_secrets(tmp_path: Path) -> None:
    dump = _real_shaped_dump(tmp_path)
    for args in ([], ["--values"], ["--json"], ["--values", "--json"]):
        r = run_cli("flash", "inspect", str(dump), *args)
        assert r.returncode == 0, r.stderr
        for name, secret in SECRETS.items():
            assert secret not in r.stdout, (args, name)  # masked everywhere, text and JSON
    rep = json.loads(run_cli("flash", "inspect", str(dump), "--json").stdout)
    assert rep["local_key_source"] == "gw_ai.lckey" and rep["local_key"].startswith("fe") and "*" in rep["local_key"]
    shown = run_cli("flash", "inspect", str(dump), "--values", "--json", "--show-secrets").stdout
    assert all(secret in shown for secret in SECRETS.values())
    human = run_cli("flash", "inspect", str(dump)).stdout
    assert "local key" in human and "gw_ai.lckey" in human and "--show-secrets to reveal" in human


def _inspect(tmp_path: Path, values: dict[str, bytes], *args: str) -> dict[str, Any]:
    from test_flash_kv import build

    dump = tmp_path / "dump.bin"
    dump.write_bytes(bytes(kve.full_dump(build(values)[1])))
    r = run_cli("flash", "inspect", str(dump), "--json", *args)
    assert r.returncode == 0, r.stderr
    return cast(dict[str, Any], json.loads(r.stdout))


def test_the_sec_key_beside_the_local_key_is_never_reported_as_the_local_key(tmp_path: Path) -> None:
    """gw_ai.key is TuyaOS's secKey (HTTP); only gw_ai.lckey opens the LAN protocol."""
    values = {
        "gw_di": json.dumps({"id": "bf0123456789abcdefgh", "pk": "z95s7p3z54xbsjnl"}).encode(),
        "gw_ai": json.dumps({"key": "5ec0de5ec0de5ec0", "lckey": "l0ca1l0ca1l0ca1k"}).encode(),
    }
    rep = _inspect(tmp_path, values, "--show-secrets")
    assert (rep["local_key"], rep["local_key_source"], rep["paired"]) == ("l0ca1l0ca1l0ca1k", "gw_ai.lckey", True)


def test_an_unpaired_backup_says_so_and_reports_no_key(tmp_path: Path) -> None:
    """As 13 of 24 public dumps: taken before pairing, so gw_ai's keys and gw_di.id are null."""
    values = {
        "gw_bi": json.dumps({"uuid": "f00dfeed12345678", "auth_key": "A" * 32}).encode(),
        "gw_di": json.dumps({"id": None, "pk": "z95s7p3z54xbsjnl"}).encode(),
        "gw_ai": json.dumps({"key": None, "lckey": None, "h_url": None}).encode(),
    }
    rep = _inspect(tmp_path, values, "--show-secrets")
    assert rep["local_key"] is None and rep["device_id"] is None and rep["paired"] is False
    dump = tmp_path / "dump.bin"
    human = run_cli("flash", "inspect", str(dump)).stdout
    assert "not paired when this backup was taken" in human


def test_local_key_and_device_id_from_a_connect_kit_activation_record(tmp_path: Path) -> None:
    """Tuya's connect kit / TuyaOpen keep the cloud's activation answer whole, under the uuid."""
    record = {"devId": "6c0123456789abcdefgh", "secKey": "5ec0de5ec0de5ec0", "localKey": "l0ca1l0ca1l0ca1k",
              "schemaId": "000001xyz", "stdTimeZone": "+01:00"}  # fmt: skip
    rep = _inspect(tmp_path, {"f00dfeed12345678": json.dumps(record).encode()}, "--show-secrets")
    assert rep["local_key"] == "l0ca1l0ca1l0ca1k" and rep["local_key_source"] == "f00dfeed12345678.localKey"
    assert rep["device_id"] == "6c0123456789abcdefgh" and rep["paired"] is True
    masked = _inspect(tmp_path, {"f00dfeed12345678": json.dumps(record).encode()}, "--values")
    assert "l0ca1l0ca1l0ca1k" not in json.dumps(masked) and "5ec0de5ec0de5ec0" not in json.dumps(masked)


def test_firmware_key_beside_the_product_key_and_no_tuyamcu_section_without_an_mcu(tmp_path: Path) -> None:
    from test_flash_kv import SCHEMA, build

    values = {  # a device with its DP schema but no TuyaMCU (no baud_cfg): a BL0942 plug, say
        "gw_di": json.dumps(
            {"id": "bf01", "pk": "keyaaaaaaaaaaaaa", "firmk": "keybbbbbbbbbbbbb", "s_id": "x"}
        ).encode(),
        "x": json.dumps(SCHEMA).encode(),
    }
    dump, prof = tmp_path / "plug.bin", tmp_path / "plug.yaml"
    dump.write_bytes(bytes(kve.full_dump(build(values)[1])))
    r = run_cli("flash", "inspect", str(dump), "--profile", str(prof))
    assert r.returncode == 0, r.stderr
    assert "product key  keyaaaaaaaaaaaaa" in r.stdout and "firmware key keybbbbbbbbbbbbb" in r.stdout
    assert "\ntuyamcu:" not in prof.read_text() and load_profile(prof).dps  # the DP bindings stay


def _dev(module: str, uuid: str, *, key: bytes = bytes(16), pk: str = "z95s7p3z54xbsjnl", gen: int = 0) -> bytes:
    """A store as real ones: many devices share one device key (all public BK7231T dumps did)."""
    s = kve.Store(device_key=key)
    s.put("baud_cfg", b'{"baud":9600}')
    s.put("user_param_key", json.dumps({"module": module, "tx_pin": 11}).encode())
    s.put("gw_bi", json.dumps({"uuid": uuid, "auth_key": uuid * 2}).encode())
    s.put("gw_di", json.dumps({"id": f"bf{uuid}", "pk": pk}).encode())
    s.put("counter", bytes([gen]) * 40)  # something that differs between two dumps of one device
    return bytes(kve.full_dump(kve.config_region(s)))


@pytest.mark.parametrize(
    ("backup", "target", "why"),
    [
        (_dev("CB2S", "aaaa1111"), _dev("CB2S", "bbbb2222"), "another device (uuid aaaa1111 ≠ bbbb2222)"),
        (_dev("WB2S", "aaaa1111"), _dev("CB2S", "aaaa1111"), "another chip family (BK7231T → BK7231N)"),
        (_dev("CB2S", "aaaa1111", pk="bulbbulbbulbbulb"), _dev("CB2S", "aaaa1111"), "another product"),
    ],
    ids=["two devices, one device key", "T config into an N image", "a bulb's config into a meter"],
)
def test_restore_of_another_device_module_or_chip_needs_yes(
    tmp_path: Path, backup: bytes, target: bytes, why: str
) -> None:
    b, t, out = tmp_path / "b.bin", tmp_path / "t.bin", tmp_path / "o.bin"
    b.write_bytes(backup)
    t.write_bytes(target)
    r = run_cli("flash", "restore-config", "--backup", str(b), "--into", str(t), "-o", str(out), "--json")
    rep = json.loads(r.stdout)
    assert r.returncode == 2 and not out.exists() and any(why in n for n in rep["needs_yes"]), rep["needs_yes"]


def test_restore_of_the_same_device_needs_no_yes(tmp_path: Path) -> None:
    b, t, out = tmp_path / "b.bin", tmp_path / "t.bin", tmp_path / "o.bin"
    b.write_bytes(_dev("CB2S", "aaaa1111", gen=1))
    t.write_bytes(_dev("CB2S", "aaaa1111", gen=2))
    r = run_cli("flash", "restore-config", "--backup", str(b), "--into", str(t), "-o", str(out), "--json")
    rep = json.loads(r.stdout)
    assert r.returncode == 0 and rep["needs_yes"] == [] and rep["valid"] and out.exists(), rep


def _store_at_0x1dd000(seed: int) -> bytes:
    """Some BK7231T layouts: the protected block, key block and 17 data sectors at 0x1DC000–0x1EF000,
    and other (non-erased) data after them up to the end of the flash."""
    full = bytearray(_dev("WB2S", f"cafe{seed:04d}", gen=seed))
    img = bytearray(full)
    img[0x1DC000:0x1EF000] = full[0x1ED000:0x200000]
    rnd = bytes((i * 37 + seed) & 0xFF for i in range(0x200000 - 0x1EF000))
    img[0x1EF000:] = rnd  # whatever else this firmware keeps there
    return bytes(img)


def test_store_at_0x1dd000_is_read_to_its_end_and_restored_by_default(tmp_path: Path) -> None:
    dump = tmp_path / "t.bin"
    dump.write_bytes(_store_at_0x1dd000(1))
    rep = json.loads(run_cli("flash", "inspect", str(dump), "--json").stdout)
    assert rep["key_block"] == 0x1DD000 and rep["problems"] == [], rep["problems"]  # no bogus sectors after it
    assert rep["device_id"] == "bfcafe0001"
    b, out = tmp_path / "b.bin", tmp_path / "o.bin"
    b.write_bytes(_store_at_0x1dd000(2))
    r = run_cli("flash", "restore-config", "--backup", str(b), "--into", str(dump), "-o", str(out), "--yes", "--json")
    plan = json.loads(r.stdout)
    assert r.returncode == 0 and plan["range"] == [0x1DC000, 0x1EF000] and plan["valid"], plan
    assert out.read_bytes()[0x1EF000:] == dump.read_bytes()[0x1EF000:]  # the data after the store is untouched
