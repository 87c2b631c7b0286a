"""The [schedule] section and the weekly [[sessions]] slots of config.toml.

Every problem is reported at once, naming the slot: "sessions[2].start: '25:00' is not a time
(HH:MM)". Overlapping slots and a lead time longer than the gap after the previous slot are
errors too, because either would make the room start ambient over a session.
"""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from typing import Optional

from ..errors import PlaylistError
from ..playlist import load_playlist
from ..schema import Problems, Section
from ..session.model import find_track
from ..verbs import TABLE, check_label
from .clock import TRUST_CHOICES
from .plan import WEEKDAYS, Slot, Timing, describe_week_minute

SECTIONS = ("schedule", "sessions")
TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
QUIET_RE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
WEEK_MIN = 7 * 24 * 60
SESSION_MINUTES = TABLE["schedule add"].arg("minutes")  # the same limits as a one-off


@dataclass(frozen=True)
class ScheduleConfig:
    timing: Timing
    slots: tuple[Slot, ...]          # the weekly slots, ids w1, w2 ... in config order
    track_problems: tuple[str, ...]  # tracks left out of a session's ambient playlist
    trust_clock: str = "synced"      # "synced": act only once NTP has set the clock


def parse_time(text) -> Optional[time]:
    """'09:30' -> time(9, 30); None when it is not a 24-hour HH:MM time."""
    m = TIME_RE.match(text) if isinstance(text, str) else None
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return None
    return time(int(m.group(1)), int(m.group(2)))


def parse(data: dict, problems: Problems, base: Path, library=None):
    """Return this adapter's config (None: not configured, the adapter stays off).
    `library`: the room's loaded playlists (None when media are not checked)."""
    if "schedule" not in data and "sessions" not in data:
        return None
    s = Section("schedule", data.get("schedule"), problems)
    tz = _timezone(s, problems)
    d = {f.name: f.default for f in fields(Timing)}  # the defaults live on Timing, once
    timing = dict(
        lead_s=s.number("lead_minutes", d["lead_s"] / 60, 0, 120) * 60.0,
        fade_in_s=s.number("fade_in_s", d["fade_in_s"], 0.05, 600),
        no_show_s=s.number("no_show_minutes", d["no_show_s"] / 60, 1, 240) * 60.0,
        no_show_fade_s=s.number("no_show_fade_s", d["no_show_fade_s"], 0.05, 600),
        quiet_hours=_quiet_hours(s.raw("quiet_hours", []), problems))
    trust_clock = s.string("trust_clock", "synced", TRUST_CHOICES)
    s.finish()
    welcome_tracks = None if library is None else library.welcome
    slots, track_problems = [], []
    raw = data.get("sessions", [])
    if not isinstance(raw, list):
        problems.add("sessions", "must be a list of tables ([[sessions]])")
        raw = []
    for i, table in enumerate(raw):
        slot = _slot(i, table, problems, base, welcome_tracks, track_problems)
        if slot is not None:
            slots.append(slot)
    _check_week(slots, timing["lead_s"] / 60.0, problems)
    if tz is None:
        return None
    timing = Timing(tz=tz, **timing)
    return ScheduleConfig(timing, tuple(slots), tuple(track_problems), trust_clock)


def _timezone(s: Section, problems: Problems):
    name = s.string("timezone", "")
    if not name:
        if "timezone" not in s.table:
            problems.add("schedule.timezone", "missing: an IANA name such as 'Europe/Berlin'")
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        import difflib
        close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.add("schedule.timezone", f"unknown timezone {name!r}{hint}")
        return None


def _quiet_hours(raw, problems: Problems) -> tuple:
    if not isinstance(raw, list):
        problems.add("schedule.quiet_hours", f'must be a list like ["20:00-07:00"], not {raw!r}')
        return ()
    ranges = []
    for i, text in enumerate(raw):
        m = QUIET_RE.match(text) if isinstance(text, str) else None
        begin, end = (parse_time(m.group(1)), parse_time(m.group(2))) if m else (None, None)
        if begin is None or end is None or begin == end:
            problems.add(f"schedule.quiet_hours[{i}]",
                         f"{text!r} is not a time range like '20:00-07:00'")
            continue
        ranges.append((begin, end))
    return tuple(ranges)


def _slot(i, table, problems, base, welcome_tracks, track_problems) -> Optional[Slot]:
    where = f"sessions[{i}]"
    if not isinstance(table, dict):
        problems.add(where, "must be a table ([[sessions]])")
        return None
    before = len(problems)
    t = Section(where, table, problems)
    days = t.raw("days")
    if not isinstance(days, list) or not days:
        problems.add(f"{where}.days", f'must be a list of weekdays like ["mon", "thu"], '
                                      f"not {days!r}")
        days = []
    day_numbers = set()
    for day in days:
        name = day.strip().lower() if isinstance(day, str) else ""
        key = name[:3] if name in WEEKDAYS or name == _FULL.get(name[:3]) else None
        if key is None:
            problems.add(f"{where}.days", f"{day!r} is not a weekday "
                                          f"(use {', '.join(WEEKDAYS)})")
            continue
        if WEEKDAYS.index(key) in day_numbers:
            problems.add(f"{where}.days", f"{day!r} is listed twice")
        day_numbers.add(WEEKDAYS.index(key))
    raw_start = t.raw("start")
    start = parse_time(raw_start)
    if start is None:
        problems.add(f"{where}.start", f"{raw_start!r} is not a time (HH:MM)")
    minutes = t.number("minutes", None, SESSION_MINUTES.low, SESSION_MINUTES.high)
    if minutes is None and "minutes" not in table:
        problems.add(f"{where}.minutes", "missing: how long the session is, in minutes")
    label = t.raw("label")
    if label is not None:
        problem = check_label(label)
        if problem:
            problems.add(f"{where}.label", problem)
    welcome = t.raw("welcome")
    if welcome is not None:
        if not isinstance(welcome, str) or not welcome.strip():
            problems.add(f"{where}.welcome", "must be a track name from the welcome playlist")
        elif welcome_tracks is not None and find_track(welcome_tracks, welcome) is None:
            problems.add(f"{where}.welcome", f"no track called {welcome!r} in the welcome "
                                             "playlist")
    tracks = None
    playlist = t.raw("ambient_playlist")
    if playlist is not None:
        tracks = _ambient_tracks(f"{where}.ambient_playlist", playlist, base, problems,
                                 track_problems)
    t.finish()
    if len(problems) > before or minutes is None:
        return None
    return Slot(id=f"w{i + 1}", kind="weekly", minutes=float(minutes), label=label,
                welcome_track=welcome.strip() if welcome else None, ambient_tracks=tracks,
                days=frozenset(day_numbers), at=start)


_FULL = {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
         "fri": "friday", "sat": "saturday", "sun": "sunday"}


def _ambient_tracks(where, value, base, problems, track_problems):
    if not isinstance(value, str) or not value.strip():
        problems.add(where, f"must be the path of an .m3u playlist, not {value!r}")
        return None
    try:
        loaded = load_playlist(base / Path(value).expanduser())
    except PlaylistError as exc:
        problems.add(where, str(exc))
        return None
    track_problems.extend(loaded.problems)
    if not loaded.tracks:
        problems.add(where, f"{loaded.path}: no playable track in this playlist")
        return None
    return loaded.tracks


def _check_week(slots, lead_minutes: float, problems: Problems):
    """Overlaps and too-short gaps between consecutive slots, around the week (local time)."""
    weekly = sorted((day * 1440 + slot.at.hour * 60 + slot.at.minute, slot, index)
                    for index, slot in enumerate(slots) for day in slot.days)
    for n, (begin, slot, _index) in enumerate(weekly):
        if len(weekly) < 2:
            return
        nxt_begin, nxt, nxt_index = weekly[(n + 1) % len(weekly)]
        if n + 1 == len(weekly):
            nxt_begin += WEEK_MIN
        gap = nxt_begin - (begin + slot.minutes)
        this = f"sessions[{_config_index(slot)}] ({describe_week_minute(begin)}, " \
               f"{slot.minutes:g} min)"
        other = f"sessions[{_config_index(nxt)}]"
        if gap < 0:
            problems.add(other, f"{describe_week_minute(nxt_begin)} overlaps {this}")
        elif gap < lead_minutes:
            problems.add(other, f"the lead time ({lead_minutes:g} min) is longer than the "
                                f"{gap:g} min gap after {this}")


def _config_index(slot: Slot) -> int:
    return int(slot.id[1:]) - 1

