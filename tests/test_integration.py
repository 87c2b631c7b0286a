"""The whole appliance at once: mock buttons, the schedule and the phone panel in one daemon.

Each adapter has its own tests; this one checks they meet as a therapist meets them: the panel
shows the real schedule and the real virtual buttons, a session booked on the panel is listed
with its ambient time, and a button pressed on the panel is heard in the room.
"""
from __future__ import annotations

import http.client
import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from appliance.web.secrets_store import set_passphrase

from .conftest import WELCOME_HZ

import pytest

pytestmark = pytest.mark.sound

PASSPHRASE = "steady harbour 7"

EXTRA = """
[gpio]
pin_factory = "mock"
[[buttons]]
name = "door"
pin = 17
on_press = "welcome"
on_hold = "quiet"
hold_s = 1.0
[schedule]
timezone = "Europe/Berlin"
trust_clock = "always"
[[sessions]]
days = ["mon"]
start = "09:00"
minutes = 45
label = "K17"
[web]
host = "127.0.0.1"
port = 0
"""


class Phone:
    """A script speaking to the panel's API as the page does (cookie + CSRF header)."""

    def __init__(self, url: str):
        host_port = url.split("//", 1)[1].strip("/")
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        self.cookie = ""
        self.csrf = ""

    def call(self, method, path, body=None):
        headers = {"Cookie": self.cookie, "X-CSRF-Token": self.csrf}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, data, headers)
            answer = conn.getresponse()
            payload = json.loads(answer.read() or b"{}")
            cookies = answer.headers.get_all("Set-Cookie") or []
        finally:
            conn.close()
        if cookies:
            self.cookie = "; ".join(c.split(";", 1)[0] for c in cookies)
        return answer.status, payload


def test_panel_schedule_and_buttons_work_together_in_one_daemon(room_factory, recorder):
    room = room_factory(extra=EXTRA)
    set_passphrase(room.cfg.state_dir, PASSPHRASE)
    with room:
        phone = Phone(room.daemon.adapters["web"].url)
        status, answer = phone.call("POST", "/api/login", {"passphrase": PASSPHRASE})
        assert status == 200
        phone.csrf = answer["csrf"]

        status, panel = phone.call("GET", "/api/panel")
        assert status == 200
        assert [b["name"] for b in panel["buttons"]] == ["door"]

        start = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=2)).replace(
            hour=15, minute=0, second=0, microsecond=0)
        status, added = phone.call("POST", "/api/schedule",
                                   {"start": start.strftime("%Y-%m-%dT%H:%M"), "minutes": 30,
                                    "label": "M-04"})
        assert status in (200, 201), added
        status, listed = phone.call("GET", "/api/schedule")
        booked = [s for s in listed["sessions"] if s.get("label") == "M-04"]
        assert booked and booked[0]["ambient_at"].startswith(
            (start - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"))
        assert any(s.get("label") == "K17" and s["kind"] == "weekly" for s in listed["sessions"])

        sent = time.monotonic()
        status, pressed = phone.call("POST", "/api/buttons/door", {})
        assert status == 200, pressed
        room.wait_for(lambda s: s["phase"] == "welcome", timeout=5, what="welcome")
        time.sleep(0.6)
    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=sent)
    assert onset is not None and onset - sent < 1.0, "the door button from the panel was not heard"
