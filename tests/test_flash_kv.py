"""Tuya KV store in flash dumps: synthetic stores from an independent encoder, bk7231tools as an
oracle, stale swap copies, damaged and foreign dumps, fuzzing."""

from __future__ import annotations

import json
import random

import pytest
from bk7231tools.analysis.kvstorage import KVStorage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kvencode as kve
from tuyameter.flash.kv import (
    ErasedError,
    FlashError,
    NoStoreError,
    OpenBekenConfigError,
    TruncatedError,
    UnknownKeyError,
    read_store,
)
from tuyameter.flash.summary import redact, summarize
from tuyameter.flash.values import parse_pseudo_json, parse_value

SCHEMA = [
    {"id": 101, "type": "obj", "mode": "ro", "property": {"type": "value", "min": 0, "max": 600000, "scale": 1}},
    {"id": 102, "type": "obj", "mode": "ro", "property": {"type": "enum", "range": ["forward", "reverse"]}},
    {"id": 129, "type": "obj", "mode": "rw", "property": {"type": "value", "min": 3, "max": 60, "scale": 0}},
]


def meter_values(extra: int = 0, seed: int = 1) -> dict[str, bytes]:
    rnd = random.Random(seed)
    vals = {
        "baud_cfg": b'{"baud":9600}',
        "gw_bi": json.dumps({"uuid": "f00dfeed12345678", "auth_key": "A" * 32, "ap_ssid": "SmartLife"}).encode(),
        "gw_di": json.dumps({"id": "bf0123456789abcdefgh", "pk": "z95s7p3z54xbsjnl", "s_id": "000001xyz"}).encode(),
        # TuyaOS's activation record: "key" is the secKey for HTTP, "lckey" the local key
        "gw_ai": json.dumps({"key": "5ec0de5ec0de5ec0", "lckey": "0123456789abcdef", "h_url": None}).encode(),
        "000001xyz": json.dumps(SCHEMA).encode(),
        "em_sys_env": b"eu",
        "binary_blob": bytes(rnd.randrange(256) for _ in range(700)),  # six pages
    }
    for i in range(extra):
        vals[f"filler_{i:03d}"] = bytes(rnd.randrange(32, 127) for _ in range(rnd.randrange(1, 1500)))
    return vals


def build(values: dict[str, bytes], **kw: object) -> tuple[kve.Store, bytearray]:
    s = kve.Store()
    for k, v in values.items():
        s.put(k, v)
    return s, kve.config_region(s, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", ["region", "full"])
def test_every_value_comes_back_exactly(layout: str) -> None:
    values = meter_values(extra=60)  # > 14 blocks: values span blocks, the store outgrows 0x8000 bytes
    s, region = build(values)
    assert len(s.blocks) > 8
    image = bytes(kve.full_dump(region) if layout == "full" else region)
    store = read_store(image)
    assert store.key_offset == (0x1EE000 if layout == "full" else 0)
    assert {n: v.raw for n, v in store.values.items()} == values
    assert all(v.crc_ok for v in store.values.values()) and not store.problems
    if layout == "full":
        assert store.protected_offsets == [0x1ED000]  # same magic, fails the key checksum


def test_bk7231tools_agrees_on_the_first_0x8000_bytes_and_we_read_the_rest() -> None:
    values = meter_values(extra=60)
    _, region = build(values)
    image = bytes(kve.full_dump(region))
    oracle = KVStorage.decrypt_and_unpack(image, find=True)
    theirs = oracle.read_all_values()
    ours = {n: v.raw for n, v in read_store(image).values.items()}
    assert len(theirs) > 10
    for name, raw in theirs.items():
        if all(p.block_id < 7 for p in oracle.indexes[name].parts_data):  # the oracle reads 7 data blocks
            assert ours[name] == raw, name
    assert set(ours) > set(theirs), "values in blocks beyond 0x8000 are ours alone"
    parsed = oracle.read_all_values_parsed()
    assert parse_value(ours["gw_di"]).value == parsed["gw_di"]
    assert parse_value(ours["000001xyz"]).value == parsed["000001xyz"] == SCHEMA


def test_the_highest_generation_wins_where_bk7231tools_keeps_a_stale_copy() -> None:
    old, new = kve.Store(), kve.Store()
    old.put("baud_cfg", b'{"baud":115200}')
    new.put("baud_cfg", b'{"baud":9600}')
    old.blocks[0].generation, new.blocks[0].generation = 4, 5
    # the stale copy sits at 0x1EF000, where a reader that keeps the first copy meets it first;
    # the current one was written to the swap area at 0x1FD000
    region = kve.config_region(
        new, extra=[(0x1000, new.encrypted(old.blocks[0])), (0xF000, new.encrypted(new.blocks[0]))]
    )
    image = bytes(kve.full_dump(region))
    store = read_store(image)
    assert store.values["baud_cfg"].raw == b'{"baud":9600}'
    assert store.blocks[0].offset == 0x1FD000 and [b.offset for b in store.stale] == [0x1EF000]
    # a swap copy is what a healthy store keeps: information, not a problem
    assert any("older copy of block 0" in n for n in store.notes) and not store.problems
    assert KVStorage.decrypt_and_unpack(image, find=True).read_all_values_parsed()["baud_cfg"] == {"baud": 115200}


def test_summary_tuyamcu_keys_schema_and_masking() -> None:
    _, region = build(meter_values())
    image = bytes(kve.full_dump(region))
    sm = summarize(read_store(image), image)
    assert sm.tuyamcu and sm.baud == 9600 and not sm.pins
    assert (sm.product_key, sm.local_key, sm.schema_key) == ("z95s7p3z54xbsjnl", "0123456789abcdef", "000001xyz")
    assert sm.schema == SCHEMA
    assert sm.chip == "BK7231N" and sm.chip_source == "firmware strings"
    assert sm.local_key_source == "gw_ai.lckey" and sm.device_id == "bf0123456789abcdefgh" and sm.paired
    masked = redact(sm.parsed["gw_ai"].value, show=False)
    assert "0123456789abcdef" not in masked["lckey"] and "5ec0de5ec0de5ec0" not in masked["key"]
    assert redact(sm.parsed["gw_di"].value, show=False)["pk"] == "z95s7p3z54xbsjnl"
    assert redact(sm.parsed["gw_bi"].value, show=False)["auth_key"].count("*") >= 28


def test_pin_map_from_tuya_pseudo_json() -> None:
    upk = b"{Jsonver:1.1.8,module:WB2S,rl1_pin:6,bt1_pin:8,netled1_pin:7,ele_pin:24,vi_pin:26,sel_pin_pin:11,crc:59,}"
    _, region = build({"user_param_key": upk})
    sm = summarize(read_store(bytes(region)))
    assert not sm.tuyamcu and sm.module == "WB2S" and sm.chip == "BK7231T"
    assert sm.pins[6] == ["relay 1 (rl1_pin)"] and sm.pins[24][0].startswith("BL0937 CF")
    assert sm.parsed["user_param_key"].kind == "tuya-json"
    assert sm.parsed["user_param_key"].value["Jsonver"] == "1.1.8"


def test_clear_errors_for_files_without_a_store() -> None:
    with pytest.raises(ErasedError):
        read_store(b"\xff" * 0x12000)
    with pytest.raises(OpenBekenConfigError):
        read_store(b"CFG\x05" + bytes(4092))
    with pytest.raises(NoStoreError):
        read_store(random.Random(3).randbytes(0x12000))
    _, region = build(meter_values())
    img = kve.full_dump(region)
    img[0x1EE000:] = b"\xff" * 0x12000
    with pytest.raises(ErasedError, match="0x1EE000"):
        read_store(bytes(img))
    with pytest.raises(TruncatedError):
        read_store(bytes(kve.full_dump(region))[:0x180000])
    with pytest.raises(TruncatedError):
        read_store(b"")


def test_other_chip_family_is_named() -> None:
    _, region = build(meter_values(), p1=b"8721D")
    with pytest.raises(UnknownKeyError, match="RTL8720D"):
        read_store(bytes(region))


def test_truncated_and_corrupted_dumps_keep_what_is_intact() -> None:
    values = meter_values(extra=40)
    _, region = build(values)
    cut = bytes(region[: 0x1000 * 4 + 0x800])  # key + 3 data blocks and half of the 4th
    store = read_store(cut)
    assert any("truncated" in p for p in store.problems)
    assert store.values["baud_cfg"].raw == values["baud_cfg"]
    lost = [n for n, v in store.values.items() if v.raw is None]
    assert lost and all(store.values[n].raw == values[n] for n in store.values if n not in lost)
    bad = bytearray(region)
    bad[0x2000 + 700] ^= 0x40  # one bit in data block 1
    bad[0x3000 + 3] ^= 0x01  # and one in the header of block 2
    store = read_store(bytes(bad))
    assert any("data block 1 fails its checksum" in p for p in store.problems)
    assert any(p.startswith("0x003000: neither erased nor a data block") for p in store.problems)
    assert 1 not in store.blocks and 2 not in store.blocks and store.values["gw_bi"].raw == values["gw_bi"]


_REGION = bytes(build(meter_values(extra=20))[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(0, len(_REGION)),
    flips=st.lists(st.tuples(st.integers(0, len(_REGION) - 1), st.integers(1, 255)), max_size=8),
    junk=st.binary(max_size=64),
)
def test_fuzzed_dumps_never_crash(cut: int, flips: list[tuple[int, int]], junk: bytes) -> None:
    data = bytearray(_REGION[:cut]) + junk
    for pos, x in flips:
        if pos < len(data):
            data[pos] ^= x
    try:
        store = read_store(bytes(data))
    except FlashError as e:
        assert str(e) and e.kind
        return
    sm = summarize(store, bytes(data))
    assert isinstance(sm.parsed, dict)


@given(st.binary(max_size=300))
def test_value_parser_never_raises(raw: bytes) -> None:
    assert parse_value(raw).kind in ("json", "tuya-json", "text", "binary")


_token = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@given(
    st.dictionaries(
        _token,
        st.one_of(st.integers(0, 10**6), _token.filter(lambda t: t not in ("true", "false", "null"))),
        min_size=1,
    )
)
def test_pseudo_json_round_trip(d: dict[str, object]) -> None:
    text = "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
    assert parse_pseudo_json(text) == d


def test_every_pin_is_kept_even_of_an_unknown_layout() -> None:
    upk = {"module": "CB2S", "k1_pin": 6, "iic_scl": 7, "iic_sda": 8, "samp_sw": 9, "ctrl_pin": 14, "ch1_pin": 24,
           "rl1_pin": 26, "rl1_lv": 1}  # fmt: skip
    _, region = build(meter_values() | {"user_param_key": json.dumps(upk).encode()})
    sm = summarize(read_store(bytes(region)))
    roles = {pin: " / ".join(r) for pin, r in sm.pins.items()}
    assert roles == {6: "pin (k1_pin)", 7: "I2C scl (iic_scl)", 8: "I2C sda (iic_sda)", 9: "sampling (samp_sw)",
                     14: "control (ctrl_pin)", 24: "PWM ch1 (ch1_pin)", 26: "relay 1 (rl1_pin)"}  # fmt: skip


def test_json_scalars_keep_their_json_types() -> None:
    from tuyameter.flash.values import parse_value

    assert [parse_value(v).value for v in (b"123", b"-1.5", b"true", b"false", b"null")] == [
        123,
        -1.5,
        True,
        False,
        None,
    ]
    assert parse_value(b"eu").kind == "text" and parse_value(b"007").kind == "text"  # not a JSON number
