"""A booked session names its client (issue 13, part 2): on a made-up clock, the real
scheduler books a one-off with a code and, when its ambient starts, the room follows that
client's profile (from a real store); an unknown code is a notice and the room's own settings."""
from __future__ import annotations

import logging

import pytest

from appliance.errors import InvalidArgument
from appliance.profiles.desk import ClientDesk, change
from appliance.profiles.rules import Room
from appliance.schedule.config import ScheduleConfig
from appliance.schedule.plan import Timing
from appliance.schedule.scheduler import Scheduler
from appliance.session import commands as c

from .test_schedule_scheduler import BERLIN, FakeClock, FakeRoom, at, run_until, weekly

pytestmark = pytest.mark.fast


@pytest.fixture
def booked(tmp_path):
    """(scheduler, room, clock) on Monday 08:00, a weekly slot at 10:00 and profile K17."""
    clock = FakeClock(at("2026-11-30T08:00"))
    room = FakeRoom(clock)
    desk = ClientDesk(tmp_path / "state", Room(80, tmp_path, room.state.library.welcome))
    change(desk.store, desk.room, "K17", {"welcome": "Short hello", "cap": 50,
                                          "ambient-level": 25}, adding=True)
    timing = Timing(tz=BERLIN, lead_s=600, fade_in_s=60, no_show_s=1200, no_show_fade_s=30)
    scheduler = Scheduler(ScheduleConfig(timing, (weekly(),), ()), room, tmp_path / "state",
                          wall=clock.wall, mono=clock.mono, synced=lambda: True, clients=desk)
    scheduler.load()
    room.subscribe_events(scheduler._on_event)
    return scheduler, room, clock


def test_a_booked_one_off_naming_a_code_chooses_that_client_as_its_ambient_starts(booked):
    scheduler, room, clock = booked
    scheduler.add("2026-11-30T08:30", 30, "K17")
    run_until(scheduler, clock, "2026-11-30T08:20:01")
    assert room.state.phase == "ambient" and room.state.client.code == "K17"
    assert (room.state.settings.cap, room.state.ambient_level) == (50, 25)
    assert room.state.session_welcome == "Short hello"
    # nobody came: the no-show end takes the client away with the session
    run_until(scheduler, clock, "2026-11-30T09:00")
    assert room.state.phase == "idle" and room.state.client is None
    assert room.state.settings.cap == 80


def test_an_unknown_code_is_a_notice_without_the_code_and_the_room_runs_as_set(booked, caplog):
    scheduler, room, clock = booked
    caplog.set_level(logging.INFO)
    one_off = scheduler.add("2026-11-30T08:30", 30, "Q7-unknown")["id"]
    run_until(scheduler, clock, "2026-11-30T08:20:01")
    assert room.state.phase == "ambient" and room.state.client is None
    [ambient] = [cmd for _, cmd, _, _ in room.log if isinstance(cmd, c.Ambient)]
    assert ambient.client is None
    assert ambient.client_problem == (f"one-off session {one_off}: no client profile could be "
                                      "found for its code; the room runs on its own settings")
    assert "Q7-unknown" not in caplog.text


def test_a_name_with_a_space_cannot_be_booked(booked):
    scheduler, _, _ = booked
    with pytest.raises(InvalidArgument, match="label: 'Anna Smith' is not a client code"):
        scheduler.add("2026-11-30T08:30", 30, "Anna Smith")
    assert scheduler.one_offs == []
