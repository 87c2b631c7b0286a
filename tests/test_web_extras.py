"""The schedule and virtual-button routes, against the real schedule and the real GPIO adapter
(mock pins): the panel reaches them only through the verbs they offer, checked by the table."""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from appliance.gpio.adapter import GpioAdapter
from appliance.gpio.config import Action, ButtonConfig, GpioConfig
from appliance.schedule.adapter import ScheduleAdapter
from appliance.schedule.config import ScheduleConfig
from appliance.schedule.plan import UTC, Slot, Timing
from appliance.schedule.scheduler import Scheduler

from .test_web_api import login, post

import pytest

pytestmark = pytest.mark.fast

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=BERLIN)  # a Sunday


def offer_schedule(made: list):
    """The real schedule (one weekly slot, Mondays 09:30, 50 min) on a fixed clock."""
    def offer(context):
        timing = Timing(tz=BERLIN)
        weekly = Slot(id="w1", kind="weekly", minutes=50, label="group-a",
                      days=frozenset({0}), at=time(9, 30))
        scheduler = Scheduler(ScheduleConfig(timing, (weekly,), ()), context.engine,
                              context.room.state_dir, wall=lambda: NOW.astimezone(UTC),
                              synced=lambda: True)  # a fixed clock NTP has set
        scheduler.load()
        adapter = ScheduleAdapter(scheduler)
        context.verbs.offer("schedule", adapter.verbs())
        made.append(scheduler)
    return offer


BUTTONS = GpioConfig(pin_factory="mock", repeat_s=0, buttons=(
    ButtonConfig(name="session", pin="GPIO22", on_press=Action("next"), on_hold=Action("end"),
                 hold_s=0.5),
    ButtonConfig(name="quiet", pin="GPIO23", on_press=Action("quiet"))))


@pytest.fixture
def with_buttons(tmp_path):
    """offer(context): the real GPIO adapter on mock pins, its verbs offered to the panel."""
    adapters = []

    def offer(context):
        adapter = GpioAdapter(BUTTONS, context.engine, tmp_path, 20, kind="mock")
        adapter.start()
        adapters.append(adapter)
        context.verbs.offer("gpio", adapter.verbs())
    yield offer
    for adapter in adapters:
        adapter.stop()


def test_schedule_routes_say_so_when_there_is_no_schedule(web_panel):
    web = web_panel()
    csrf = login(web.client)
    answer = web.client.get("/api/schedule")
    assert answer.status_code == 404 and "[schedule]" in answer.json["error"]
    added = post(web.client, "/api/schedule", csrf, {"start": "2026-03-02T09:30", "minutes": 50})
    assert added.status_code == 404


def test_schedule_lists_adds_and_removes(web_panel):
    made = []
    web = web_panel(offer=offer_schedule(made))
    csrf = login(web.client)
    assert web.client.get("/api/panel").json["schedule"] is True
    listed = web.client.get("/api/schedule?limit=2").json["sessions"]
    assert [(s["id"], s["start"], s["label"]) for s in listed] == [
        ("w1", "2026-03-02T09:30+01:00", "group-a"), ("w1", "2026-03-09T09:30+01:00", "group-a")]
    added = post(web.client, "/api/schedule", csrf,
                 {"start": "2026-03-04T10:00", "minutes": 45, "label": "anna-g"})
    assert added.status_code == 201 and added.json["id"].startswith("o-")
    assert added.json["minutes"] == 45.0 and added.json["ambient_at"] == "2026-03-04T09:50+01:00"
    assert [s.id for s in made[0].one_offs] == [added.json["id"]]
    gone = web.client.delete(f"/api/schedule/{added.json['id']}", headers={"X-CSRF-Token": csrf})
    assert gone.status_code == 200 and made[0].one_offs == []
    again = web.client.delete(f"/api/schedule/{added.json['id']}", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 404 and added.json["id"] in again.json["error"]


def test_schedule_input_is_checked_by_the_table_and_the_schedule_refuses_what_cannot_be(web_panel):
    made = []
    web = web_panel(offer=offer_schedule(made))
    csrf = login(web.client)
    for body, code, error in (
            ({"start": "tomorrow-ish", "minutes": 50}, 400,
             "schedule add: start: 'tomorrow-ish' is not a date and time like 2026-12-01T10:00"),
            ({"minutes": 50}, 400, "schedule add: missing start"),
            ({"start": "2026-03-04T10:00", "minutes": "long"}, 400,
             "schedule add: minutes must be a number, not 'long'"),
            ({"start": "2026-03-04T10:00", "minutes": 3}, 400,
             "schedule add: minutes must be between 5 and 480, not 3"),
            ({"start": "2026-03-04T10:00", "minutes": 50, "label": "Anna's group"}, 400,
             "schedule add: label: \"Anna's group\" is not a client code: 1-32 letters, "
             "digits, '.', '-' or '_', no spaces (never a client's name)"),
            ({"start": "2026-03-04T10:00", "minutes": 50, "room": "x"}, 400,
             "schedule add: unexpected argument 'room'"),
            ({"start": "2026-02-01T10:00", "minutes": 50}, 409,
             "schedule add: start: 2026-02-01T10:00 is in the past"),
            ({"start": "2026-03-02T09:00", "minutes": 50}, 409, "schedule add: start: overlaps")):
        answer = post(web.client, "/api/schedule", csrf, body)
        assert answer.status_code == code and answer.json["error"].startswith(error), answer.json
    assert web.client.get("/api/schedule?limit=lots").status_code == 400
    assert web.client.get("/api/schedule?limit=0").status_code == 400
    no_csrf = web.client.post("/api/schedule", json={"start": "2026-03-04T10:00", "minutes": 5})
    no_delete = web.client.delete("/api/schedule/w1")
    assert no_csrf.status_code == 403 and no_delete.status_code == 403
    assert made[0].one_offs == []


def test_virtual_buttons_are_listed_and_pressed(web_panel, with_buttons):
    web = web_panel(offer=with_buttons)
    csrf = login(web.client)
    assert web.client.get("/api/panel").json["buttons"][0]["name"] == "session"
    assert web.client.get("/api/buttons").json["buttons"] == [
        {"name": "session", "press": "next", "hold": "end", "hold_s": 0.5},
        {"name": "quiet", "press": "quiet", "hold": None, "hold_s": None}]
    pressed = post(web.client, "/api/buttons/session", csrf)
    assert pressed.status_code == 200 and pressed.json["status"]["phase"] == "ambient"
    assert pressed.json["message"] == "session: press -> next"
    held = post(web.client, "/api/buttons/session", csrf, {"hold_s": 1})
    assert held.status_code == 200 and held.json["status"]["phase"] == "idle"  # end
    unknown = post(web.client, "/api/buttons/self-destruct", csrf)
    assert unknown.status_code == 404 and "self-destruct" in unknown.json["error"]
    for hold in (-1, 0, True, 31, "long"):
        bad = post(web.client, "/api/buttons/session", csrf, {"hold_s": hold})
        assert bad.status_code == 400 and "button: hold_s must be" in bad.json["error"], hold
    assert web.client.post("/api/buttons/session", json={}).status_code == 403
    assert web.engine.status().phase == "idle"


def test_without_gpio_there_are_no_virtual_buttons(web_panel):
    web = web_panel()
    login(web.client)
    assert web.client.get("/api/buttons").status_code == 404
    assert web.client.get("/api/panel").json["buttons"] is None
