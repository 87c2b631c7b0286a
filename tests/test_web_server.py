"""The panel as the daemon runs it: waitress on a real socket, config, CLI, start without a
passphrase."""
from __future__ import annotations

import http.client
import io
import json
import os
import socket
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.__main__ import main
from appliance.schema import Problems
from appliance.session import commands
from appliance.web import adapter
from appliance.web.config import WebConfig, parse
from appliance.web.secrets_store import PASSPHRASE_FILE, Credentials, set_passphrase

from .conftest import PANEL_PASSPHRASE, adapter_context, write_config


# --- config ----------------------------------------------------------------------------------


@pytest.mark.fast
def test_no_web_section_means_no_panel_and_disabled_means_off():
    problems = Problems()
    assert parse({}, problems, None) is None
    assert parse({"web": {"enabled": False}}, problems, None) is None
    assert parse({"web": {}}, problems, None) == WebConfig()
    assert problems == []


@pytest.mark.fast
def test_every_web_config_problem_is_reported_at_once():
    problems = Problems()
    parse({"web": {"port": 70000, "sesion_hours": 2, "host": "my host", "threads": 8,
                   "secure_cookies": "yes"}}, problems, None)
    assert "web.port: must be between 0 and 65535, not 70000" in problems
    assert "web.sesion_hours: unknown key (did you mean 'session_hours'?)" in problems
    assert any(p.startswith("web.host: not an address") for p in problems)
    assert any(p.startswith("web.threads: 8 is too few") for p in problems)
    assert any(p.startswith("web.secure_cookies: must be true or false") for p in problems)


# --- appliance set-passphrase / api-token -------------------------------------------------------

@pytest.fixture
def config_file(tmp_path, tones):
    return write_config(tmp_path / "room", tones)


def _run(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.fast
def test_set_passphrase_stores_only_a_salted_hash_readable_by_the_owner(
        config_file, monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, ["set-passphrase", "--config", str(config_file)],
                        "blue whale song\n")
    assert code == 0 and "scrypt" in out
    stored = config_file.parent / "state" / PASSPHRASE_FILE
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    text = stored.read_text()
    assert "blue whale" not in text and json.loads(text)["kdf"] == "scrypt"
    credentials = Credentials(stored.parent)
    assert credentials.check_passphrase("blue whale song")
    assert not credentials.check_passphrase("blue whale song ")
    assert not [p for p in stored.parent.iterdir() if p.name.endswith(".tmp")]
    first_salt = json.loads(text)["salt"]
    _run(monkeypatch, capsys, ["set-passphrase", "--config", str(config_file)], "blue whale song\n")
    assert json.loads(stored.read_text())["salt"] != first_salt, "a new salt every time"


@pytest.mark.parametrize("weak, says", [
    ("123456", "at least 10 characters (this one has 6)"),
    ("1234567890", "too weak: this is a top-100 common password"),
    ("password1234", "too weak: this is a very common password"),
    ("test-room-2024", "too weak"),     # the room's own id, and a year
    ("aaaaaaaaaaaaaaaa", "too weak: repeats like \"aaa\" are easy to guess"),
])
@pytest.mark.fast
def test_a_weak_passphrase_is_refused_saying_why_and_the_old_one_kept(
        config_file, monkeypatch, capsys, weak, says):
    _run(monkeypatch, capsys, ["set-passphrase", "--config", str(config_file)],
         "lantern orbit maple\n")
    code, _, err = _run(monkeypatch, capsys, ["set-passphrase", "--config", str(config_file)],
                        weak + "\n")
    assert code == 1 and says in err and "nothing changed" in err, err
    assert Credentials(config_file.parent / "state").check_passphrase("lantern orbit maple")


@pytest.mark.fast
def test_the_passphrase_setup_sh_makes_is_always_strong_enough():
    import re
    import secrets

    from appliance.web.secrets_store import check_new_passphrase
    script = (Path(__file__).resolve().parent.parent / "setup.sh").read_text()
    found = re.search(r'a="([a-z0-9]+)"', script)  # the alphabet of panel_passphrase
    assert found, "setup.sh's panel_passphrase changed: update this test"
    alphabet = found.group(1)
    for _ in range(300):
        made = "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        assert check_new_passphrase(made) == made


@pytest.mark.fast
def test_api_token_is_printed_once_and_stored_hashed(config_file, monkeypatch, capsys):
    code, out, err = _run(monkeypatch, capsys, ["api-token", "--config", str(config_file)])
    token = out.strip()
    assert code == 0 and len(token) >= 40 and "Bearer" in err
    state = config_file.parent / "state"
    assert token not in (state / "web-token.json").read_text()
    assert Credentials(state).check_token(token)
    code, out, _ = _run(monkeypatch, capsys, ["api-token", "--revoke", "--config",
                                              str(config_file)])
    assert code == 0 and "revoked" in out and not Credentials(state).check_token(token)


# --- the adapter -----------------------------------------------------------------------------

def _context(engine, state_dir, **web):
    """What the daemon hands the panel, with state in `state_dir`."""
    context = adapter_context(engine, "web", WebConfig(host="127.0.0.1", port=0, **web),
                              state_dir.parent)
    return replace(context, room=replace(context.room, state_dir=state_dir))


@pytest.mark.slow
def test_without_a_passphrase_the_panel_says_why_and_takes_one_set_while_running(
        web_panel, tmp_path, caplog):
    engine = web_panel().engine
    state = tmp_path / "empty-state"
    made = adapter.create(_context(engine, state))
    assert made is not None, "the panel runs without a passphrase and says why"
    try:
        panel = made.panel
        assert "set-passphrase" in caplog.text
        _wait(lambda: "no passphrase set" in engine.status().faults.get("web", ""))
        status, body, _ = _request(panel, "POST", "/api/login", json.dumps(
            {"passphrase": PANEL_PASSPHRASE}), {"Content-Type": "application/json"})
        assert status == 503 and "no passphrase set" in json.loads(body)["error"]
        assert engine.submit(commands.Ambient()).wait()  # the rest of the appliance runs on
        assert engine.status().phase == "ambient"
        set_passphrase(state, PANEL_PASSPHRASE)  # what `appliance set-passphrase` does
        _wait(lambda: "web" not in engine.status().faults)  # the fault clears by itself
        status, body, _ = _request(panel, "POST", "/api/login", json.dumps(
            {"passphrase": PANEL_PASSPHRASE}), {"Content-Type": "application/json"})
        assert status == 200 and "csrf" in json.loads(body)
    finally:
        made.stop()


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def served(web_panel):
    """The panel served by waitress on a free loopback port."""
    made = []

    def make(**web):
        panel_env = web_panel()
        panel = adapter.create(_context(panel_env.engine, panel_env.state_dir, **web))
        assert panel is not None
        panel.start()
        made.append(panel)
        return panel.panel
    yield make
    for panel in made:
        panel.stop()


def _request(panel, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(panel.host, panel.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.read(), answer
    finally:
        conn.close()


@pytest.mark.fast
def test_waitress_serves_the_page_and_stops_cleanly(served):
    panel = served()
    status, body, _ = _request(panel, "GET", "/")
    assert status == 200 and b"Receptive" in body
    status, body, _ = _request(panel, "POST", "/api/login",
                               json.dumps({"passphrase": PANEL_PASSPHRASE}),
                               {"Content-Type": "application/json"})
    assert status == 200 and "csrf" in json.loads(body)
    panel.stop()
    with pytest.raises(OSError):
        socket.create_connection((panel.host, panel.port), timeout=1).close()


@pytest.mark.fast
def test_waitress_refuses_a_huge_body_before_the_app_reads_it(served):
    panel = served()
    with socket.create_connection((panel.host, panel.port), timeout=5) as s:
        s.sendall(b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\n\r\n" + b"{" * 20000)
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413")


@pytest.mark.slow
def test_a_client_trickling_bytes_is_dropped_while_others_are_served(served):
    panel = served(request_timeout_s=1)
    slow = socket.create_connection((panel.host, panel.port), timeout=5)
    request = b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
    dropped_after = None
    started = time.monotonic()
    try:
        for i, byte in enumerate(request):
            try:
                slow.send(bytes([byte]))
            except OSError:
                dropped_after = time.monotonic() - started
                break
            if i % 3 == 0:  # meanwhile a normal phone is answered at once
                status, _, _ = _request(panel, "GET", "/api/status")
                assert status == 401
            time.sleep(0.1)
            slow.setblocking(False)
            try:
                if slow.recv(1) == b"":
                    dropped_after = time.monotonic() - started
                    break
            except BlockingIOError:
                pass
            finally:
                slow.setblocking(True)
    finally:
        slow.close()
    assert dropped_after is not None, "the slow client was never dropped"
    assert dropped_after < 5


@pytest.mark.fast
def test_the_panel_stops_promptly_with_a_live_page_open(served):
    panel = served()
    status, body, answer = _request(panel, "POST", "/api/login",
                                    json.dumps({"passphrase": PANEL_PASSPHRASE}),
                                    {"Content-Type": "application/json"})
    cookie = "; ".join(h.split(";", 1)[0] for h in answer.headers.get_all("Set-Cookie"))
    conn = http.client.HTTPConnection(panel.host, panel.port, timeout=5)
    try:
        conn.request("GET", "/api/events", headers={"Cookie": cookie})
        stream = conn.getresponse()
        assert stream.status == 200 and stream.read1(200).startswith(b"retry:")
        assert isinstance(panel.port, int)
        started = time.monotonic()
        panel.stop()
        assert time.monotonic() - started < 2.0, "a live page held the shutdown up"
        rest = stream.read()  # the stream ends instead of hanging
        assert rest == b"" or rest.endswith(b"\n\n")
    finally:
        conn.close()


@pytest.mark.fast
def test_a_port_in_use_is_reported_and_the_room_runs_on(web_panel):
    env = web_panel()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        context = replace(_context(env.engine, env.state_dir),
                          config=WebConfig(host="127.0.0.1", port=taken.getsockname()[1]))
        assert adapter.create(context) is None
    deadline = time.monotonic() + 5
    while "web" not in env.engine.status().faults and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "cannot listen on 127.0.0.1:" in env.engine.status().faults["web"]
    assert env.engine.submit(commands.Ambient()).wait()
    assert env.engine.status().phase == "ambient"
