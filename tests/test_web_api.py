"""The panel's JSON API through Flask's test client, on a real engine (audio stood in)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import PANEL_PASSPHRASE

pytestmark = pytest.mark.fast

STATIC = Path(__file__).resolve().parent.parent / "appliance" / "web" / "static"


def login(client, passphrase=PANEL_PASSPHRASE) -> str:
    answer = client.post("/api/login", json={"passphrase": passphrase})
    assert answer.status_code == 200, answer.json
    return answer.json["csrf"]


def post(client, path, csrf, body=None):
    return client.post(path, json=body if body is not None else {},
                       headers={"X-CSRF-Token": csrf})


def test_login_sets_an_httponly_lax_cookie_that_expires(web_panel):
    web = web_panel(session_hours=12)
    answer = web.client.post("/api/login", json={"passphrase": PANEL_PASSPHRASE})
    assert answer.status_code == 200
    assert answer.json["csrf"] and answer.json["expires_in_s"] == 12 * 3600
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.getlist("Set-Cookie")}
    session = cookies["panel_session"]
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Max-Age=43200" in session
    assert "HttpOnly" not in cookies["panel_csrf"]  # the page reads it after a reload
    assert answer.json["csrf"] in cookies["panel_csrf"]


def test_wrong_passphrase_is_refused(web_panel):
    web = web_panel()
    answer = web.client.post("/api/login", json={"passphrase": "correct horse battery!"})
    assert answer.status_code == 401 and answer.json == {"error": "wrong passphrase"}
    assert web.client.get("/api/status").status_code == 401


def test_status_has_the_fields_of_appliance_status(web_panel):
    web = web_panel()
    assert web.client.get("/api/status").status_code == 401
    login(web.client)
    status = web.client.get("/api/status").json
    assert set(status) == set(web.engine.status_dict())
    assert status["phase"] == "idle" and status["room_name"] == "Room A"


def test_a_command_changes_the_room_and_a_refusal_says_why(web_panel):
    web = web_panel()
    csrf = login(web.client)
    answer = post(web.client, "/api/commands/welcome", csrf)
    assert answer.status_code == 200, answer.json
    assert answer.json["status"]["phase"] == "welcome"
    assert web.audio.played == [("foreground", "Welcome tone")]
    again = post(web.client, "/api/commands/welcome", csrf)
    assert again.status_code == 409
    assert again.json["error"] == "welcome: the welcome song is already playing"
    assert web.audio.played == [("foreground", "Welcome tone")]


def test_command_arguments_are_checked(web_panel):
    web = web_panel()
    csrf = login(web.client)
    bad = post(web.client, "/api/commands/receptive", csrf, {"minutes": "lots"})
    assert bad.status_code == 400 and "minutes" in bad.json["error"]
    missing = post(web.client, "/api/commands/receptive", csrf)
    assert missing.status_code == 400 and "missing minutes" in missing.json["error"]
    ok = post(web.client, "/api/commands/receptive", csrf, {"minutes": 15})
    assert ok.status_code == 200 and ok.json["status"]["phase"] == "receptive"
    assert ok.json["status"]["remaining_s"] == pytest.approx(15 * 60, abs=2)
    named = post(web.client, "/api/commands/end", csrf)
    assert named.json["status"]["phase"] == "reflection"


def test_unknown_command_and_malformed_bodies_get_400(web_panel):
    web = web_panel()
    csrf = login(web.client)
    unknown = post(web.client, "/api/commands/self_destruct", csrf)
    assert unknown.status_code == 400 and "unknown command 'self_destruct'" in unknown.json["error"]
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    broken = web.client.post("/api/commands/receptive", data=b'{"minutes": 5', headers=headers)
    assert broken.status_code == 400
    assert broken.json["error"].startswith("the request body: not valid JSON")
    listed = web.client.post("/api/commands/receptive", data=b"[5]", headers=headers)
    assert listed.status_code == 400 and "JSON object" in listed.json["error"]
    binary = web.client.post("/api/commands/receptive", data=b"\xff\xfe{", headers=headers)
    assert binary.status_code == 400
    form = web.client.post("/api/commands/quiet", data={"x": "1"}, headers={"X-CSRF-Token": csrf})
    assert form.status_code == 415
    assert web.engine.status().phase == "idle" and web.audio.played == []


def test_oversized_body_gets_413_and_changes_nothing(web_panel):
    web = web_panel()
    csrf = login(web.client)
    huge = json.dumps({"minutes": 5, "pad": "x" * 17000})
    answer = web.client.post("/api/commands/receptive", data=huge, headers={
        "X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert answer.status_code == 413 and "16 KB" in answer.json["error"]
    assert web.engine.status().phase == "idle"
    huge_login = web.client.post("/api/login", data=json.dumps({"passphrase": "y" * 20000}),
                                 content_type="application/json")
    assert huge_login.status_code == 413


def test_unknown_api_route_is_a_json_404(web_panel):
    web = web_panel()
    login(web.client)
    answer = web.client.get("/api/nothing-here")
    assert answer.status_code == 404 and answer.json["error"]


def test_logout_ends_the_login(web_panel):
    web = web_panel()
    csrf = login(web.client)
    assert post(web.client, "/api/logout", csrf).status_code == 200
    assert web.client.get("/api/status").status_code == 401


def test_panel_info_gives_the_page_its_receptive_lengths(web_panel):
    web = web_panel()
    login(web.client)
    info = web.client.get("/api/panel").json
    assert info["receptive"] == {"min": 1, "max": 180, "default": 20}
    assert info["room_name"] == "Room A" and info["schedule"] is False and info["buttons"] is None


# --- live updates ----------------------------------------------------------------------------

def _events(response):
    """Split an SSE body read so far into its data payloads."""
    for chunk in response.response:
        for block in chunk.decode().split("\n\n"):
            for line in block.splitlines():
                if line.startswith("data: "):
                    yield json.loads(line[6:])
                elif line.startswith("event: expired"):
                    yield "expired"
                elif line.startswith(": keepalive"):
                    yield "keepalive"


def test_events_stream_each_status_change(web_panel):
    web = web_panel()
    csrf = login(web.client)
    stream = web.client.get("/api/events", buffered=False)
    assert stream.status_code == 200 and stream.mimetype == "text/event-stream"
    events = _events(stream)
    assert next(events)["phase"] == "idle"
    post(web.client, "/api/commands/ambient", csrf)
    assert next(events)["phase"] == "ambient"
    post(web.client, "/api/commands/welcome", csrf)
    assert next(events)["phase"] == "welcome"
    stream.close()
    assert web.app.extensions["panel"].broadcast.open_streams == 0


def test_event_streams_are_limited_and_their_slots_come_back(web_panel):
    web = web_panel(event_streams=1, threads=8)
    login(web.client)
    first = web.client.get("/api/events", buffered=False)
    busy = web.client.get("/api/events")
    assert busy.status_code == 503 and "too many live pages" in busy.json["error"]
    first.close()
    again = web.client.get("/api/events", buffered=False)
    assert again.status_code == 200
    again.close()


def test_a_stream_ends_when_its_login_expires(web_panel):
    web = web_panel(session_hours=1)
    csrf = login(web.client)
    stream = web.client.get("/api/events", buffered=False)
    events = _events(stream)
    assert next(events)["phase"] == "idle"
    web.clock.advance(3601)
    web.engine.report_fault("test", "wake the stream")  # any status change wakes it
    assert next(events) == "expired"
    stream.close()
    assert post(web.client, "/api/commands/quiet", csrf).status_code == 401


# --- the OpenAPI description -----------------------------------------------------------------

def test_openapi_describes_every_api_route(web_panel):
    web = web_panel()
    spec = web.client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    described = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    for rule in web.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}").replace("{session_id}", "{id}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in described, f"{method} {path} is not in openapi.json"


# --- the page itself -------------------------------------------------------------------------

def test_page_is_small_bundled_and_has_no_inline_script(web_panel):
    web = web_panel()
    with web.client.get("/") as page:
        assert page.status_code == 200
        html = page.data.decode()
        csp = page.headers["Content-Security-Policy"]
    assets = ["/static/app.js", "/static/clients.js", "/static/app.css", "/static/icon.svg"]
    total = len(page.data)
    for asset in assets:
        assert asset in html
        with web.client.get(asset) as answer:
            assert answer.status_code == 200
            total += len(answer.data)
    assert total < 60 * 1024, f"page weight {total} bytes"
    for path in STATIC.iterdir():
        text = path.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and \
            "https://" not in text, f"{path.name} loads something from outside"
        assert "@import" not in text and "@font-face" not in text
    assert "<script>" not in html and " onclick=" not in html and " style=" not in html
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
