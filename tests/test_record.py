"""The session record (issue 13): a scripted session on a real engine (silent audio, an
injected clock) is recorded with its phases, durations, tracks and who asked; kill -9 of a
real daemon keeps what was recorded; a corrupt file is moved aside; retention; forget leaves
no byte of the client; the CSV's columns; the log lines never name a client."""
from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import replace

import pytest

from appliance.engine import Engine
from appliance.record import db, reading
from appliance.record.adapter import RecordAdapter
from appliance.record.config import RecordConfig
from appliance.session import commands as c
from appliance.session import new_state
from appliance.session.model import Library, Settings, Track

from .conftest import FakeClock, SilentAudio, adapter_context

WALL0 = 1_790_000_000.0  # 2026-09-21: the wall clock the fake monotonic clock is offset to
LIBRARY = Library(ambient=(Track("/m/a.wav", "Ambient tone"),),
                  welcome=(Track("/m/w.wav", "Welcome tone"),),
                  receptive=(Track("/m/r1.wav", "Pad 1"), Track("/m/r2.wav", "Pad 2")))


class Room:
    """A real engine on silent audio and a fake clock, with the record adapter on it."""

    def __init__(self, tmp_path, keep_days=365, wall_offset=WALL0):
        self.clock = FakeClock(1000.0)
        self.wall_offset = wall_offset
        self.engine = Engine(new_state(Settings(), LIBRARY), SilentAudio(), clock=self.clock,
                             stuck_after_s=1e9)  # the fake clock jumps: never "stuck"
        self.chosen = None
        build = self.engine._build_status  # as the client helper's engine will: the code in it
        self.engine._build_status = lambda *a, **k: replace(build(*a, **k), client=self.chosen)
        self.engine.start()
        self.context = adapter_context(self.engine, "record", RecordConfig(keep_days),
                                       tmp_path)
        self.record = RecordAdapter(self.context, self.context.config, wall=self.wall)
        self.record.start()
        self.path = db.path_in(self.context.room.state_dir)

    def wall(self):
        return self.wall_offset + self.clock.now

    def ask(self, command, source="panel", after_s=0.0):
        self.clock.advance(after_s)
        pending = self.engine.submit(command, source=source)
        assert pending.wait(5)
        return pending

    def machine(self, command, after_s=0.0):
        """A report from the machinery (no source: not a person's command)."""
        self.clock.advance(after_s)
        assert self.engine.submit(command).wait(5)

    def choose(self, code):
        """What the client helper's `client use` does: the chosen code in the status, which
        the engine publishes on its own thread (a publish from this thread could cross one
        of the engine's and leave the record with the code before); until the record saw it,
        so the commands after it are told after it."""
        self.chosen = code
        self.engine.report_fault("client-use", None)  # the engine publishes a new status
        deadline = time.monotonic() + 5
        while self.record._client_seen != code:
            assert time.monotonic() < deadline, "the chosen client was not published"
            time.sleep(0.005)

    def stop(self):
        self.record.stop()
        self.engine.shutdown(fade_s=0)

    def sessions(self, **kwargs):
        conn = db.connect(self.path, create=False)
        try:
            return reading.sessions(conn, **kwargs)
        finally:
            conn.close()


def scripted_session(room: Room, code="A-17"):
    room.choose(code)
    room.ask(c.Ambient(), source="schedule")
    room.ask(c.Welcome(), source="button:welcome", after_s=120)
    foreground = room.engine.state.plan("foreground").play_id
    room.machine(c.TrackEnded("foreground", foreground), after_s=95)  # the song played out
    room.ask(c.Volume(60), source="mqtt", after_s=30)
    room.ask(c.Receptive(10), source="panel", after_s=600)
    room.ask(c.Quiet(), source="button:quiet", after_s=300)  # receptive -> reflection
    room.ask(c.End(), source="cli", after_s=240)             # reflection -> idle


def sessions_held(tmp_path, *codes):
    """A stopped room with one scripted session per code, and a config.toml naming its
    state folder (for the CLI)."""
    room = Room(tmp_path)
    for code in codes:
        scripted_session(room, code)
    room.stop()
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndir = "{room.context.room.state_dir}"\n')
    return room, config


@pytest.mark.fast
def test_a_scripted_session_is_recorded_with_phases_tracks_and_sources(tmp_path):
    room = Room(tmp_path)
    scripted_session(room)
    room.ask(c.Volume(50), source="panel", after_s=5)  # idle: no session, not recorded
    room.stop()
    [s] = room.sessions()
    assert s["client"] == "A-17" and s["ended"] == "idle" and not s["no_show"]
    assert [(p["phase"], p["seconds"]) for p in s["phases"]] == [
        ("ambient", 120), ("welcome", 95), ("active", 630), ("receptive", 300),
        ("reflection", 240)]
    assert s["minutes"] == pytest.approx((120 + 95 + 630 + 300 + 240) / 60, abs=0.02)
    assert s["start"] == reading.iso(WALL0 + 1000.0)
    quiet = Settings().quiet_s
    crossfade = Settings().crossfade_s
    assert [(t["channel"], t["title"], t["seconds"]) for t in s["tracks"]] == [
        ("ambient", "Ambient tone", pytest.approx(120 + crossfade, abs=0.1)),
        ("foreground", "Welcome tone", pytest.approx(95, abs=0.1)),
        ("foreground", "Pad 1", pytest.approx(300 + quiet, abs=0.1))]
    assert [(a["verb"], a["source"], a["accepted"], a["level"]) for a in s["actions"]] == [
        ("ambient", "schedule", True, None), ("welcome", "button:welcome", True, None),
        ("volume", "mqtt", True, 60), ("receptive", "panel", True, None),
        ("quiet", "button:quiet", True, None), ("end", "cli", True, None)]


@pytest.mark.fast
def test_refused_commands_are_kept_with_their_reason_and_the_csv_has_its_columns(tmp_path):
    room = Room(tmp_path)
    room.ask(c.Volume(50), source="panel")              # in idle, before the session: not in it
    room.ask(c.Welcome(), source="panel", after_s=10)
    room.ask(c.Welcome(), source="button:welcome", after_s=2)  # already playing: refused
    room.ask(c.Volume(99), source="panel", after_s=1)           # capped at 80
    room.ask(c.End(), source="panel", after_s=1)
    room.ask(c.End(), source="panel", after_s=1)
    room.stop()
    [s] = room.sessions()
    assert s["client"] is None
    refused = [a for a in s["actions"] if not a["accepted"]]
    assert [(a["source"], a["reason"]) for a in refused] == [
        ("button:welcome", "welcome: the welcome song is already playing")]
    rows = list(csv.DictReader(io.StringIO(reading.to_csv([s]))))
    assert tuple(rows[0]) == reading.CSV_COLUMNS == (
        "id", "start", "end", "minutes", "client", "no_show", "ended", "phases", "tracks",
        "volume_changes", "quiets", "button_presses", "sources")
    row = rows[0]
    assert row["phases"] == "welcome 4 s; reflection 1 s" and row["no_show"] == "no"
    assert row["volume_changes"] == "80" and row["button_presses"] == "1"
    assert row["sources"] == "button 1; panel 4" and row["client"] == ""


@pytest.mark.fast
def test_an_ambient_the_schedule_ends_is_a_no_show_and_not_a_session_held(tmp_path):
    room = Room(tmp_path)
    room.choose("B-2")
    room.ask(c.Ambient(), source="schedule")
    room.ask(c.End(only_from="ambient"), source="schedule", after_s=900)
    room.ask(c.Welcome(), source="panel", after_s=60)  # the next client, no code chosen
    room.choose(None)
    room.ask(c.End(), source="panel", after_s=60)
    room.ask(c.End(), source="panel", after_s=60)
    room.stop()
    no_show, other = room.sessions()
    assert no_show["no_show"] and no_show["client"] == "B-2" and not other["no_show"]
    assert other["client"] is None  # the choice during a session is what counts
    conn = db.connect(room.path, create=False)
    assert reading.held(conn, "B-2") == 0
    assert reading.clients(conn) == [{"client": "B-2", "held": 0, "no_shows": 1,
                                      "last": no_show["start"]}]


@pytest.mark.fast
def test_the_course_counts_sessions_held_and_says_when_a_review_is_due(tmp_path):
    from appliance.profiles.rules import Profile
    room = Room(tmp_path)
    for _ in range(3):
        scripted_session(room, "C-3")
    room.stop()
    conn = db.connect(room.path, create=False)
    assert reading.held(conn, "C-3") == 3
    course = reading.course(conn, "C-3", Profile("C-3", course=8), 4)
    assert course["line"] == "session 4 of 8 \u00b7 goal review due" and course["review_due"]
    assert reading.course(conn, "C-3", Profile("C-3", review_every=3), 4)["line"] == \
        "session 4"
    assert reading.course(conn, "C-3", Profile("C-3", course=3), 4)["line"].startswith(
        "session 4 (the course of 3 is done)")


@pytest.mark.fast
def test_sessions_older_than_keep_days_are_deleted_at_start_and_daily(tmp_path):
    room = Room(tmp_path, keep_days=30)
    scripted_session(room, "OLD-1")
    room.stop()
    day = 86400.0
    # 20 days later: kept at start; 11 days on (31 after), the daily check deletes it
    later = Room(tmp_path, keep_days=30, wall_offset=WALL0 + 20 * day)
    assert [s["client"] for s in later.sessions()] == ["OLD-1"]
    later.clock.advance(11 * day)
    later.ask(c.Welcome(), source="panel")  # something happens: the record's thread turns
    deadline = time.monotonic() + 5
    while len(later.sessions()) != 1 or later.sessions()[0]["client"] == "OLD-1":
        assert time.monotonic() < deadline, "the daily retention did not run"
        time.sleep(0.02)
    later.stop()
    assert b"OLD-1" not in room.path.read_bytes()
    # a session stamped by a clock that was never set (a Pi at 1970) is not "old": kept
    at_1970 = Room(tmp_path, keep_days=30, wall_offset=0.0)
    scripted_session(at_1970, "EPOCH-1")
    at_1970.stop()
    kept = Room(tmp_path, keep_days=30, wall_offset=WALL0 + 40 * day)
    kept.stop()
    assert "EPOCH-1" in [s["client"] for s in kept.sessions()]


@pytest.mark.fast
def test_a_corrupt_record_is_moved_aside_reported_and_a_new_one_begun(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / db.FILE_NAME).write_bytes(b"this is no database, just bytes " * 200)
    room = Room(tmp_path)
    deadline = time.monotonic() + 5
    while "record" not in room.engine.status().faults:  # the next snapshot shows it
        assert time.monotonic() < deadline, "the corrupt file was not reported"
        time.sleep(0.02)
    fault = room.engine.status().faults["record"]
    [aside] = db.moved_aside(room.path)
    assert aside.read_bytes().startswith(b"this is no database")
    assert fault and str(room.path) in fault and aside.name in fault
    scripted_session(room)
    room.stop()
    assert len(room.sessions()) == 1


@pytest.mark.fast
def test_a_file_that_goes_bad_mid_session_is_replaced_and_the_session_goes_on(tmp_path):
    room = Room(tmp_path)
    room.choose("D-4")
    room.ask(c.Ambient(), source="panel")
    deadline = time.monotonic() + 5
    while not room.sessions():  # on the disk: the next write is the one that fails
        assert time.monotonic() < deadline
        time.sleep(0.02)
    event = room.record.recorder.event

    def goes_bad(*args):  # what SQLite says of a page that no longer reads back
        room.record.recorder.event = event
        raise db.Corrupt("database disk image is malformed")
    room.record.recorder.event = goes_bad
    room.ask(c.Welcome(), source="panel", after_s=60)
    deadline = time.monotonic() + 5
    while "record" not in room.engine.status().faults:
        assert time.monotonic() < deadline, "the bad file was not reported"
        time.sleep(0.02)
    [aside] = db.moved_aside(room.path)
    assert aside.name in room.engine.status().faults["record"]
    room.ask(c.Active(), source="panel", after_s=30)
    room.stop()
    # the new file: the session in the room from the moment the file broke, nothing lost
    [s] = room.sessions()
    assert s["client"] == "D-4" and s["start"] == reading.iso(WALL0 + 1060)
    assert [(p["phase"], p["seconds"]) for p in s["phases"]] == [
        ("ambient", 0), ("welcome", 30), ("active", 0)]
    assert [a["verb"] for a in s["actions"]] == ["welcome", "active"]


@pytest.mark.fast
def test_a_full_disk_is_a_fault_the_room_plays_on_and_nothing_is_lost(tmp_path):
    room = Room(tmp_path)
    conn = room.record.recorder.conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")  # no page more: SQLITE_FULL
    room.ask(c.Ambient(), source="panel")
    asked = 0
    deadline = time.monotonic() + 10
    while "record" not in room.engine.status().faults:  # until the last page is full
        assert time.monotonic() < deadline, "a full disk was not reported"
        room.ask(c.Volume(30 + asked % 10), source="panel")
        asked += 1
    assert "disk is full" in room.engine.status().faults["record"]
    assert room.ask(c.Welcome(), source="panel").accepted  # the room plays on
    conn.execute("PRAGMA max_page_count=1000000")          # room on the disk again
    room.ask(c.Active(), source="panel")
    while "record" in room.engine.status().faults:
        assert time.monotonic() < deadline + 5, "the fault did not clear"
        time.sleep(0.02)
    room.stop()
    [s] = room.sessions()
    assert [p["phase"] for p in s["phases"]] == ["ambient", "welcome", "active"]
    assert len(s["actions"]) == asked + 3  # every one, also those the full disk held back


@pytest.mark.fast
def test_forget_leaves_nothing_of_the_client_in_the_files(tmp_path, monkeypatch, capsys):
    from appliance.__main__ import main
    from appliance.profiles.rules import Profile
    from appliance.profiles.store import ProfileStore
    room, config = sessions_held(tmp_path, "ZQX-981", "KEEP-2")
    ProfileStore(room.context.room.state_dir).save(
        {"ZQX-981": Profile("ZQX-981", course=8), "KEEP-2": Profile("KEEP-2")})
    monkeypatch.setattr("sys.stdin", io.StringIO("ZQX-98\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    assert main(["client", "forget", "ZQX-981", "--config", str(config)]) == 1  # mistyped
    assert "nothing erased" in capsys.readouterr().err
    assert main(["client", "forget", "ZQX-981", "--yes", "--config", str(config)]) == 0
    assert "the profile and 1 session(s)" in capsys.readouterr().out
    state = room.context.room.state_dir
    for leftover in state.iterdir():
        assert b"ZQX-981" not in leftover.read_bytes(), leftover.name
    assert [s["client"] for s in room.sessions()] == ["KEEP-2"]
    assert list(ProfileStore(state).load()[0]) == ["KEEP-2"]


@pytest.mark.fast
@pytest.mark.parametrize("writer_behind", [False, True], ids=["writer-on-time",
                                                              "writer-behind-until-stop"])
def test_forget_while_the_room_records_erases_the_session_in_the_room_too(tmp_path,
                                                                        writer_behind):
    room = Room(tmp_path)
    scripted_session(room, "ZQX-981")
    room.choose("ZQX-981")
    room.ask(c.Ambient(), source="panel", after_s=60)
    deadline = time.monotonic() + 5
    while len(room.sessions()) < 2:  # the new session is on the disk
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert db.forget(room.path, "ZQX-981") == 2
    if writer_behind:  # a loaded box: the writer next turns at the stop, all in one batch
        write, held = room.record._write, []

        def behind(items, stopping=False):
            held.extend(items)
            if stopping:
                write(held, stopping)
        room.record._write = behind
    room.ask(c.Welcome(), source="panel", after_s=30)  # it goes on in the room ...
    room.ask(c.End(), source="panel", after_s=30)
    room.choose(None)
    room.ask(c.End(), source="panel", after_s=30)
    room.ask(c.Welcome(), source="panel", after_s=30)  # ... and the next one is recorded
    room.stop()
    assert [(s["client"], s["phases"][0]["phase"]) for s in room.sessions()] == [
        (None, "welcome")]
    for leftover in room.path.parent.iterdir():
        assert b"ZQX-981" not in leftover.read_bytes(), leftover.name


@pytest.mark.fast
def test_the_record_never_names_a_client_in_a_log_line(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    state = tmp_path / "state"
    state.mkdir()
    (state / db.FILE_NAME).write_bytes(b"garbage " * 100)
    room = Room(tmp_path)
    scripted_session(room, "SECRET-42")
    room.stop()
    again = Room(tmp_path)  # and the next start (retention, interrupted sessions)
    again.stop()
    assert caplog.records and not any("SECRET-42" in r.getMessage() for r in caplog.records)


@pytest.mark.fast
def test_the_record_section_is_checked_by_the_one_config_model(tmp_path):
    from appliance.config import parse_config
    from appliance.errors import ConfigError
    path = tmp_path / "config.toml"
    assert parse_config({}, path, check_media=False).adapters["record"].keep_days == 365
    assert parse_config({"record": {"enabled": False}}, path,
                        check_media=False).adapters["record"] is None
    with pytest.raises(ConfigError) as bad:
        parse_config({"record": {"keep_days": 0, "keepdays": 3}}, path, check_media=False)
    assert sorted(bad.value.problems) == [
        "record.keep_days: must be between 1 and 3650, not 0",
        "record.keepdays: unknown key (did you mean 'keep_days'?)"]


@pytest.mark.fast
def test_the_engine_tells_tracks_and_levels_in_the_order_they_happened(tmp_path):
    room = Room(tmp_path)
    events = []
    room.engine.subscribe_events(events.append)
    room.ask(c.Ambient(), source="cli")
    room.ask(c.VolumeStep(5), source="button:up")
    room.ask(c.Welcome(), source="panel")
    told = list(events)  # (the shutdown's closing fade tells its own)
    room.stop()
    crossfade = Settings().crossfade_s
    assert told == [
        {"type": "command", "verb": "ambient", "source": "cli", "accepted": True,
         "reason": None},
        {"type": "phase", "old": "idle", "new": "ambient"},
        {"type": "track_started", "channel": "ambient", "title": "Ambient tone"},
        {"type": "command", "verb": "volume_up", "source": "button:up", "accepted": True,
         "reason": None, "level": Settings().ambient_level + 5},
        {"type": "command", "verb": "welcome", "source": "panel", "accepted": True,
         "reason": None},
        {"type": "track_ended", "channel": "ambient", "title": "Ambient tone",
         "failed": False, "fading_s": crossfade},
        {"type": "phase", "old": "ambient", "new": "welcome"},
        {"type": "track_started", "channel": "foreground", "title": "Welcome tone"}]


@pytest.mark.fast
def test_appliance_log_reads_the_file_as_text_csv_and_json(tmp_path, capsys, monkeypatch):
    from appliance.__main__ import main
    room, config = sessions_held(tmp_path, "A-17", "B-2")

    def log(*args):
        code = main(["log", *args, "--config", str(config)])
        out = capsys.readouterr()
        return code, out.out, out.err
    code, out, _ = log()
    assert code == 0 and out.count("\n  ambient 2:00, welcome 1:35, active 10:30") == 2
    assert "tracks: Ambient tone (2:02), Welcome tone (1:35), Pad 1 (5:03)" in out
    code, out, _ = log("--csv", "--client", "B-2")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["client"] for r in rows] == ["B-2"]
    code, out, _ = log("--json", "--since", reading.iso(WALL0 + 2000)[:19])
    assert code == 0 and [s["client"] for s in json.loads(out)] == ["B-2"]
    assert log("--client", "a name")[2].startswith("log: client: 'a name' is not a client code")
    assert log("--since", "soon")[0] == 2
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal, no --yes: no erasure
    assert main(["client", "forget", "A-17", "--config", str(config)]) == 1
    assert "--yes" in capsys.readouterr().err and len(room.sessions()) == 2
