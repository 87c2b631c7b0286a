"""The session record on the panel: GET /api/sessions needs the login and answers JSON and
CSV; the page /sessions draws each session's timeline bar by phase and the chosen client's
course (Flask's test client; the record adapter's real verbs behind the panel)."""
from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from appliance.profiles.rules import Profile
from appliance.profiles.store import ProfileStore
from appliance.record import db, reading
from appliance.record.adapter import RecordAdapter
from appliance.record.config import RecordConfig
from appliance.record.writer import Recorder

from .conftest import PANEL_PASSPHRASE, adapter_context

pytestmark = pytest.mark.fast
T0 = 1_790_000_000.0


def recorded(state_dir, code, start, phases, no_show=False):
    """A session written through the record's own writer: phases as (name, seconds)."""
    conn = db.connect(db.path_in(state_dir))
    rec = Recorder(conn)
    rec.client_chosen(code)
    mono = 0.0
    if not no_show:
        rec.event(mono, start, {"type": "command", "verb": "welcome", "source": "panel",
                                "accepted": True, "reason": None})
    for name, seconds in phases:
        rec.event(mono, start + mono, {"type": "phase", "old": "", "new": name})
        mono += seconds
    if no_show:
        rec.event(mono, start + mono, {"type": "command", "verb": "end",
                                       "source": "schedule", "accepted": True,
                                       "reason": None})
    rec.event(mono, start + mono, {"type": "phase", "old": "", "new": "idle"})
    conn.close()


SESSION = [("welcome", 180), ("active", 1200), ("receptive", 600), ("reflection", 420)]


@pytest.fixture
def panel(web_panel, tmp_path, monkeypatch):
    state = tmp_path / "state"
    for week in range(4):
        recorded(state, "A-17", T0 + week * 7 * 86400, SESSION)
    recorded(state, "A-17", T0 + 4 * 7 * 86400, [("ambient", 900)], no_show=True)
    ProfileStore(state).save({"A-17": Profile("A-17", course=8)})
    adapters = []

    def offer(context):
        record = RecordAdapter(adapter_context(context.engine, "record", RecordConfig(),
                                               tmp_path), RecordConfig())
        record.start()
        adapters.append(record)
        context.verbs.offer("record", record.verbs())
    web = web_panel(offer=offer)
    status = web.engine.status
    monkeypatch.setattr(web.engine, "status", lambda: replace(status(), client="A-17"))
    yield web
    adapters[0].stop()


def login(client):
    assert client.post("/api/login", json={"passphrase": PANEL_PASSPHRASE}).status_code == 200


def test_the_api_needs_the_login_and_answers_json_with_the_course(panel):
    for path in ("/api/sessions", "/api/sessions?format=csv"):
        answer = panel.client.get(path)
        assert answer.status_code == 401 and "log in" in answer.json["error"]
    assert panel.client.get("/sessions").status_code == 302  # to the panel's login
    login(panel.client)
    answer = panel.client.get("/api/sessions")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    body = answer.json
    assert [s["no_show"] for s in body["sessions"]] == [False] * 4 + [True]
    assert [p["phase"] for p in body["sessions"][0]["phases"]] == [p for p, _ in SESSION]
    assert body["clients"] == [{"client": "A-17", "held": 4, "no_shows": 1,
                                "last": reading.iso(T0 + 28 * 86400), "course": 8}]
    # four held, the no-show not counted: the one in the room now is the fifth
    assert body["chosen"]["line"] == "session 5 of 8"
    assert panel.client.get("/api/sessions?limit=2").json["sessions"][0]["start"] == \
        reading.iso(T0 + 21 * 86400)
    assert panel.client.get("/api/sessions?format=xml").status_code == 400
    assert panel.client.get("/api/sessions?client=a%20name").status_code == 400


def test_the_csv_has_one_row_per_session_with_the_columns(panel):
    login(panel.client)
    answer = panel.client.get("/api/sessions?format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.data.decode())))
    assert tuple(rows[0]) == reading.CSV_COLUMNS and len(rows) == 5
    assert rows[0]["phases"] == "welcome 180 s; active 1200 s; receptive 600 s; reflection 420 s"
    assert rows[0]["minutes"] == "40.0" and rows[-1]["no_show"] == "yes"


def test_the_page_draws_a_bar_per_session_coloured_by_phase(panel):
    login(panel.client)
    page = panel.client.get("/sessions")
    assert page.status_code == 200
    html = page.data.decode()
    assert "<script" not in html and " style=" not in html  # the CSP allows neither
    assert html.count('<svg class="bar"') == 5
    # the newest first: the no-show, one ambient bar across the whole width
    first = html.index('<svg class="bar"')
    assert '<rect class="ph-ambient" x="0.0" y="0" width="1000.0"' in html[first:first + 400]
    # a held session: welcome 180 s of 2400 s = 75 units, then active from there
    assert '<rect class="ph-welcome" x="0.0" y="0" width="75.0"' in html
    assert '<rect class="ph-active" x="75.0" y="0" width="500.0"' in html
    assert "A-17: session 5 of 8" in html and "no-show" in html


def test_every_fourth_session_says_a_goal_review_is_due(panel, tmp_path):
    recorded(tmp_path / "state", "A-17", T0 + 35 * 86400, SESSION)  # now 5 held: the 6th
    login(panel.client)
    assert panel.client.get("/api/sessions").json["chosen"]["line"] == "session 6 of 8"
    for week in (6, 7):
        recorded(tmp_path / "state", "A-17", T0 + week * 7 * 86400, SESSION)
    chosen = panel.client.get("/api/sessions").json["chosen"]
    assert chosen["line"] == "session 8 of 8 \u00b7 goal review due" and chosen["review_due"]
    assert "goal review due" in panel.client.get("/sessions").data.decode()


def test_without_the_record_the_api_and_page_say_it_is_off(web_panel):
    web = web_panel()
    login(web.client)
    answer = web.client.get("/api/sessions")
    assert answer.status_code == 404 and "record is off" in answer.json["error"]
    assert web.client.get("/api/panel").json["record"] is False
    assert "record is off" in web.client.get("/sessions").data.decode()
