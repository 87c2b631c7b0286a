"""The attacks of issue 11 on the panel, through Flask's test client (clock injected): a page
that rebinds its DNS name to the box, guessing from many addresses, filling the session table,
a phone left logged in, cookies for another port."""
from __future__ import annotations

import logging
import re
import socket

import pytest

from appliance.web import guard, logins

from .conftest import PANEL_PASSPHRASE
from .test_web_api import login, post



def _client(web, address, base_url="http://localhost"):
    client = web.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.base = base_url
    return client


def _login(client, passphrase):
    return client.post("/api/login", json={"passphrase": passphrase}, base_url=client.base)


# --- DNS rebinding: the Host allow-list ----------------------------------------------------------

EVIL = {"Host": "evil.example:8080", "Origin": "http://evil.example:8080"}


@pytest.mark.fast
def test_a_foreign_host_is_refused_before_any_route_even_with_a_matching_origin(web_panel):
    web = web_panel()
    csrf = login(web.client)  # the phone is logged in; its cookie goes along with the attack
    for method, path in (("GET", "/"), ("GET", "/static/app.js"), ("GET", "/api/status"),
                         ("POST", "/api/commands/welcome"), ("GET", "/no/such/page"),
                         ("GET", "//")):
        answer = web.client.open(path, method=method, json={},
                                 headers={**EVIL, "X-CSRF-Token": csrf})
        assert answer.status_code == 421, (method, path)
        assert "allowed_hosts" in answer.json["error"]
        assert "Location" not in answer.headers
    guess = web.client.post("/api/login", json={"passphrase": PANEL_PASSPHRASE}, headers=EVIL)
    assert guess.status_code == 421 and "Set-Cookie" not in guess.headers
    assert web.engine.status().phase == "idle" and web.audio.played == []


def _answer(client, host) -> int:
    with client.get("/api/openapi.json", headers={"Host": host}) as answer:
        return answer.status_code


@pytest.mark.fast
def test_the_box_answers_to_its_own_names_and_addresses(web_panel):
    web = web_panel()
    name = socket.gethostname()
    for host in ("localhost", "localhost:8080", "127.0.0.1:8080", "127.0.0.9", "[::1]:8080",
                 name, f"{name}.local:8080", f"{name.upper()}."):
        assert _answer(web.client, host) == 200, host
    # an address that is not this machine's (TEST-NET-1), and malformed Host headers
    for host in ("192.0.2.1", "192.0.2.1:8080", "localhost.evil.example", "local host",
                 "localhost:80x", "[::1", ""):
        assert _answer(web.client, host) in (400, 421), host


@pytest.mark.fast
def test_allowed_hosts_adds_a_name_and_can_replace_the_defaults(web_panel):
    extra = web_panel(allowed_hosts=("self", "panel.clinic.lan"))
    assert _answer(extra.client, "panel.clinic.lan") == 200
    assert _answer(extra.client, "localhost") == 200
    only = web_panel(allowed_hosts=("panel.clinic.lan",))
    assert _answer(only.client, "panel.clinic.lan:8080") == 200
    assert _answer(only.client, "localhost") == 421


@pytest.mark.fast
def test_the_origin_must_be_the_host_the_request_went_to(web_panel):
    web = web_panel()
    csrf = login(web.client)
    for origin in ("http://evil.example", "http://localhost.evil.example", "null",
                   "http://localhost:9999", "http://127.0.0.1:8080", "http://[::1"):
        answer = web.client.post("/api/commands/welcome", json={}, headers={
            "X-CSRF-Token": csrf, "Origin": origin, "Host": "localhost:8080"})
        assert answer.status_code == 403, origin
    same = web.client.post("/api/commands/welcome", json={}, headers={
        "X-CSRF-Token": csrf, "Origin": "http://localhost:8080", "Host": "localhost:8080"})
    assert same.status_code == 200
    assert web.audio.played == [("foreground", "Welcome tone")]


@pytest.mark.fast
def test_no_redirect_names_a_host(web_panel):
    web = web_panel()
    answer = web.client.get("//", headers={"Host": "127.0.0.1:8080"})
    assert answer.status_code == 308 and answer.headers["Location"] == "/"


# --- guessing from many addresses -----------------------------------------------------------

def _audit(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "appliance.web.audit"]


@pytest.mark.slow
def test_guessing_from_many_addresses_cannot_lock_the_therapist_out(web_panel, caplog):
    caplog.set_level(logging.INFO)
    web = web_panel()  # 5 wrong per client, then backoff; 30 in 60 s is an attack
    codes = []
    for n in range(2, 7):  # the attack of the issue: 5 wrong each from 127.0.0.2 ... .6,
        guesser = _client(web, f"127.0.0.{n}")
        codes += [_login(guesser, f"guess-{n}-{i}").status_code for i in range(5)]
    guesser = _client(web, "127.0.0.7")  # ... and more from .7
    codes += [_login(guesser, f"guess-7-{i}").status_code for i in range(10)]
    assert codes == [401] * 30 + [429] * 5
    # a fresh phone with the right passphrase gets in at once, attack or not
    therapist = _client(web, "127.0.0.100")
    assert _login(therapist, PANEL_PASSPHRASE).status_code == 200
    # ... and sees the notice, as do the status and (through the engine) MQTT
    status = therapist.get("/api/status").json
    assert "many failed logins" in status["faults"]["logins"]
    assert "30 wrong passphrases in the last 60 s from 6 clients" in status["faults"]["logins"]
    # the slow-down: during the attack one wrong passphrase is enough for a backoff
    typo = _client(web, "127.0.0.101")
    first = _login(typo, "correct horse batery")
    assert first.status_code == 401 and first.headers["Retry-After"] == "1"
    assert _login(typo, PANEL_PASSPHRASE).status_code == 429
    web.clock.advance(1.1)
    assert _login(typo, PANEL_PASSPHRASE).status_code == 200
    # audit lines: each failure, backoff and login, with a keyed hash, never the address
    # or the passphrase
    lines = _audit(caplog)
    assert sum("login failed" in line for line in lines) == 31
    assert sum("backoff" in line for line in lines) == 7
    assert sum("logged in" in line for line in lines) == 2
    tags = {found.group(1) for found in (re.search(r"client ([0-9a-f]{8})\b", line)
                                         for line in lines) if found}
    assert len(tags) == 8
    everything = caplog.text
    assert "127.0.0." not in everything and "guess-" not in everything
    assert PANEL_PASSPHRASE not in everything and "batery" not in everything
    # the notice goes when the attack is over
    web.clock.advance(logins.ATTACK_HOLD_S + 1)
    web.app.extensions["panel"].housekeeping()
    web.engine.submit(_noop()).wait()
    assert "logins" not in therapist.get("/api/status").json["faults"]


def _noop():
    from appliance.verbs import parse_command
    return parse_command("volume", {"level": 70})


@pytest.mark.fast
def test_a_guessing_client_waits_longer_each_time(web_panel):
    web = web_panel(login_attempts=3, login_backoff_max_s=8)
    guesser = _client(web, "10.0.0.66")
    for i in range(3):
        assert _login(guesser, f"guess {i}").status_code == 401
    waits = []
    for i in range(6):
        refused = _login(guesser, PANEL_PASSPHRASE)
        assert refused.status_code == 429, "even the right passphrase waits out the backoff"
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        web.clock.advance(wait)
        assert _login(guesser, f"again {i}").status_code == 401
    assert waits == [1, 2, 4, 8, 8, 8]
    web.clock.advance(8)
    assert _login(guesser, PANEL_PASSPHRASE).status_code == 200
    assert _login(guesser, "one more typo").status_code == 401  # forgiven after a login
    assert _login(guesser, PANEL_PASSPHRASE).status_code == 200


@pytest.mark.fast
def test_another_phones_backoff_is_not_mine(web_panel):
    web = web_panel(login_attempts=2)
    guesser = _client(web, "10.0.0.66")
    for i in range(4):
        _login(guesser, f"guess {i}")
    assert _login(guesser, PANEL_PASSPHRASE).status_code == 429
    assert _login(_client(web, "10.0.0.7"), PANEL_PASSPHRASE).status_code == 200


@pytest.mark.fast
def test_one_ipv6_network_is_one_client():
    assert guard.client_key("2001:db8:1:2:aaaa::1") == guard.client_key("2001:db8:1:2:bbbb::9")
    assert guard.client_key("2001:db8:1:3::1") != guard.client_key("2001:db8:1:2::1")
    assert guard.client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert guard.client_key("fe80::1%wlan0") == "fe80::/64"


@pytest.mark.fast
def test_malformed_logins_are_400s_without_a_traceback(web_panel, caplog):
    web = web_panel()
    deep = b'{"passphrase": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    for body in (deep, b'{"passphrase": NaN}', b"\xff\xfe", b'{"passphrase": "x"'):
        answer = web.client.post("/api/login", data=body, content_type="application/json")
        assert answer.status_code == 400 and answer.json["error"].startswith("the request body")
    assert "Traceback" not in caplog.text and not [r for r in caplog.records
                                                   if r.levelno >= logging.ERROR]
    assert "nested deeper than 16 levels" in web.client.post(
        "/api/login", data=deep, content_type="application/json").json["error"]


# --- sessions ----------------------------------------------------------------------------

@pytest.mark.slow
def test_logging_in_again_and_again_logs_only_myself_out(web_panel):
    web = web_panel()
    therapist = _client(web, "10.0.0.7")
    csrf = login(therapist)
    insider = _client(web, "10.0.0.66")
    cookies = []
    for _ in range(100):  # the old table held 64 and dropped the oldest: the therapist
        login(insider)
        cookies.append(insider.get_cookie("panel_session").value)
    assert post(therapist, "/api/commands/ambient", csrf).status_code == 200
    alive = []
    for value in cookies:
        insider.set_cookie("panel_session", value)
        alive.append(insider.get("/api/status").status_code == 200)
    assert alive == [False] * 96 + [True] * 4  # its own newest four


@pytest.mark.fast
def test_a_full_session_table_refuses_new_logins_not_old_ones(web_panel, monkeypatch):
    monkeypatch.setattr(guard, "MAX_SESSIONS", 6)
    web = web_panel()
    phones = [_client(web, f"10.0.1.{n}") for n in range(6)]
    for phone in phones:
        login(phone)
    late = _login(_client(web, "10.0.1.99"), PANEL_PASSPHRASE)
    assert late.status_code == 503 and "too many phones are logged in" in late.json["error"]
    assert all(phone.get("/api/status").status_code == 200 for phone in phones)


@pytest.mark.fast
def test_a_login_nobody_uses_ends_after_the_idle_time(web_panel):
    web = web_panel(session_idle_minutes=30)
    login(web.client)
    web.clock.advance(29 * 60)
    assert web.client.get("/api/status").status_code == 200  # used: the idle time starts anew
    web.clock.advance(29 * 60)
    assert web.client.get("/api/status").status_code == 200
    web.clock.advance(31 * 60)
    gone = web.client.get("/api/status")
    assert gone.status_code == 401 and "expired" in gone.json["error"]


# --- cookies behind HTTPS ------------------------------------------------------------------

@pytest.mark.fast
def test_secure_cookies_are_host_bound_and_secure(web_panel):
    web = web_panel(secure_cookies=True)
    phone = _client(web, "10.0.0.7", base_url="https://localhost")
    answer = _login(phone, PANEL_PASSPHRASE)
    assert answer.status_code == 200
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.getlist("Set-Cookie")}
    assert set(cookies) == {"__Host-panel_session", "__Host-panel_csrf"}
    for text in cookies.values():
        assert "Secure" in text and "Path=/" in text and "Domain" not in text
    assert phone.get("/api/status", base_url="https://localhost").status_code == 200
    # a cookie of the old name (set by a page on another port of the box) is no login
    other = _client(web, "10.0.0.8", base_url="https://localhost")
    other.set_cookie("panel_session", phone.get_cookie("__Host-panel_session",
                                                       domain="localhost").value)
    assert other.get("/api/status", base_url="https://localhost").status_code == 401


@pytest.mark.parametrize("web, problem", [
    ({"allowed_hosts": ["self", "http://evil.example"]}, "web.allowed_hosts: not a host name"),
    ({"allowed_hosts": ["*.clinic.lan"]}, "web.allowed_hosts: not a host name"),
    ({"allowed_hosts": ["box:8080"]}, "web.allowed_hosts: not a host name"),
    ({"allowed_hosts": "box"}, "web.allowed_hosts: must be a list"),
    ({"behind_proxy": True, "host": "0.0.0.0"}, "web.host: behind a proxy the panel must"),
    ({"connections_total": 15}, "web.connections_total: 15 is too few"),
])
@pytest.mark.fast
def test_config_problems_of_the_new_keys(web, problem):
    from appliance.schema import Problems
    from appliance.web.config import parse
    problems = Problems()
    parse({"web": web}, problems, None)
    assert any(p.startswith(problem) for p in problems), problems


@pytest.mark.fast
def test_behind_a_proxy_the_panel_listens_on_loopback_with_secure_cookies():
    from appliance.schema import Problems
    from appliance.web.config import parse
    problems = Problems()
    cfg = parse({"web": {"behind_proxy": True}}, problems, None)
    assert problems == [] and cfg.host == "127.0.0.1" and cfg.secure_cookies
