"""The scheduler thread's decisions, on a made-up clock: one wake at a time, no real waiting.

The room is the real session core (session.step) without audio: what the schedule asks for
is refused or carried out by the same rules the engine uses.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance import session
from appliance.schedule.config import ScheduleConfig
from appliance.schedule.plan import UTC, Slot, Timing
from appliance.schedule.scheduler import CAP_S, Scheduler
from appliance.session import commands as c
from appliance.errors import Refused
from appliance.session.model import Library, Settings, Track
from appliance.status import Status

pytestmark = pytest.mark.fast

BERLIN = ZoneInfo("Europe/Berlin")
CALM = (Track("/media/calm.wav", "Calm"),)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


class FakeClock:
    """Wall and monotonic clocks that only move when told; a jump moves the wall alone."""

    def __init__(self, wall: datetime):
        self.now, self.mono_s = wall.astimezone(UTC), 1000.0

    def wall(self):
        return self.now

    def mono(self):
        return self.mono_s

    def advance(self, seconds: float):
        self.now += timedelta(seconds=seconds)
        self.mono_s += seconds

    def jump(self, to: datetime):
        self.now = to.astimezone(UTC)


class FakeRoom:
    """The engine's interface over the real session core, answering at once."""

    def __init__(self, clock: FakeClock):
        library = Library(ambient=(Track("/media/a.wav", "Ambient"),),
                          welcome=(Track("/media/w.wav", "Hello"),
                                   Track("/media/s.wav", "Short hello")))
        self.state = session.new_state(Settings(), library)
        self.clock = clock
        self.log: list[tuple] = []       # (local wall time, command, source, accepted)
        self.faults: dict[str, str] = {}
        self._events = []

    def submit(self, command, source=""):
        from appliance.engine import Pending
        outcome = session.step(self.state, command, self.clock.mono())
        self.log.append((self.clock.wall().astimezone(BERLIN), command, source,
                         outcome.refusal is None))
        pending = Pending(command, source)
        if outcome.refusal is None:
            self.state = outcome.state
            for effect in outcome.effects:
                if isinstance(effect, c.PhaseChanged):
                    for callback in list(self._events):
                        callback({"type": "phase", "old": effect.old, "new": effect.new})
        pending._finish(Refused(outcome.refusal) if outcome.refusal else None, outcome.message)
        return pending

    def status(self):
        return Status(phase=self.state.phase)

    def subscribe_events(self, callback):
        self._events.append(callback)

    def unsubscribe(self, callback):
        self._events.remove(callback)

    def report_fault(self, source, message):
        if message:
            self.faults[source] = message
        else:
            self.faults.pop(source, None)

    def by_schedule(self):
        return [(f"{t:%H:%M:%S}", type(cmd).__name__) for t, cmd, src, ok in self.log
                if src == "schedule" and ok]


def weekly(start=time(10), minutes=45, days=(0, 3), **extra):
    return Slot(id="w1", kind="weekly", minutes=minutes, days=frozenset(days), at=start, **extra)


def make(tmp_path, start: str, slots=(), quiet=()):
    clock = FakeClock(at(start))
    room = FakeRoom(clock)
    timing = Timing(tz=BERLIN, lead_s=600, fade_in_s=60, no_show_s=1200, no_show_fade_s=30,
                    quiet_hours=quiet)
    scheduler = Scheduler(ScheduleConfig(timing, tuple(slots) or (weekly(),), ()), room,
                          tmp_path / "state", wall=clock.wall, mono=clock.mono,
                          synced=lambda: True)
    scheduler.load()
    room.subscribe_events(scheduler._on_event)
    return scheduler, room, clock


def run_until(scheduler, clock, until: str, people=None):
    """The thread's loop on the fake clock: plan, sleep what it asked, repeat. `people` maps
    a local time to a verb someone gives then."""
    people = dict(people or {})
    wakes = 0
    while clock.now < at(until):
        sleep = scheduler.run_once()
        assert 0 < sleep <= CAP_S
        wakes += 1
        step = sleep
        for moment in sorted(people):
            due = (at(moment) - clock.now).total_seconds()
            if 0 <= due < step:
                clock.advance(due)
                scheduler.engine.submit(people.pop(moment), source="button")
                step = 0
                break
        clock.advance(step)
    return wakes


def test_ambient_starts_at_the_lead_time_and_a_no_show_fades_out_slowly(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T09:00")  # Monday
    run_until(scheduler, clock, "2026-11-30T11:00")
    assert room.by_schedule() == [("09:50:00", "Ambient"), ("10:20:00", "End")]
    _, ambient, _, _ = next(entry for entry in room.log if isinstance(entry[1], c.Ambient))
    assert ambient.fade_in_s == 60
    _, end, _, _ = next(entry for entry in room.log if isinstance(entry[1], c.End))
    assert end.fade_s == 30
    assert room.state.phase == "idle"


def test_no_fade_out_when_the_client_was_welcomed(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T09:00")
    run_until(scheduler, clock, "2026-11-30T11:00",
              people={"2026-11-30T10:02": c.Welcome(), "2026-11-30T10:05": c.Active()})
    assert room.by_schedule() == [("09:50:00", "Ambient")]
    assert room.state.phase == "active"


def test_the_sessions_welcome_song_and_ambient_tracks_reach_the_room(tmp_path):
    slot = weekly(welcome_track="Short hello", ambient_tracks=CALM)
    scheduler, room, clock = make(tmp_path, "2026-11-30T09:55", slots=[slot])
    scheduler.run_once()
    assert room.state.plan("ambient").tracks == CALM
    outcome = session.step(room.state, c.Welcome(), clock.mono())
    assert outcome.message == "welcome: Short hello"


def test_never_over_a_session_already_running(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T09:00")
    run_until(scheduler, clock, "2026-11-30T10:30", people={"2026-11-30T09:45": c.Active()})
    assert scheduler.upcoming(1)[0]["why_not"] == "not started: the room was in active at 10:00"
    run_until(scheduler, clock, "2026-11-30T11:00")
    assert room.by_schedule() == []
    assert room.state.phase == "active"


def test_a_room_freed_before_the_start_still_gets_its_ambient(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T09:00")
    run_until(scheduler, clock, "2026-11-30T10:30",
              people={"2026-11-30T09:40": c.Ambient(), "2026-11-30T09:52": c.End()})
    assert room.by_schedule()[0][1] == "Ambient"
    assert "09:52:00" <= room.by_schedule()[0][0] <= "09:52:30"


def test_no_ambient_in_quiet_hours(tmp_path):
    slot = weekly(start=time(21))
    scheduler, room, clock = make(tmp_path, "2026-11-30T20:00", slots=[slot],
                                  quiet=((time(20), time(7)),))
    run_until(scheduler, clock, "2026-11-30T22:00")
    assert room.by_schedule() == []
    assert scheduler.upcoming(1)[0]["why_not"] == "quiet hours (20:00-07:00)"


def test_a_restart_inside_the_window_starts_the_ambient_once(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T10:05")
    scheduler.run_once()
    scheduler.run_once()
    assert room.by_schedule() == [("10:05:00", "Ambient")]
    run_until(scheduler, clock, "2026-11-30T10:30")
    assert room.by_schedule() == [("10:05:00", "Ambient"), ("10:20:00", "End")]


def test_a_restart_after_the_no_show_time_starts_nothing(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T10:25")
    run_until(scheduler, clock, "2026-11-30T11:00")
    assert room.by_schedule() == []


def test_a_boot_at_1970_then_ntp_jumps_to_now(tmp_path):
    scheduler, room, clock = make(tmp_path, "1970-01-01T01:00:05")  # a Thursday, 00:00:05 UTC
    scheduler.config = ScheduleConfig(scheduler.timing, (weekly(days=range(7)),), ())
    assert scheduler.run_once() == CAP_S
    assert "the clock is not set (1970-01-01 00:00 UTC)" in room.faults["clock"]
    clock.advance(20)
    clock.jump(at("2026-11-30T09:55"))
    sleep = scheduler.run_once()
    assert scheduler.jumps == 1
    assert "clock" not in room.faults and "schedule" not in room.faults
    assert room.by_schedule() == [("09:55:00", "Ambient")], "one start, no burst of old ones"
    assert 0 < sleep <= CAP_S


def test_a_backwards_jump_neither_repeats_nor_prolongs_the_ambient(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T09:00")
    run_until(scheduler, clock, "2026-11-30T09:55")
    assert room.by_schedule() == [("09:50:00", "Ambient")]
    clock.jump(at("2026-11-30T08:55"))  # the wall clock goes back an hour
    run_until(scheduler, clock, "2026-11-30T09:51")  # past 09:50 again on the wall clock
    assert scheduler.jumps == 1
    ends = [(t, cmd) for t, cmd, src, ok in room.log if isinstance(cmd, c.End)]
    assert len(ends) == 1, "ended by the monotonic clock, 30 min after the ambient began"
    assert ends[0][0] == at("2026-11-30T09:20"), "09:20 on the wall clock is 10:20 really"
    assert [v for _, v in room.by_schedule()] == ["Ambient", "End"], "not started twice"


def test_a_forward_jump_over_a_whole_window_fires_nothing_late(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T09:00")
    scheduler.run_once()
    clock.jump(at("2026-11-30T11:00"))
    run_until(scheduler, clock, "2026-11-30T12:00")
    assert room.by_schedule() == []


def test_a_whole_day_needs_few_wakes(tmp_path):
    scheduler, room, clock = make(tmp_path, "2026-11-30T00:00")
    wakes = run_until(scheduler, clock, "2026-12-01T00:00")
    assert room.by_schedule() == [("09:50:00", "Ambient"), ("10:20:00", "End")]
    assert wakes <= 24 * 3600 / CAP_S + 10


@pytest.mark.parametrize("day, start", [("2026-03-29", "2026-03-28T12:00"),
                                        ("2026-10-25", "2026-10-24T12:00")])
def test_dst_days_run_each_session_once(tmp_path, day, start):
    slots = [Slot(id="w1", kind="weekly", minutes=45, days=frozenset({6}), at=time(2, 30)),
             Slot(id="w2", kind="weekly", minutes=45, days=frozenset({6}), at=time(10))]
    scheduler, room, clock = make(tmp_path, start, slots=slots)
    run_until(scheduler, clock, f"{day}T23:00")
    ambients = [t for t, cmd, src, ok in room.log if isinstance(cmd, c.Ambient)]
    assert len(ambients) == 2
    assert ambients[1].strftime("%H:%M") == "09:50"
