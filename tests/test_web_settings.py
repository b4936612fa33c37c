"""Where the web page listens and who may use it: addresses, tokens, the config's `web:` section
(errors with file and line) and the command line (a clear refusal, never a half-open page)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e2e import run_cli
from tuyameter.config import load_config
from tuyameter.util.yamlfile import YamlFileError
from tuyameter.web.settings import WebSettingsError, parse_listen, read_token, web_settings

TOKEN = "0123456789abcdef-token"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:9", ("0.0.0.0", 9)),
        (":7000", ("127.0.0.1", 7000)),
        ("localhost", ("localhost", 8080)),
        ("[::1]:8081", ("::1", 8081)),
        ("[::]", ("::", 8080)),
    ],
)
def test_addresses(text: str, want: tuple[str, int]) -> None:
    assert parse_listen(text) == want


@pytest.mark.parametrize("text", ["::1:80", "[::1", "[::1]x", "host:port", "host:70000", "h:-1"])
def test_bad_addresses_say_why(text: str) -> None:
    with pytest.raises(WebSettingsError, match="web address"):
        parse_listen(text)


@given(st.text(max_size=40))
def test_no_address_text_crashes(text: str) -> None:
    try:
        host, port = parse_listen(text)
    except WebSettingsError:
        return
    assert 0 <= port <= 65535 and host


def test_loopback_needs_no_token_anywhere_else_needs_one() -> None:
    assert web_settings("127.0.0.1:0").loopback and web_settings("[::1]:0").loopback
    for elsewhere in ("0.0.0.0:8080", "192.0.2.1:80", "[::]:80", "meter-host:80"):
        with pytest.raises(WebSettingsError, match="needs a token"):
            web_settings(elsewhere)
        assert not web_settings(elsewhere, TOKEN).loopback
    with pytest.raises(WebSettingsError, match="at least 16"):
        web_settings("127.0.0.1:0", "short")
    assert TOKEN not in repr(web_settings("0.0.0.0:1", TOKEN))


def test_the_token_comes_from_a_file_or_a_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t").write_text(TOKEN + "\nsecond line\n")
    assert read_token(token_file=tmp_path / "t") == TOKEN
    monkeypatch.setenv("WEB_T", TOKEN)
    assert read_token(token_env="WEB_T") == TOKEN
    with pytest.raises(WebSettingsError, match="not set"):
        read_token(token_env="NOPE_NOT_SET")
    with pytest.raises(WebSettingsError, match="token file"):
        read_token(token_file=tmp_path / "missing")


def test_the_config_section(tmp_path: Path) -> None:
    (tmp_path / "web.token").write_text(TOKEN)
    f = tmp_path / "c.yaml"
    f.write_text("meters:\n  - {id: a, url: x}\nweb:\n  listen: 0.0.0.0:8099\n  token_file: web.token\n")
    web = load_config(f).web
    assert web is not None and (web.host, web.port, web.token) == ("0.0.0.0", 8099, TOKEN)
    for text, line, says in [
        ("web:\n  listen: 0.0.0.0:8099\n", 3, "needs a token"),
        ("web:\n  listen: 'h:x'\n", 4, "the port must be"),
        ("web:\n  listen: ':1'\n  token_file: a\n  token_env: B\n", 5, "not both"),
        ("web:\n  port: 1\n", 4, "unknown key 'port'"),
    ]:
        f.write_text("meters:\n  - {id: a, url: x}\n" + text)
        with pytest.raises(YamlFileError) as ei:
            load_config(f)
        assert str(ei.value).startswith(f"{f}:{line}:") and says in str(ei.value), str(ei.value)


def test_run_refuses_a_page_it_cannot_serve_safely_or_at_all() -> None:
    r = run_cli("run", "sim://pj1103a", "--no-store", "--web", "0.0.0.0:0", "--duration", "5")
    assert r.returncode == 2 and "needs a token" in r.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli("run", "sim://pj1103a", "--no-store", "--web", f"127.0.0.1:{port}", "--duration", "5")
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr


@given(st.lists(st.floats(-30000, 30000, allow_nan=False), min_size=1, max_size=12), st.integers(1, 5))
def test_power_steps_keep_the_mean_between_min_and_max(values: list[float], repeat: int) -> None:
    import tempfile

    from tuyameter.store.base import Record
    from tuyameter.store.sqlite import SqliteStore
    from tuyameter.web.history import power

    with tempfile.TemporaryDirectory() as tmp:
        s = SqliteStore(Path(tmp) / "p.db")
        t0 = 1_800_000_000.0
        recs = [Record("m", t0 + 7 * i, {}, {}, {}, {"power_a": v}) for i, v in enumerate(values * repeat)]
        s.record_many(recs)
        got = power(s, "m", t0 - 60, t0 + 7 * len(recs) + 60, 10)
        s.close()
    a = got["series"]["power_a"]  # type: ignore[index]
    for lo, avg, hi in zip(a["min"], a["avg"], a["max"], strict=True):
        assert lo is None or lo <= avg <= hi
    assert min(v for v in a["min"] if v is not None) == round(min(values), 3)
