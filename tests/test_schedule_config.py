"""Config of the schedule: every mistake named by slot and key, the demo config still runs."""
from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.errors import ConfigError

from .conftest import write_config

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parent.parent


def problems_of(tmp_path, tones, extra: str) -> list[str]:
    path = write_config(tmp_path / "cfg", tones, extra=extra)
    with pytest.raises(ConfigError) as failed:
        load_config(path)
    return failed.value.problems


def test_the_demo_config_books_a_weekly_session():
    cfg = load_config(REPO / "config.toml")
    schedule = cfg.adapters["schedule"]
    assert schedule.timing.tz.key == "Europe/Berlin"
    assert schedule.timing.lead_s == 600 and schedule.timing.no_show_s == 1200
    [slot] = schedule.slots
    assert (slot.id, sorted(slot.days), f"{slot.at:%H:%M}", slot.minutes, slot.label) == (
        "w1", [0, 3], "10:00", 45, "K17")


def test_no_schedule_sections_leave_the_adapter_off(tmp_path, tones):
    assert load_config(write_config(tmp_path / "cfg", tones)).adapters["schedule"] is None


def test_bad_times_days_and_timezone_are_each_named(tmp_path, tones):
    problems = problems_of(tmp_path, tones, """
[schedule]
timezone = "Europe/Berln"
lead_minute = 5
quiet_hours = ["22:00-7"]
[[sessions]]
days = ["mon"]
start = "25:00"
minutes = 45
[[sessions]]
days = ["thu", "funday"]
start = "9"
minutes = 45
label = "Anna Schmidt"
""")
    assert problems == [
        "schedule.timezone: unknown timezone 'Europe/Berln' (did you mean 'Europe/Berlin'?)",
        "schedule.quiet_hours[0]: '22:00-7' is not a time range like '20:00-07:00'",
        "schedule.lead_minute: unknown key (did you mean 'lead_minutes'?)",
        "sessions[0].start: '25:00' is not a time (HH:MM)",
        "sessions[1].days: 'funday' is not a weekday (use mon, tue, wed, thu, fri, sat, sun)",
        "sessions[1].start: '9' is not a time (HH:MM)",
        "sessions[1].label: 'Anna Schmidt' is not a client code: 1-32 letters, digits, '.', "
        "'-' or '_', no spaces (never a client's name)",
    ]


def test_a_missing_timezone_is_named(tmp_path, tones):
    assert problems_of(tmp_path, tones, "[schedule]\nlead_minutes = 5\n") == [
        "schedule.timezone: missing: an IANA name such as 'Europe/Berlin'"]


def test_overlaps_and_too_short_gaps_name_both_slots(tmp_path, tones):
    problems = problems_of(tmp_path, tones, """
[schedule]
timezone = "Europe/Berlin"
[[sessions]]
days = ["tue"]
start = "10:00"
minutes = 45
[[sessions]]
days = ["tuesday"]
start = "10:30"
minutes = 30
[[sessions]]
days = ["tue"]
start = "11:05"
minutes = 30
[[sessions]]
days = ["sun"]
start = "23:30"
minutes = 60
[[sessions]]
days = ["mon"]
start = "00:20"
minutes = 30
""")
    assert problems == [
        "sessions[1]: tue 10:30 overlaps sessions[0] (tue 10:00, 45 min)",
        "sessions[2]: the lead time (10 min) is longer than the 5 min gap after sessions[1] "
        "(tue 10:30, 30 min)",
        "sessions[4]: mon 00:20 overlaps sessions[3] (sun 23:30, 60 min)",  # around the week
    ]


def test_welcome_track_and_ambient_playlist_are_checked(tmp_path, tones):
    problems = problems_of(tmp_path, tones, """
[schedule]
timezone = "Europe/Berlin"
[[sessions]]
days = ["mon"]
start = "10:00"
minutes = 45
welcome = "No such song"
ambient_playlist = "missing.m3u"
""")
    assert problems[0] == "sessions[0].welcome: no track called 'No such song' in the " \
                          "welcome playlist"
    assert problems[1].startswith("sessions[0].ambient_playlist: ")
    assert problems[1].endswith("missing.m3u: cannot read playlist (No such file or directory)")


def test_a_session_brings_its_welcome_song_and_ambient_tracks(tmp_path, tones):
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "calm.m3u").write_text(f"#EXTM3U\n#EXTINF:-1,Calm\n{tones / 'ambient.wav'}\n")
    cfg = load_config(write_config(folder, tones, extra="""
[schedule]
timezone = "UTC"
[[sessions]]
days = ["mon"]
start = "10:00"
minutes = 45
welcome = "short hello"
ambient_playlist = "calm.m3u"
"""))
    [slot] = cfg.adapters["schedule"].slots
    assert slot.welcome_track == "short hello"
    assert [t.title for t in slot.ambient_tracks] == ["Calm"]


def test_trust_clock_is_synced_by_default_and_a_wrong_word_is_named(tmp_path, tones):
    cfg = load_config(write_config(tmp_path / "ok", tones, extra='[schedule]\ntimezone = "UTC"\n'))
    assert cfg.adapters["schedule"].trust_clock == "synced"
    assert load_config(REPO / "config.toml").adapters["schedule"].trust_clock == "synced"
    problems = problems_of(tmp_path, tones, '[schedule]\ntimezone = "UTC"\n'
                                            'trust_clock = "allways"\n')
    assert problems == ["schedule.trust_clock: must be one of synced, always, not 'allways' "
                        "(did you mean 'always'?)"]
