"""One-off sessions: booked, cancelled, kept across restarts, power cuts and a corrupt file."""
from __future__ import annotations

import json
import os

import pytest

from appliance.schedule.store import FILE_NAME

from .test_schedule_scheduler import make, run_until

pytestmark = pytest.mark.fast


def restart(tmp_path, start="2026-11-30T09:00"):
    return make(tmp_path, start)


def test_one_offs_added_and_removed_survive_a_restart(tmp_path):
    scheduler, _, _ = make(tmp_path, "2026-11-30T09:00")
    first = scheduler.add("2026-12-01T10:00", 45, "K17")
    second = scheduler.add("2026-12-02T15:00+01:00", "30", None)
    assert first["start"] == "2026-12-01T10:00+01:00" and first["kind"] == "one-off"
    assert first["ambient_at"] == "2026-12-01T09:50+01:00" and first["why_not"] is None
    assert scheduler.remove(second["id"]) is True
    assert scheduler.remove(second["id"]) is False
    assert scheduler.remove("w1") is False, "a weekly slot lives in config.toml"

    again, room, clock = restart(tmp_path)
    listed = [(s["id"], s["start"], s["label"]) for s in again.upcoming(3)]
    assert listed == [("w1", "2026-11-30T10:00+01:00", None),
                      (first["id"], "2026-12-01T10:00+01:00", "K17"),
                      ("w1", "2026-12-03T10:00+01:00", None)]
    run_until(again, clock, "2026-12-01T10:30")
    assert room.by_schedule()[-2:] == [("09:50:00", "Ambient"), ("10:20:00", "End")]


@pytest.mark.parametrize("start, minutes, label, error", [
    ("tomorrow", 45, None,
     "schedule add: start: 'tomorrow' is not a date and time like 2026-12-01T10:00"),
    ("2026-11-29T10:00", 45, None, "start: 2026-11-29T10:00 is in the past"),
    ("2028-01-01T10:00", 45, None, "start: 2028-01-01T10:00 is more than a year ahead"),
    ("2027-03-28T02:30", 45, None,
     "start: 2027-03-28T02:30 does not exist in Europe/Berlin (the clocks go forward then)"),
    ("2026-12-01T10:00", 0, None, "schedule add: minutes must be between 5 and 480, not 0"),
    ("2026-12-01T10:00", True, None, "schedule add: minutes must be a number, not True"),
    ("2026-12-01T10:00", 45, "Anna Schmidt",
     "schedule add: label: 'Anna Schmidt' is not a client code: 1-32 letters, digits, '.', '-' or '_', "
     "no spaces (never a client's name)"),
    ("2026-12-03T10:30", 45, None, "start: overlaps the weekly session w1 at Thu 10:00"),
    ("2026-12-03T10:50", 45, None,
     "start: the lead time (10 min) is longer than the gap after the weekly session w1 at "
     "Thu 10:00"),
    ("2026-12-03T09:10", 45, None,
     "start: leaves less than the lead time (10 min) before the weekly session w1 at Thu 10:00"),
])
def test_bad_one_offs_are_refused_with_one_line_and_nothing_saved(tmp_path, start, minutes,
                                                                  label, error):
    scheduler, _, _ = make(tmp_path, "2026-11-30T09:00")
    with pytest.raises(ValueError) as refused:
        scheduler.add(start, minutes, label)
    assert str(refused.value) == error
    assert not (tmp_path / "state" / FILE_NAME).exists()


def test_a_power_cut_before_the_rename_loses_nothing(tmp_path, monkeypatch):
    scheduler, _, _ = make(tmp_path, "2026-11-30T09:00")
    kept = scheduler.add("2026-12-01T10:00", 45, "K17")

    def power_cut(src, dst):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(ValueError, match="schedule.json: cannot save"):
        scheduler.add("2026-12-02T10:00", 45)
    assert [s["id"] for s in scheduler.upcoming(5) if s["kind"] == "one-off"] == [kept["id"]]
    monkeypatch.undo()
    # a real power cut also leaves the half-written temp file behind
    stray = tmp_path / "state" / f".{FILE_NAME}.4242.tmp"
    stray.write_text('{"version": 1, "sessions": [{"id": "o-')
    again, room, _ = restart(tmp_path)
    assert [s["id"] for s in again.upcoming(5) if s["kind"] == "one-off"] == [kept["id"]]
    assert not stray.exists()
    assert room.faults == {}


def test_a_corrupt_file_is_kept_reported_and_the_last_good_copy_used(tmp_path):
    scheduler, _, _ = make(tmp_path, "2026-11-30T09:00")
    kept = scheduler.add("2026-12-01T10:00", 45, "K17")
    state = tmp_path / "state"
    (state / FILE_NAME).write_bytes(b'{"version": 1, "sessions": [\x00\x00\x00')
    again, room, clock = restart(tmp_path)
    assert [s["id"] for s in again.upcoming(5) if s["kind"] == "one-off"] == [kept["id"]]
    fault = room.faults["schedule"]
    assert fault.startswith(f"{state / FILE_NAME}: not valid JSON")
    assert "using the last good copy schedule.json.bak (1 one-off sessions)" in fault
    [aside] = state.glob(f"{FILE_NAME}.corrupt-*")
    assert aside.read_bytes().endswith(b"\x00\x00\x00"), "the corrupt file is kept to look at"
    # the schedule runs on, and the next booking writes a good file again
    again.add("2026-12-02T10:00", 45)
    assert "schedule" not in room.faults
    saved = json.loads((state / FILE_NAME).read_text())
    assert len(saved["sessions"]) == 2


def test_a_file_edited_wrongly_by_hand_names_the_entry(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / FILE_NAME).write_text(json.dumps({"version": 1, "sessions": [
        {"id": "o-abc123", "start": "2026-12-01 10:00", "minutes": 45, "label": None}]}))
    _, room, _ = restart(tmp_path)
    assert room.faults["schedule"].startswith(
        f"{state / FILE_NAME}: sessions[0].start: not a date and time with offset: "
        "'2026-12-01 10:00'; kept as schedule.json.corrupt-")
    assert room.faults["schedule"].endswith("no good copy: no one-off sessions")
