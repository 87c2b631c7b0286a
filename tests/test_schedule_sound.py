"""The schedule in the real appliance: libVLC into the null sink, recorded.

The scheduler runs on the wall clock shifted to just before a booked session (time passes at
its real rate), so the room is heard doing what the schedule says at the moment it says.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from appliance.__main__ import main
from appliance.schedule import adapter as schedule_adapter
from appliance.schedule.scheduler import Scheduler

from .conftest import AMBIENT_HZ
from .sound import heard_at

import pytest

pytestmark = pytest.mark.sound

BERLIN = ZoneInfo("Europe/Berlin")
HEARD_DB = -60.0
SCHEDULE = """
[schedule]
timezone = "Europe/Berlin"
trust_clock = "always"
lead_minutes = 10
fade_in_s = {fade_in_s}
no_show_minutes = 20
no_show_fade_s = {no_show_fade_s}
[[sessions]]
days = ["mon"]
start = "10:00"
minutes = 45
"""


class ShiftedClock:
    """A wall clock reading `local` (Berlin) when the scheduler first looks at it, then
    running at the real rate; `t0` is that first look (monotonic)."""

    def __init__(self, monkeypatch, local: str):
        self.base = datetime.fromisoformat(local).replace(tzinfo=BERLIN)
        self.t0 = None
        monkeypatch.setattr(schedule_adapter, "Scheduler", partial(Scheduler, wall=self))

    def __call__(self) -> datetime:
        if self.t0 is None:
            self.t0 = time.monotonic()
        return self.base + timedelta(seconds=time.monotonic() - self.t0)


def test_ambient_is_heard_at_the_lead_time_and_not_before(room_factory, recorder, monkeypatch):
    room = room_factory(extra=SCHEDULE.format(fade_in_s=0.5, no_show_fade_s=2))
    clock = ShiftedClock(monkeypatch, "2026-11-30T09:49:57")  # ambient due at 09:50:00
    with room:
        assert room.status()["phase"] == "idle"
        room.wait_for(lambda s: s["phase"] == "ambient", timeout=6, what="scheduled ambient")
        time.sleep(1.2)
    rec = recorder.take()
    t0, due = clock.t0, clock.t0 + 3.0
    onset = rec.onset(AMBIENT_HZ, after=t0, threshold_db=HEARD_DB)
    assert onset is not None, "the scheduled ambient was never heard"
    assert due - 0.05 <= onset <= due + 0.5, f"heard {onset - due:+.2f} s from its time"
    level = max(db for _, db in rec.tone_levels(AMBIENT_HZ, onset + 0.7, onset + 1.0))
    assert abs(level - heard_at(40)) <= 2.0, "not at ambient_level"


def test_a_no_show_fades_the_ambient_out_and_the_room_goes_idle(room_factory, recorder,
                                                                 monkeypatch):
    room = room_factory(extra=SCHEDULE.format(fade_in_s=0.3, no_show_fade_s=2))
    clock = ShiftedClock(monkeypatch, "2026-11-30T10:19:57")  # a reboot inside the window
    with room:
        room.wait_for(lambda s: s["phase"] == "ambient", timeout=3, what="ambient on restart")
        room.wait_for(lambda s: s["phase"] == "idle", timeout=6, what="the no-show end")
        time.sleep(2.5)
    rec = recorder.take()
    t0, no_show = clock.t0, clock.t0 + 3.0
    assert rec.onset(AMBIENT_HZ, after=t0, threshold_db=HEARD_DB) < t0 + 1.0
    fade = [db for _, db in rec.tone_levels(AMBIENT_HZ, no_show + 0.3, no_show + 2.0)]
    assert fade[0] > heard_at(40) - 6, "the ambient was not playing at the no-show time"
    for earlier, later in zip(fade, fade[1:]):
        assert later <= earlier + 0.5, f"the level rose while fading out: {fade}"
    assert fade[-1] < fade[0] - 10, "the fade was not slow: it should take 2 s"
    gone = [db for _, db in rec.levels(no_show + 2.6, no_show + 3.0)]
    assert max(gone) < -70, "still heard after the no-show fade"


def test_one_offs_from_the_command_line(room_factory, capsys):
    room = room_factory(extra='[schedule]\ntimezone = "UTC"\ntrust_clock = "always"\n')
    socket = str(room.cfg.socket_path)
    start = (datetime.now(ZoneInfo("UTC")) + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    with room:
        assert main(["schedule", "add", start, "45", "--label", "K17", "--socket", socket]) == 0
        added = capsys.readouterr().out
        assert added.startswith("added: o-") and "K17" in added and "from 09:50" in added
        one_off = added.split()[1]

        assert main(["schedule", "list", "--json", "--socket", socket]) == 0
        [listed] = json.loads(capsys.readouterr().out)
        assert listed == {"id": one_off, "kind": "one-off", "start": f"{start}+00:00",
                          "end": f"{start[:11]}10:45+00:00", "minutes": 45.0, "label": "K17",
                          "ambient_at": f"{start[:11]}09:50+00:00", "why_not": None}

        assert main(["schedule", "add", start, "45", "--label", "Anna Schmidt",
                     "--socket", socket]) == 2
        assert "refused: schedule add: label: 'Anna Schmidt' is not a client code" in \
            capsys.readouterr().err
        assert main(["schedule", "remove", "o-nope", "--socket", socket]) == 2
        assert capsys.readouterr().err == "refused: schedule remove: no one-off session " \
                                          "'o-nope'\n"
        assert main(["schedule", "remove", one_off, "--socket", socket]) == 0
        assert main(["schedule", "list", "--socket", socket]) == 0
        assert capsys.readouterr().out.endswith("no sessions booked\n")
    assert room.daemon.adapters["schedule"].scheduler.upcoming() == []


BAD_REQUESTS = [
    ({"action": "fly"}, "invalid", "schedule: unknown action 'fly' (list, add, remove, forget)"),
    ({"action": "list", "limit": "all"}, "invalid",
     "schedule list: limit must be a whole number, not 'all'"),
    ({"action": "add", "start": "2030-01-01T10:00", "minutes": 45}, "refused",
     "schedule add: start: 2030-01-01T10:00 is more than a year ahead"),
    ({"action": "add", "start": "2030-01-01T10:00"}, "invalid", "schedule add: missing minutes"),
    ({"action": "remove"}, "invalid", "schedule remove: missing id"),
]


def test_bad_requests_get_one_line_and_disturb_nothing(room_factory):
    room = room_factory(extra='[schedule]\ntimezone = "UTC"\ntrust_clock = "always"\n')
    with room:
        room.send("ambient")
        for args, kind, error in BAD_REQUESTS:
            assert room.ask("schedule", **args) == {"ok": False, "kind": kind, "error": error}
        assert room.status()["phase"] == "ambient"
