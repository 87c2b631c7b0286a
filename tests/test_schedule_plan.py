"""The schedule's pure plan: lead time, no-show time, quiet hours, overlaps, DST both ways."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from appliance.schedule.plan import UTC, Slot, Timing, occurrences, plan, upcoming

import pytest

pytestmark = pytest.mark.fast

BERLIN = ZoneInfo("Europe/Berlin")
MON, SUN = 0, 6


def at(text: str) -> datetime:
    """A Berlin wall time as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def weekly(sid="w1", days=(MON,), start=time(10), minutes=45):
    return Slot(id=sid, kind="weekly", minutes=minutes, days=frozenset(days), at=start)


def one_off(sid, start: str, minutes=45):
    return Slot(id=sid, kind="one-off", minutes=minutes, start=at(start).astimezone(UTC))


TIMING = Timing(tz=BERLIN, lead_s=600, no_show_s=1200)


def test_ambient_is_due_from_the_lead_time_until_the_no_show_time():
    slots = [weekly()]  # Monday 2026-11-30 10:00
    before = plan(slots, TIMING, at("2026-11-30T09:49:59"))
    assert before.due is None
    assert before.next_wake == at("2026-11-30T09:50")
    for moment in ("09:50", "10:00", "10:19:59"):
        assert plan(slots, TIMING, at(f"2026-11-30T{moment}")).due.start == at("2026-11-30T10:00")
    after = plan(slots, TIMING, at("2026-11-30T10:20"))
    assert after.due is None, "after the no-show time the schedule wants the ambient off"


def test_a_short_session_is_a_no_show_at_its_end():
    [occ] = occurrences([weekly(minutes=15)], TIMING, at("2026-11-30T00:00"), at("2026-12-01"))
    assert occ.no_show_at == at("2026-11-30T10:15")


def test_quiet_hours_delay_or_cancel_the_ambient():
    timing = Timing(tz=BERLIN, lead_s=600, no_show_s=1200, quiet_hours=((time(20), time(7)),))
    early = weekly("w1", start=time(7, 5))
    night = weekly("w2", start=time(21))
    occs = occurrences([early, night], timing, at("2026-11-30T00:00"), at("2026-12-01"))
    by_id = {o.slot.id: o for o in occs}
    assert by_id["w1"].ambient_at == at("2026-11-30T07:00"), "waits for the quiet hours to end"
    assert by_id["w2"].ambient_at is None
    assert by_id["w2"].why_not == "quiet hours (20:00-07:00)"
    assert plan([night], timing, at("2026-11-30T20:55")).due is None
    assert plan([early], timing, at("2026-11-30T06:59")).due is None
    assert plan([early], timing, at("2026-11-30T07:00")).due is not None


def test_an_overlapping_one_off_gets_no_ambient_and_says_why():
    slots = [weekly(), one_off("o-1", "2026-11-30T10:30")]
    occs = occurrences(slots, TIMING, at("2026-11-30T00:00"), at("2026-12-01"))
    clash = next(o for o in occs if o.slot.id == "o-1")
    assert clash.ambient_at is None
    assert clash.why_not == "overlaps weekly session w1 (Mon 2026-11-30 10:00, 45 min)"


def test_a_session_right_after_another_gets_ambient_only_after_it():
    slots = [weekly(), one_off("o-1", "2026-11-30T10:50")]
    occs = occurrences(slots, TIMING, at("2026-11-30T00:00"), at("2026-12-01"))
    assert next(o for o in occs if o.slot.id == "o-1").ambient_at == at("2026-11-30T10:45")


def due_keys_walking(slots, timing, begin: datetime, end: datetime, step_s=60):
    """Every distinct session the plan says is due, checking each minute of real (UTC) time."""
    keys, now = [], begin.astimezone(UTC)
    while now < end:
        due = plan(slots, timing, now).due
        if due is not None and due.key not in keys:
            keys.append(due.key)
        now += timedelta(seconds=step_s)
    return keys


def test_spring_forward_neither_skips_nor_doubles_a_session():
    # 2026-03-29 in Berlin: 02:00 CET becomes 03:00 CEST
    slots = [weekly("w1", days=(SUN,), start=time(2, 30)),
             weekly("w2", days=(SUN,), start=time(10))]
    occs = occurrences(slots, TIMING, at("2026-03-28T12:00"), at("2026-03-30T00:00"))
    starts = {o.slot.id: o.start.astimezone(BERLIN) for o in occs}
    assert len(occs) == 2
    assert starts["w1"].isoformat() == "2026-03-29T03:30:00+02:00", "02:30 does not exist"
    assert starts["w2"].isoformat() == "2026-03-29T10:00:00+02:00"
    w2 = next(o for o in occs if o.slot.id == "w2")
    assert w2.start - w2.ambient_at == timedelta(minutes=10)
    keys = due_keys_walking(slots, TIMING, at("2026-03-28T12:00"), at("2026-03-30T00:00"))
    assert [k.split("@")[0] for k in keys] == ["w1", "w2"]


def test_fall_back_neither_skips_nor_doubles_a_session():
    # 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET, 02:30 happens twice
    slots = [weekly("w1", days=(SUN,), start=time(2, 30)),
             weekly("w2", days=(SUN,), start=time(10))]
    occs = occurrences(slots, TIMING, at("2026-10-24T12:00"), at("2026-10-26T00:00"))
    starts = {o.slot.id: o.start.astimezone(BERLIN).isoformat() for o in occs}
    assert len(occs) == 2
    assert starts == {"w1": "2026-10-25T02:30:00+02:00", "w2": "2026-10-25T10:00:00+01:00"}
    keys = due_keys_walking(slots, TIMING, at("2026-10-24T12:00"), at("2026-10-26T00:00"))
    assert [k.split("@")[0] for k in keys] == ["w1", "w2"]


def test_the_week_after_a_dst_change_keeps_its_local_time():
    slots = [weekly(days=(SUN,), start=time(10))]
    occs = occurrences(slots, TIMING, at("2026-10-18T00:00"), at("2026-11-02T00:00"))
    assert [o.start.astimezone(BERLIN).strftime("%m-%d %H:%M") for o in occs] == [
        "10-18 10:00", "10-25 10:00", "11-01 10:00"]


def test_upcoming_lists_the_next_sessions_and_marks_a_past_window():
    slots = [weekly(days=(MON, 3)), one_off("o-1", "2026-12-02T15:00")]
    listed = upcoming(slots, TIMING, at("2026-11-30T10:30"), limit=4)
    assert [(o.slot.id, o.start.astimezone(BERLIN).strftime("%a %H:%M")) for o in listed] == [
        ("w1", "Mon 10:00"), ("o-1", "Wed 15:00"), ("w1", "Thu 10:00"), ("w1", "Mon 10:00")]
    assert listed[0].why_not == "in the past" and listed[0].ambient_at is None
    assert listed[1].ambient_at == at("2026-12-02T14:50")


def test_upcoming_reaches_a_one_off_months_ahead():
    listed = upcoming([one_off("o-1", "2027-06-01T09:00")], TIMING, at("2026-11-30T10:30"))
    assert [o.slot.id for o in listed] == ["o-1"]
