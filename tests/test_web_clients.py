"""The panel's client routes (issue 13, parts 2 and 5) through Flask's test client, on a real
engine, real profiles in the state dir and the real schedule on a made-up clock: profiles
edited with the CLI's rules and lines, the client chosen before the welcome and shown in the
status, and a one-off booked with a code that chooses that client when its ambient starts."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance.schedule.adapter import ScheduleAdapter
from appliance.schedule.config import ScheduleConfig
from appliance.schedule.plan import UTC, Timing
from appliance.schedule.scheduler import Scheduler

from .test_web_api import login, post
from .test_web_extras import offer_schedule

pytestmark = pytest.mark.fast

CODE_RULE = "is not a client code: 1-32 letters, digits, '.', '-' or '_', no spaces"


def send(client, method, path, csrf, body=None):
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf})


def test_profiles_are_added_changed_and_removed_with_the_clis_rules(web_panel):
    web = web_panel(clients=True)
    csrf = login(web.client)
    assert web.client.get("/api/panel").json["clients"] is True
    added = post(web.client, "/api/clients", csrf, {"code": "K17", "welcome": "short hello",
                                                    "cap": 60, "fade_in_s": "4"})
    assert added.status_code == 201
    assert added.json == {"code": "K17", "welcome": "Short hello", "cap": 60.0, "fade_in_s": 4.0}
    changed = send(web.client, "PATCH", "/api/clients/K17", csrf,
                   {"volume": 50, "unset": ["fade_in_s"]})
    assert changed.status_code == 200
    assert changed.json == {"code": "K17", "welcome": "Short hello", "cap": 60.0, "volume": 50.0}
    listed = web.client.get("/api/clients").json
    assert listed == {"clients": [changed.json], "welcome": ["Welcome tone", "Short hello"]}
    for method, path, body, code, line in (
            ("POST", "/api/clients", {"code": "Anna Smith"}, 400,
             f"client add: code: 'Anna Smith' {CODE_RULE}"),
            ("POST", "/api/clients", {"code": "K18", "cap": 90}, 400,
             "client add: cap: 90 is above the room's cap (80)"),
            ("POST", "/api/clients", {"code": "K18", "welcome": "Nope"}, 400,
             "client add: welcome: no track called 'Nope' in the welcome playlist"),
            ("POST", "/api/clients", {"code": "K18", "colour": "red"}, 400,
             "client add: colour: not a field of a client profile"),
            ("POST", "/api/clients", {"code": "K17"}, 409,
             "client add: 'K17' already has a profile"),
            ("PATCH", "/api/clients/K17", {"volume": 70}, 400,
             "client set: volume: 70 is above the profile's cap (60)"),
            ("PATCH", "/api/clients/K17", {"unset": ["../x"]}, 400,
             "client set: ../x: not a field of a client profile"),
            ("PATCH", "/api/clients/Anna%20Smith", {"volume": 5}, 400,
             f"client set: code: 'Anna Smith' {CODE_RULE}"),
            ("PATCH", "/api/clients/K99", {"volume": 5}, 409,
             "client set: no profile with the code 'K99'"),
            ("DELETE", "/api/clients/K99", None, 409,
             "client remove: no profile with the code 'K99'")):
        answer = send(web.client, method, path, csrf, body)
        assert (answer.status_code, answer.json["error"][:len(line)]) == (code, line), body
    assert web.client.get("/api/clients").json["clients"] == [changed.json]
    assert web.client.post("/api/clients", json={"code": "K20"}).status_code == 403  # no CSRF
    assert send(web.client, "DELETE", "/api/clients/K17", csrf).json == {"ok": True}
    assert web.client.get("/api/clients").json["clients"] == []


def test_the_client_is_chosen_before_the_welcome_and_shown_in_the_status(web_panel):
    web = web_panel(clients=True)
    csrf = login(web.client)
    post(web.client, "/api/clients", csrf, {"code": "K17", "cap": 50, "welcome": "Short hello"})
    chosen = send(web.client, "PUT", "/api/client", csrf, {"code": "K17"})
    assert chosen.status_code == 200 and chosen.json["status"]["client"] == "K17"
    assert chosen.json["status"]["cap"] == 50
    assert web.client.get("/api/status").json["client"] == "K17"
    assert post(web.client, "/api/commands/volume", csrf, {"level": 100}).json["status"][
        "room_volume"] == 50
    post(web.client, "/api/commands/welcome", csrf)
    assert web.audio.played[-1] == ("foreground", "Short hello")
    late = send(web.client, "DELETE", "/api/client", csrf)
    assert late.status_code == 409 and late.json["error"] == (
        "client: not possible during welcome (possible during idle, ambient)")
    for body, code, line in (({"code": "Anna Smith"}, 400, f"client use: code: 'Anna Smith' "
                                                          f"{CODE_RULE}"),
                             ({}, 400, "client use: missing code")):
        answer = send(web.client, "PUT", "/api/client", csrf, body)
        assert (answer.status_code, answer.json["error"][:len(line)]) == (code, line)
    post(web.client, "/api/commands/end", csrf)
    post(web.client, "/api/commands/end", csrf)
    status = web.client.get("/api/status").json
    assert (status["phase"], status["client"], status["cap"]) == ("idle", None, 80)


def test_without_profiles_the_routes_say_so(web_panel):
    web = web_panel()
    csrf = login(web.client)
    assert web.client.get("/api/panel").json["clients"] is False
    assert web.client.get("/api/clients").status_code == 404
    answer = send(web.client, "PUT", "/api/client", csrf, {"code": "K17"})
    assert answer.status_code == 400 and "daemon" in answer.json["error"]


def test_a_one_off_booked_on_the_panel_with_a_code_chooses_that_client(web_panel):
    berlin = ZoneInfo("Europe/Berlin")
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=berlin)]  # a Monday
    made = []

    def offer(context):
        scheduler = Scheduler(ScheduleConfig(Timing(tz=berlin), (), ()), context.engine,
                              context.room.state_dir, wall=lambda: now[0].astimezone(UTC),
                              synced=lambda: True, clients=context.clients)
        scheduler.load()
        context.verbs.offer("schedule", ScheduleAdapter(scheduler).verbs())
        made.append(scheduler)
    web = web_panel(offer=offer, clients=True)
    csrf = login(web.client)
    post(web.client, "/api/clients", csrf, {"code": "K17", "cap": 45, "ambient_level": 20})
    booked = post(web.client, "/api/schedule", csrf,
                  {"start": "2026-03-02T10:00", "minutes": 30, "label": "K17"})
    assert booked.status_code == 201 and booked.json["label"] == "K17"
    listed = web.client.get("/api/schedule").json
    assert [(s["id"], s["label"]) for s in listed["sessions"]] == [(booked.json["id"], "K17")]
    assert listed["weekly"] == []
    refused = post(web.client, "/api/schedule", csrf,
                   {"start": "2026-03-02T11:00", "minutes": 30, "label": "Anna Smith"})
    assert refused.status_code == 400 and CODE_RULE in refused.json["error"]
    now[0] += timedelta(minutes=50)  # 09:50: the ambient's lead time
    made[0].run_once()
    status = web.client.get("/api/status").json
    assert (status["phase"], status["client"], status["ambient_level"]) == ("ambient", "K17", 20)


def test_the_weekly_slots_are_listed_for_the_page(web_panel):
    web = web_panel(offer=offer_schedule([]))
    login(web.client)
    assert web.client.get("/api/schedule").json["weekly"] == [
        {"id": "w1", "days": ["mon"], "start": "09:30", "minutes": 50, "label": "group-a"}]
