"""Tuya LAN frames and payloads: our codec against tinytuya's (an independent implementation), both ways,
for every version; the stream decoder on garbage and on any chunking (hypothesis)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st
from tinytuya.core import message_helper as tt_msg
from tinytuya.core.XenonDevice import XenonDevice

from tuyameter.tuyalan.codec import Codec
from tuyameter.tuyalan.constants import UDP_KEY, Command
from tuyameter.tuyalan.crypto import AesKey, CryptoError
from tuyameter.tuyalan.discovery import announcement, app_request, parse_datagram
from tuyameter.tuyalan.envelope import session_key
from tuyameter.tuyalan.frame import FrameDecoder, FrameError

KEY = b"0123456789abcdef"
VERSIONS = ("3.1", "3.3", "3.4", "3.5")


def tinytuya_device(version: str, key: bytes = KEY, session: bytes | None = None) -> XenonDevice:
    d = XenonDevice("bf0123456789abcdefghij", "127.0.0.1", key.decode(), version=float(version))
    d.local_key = session or key  # as after its own negotiation
    return d


@pytest.mark.parametrize("version", VERSIONS)
def test_device_frames_open_in_tinytuya(version: str) -> None:
    dev = Codec(version, KEY, "device")
    if version in ("3.4", "3.5"):
        dev.session_key = b"S" * 16
    body = {"devId": "bf01", "dps": {"101": 5234, "102": "forward", "103": False}, "t": 1}
    frame = dev.pack(Command.STATUS, body)
    tt = tinytuya_device(version, session=dev.session_key)
    msg = tt_msg.unpack_message(frame, hmac_key=dev.session_key if version in ("3.4", "3.5") else None)
    assert msg.crc_good and msg.retcode == 0 and msg.cmd == Command.STATUS
    assert tt._decode_payload(msg.payload) == body


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cmd", [Command.CONTROL, Command.DP_QUERY, Command.HEART_BEAT, Command.UPDATEDPS])
def test_tinytuya_frames_open_in_our_codec(version: str, cmd: Command) -> None:
    session = b"T" * 16 if version in ("3.4", "3.5") else None
    tt = tinytuya_device(version, session=session)
    data = {"129": 5} if cmd == Command.CONTROL else [101, 112] if cmd == Command.UPDATEDPS else None
    frame = tt._encode_message(tt.generate_payload(cmd, data))
    dev = Codec(version, KEY, "device")
    dev.session_key = session
    (raw,) = FrameDecoder().feed(frame)
    m = dev.unpack(raw)
    expect = tt.generate_payload(cmd, data)
    assert m.cmd == expect.cmd
    sent, got = json.loads(expect.payload), m.data
    sent.pop("t", None), got.pop("t", None)
    assert got == sent


@pytest.mark.parametrize("version", ("3.4", "3.5"))
def test_session_key_matches_tinytuyas(version: str) -> None:
    tt = tinytuya_device(version)
    tt.real_local_key = KEY
    tt._negotiate_session_key_generate_step_1()
    device_nonce = bytes(range(16))
    tt.remote_nonce = device_nonce
    tt._negotiate_session_key_generate_finalize()
    assert tt.local_key == session_key(version, KEY, tt.local_nonce, device_nonce)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_key_never_opens_quietly(version: str) -> None:
    dev, client = Codec(version, KEY, "device"), Codec(version, b"x" * 16, "client")
    (raw,) = FrameDecoder().feed(dev.pack(Command.STATUS, {"dps": {"1": True}}))
    if version == "3.1":  # 3.1 seals STATUS in its base64 envelope: the key is checked there
        with pytest.raises(CryptoError):
            client.unpack(raw)
        return
    with pytest.raises((FrameError, CryptoError)):
        client.unpack(raw)


@pytest.mark.parametrize("version", VERSIONS)
def test_discovery_datagrams_read_by_tinytuya_and_by_us(version: str) -> None:
    from tinytuya.core.udp_helper import decrypt_udp

    info = {"ip": "127.0.0.1", "gwId": "bf01", "productKey": "z95s7p3z54xbsjnl", "version": version}
    data = announcement(info, version)
    assert json.loads(decrypt_udp(data)) == info
    assert parse_datagram(data) == info
    assert parse_datagram(app_request("127.0.0.1")) == {"from": "app", "ip": "127.0.0.1"}
    assert UDP_KEY.hex() == "6c1ec8e2bb9bb59ab50b0daf649b410a"


FRAMES = [Codec(v, KEY, "device").pack(Command.STATUS, {"dps": {"1": i}}) for i, v in enumerate(VERSIONS * 2)]


@given(
    garbage=st.lists(st.binary(max_size=40), min_size=len(FRAMES) + 1, max_size=len(FRAMES) + 1),
    cuts=st.lists(st.integers(min_value=1, max_value=97), max_size=30),
)
def test_frames_survive_garbage_and_any_chunking(garbage: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(g.replace(b"\x00\x00U\xaa", b"").replace(b"\x00\x00f\x99", b"") + f
                      for g, f in zip(garbage, [*FRAMES, b""], strict=True))  # fmt: skip
    dec, got, i = FrameDecoder(), [], 0
    for c in cuts:
        got += dec.feed(stream[i : i + c])
        i += c
    got += dec.feed(stream[i:])
    assert [r.data for r in got] == FRAMES


@given(st.binary(max_size=3000))
def test_the_decoder_never_crashes_and_keeps_its_buffer_bounded(data: bytes) -> None:
    dec = FrameDecoder()
    for r in dec.feed(data):
        for version in VERSIONS:  # opening anything must fail cleanly, never crash
            for role in ("client", "device"):
                with contextlib.suppress(FrameError, CryptoError):
                    Codec(version, KEY, role).unpack(r)
    assert dec.pending <= max(3, len(data))


@given(st.lists(st.binary(max_size=100), min_size=1, max_size=8), st.binary(max_size=40))
def test_a_key_used_message_after_message_encrypts_as_a_fresh_cipher_would(bodies: list[bytes], junk: bytes) -> None:
    """A connection's key keeps its cipher contexts for every message: nothing may carry from one
    message to the next, not even after a decryption of bytes that are not whole blocks."""
    k = AesKey(KEY)
    for body in bodies:
        with contextlib.suppress(CryptoError):
            k.ecb_decrypt(junk)
        padder = padding.PKCS7(128).padder()
        fresh = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor()
        assert k.ecb_encrypt(body) == fresh.update(padder.update(body) + padder.finalize()) + fresh.finalize()
        assert k.ecb_decrypt(k.ecb_encrypt(body)) == body
        assert k.hmac_sha256(body) == hmac.new(KEY, body, hashlib.sha256).digest()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_long_connection_s_frames_all_open_in_tinytuya(version: str) -> None:
    """Many frames from one codec (its contexts and its once-sealed heartbeats reused), each opened by tinytuya."""
    dev = Codec(version, KEY, "device")
    if version in ("3.4", "3.5"):
        dev.session_key = b"S" * 16
    tt_key = dev.session_key if version in ("3.4", "3.5") else None
    tt = tinytuya_device(version, session=dev.session_key)
    for i in range(12):
        cmd = (Command.STATUS, Command.HEART_BEAT, Command.UPDATEDPS)[i % 3]
        body = {"dps": {"101": i * 997, "102": "x" * i}} if cmd == Command.STATUS else {"gwId": "bf01"}
        m = tt_msg.unpack_message(dev.pack(cmd, body), hmac_key=tt_key)
        assert m.crc_good and m.cmd == cmd and m.seqno == i + 1
        if cmd == Command.STATUS or version != "3.1":
            assert tt._decode_payload(m.payload) == body


@given(st.binary(max_size=600))
def test_discovery_parsing_never_crashes(data: bytes) -> None:
    assert parse_datagram(data) is None or isinstance(parse_datagram(data), dict)


# -- published captures: bytes real devices sent, decoded by our codec ---------------------------------

# A 3.1 STATUS body from a real device with its local key, published as a test vector by tuyapi
# (codetheweb/tuyapi, test/cipher.js): "3.1", the MD5 signature, then base64 of AES-ECB.
V31_KEY = b"bbe88b3f4106d354"
V31_BODY = (b"3.133ed3d4a21effe90zrA8OK3r3JMiUXpXDWauNppY4Am2c8rZ6sb4Yf15MjM8n5ByDx+QWeCZtcrPqddxLrhm906bSKbQ"
            b"AFtT1uCp+zP5AxlqJf5d0Pp2OxyXyjg=")  # fmt: skip


def test_a_published_31_device_payload_opens_and_reseals_byte_for_byte() -> None:
    from tuyameter.tuyalan.envelope import seal, unseal

    body = unseal("3.1", V31_BODY, V31_KEY)
    assert json.loads(body) == {"devId": "002004265ccf7fb1b659", "dps": {"1": False, "2": 0}, "t": 1529442366, "s": 8}
    assert seal("3.1", Command.STATUS, body, V31_KEY) == V31_BODY  # ECB and the signature are deterministic
    raw = FrameDecoder().feed(Codec("3.1", V31_KEY, "device").pack(Command.STATUS, body))[0]
    assert Codec("3.1", V31_KEY, "client").unpack(raw).data["dps"] == {"1": False, "2": 0}
    tampered = V31_BODY[:3] + b"0" * 16 + V31_BODY[19:]
    with pytest.raises(CryptoError, match="signature"):
        unseal("3.1", tampered, V31_KEY)
    with pytest.raises(CryptoError, match="signature"):  # a wrong key is caught by the signature first
        unseal("3.1", V31_BODY, b"0123456789abcdef")


# 3.3 frames captured from a real device (a weather station) and published with their layout in
# iot-pwn/weather-or-not's README (no key given): two STATUS pushes and a CONTROL error answer.
# Their CRC32s are the device's own; its "3.3" header carries non-zero bytes where our emulator
# sends zeros, which the codec must skip all the same.
CAPTURED_33 = [
    "000055aa00000000000000080000004b00000000332e33000000000000bff900000001a2ec212cfc0b56f9f9ffcf338f1a9cc2"
    "28f97f4fe589aa05ff40797a138a0870315db88089aea73b6dd13375727aaccad788fb8b0000aa55",
    "000055aa00000000000000080000004b00000000332e33000000000000bffa00000001a2ec212cfc0b56f9f9ffcf338f1a9cc2"
    "2117e4915d5a15c784357e3d522e915d315db88089aea73b6dd13375727aacca409c13c60000aa55",
    "000055aa00000000000000070000002c000000012b30e2733dd33074a5be9f3b9b25f56f56f1410f434c43ba2c456809d7cfcc57"
    "e6dc94740000aa55",
]


def test_published_33_device_frames_split_and_verify() -> None:
    from tuyameter.tuyalan.frame import open_frame

    stream = bytes.fromhex("".join(CAPTURED_33))
    dec = FrameDecoder()
    raws = [r for i in range(0, len(stream), 7) for r in dec.feed(stream[i : i + 7])]  # any chunking
    packets = [open_frame(r, None, hmac=False, has_retcode=True) for r in raws]
    assert [(p.cmd, p.retcode, len(p.payload)) for p in packets] == [(8, 0, 63), (8, 0, 63), (7, 1, 32)]
    assert all(p.payload.startswith(b"3.3") for p in packets[:2])
    flipped = bytearray(bytes.fromhex(CAPTURED_33[0]))
    flipped[40] ^= 1
    with pytest.raises(FrameError, match="CRC32"):
        open_frame(FrameDecoder().feed(bytes(flipped))[0], None, hmac=False, has_retcode=True)
    # the payload under a key that is not the device's: refused, never read as data
    with pytest.raises(CryptoError):
        Codec("3.3", KEY, "client").unpack(raws[0])
