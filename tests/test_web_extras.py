"""Schedule and virtual-button routes against small stand-ins of those adapters' interfaces."""
from __future__ import annotations

from .test_web_api import login, post


class ScheduleStandIn:
    """The schedule adapter's interface: upcoming / add / remove, ValueError for bad input."""

    def __init__(self):
        self.sessions = [{"id": "s1", "start": "2026-03-02T09:30:00+01:00", "minutes": 50,
                          "label": "Group A", "ambient_at": "2026-03-02T09:20:00+01:00",
                          "why_not": None}]

    def upcoming(self, limit=10):
        return self.sessions[:limit]

    def add(self, start_iso, minutes, label=None):
        if not start_iso.startswith("2026"):
            raise ValueError(f"start: not a date and time: {start_iso!r}")
        made = {"id": f"s{len(self.sessions) + 1}", "start": start_iso, "minutes": minutes,
                "label": label, "ambient_at": None, "why_not": None}
        self.sessions.append(made)
        return made

    def remove(self, session_id):
        kept = [s for s in self.sessions if s["id"] != session_id]
        found = len(kept) != len(self.sessions)
        self.sessions = kept
        return found


class ButtonsStandIn:
    def __init__(self):
        self.presses = []

    def virtual_buttons(self):
        return [{"name": "session", "press": "next part", "hold": "end"},
                {"name": "quiet", "press": "quiet", "hold": None}]

    def press(self, name, hold_s=None):
        if name == "quiet" and hold_s:
            raise ValueError("quiet cannot be held")
        self.presses.append((name, hold_s))


def test_schedule_routes_say_so_when_there_is_no_schedule(web_panel):
    web = web_panel()
    csrf = login(web.client)
    answer = web.client.get("/api/schedule")
    assert answer.status_code == 404 and "[schedule]" in answer.json["error"]
    added = post(web.client, "/api/schedule", csrf, {"start": "2026-03-02T09:30", "minutes": 50})
    assert added.status_code == 404


def test_schedule_lists_adds_and_removes(web_panel):
    schedule = ScheduleStandIn()
    web = web_panel(adapters={"schedule": schedule})
    csrf = login(web.client)
    assert web.client.get("/api/panel").json["schedule"] is True
    listed = web.client.get("/api/schedule?limit=5").json["sessions"]
    assert [s["label"] for s in listed] == ["Group A"]
    added = post(web.client, "/api/schedule", csrf,
                 {"start": "2026-03-09T10:00", "minutes": 45, "label": "Anna's group"})
    assert added.status_code == 201 and added.json["id"] == "s2"
    assert schedule.sessions[-1]["minutes"] == 45.0
    gone = web.client.delete("/api/schedule/s2", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 200 and [s["id"] for s in schedule.sessions] == ["s1"]
    again = web.client.delete("/api/schedule/s2", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 404 and "s2" in again.json["error"]


def test_schedule_input_is_checked_and_its_errors_passed_on(web_panel):
    schedule = ScheduleStandIn()
    web = web_panel(adapters={"schedule": schedule})
    csrf = login(web.client)
    refused = post(web.client, "/api/schedule", csrf, {"start": "tomorrow-ish", "minutes": 50})
    assert refused.status_code == 400
    assert refused.json["error"] == "schedule: start: not a date and time: 'tomorrow-ish'"
    for body in ({"minutes": 50}, {"start": "2026-03-02T09:30", "minutes": "long"},
                 {"start": "2026-03-02T09:30", "minutes": 50, "label": 7},
                 {"start": "2026-03-02T09:30", "minutes": 50, "room": "x"}):
        assert post(web.client, "/api/schedule", csrf, body).status_code == 400, body
    assert web.client.get("/api/schedule?limit=lots").status_code == 400
    no_csrf = web.client.post("/api/schedule", json={"start": "2026-03-02T09:30", "minutes": 5})
    no_delete = web.client.delete("/api/schedule/s1")
    assert no_csrf.status_code == 403 and no_delete.status_code == 403
    assert len(schedule.sessions) == 1


def test_virtual_buttons_are_listed_and_pressed(web_panel):
    buttons = ButtonsStandIn()
    web = web_panel(adapters={"gpio": buttons})
    csrf = login(web.client)
    assert web.client.get("/api/panel").json["buttons"][0]["name"] == "session"
    assert [b["name"] for b in web.client.get("/api/buttons").json["buttons"]] == [
        "session", "quiet"]
    assert post(web.client, "/api/buttons/session", csrf).status_code == 200
    assert post(web.client, "/api/buttons/session", csrf, {"hold_s": 2}).status_code == 200
    assert buttons.presses == [("session", None), ("session", 2.0)]
    unknown = post(web.client, "/api/buttons/self-destruct", csrf)
    assert unknown.status_code == 404 and "self-destruct" in unknown.json["error"]
    assert post(web.client, "/api/buttons/session", csrf, {"hold_s": -1}).status_code == 400
    assert post(web.client, "/api/buttons/session", csrf, {"hold_s": True}).status_code == 400
    held = post(web.client, "/api/buttons/quiet", csrf, {"hold_s": 3})
    assert held.status_code == 400 and "cannot be held" in held.json["error"]
    assert web.client.post("/api/buttons/session", json={}).status_code == 403
    assert len(buttons.presses) == 2


def test_real_gpio_has_no_virtual_buttons(web_panel):
    web = web_panel(adapters={"gpio": object()})
    login(web.client)
    assert web.client.get("/api/buttons").status_code == 404
    assert web.client.get("/api/panel").json["buttons"] is None
