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


def test_forget_cancels_the_clients_bookings_in_the_running_schedule(booked):
    """`client forget` with the daemon running asks its schedule (the `schedule forget`
    verb): every one-off with the code goes, from the file and its .bak too."""
    from appliance.schedule.adapter import ScheduleAdapter
    scheduler, _, _ = booked
    scheduler.add("2026-11-30T12:00", 30, "K17")
    scheduler.add("2026-12-01T12:00", 30, "K17")
    kept = scheduler.add("2026-11-30T14:00", 30, "KEEP-2")["id"]
    assert ScheduleAdapter(scheduler).verbs()["schedule forget"]({"client": "K17"}) == \
        {"removed": 2}
    assert [s.id for s in scheduler.one_offs] == [kept]
    store = scheduler.store
    for path in (store.path, store.backup):
        assert b"K17" not in path.read_bytes(), path.name


def test_forget_without_a_daemon_erases_bookings_from_the_files_and_names_weekly_slots(
        tmp_path, capsys):
    from appliance.__main__ import main
    from appliance.schedule.forget import forget_in_store
    from appliance.schedule.plan import Slot
    from appliance.schedule.store import OneOffStore
    from datetime import datetime, timezone
    state = tmp_path / "state"
    start = datetime(2027, 1, 4, 9, tzinfo=timezone.utc)
    OneOffStore(state).save([Slot(id="o-aaaaaa", kind="one-off", minutes=30, label="ZQX-981",
                                  start=start),
                             Slot(id="o-bbbbbb", kind="one-off", minutes=30, label="KEEP-2",
                                  start=start)])
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndir = "{state}"\n[control]\nsocket = "{tmp_path}/no.sock"\n'
                      '[schedule]\ntimezone = "Europe/Berlin"\n[[sessions]]\n'
                      'days = ["tue"]\nstart = "10:00"\nminutes = 45\nlabel = "ZQX-981"\n')
    assert main(["client", "forget", "ZQX-981", "--yes", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 booking(s)" in out
    assert "[[sessions]] #1 (tue 10:00) still books this code every week" in out
    for name in ("schedule.json", "schedule.json.bak"):
        text = (state / name).read_text()
        assert "ZQX-981" not in text and "KEEP-2" in text, name
    assert forget_in_store(state, "ZQX-981") == 0  # again: nothing left, nothing broken
