"""Every security rule of the panel, through Flask's test client (clock injected)."""
from __future__ import annotations

import sys
import threading

import pytest

from appliance.web.secrets_store import new_api_token, revoke_api_token, set_passphrase

from .conftest import PANEL_PASSPHRASE
from .test_web_api import login, post

pytestmark = pytest.mark.fast

# --- CSRF and other sites ----------------------------------------------------------------------


def test_a_post_without_the_csrf_header_is_refused_and_changes_nothing(web_panel):
    web = web_panel()
    login(web.client)  # the browser holds the cookie, as a cross-site form would use it
    answer = web.client.post("/api/commands/welcome", json={})
    assert answer.status_code == 403 and "X-CSRF-Token" in answer.json["error"]
    wrong = web.client.post("/api/commands/welcome", json={}, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert web.engine.status().phase == "idle" and web.audio.played == []


def test_a_request_from_another_site_is_refused_even_with_a_token(web_panel):
    web = web_panel()
    csrf = login(web.client)
    answer = web.client.post("/api/commands/welcome", json={}, headers={
        "X-CSRF-Token": csrf, "Origin": "http://evil.example"})
    assert answer.status_code == 403 and "another site" in answer.json["error"]
    same = web.client.post("/api/commands/welcome", json={}, headers={
        "X-CSRF-Token": csrf, "Origin": "http://localhost"})
    assert same.status_code == 200
    assert web.audio.played == [("foreground", "Welcome tone")]


def test_the_csrf_token_of_one_login_does_not_work_for_another(web_panel):
    web = web_panel()
    other = web.app.test_client()
    stolen = login(other)
    login(web.client)
    answer = post(web.client, "/api/commands/quiet", stolen)
    assert answer.status_code == 403


def test_headers_forbid_framing_and_inline_script(web_panel):
    web = web_panel()
    login(web.client)
    for path in ("/", "/api/status"):
        with web.client.get(path) as answer:
            csp = answer.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert answer.headers["X-Frame-Options"] == "DENY"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert web.client.get("/api/status").headers["Cache-Control"] == "no-store"


# --- rate limits -----------------------------------------------------------------------------

def _client(web, address):
    client = web.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_passphrases_are_rate_limited_per_client(web_panel):
    web = web_panel(login_attempts=5, login_window_s=60)
    guesser, therapist = _client(web, "10.0.0.66"), _client(web, "10.0.0.7")
    for attempt in range(5):
        assert guesser.post("/api/login", json={"passphrase": f"guess{attempt}"}).status_code == 401
    limited = guesser.post("/api/login", json={"passphrase": PANEL_PASSPHRASE})
    assert limited.status_code == 429, "even the right passphrase waits out the limit"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "try again in" in limited.json["error"]
    assert therapist.post("/api/login", json={"passphrase": PANEL_PASSPHRASE}).status_code == 200
    web.clock.advance(61)
    assert guesser.post("/api/login", json={"passphrase": PANEL_PASSPHRASE}).status_code == 200


def test_guesses_sent_all_at_once_are_still_counted_exactly(web_panel):
    web = web_panel(login_attempts=5)
    codes = []

    def guess(n):
        codes.append(_client(web, "10.0.0.66").post(
            "/api/login", json={"passphrase": f"guess-{n}"}).status_code)
    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(codes) == [401] * 5 + [429] * 7


def test_commands_are_rate_limited_per_client(web_panel):
    web = web_panel(commands_per_minute=3)
    csrf = login(web.client)
    for _ in range(3):
        assert post(web.client, "/api/commands/volume_down", csrf).status_code == 200
    flood = post(web.client, "/api/commands/volume_down", csrf)
    assert flood.status_code == 429 and flood.headers["Retry-After"]
    assert web.engine.status().volume == 70 - 3 * 5
    web.clock.advance(60)
    assert post(web.client, "/api/commands/volume_down", csrf).status_code == 200


# --- logins that end ----------------------------------------------------------------------------

def test_a_login_expires_after_session_hours(web_panel):
    web = web_panel(session_hours=12, session_idle_minutes=120)
    csrf = login(web.client)
    for _ in range(11):  # a page in use all day long
        web.clock.advance(3600)
        assert web.client.get("/api/status").status_code == 200
    web.clock.advance(3600 - 5)
    assert web.client.get("/api/status").status_code == 200
    web.clock.advance(10)
    expired = web.client.get("/api/status")
    assert expired.status_code == 401 and "expired" in expired.json["error"]
    assert post(web.client, "/api/commands/welcome", csrf).status_code == 401
    assert web.audio.played == []


def test_a_new_passphrase_logs_every_phone_out(web_panel):
    web = web_panel()
    login(web.client)
    set_passphrase(web.state_dir, "a brand new one")
    assert web.client.get("/api/status").status_code == 401
    assert web.client.post("/api/login", json={"passphrase": PANEL_PASSPHRASE}).status_code == 401
    login(web.client, "a brand new one")
    assert web.client.get("/api/status").status_code == 200


def test_login_needs_a_passphrase_field(web_panel):
    web = web_panel()
    assert web.client.post("/api/login", json={}).status_code == 400
    assert web.client.post("/api/login", json={"passphrase": 1234}).status_code == 400
    assert web.client.post("/api/login").status_code == 400


# --- the API token --------------------------------------------------------------------------

def test_an_api_token_works_without_cookie_or_csrf_until_revoked(web_panel):
    web = web_panel()
    token = new_api_token(web.state_dir)
    bearer = {"Authorization": f"Bearer {token}"}
    assert web.client.get("/api/status", headers=bearer).json["phase"] == "idle"
    answer = web.client.post("/api/commands/ambient", json={}, headers=bearer)
    assert answer.status_code == 200 and answer.json["status"]["phase"] == "ambient"
    wrong = web.client.get("/api/status", headers={"Authorization": f"Bearer {token[:-1]}x"})
    assert wrong.status_code == 401
    basic = web.client.get("/api/status", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    revoke_api_token(web.state_dir)
    assert web.client.get("/api/status", headers=bearer).status_code == 401


# --- names from a request never reach the filesystem ---------------------------------------------

_opened = None


def _watch_opens(event, args):
    if _opened is not None and event in ("open", "os.listdir", "os.scandir", "os.symlink"):
        _opened.append((event, args[0] if args else None))


sys.addaudithook(_watch_opens)  # audit hooks stay for the process; inert unless recording

TRAVERSALS = ["../../../etc/passwd", "/etc/passwd", "..", "%2e%2e%2fetc%2fpasswd",
              "%2E%2E/secret", "..\\..\\boot.ini", "C:\\Windows\\win.ini", "~/.ssh/id_rsa",
              "Welcome tone\x00.wav", "welcome\n../x", "./welcome"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_like_track_names_are_refused_without_touching_files(web_panel, name):
    global _opened
    web = web_panel()
    csrf = login(web.client)
    _opened = []
    try:
        answer = post(web.client, "/api/commands/welcome", csrf, {"track": name})
    finally:
        seen, _opened = _opened, None
    assert answer.status_code == 400, answer.json
    assert "not a path" in answer.json["error"] or "track name" in answer.json["error"]
    assert seen == [], f"the request opened {seen}"
    assert web.engine.status().phase == "idle" and web.audio.played == []


def test_a_plain_unknown_name_is_refused_by_the_room_and_a_known_one_plays(web_panel):
    web = web_panel()
    csrf = login(web.client)
    unknown = post(web.client, "/api/commands/welcome", csrf, {"track": "passwd"})
    assert unknown.status_code == 409 and "no track called 'passwd'" in unknown.json["error"]
    known = post(web.client, "/api/commands/welcome", csrf, {"track": "Short hello"})
    assert known.status_code == 200 and web.audio.played == [("foreground", "Short hello")]


def test_many_phones_at_once_all_get_answers(web_panel):
    web = web_panel(commands_per_minute=1000)
    codes = []

    def phone(n):
        client = _client(web, f"10.0.2.{n}")
        csrf = login(client)
        for _ in range(5):
            codes.append(post(client, "/api/commands/volume_up", csrf).status_code)
    threads = [threading.Thread(target=phone, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * 20
    assert web.engine.status().volume == 80  # never above the cap


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/..%2fapp.py",
                                  "/static/%2e%2e/openapi.json", "/static//etc/passwd",
                                  "/static/..%5capp.py"])
def test_static_files_stay_inside_their_folder(web_panel, path):
    web = web_panel()
    with web.client.get(path, follow_redirects=True) as answer:
        assert answer.status_code == 404
        assert b"import" not in answer.data and b"root:" not in answer.data
