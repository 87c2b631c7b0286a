"""A clock the schedule can trust, and a schedule that remembers across restarts.

On a made-up clock with an injected sync probe (the kernel's answer), and the real session
core as the room: a Pi boots with a stale but plausible time, NTP sets it later; the power
goes off and on inside a pre-session window; a one-off is cancelled while its ambient plays.
"""
from __future__ import annotations

import json
from datetime import timedelta
from functools import partial

import pytest

from appliance.schedule import adapter as schedule_adapter
from appliance.schedule.clock import kernel_synced, sync_probe, system_clock_synced
from appliance.schedule.config import ScheduleConfig
from appliance.schedule.plan import Timing
from appliance.schedule.scheduler import CLOCK_POLL_S, Scheduler
from appliance.session import commands as c

from .test_schedule_scheduler import BERLIN, FakeClock, FakeRoom, at, run_until, weekly


class Probe:
    """The kernel's "has a time server set the clock?", as the test says."""

    def __init__(self, synced=False):
        self.synced = synced
        self.asked = 0

    def __call__(self):
        self.asked += 1
        return self.synced


def boot(state, start: str, probe, slots=None, trust="synced", clock=None):
    """One run of the appliance: a fresh (idle) room and scheduler on the same state folder."""
    clock = clock or FakeClock(at(start))
    room = FakeRoom(clock)
    timing = Timing(tz=BERLIN, lead_s=600, fade_in_s=60, no_show_s=1200, no_show_fade_s=30)
    config = ScheduleConfig(timing, tuple(slots or (weekly(),)), (), trust)
    scheduler = Scheduler(config, room, state, wall=clock.wall, mono=clock.mono,
                          synced=probe if trust == "synced" else None)
    scheduler.load()
    room.subscribe_events(scheduler._on_event)
    return scheduler, room, clock


@pytest.mark.fast
def test_a_stale_clock_is_not_acted_on_until_ntp_sets_it(tmp_path):
    probe = Probe(synced=False)
    # fake-hwclock restored Monday 09:55, inside a window: it is really Tuesday afternoon
    scheduler, room, clock = boot(tmp_path, "2026-11-30T09:55", probe)
    for _ in range(5):
        assert scheduler.run_once() == CLOCK_POLL_S
        clock.advance(CLOCK_POLL_S)
    assert room.by_schedule() == [], "the ambient of a wrong slot started on a stale clock"
    assert room.faults["clock"].startswith("waiting for the clock")
    assert 'trust_clock = "always"' in room.faults["clock"]
    probe.synced = True
    clock.jump(at("2026-12-01T14:00"))
    scheduler.run_once()
    assert room.by_schedule() == [] and "clock" not in room.faults
    assert scheduler.jumps == 1


@pytest.mark.fast
def test_a_sync_that_lands_inside_a_window_starts_the_ambient_at_once(tmp_path):
    probe = Probe(synced=False)
    scheduler, room, clock = boot(tmp_path, "2026-11-30T07:12", probe)  # a stale time
    scheduler.run_once()
    probe.synced = True
    clock.jump(at("2026-11-30T09:53:20"))
    scheduler.run_once()
    assert room.by_schedule() == [("09:53:20", "Ambient")]
    probe.synced = False  # the time server goes away later: the clock stays set
    clock.advance(60)
    scheduler.run_once()
    assert "clock" not in room.faults


@pytest.mark.fast
def test_always_never_asks_the_kernel_and_a_one_off_waits_for_the_clock(tmp_path):
    probe = Probe(synced=False)
    scheduler, room, clock = boot(tmp_path, "2026-11-30T09:55", probe, trust="always")
    scheduler.run_once()
    assert room.by_schedule() == [("09:55:00", "Ambient")] and probe.asked == 0
    assert sync_probe("always")() is True

    waiting, _, _ = boot(tmp_path / "other", "2026-11-30T09:55", probe)
    with pytest.raises(ValueError, match="^the clock is not synchronised yet: try again when "
                                         "it is$"):
        waiting.add("2026-12-02T10:00", 45)
    assert waiting.one_offs == []


@pytest.mark.fast
def test_reboots_inside_one_window_start_the_ambient_once(tmp_path):
    probe = Probe(synced=True)
    first, room, clock = boot(tmp_path, "2026-11-30T09:52", probe)
    first.run_once()
    assert room.by_schedule() == [("09:52:00", "Ambient")]
    for reboot_at in ("2026-11-30T09:56", "2026-11-30T10:01", "2026-11-30T10:12"):
        again, room, clock = boot(tmp_path, reboot_at, probe)  # the power came back
        run_until(again, clock, (at(reboot_at) + timedelta(minutes=3)).isoformat()[:16])
        assert room.by_schedule() == [], f"the ambient started again after a reboot at " \
                                         f"{reboot_at[11:]}"
    saved = json.loads((tmp_path / "schedule-acted.json").read_text())
    assert list(saved["acted"]) == ["w1@2026-11-30T09:00:00+00:00"]
    # the same slot on its next date is a new session: it starts as usual
    week, room, clock = boot(tmp_path, "2026-12-03T09:45", probe)
    run_until(week, clock, "2026-12-03T09:51")
    assert room.by_schedule() == [("09:50:00", "Ambient")]


@pytest.mark.fast
def test_why_a_session_got_no_ambient_survives_a_restart(tmp_path):
    probe = Probe(synced=True)
    scheduler, room, clock = boot(tmp_path, "2026-11-30T09:40", probe)
    room.submit(c.Active(), source="button")
    run_until(scheduler, clock, "2026-11-30T10:01")
    later, _, _ = boot(tmp_path, "2026-11-30T10:05", probe)
    assert later.upcoming(1)[0]["why_not"] == "not started: the room was in active at 10:00"


@pytest.mark.fast
def test_an_unreadable_memory_is_reported_and_the_schedule_goes_on(tmp_path, caplog):
    (tmp_path / "schedule-acted.json").write_text("{ not json")
    scheduler, room, clock = boot(tmp_path, "2026-11-30T09:55", Probe(synced=True))
    scheduler.run_once()
    assert "cannot read what the schedule already did" in caplog.text
    assert room.by_schedule() == [("09:55:00", "Ambient")]
    assert json.loads((tmp_path / "schedule-acted.json").read_text())["version"] == 1


@pytest.mark.fast
def test_cancelling_a_one_off_whose_ambient_plays_fades_it_out(tmp_path):
    probe = Probe(synced=True)
    scheduler, room, clock = boot(tmp_path, "2026-12-02T08:00", probe, slots=[weekly(days=[0])])
    one_off = scheduler.add("2026-12-02T09:00", 45, "K17")["id"]
    run_until(scheduler, clock, "2026-12-02T08:51")
    assert room.by_schedule() == [("08:50:00", "Ambient")]
    assert scheduler.remove(one_off)
    scheduler.run_once()  # the remove wakes the thread at once
    assert room.by_schedule() == [("08:50:00", "Ambient"), ("08:51:00", "End")]
    end = next(cmd for _, cmd, src, ok in room.log if isinstance(cmd, c.End))
    assert end.fade_s == 30 and end.only_from == "ambient"
    assert room.state.phase == "idle"


@pytest.mark.fast
def test_cancelling_a_one_off_leaves_a_room_a_person_took_over_alone(tmp_path):
    probe = Probe(synced=True)
    scheduler, room, clock = boot(tmp_path, "2026-12-02T08:00", probe, slots=[weekly(days=[0])])
    one_off = scheduler.add("2026-12-02T09:00", 45)["id"]
    run_until(scheduler, clock, "2026-12-02T08:55",
              people={"2026-12-02T08:53": c.Welcome()})
    assert scheduler.remove(one_off)
    scheduler.run_once()
    assert [v for _, v in room.by_schedule()] == ["Ambient"]
    assert room.state.phase == "welcome"


@pytest.mark.fast
def test_the_kernel_can_be_asked_and_timesyncds_flag_counts(tmp_path):
    assert kernel_synced() in (True, False), "adjtimex could not be read on Linux"
    flag = tmp_path / "synchronized"
    assert system_clock_synced(flag) is bool(kernel_synced())
    flag.touch()
    assert system_clock_synced(flag) is True


@pytest.mark.sound
def test_the_room_says_it_is_waiting_for_the_clock(room_factory, monkeypatch):
    monkeypatch.setattr(schedule_adapter, "Scheduler", partial(Scheduler, synced=lambda: False))
    room = room_factory(extra='[schedule]\ntimezone = "UTC"\n')
    with room:
        status = room.wait_for(lambda s: "clock" in s["faults"], timeout=5,
                               what="the clock fault")
        assert status["faults"]["clock"].startswith("waiting for the clock")
        from appliance.__main__ import format_status
        assert "FAULT clock: waiting for the clock" in format_status(status)
        # MQTT and Home Assistant get the fault's name (never its text)
        from appliance.mqtt.messages import state_payload
        assert "clock" in json.loads(state_payload(room.engine.status(), 0.0, 0.0))["faults"]
        assert room.ask("welcome")["ok"], "the room must still work from its buttons and panel"
