"""The schedule's pure logic: which booked sessions fall when, and what should be true now.

No threads, no clocks, no I/O: every function takes `now` (an aware datetime) and returns
plain values, so the adapter can ask "what should the room be doing at this moment?" after
every wake, a reboot or a clock jump, instead of replaying jobs it may have missed.

All arithmetic is done in UTC. A weekly slot is placed on each local date by reading its
local start with fold=0: a start inside the spring-forward gap (02:30 in Europe/Berlin on
the last Sunday of March) lands on the same instant as 03:30, an ambiguous autumn start
(02:30 on the last Sunday of October) is its first occurrence. One date, one session: a DST
change neither skips nor doubles a session.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Optional

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOK_BACK = timedelta(days=1)   # sessions last at most 8 h: a day back finds every neighbour
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Timing:
    """The [schedule] settings (seconds, local quiet-hour ranges)."""
    tz: object                      # a zoneinfo.ZoneInfo
    lead_s: float = 600.0
    fade_in_s: float = 60.0
    no_show_s: float = 1200.0
    no_show_fade_s: float = 30.0
    quiet_hours: tuple = ()         # ((time begin, time end), ...), may wrap midnight


@dataclass(frozen=True)
class Slot:
    """A booked session: a weekly slot from config or a one-off added at run time."""
    id: str
    kind: str                       # "weekly" or "one-off"
    minutes: float
    label: Optional[str] = None     # a client code, never a name
    welcome_track: Optional[str] = None
    ambient_tracks: Optional[tuple] = None
    days: frozenset = frozenset()   # weekly: local weekdays, 0 = Monday
    at: Optional[time] = None       # weekly: local start time
    start: Optional[datetime] = None  # one-off: aware start


@dataclass(frozen=True)
class Occurrence:
    """One session on one date, with when its ambient starts or why it will not."""
    slot: Slot
    start: datetime                 # UTC
    end: datetime                   # UTC
    ambient_at: Optional[datetime]  # UTC; None when ambient will not start
    no_show_at: datetime            # UTC: ambient still playing then -> nobody came
    why_not: Optional[str] = None

    @property
    def key(self) -> str:
        """Names this session on this date: the adapter acts at most once per key."""
        return f"{self.slot.id}@{self.start.isoformat()}"


@dataclass(frozen=True)
class Plan:
    due: Optional[Occurrence]       # ambient should be playing now for this session
    occurrences: tuple              # the sessions around now, annotated
    next_wake: datetime             # UTC: the next moment at which the answer may change


def describe_week_minute(minute: int) -> str:
    minute %= 7 * 1440
    return f"{WEEKDAYS[minute // 1440]} {minute % 1440 // 60:02d}:{minute % 60:02d}"


def local_start(day: date, at: time, tz) -> datetime:
    """The UTC instant of local `at` on `day` (fold=0: see the module docstring)."""
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0).astimezone(UTC)


def local_time_exists(naive: datetime, tz) -> bool:
    """False for a wall time skipped when the clocks go forward."""
    there = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    return there.replace(tzinfo=None) == naive


def in_quiet_hours(instant: datetime, timing: Timing) -> Optional[tuple]:
    """The quiet-hour range `instant` falls in, if any."""
    t = instant.astimezone(timing.tz).time()
    for begin, end in timing.quiet_hours:
        if (begin <= t < end) if begin < end else (t >= begin or t < end):
            return begin, end
    return None


def quiet_end_after(instant: datetime, timing: Timing) -> datetime:
    """When the quiet hours `instant` falls in are over (UTC)."""
    _, end = in_quiet_hours(instant, timing)
    local = instant.astimezone(timing.tz)
    candidate = local_start(local.date(), end, timing.tz)
    return candidate if candidate > instant else local_start(local.date() + DAY, end,
                                                             timing.tz)


def occurrences(slots: Iterable[Slot], timing: Timing, begin: datetime,
                end: datetime) -> list[Occurrence]:
    """Every session that is still on after `begin` and starts before `end`, in order,
    each with its ambient start or the reason it has none."""
    slots = tuple(slots)
    raw = []
    first = (begin - LOOK_BACK).astimezone(timing.tz).date()
    last = end.astimezone(timing.tz).date()
    for slot in slots:
        if slot.kind == "weekly":
            day = first
            while day <= last:
                if day.weekday() in slot.days:
                    raw.append((local_start(day, slot.at, timing.tz), slot))
                day += DAY
        elif begin - LOOK_BACK <= slot.start < end:
            raw.append((slot.start.astimezone(UTC), slot))
    raw.sort(key=lambda item: (item[0], item[1].kind != "weekly", item[1].id))
    result, previous = [], None
    for start, slot in raw:
        occ = _annotate(slot, start, previous, timing)
        if previous is None or occ.end > previous.end:
            previous = occ
        if occ.end > begin and start < end:
            result.append(occ)
    return result


def _annotate(slot: Slot, start: datetime, previous: Optional[Occurrence],
              timing: Timing) -> Occurrence:
    end = start + timedelta(minutes=slot.minutes)
    no_show_at = min(start + timedelta(seconds=timing.no_show_s), end)
    why_not = None
    ambient_at = start - timedelta(seconds=timing.lead_s)
    if previous is not None and start < previous.end:
        why_not = f"overlaps {describe(previous, timing)}"
    elif previous is not None and ambient_at < previous.end:
        ambient_at = previous.end  # never over the session before (config forbids it anyway)
    if why_not is None and in_quiet_hours(ambient_at, timing):
        quiet = in_quiet_hours(ambient_at, timing)
        later = quiet_end_after(ambient_at, timing)
        if later < no_show_at:
            ambient_at = later
        else:
            why_not = f"quiet hours ({quiet[0]:%H:%M}-{quiet[1]:%H:%M})"
    return Occurrence(slot, start, end, None if why_not else ambient_at, no_show_at, why_not)


def describe(occ: Occurrence, timing: Timing) -> str:
    local = occ.start.astimezone(timing.tz)
    kind = "weekly session" if occ.slot.kind == "weekly" else "one-off session"
    return f"{kind} {occ.slot.id} ({local:%a %Y-%m-%d %H:%M}, {occ.slot.minutes:g} min)"


def plan(slots: Iterable[Slot], timing: Timing, now: datetime) -> Plan:
    """What should be true at `now`, and when to look again."""
    now = now.astimezone(UTC)
    around = occurrences(slots, timing, now, now + 2 * DAY)
    due = None
    for occ in around:
        if (occ.ambient_at is not None and occ.ambient_at <= now < occ.no_show_at
                and not in_quiet_hours(now, timing)):
            due = occ
            break
    moments = [t for occ in around for t in (occ.ambient_at, occ.start, occ.no_show_at)
               if t is not None and t > now]
    return Plan(due, tuple(around), min(moments, default=now + DAY))


def upcoming(slots: Iterable[Slot], timing: Timing, now: datetime,
             limit: int = 10) -> list[Occurrence]:
    """The next `limit` sessions not yet over (a year ahead at most); those whose ambient
    window has passed say so."""
    slots = tuple(slots)
    now = now.astimezone(UTC)
    horizon = timedelta(days=14)
    while True:
        found = occurrences(slots, timing, now, now + horizon)
        if len(found) >= limit or horizon >= timedelta(days=370):
            break
        horizon *= 2
    result = []
    for occ in found[:limit]:
        if occ.no_show_at <= now and occ.why_not is None:
            occ = Occurrence(occ.slot, occ.start, occ.end, None, occ.no_show_at, "in the past")
        result.append(occ)
    return result
