"""The session record in the real daemon: kill -9 in the middle of a session keeps the
record up to its last second, and the next start closes that session as interrupted."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest

pytestmark = pytest.mark.sound  # a real daemon plays into the test's sink

HEARTBEAT_MARGIN_S = 1.5  # the record writes every second; a loaded box may be late by a bit


def test_kill_9_mid_session_keeps_the_record_up_to_the_last_second(daemon, tmp_path):
    room = daemon()
    with room as d:
        assert d.cli("ambient").returncode == 0
        time.sleep(1.0)  # a phase of a known length (the heartbeat is what is tested)
        assert d.cli("volume", "30").returncode == 0
        welcomed = time.time()
        assert d.cli("welcome").returncode == 0
        time.sleep(2.5)
        d.proc.kill()  # SIGKILL: no stop, no last write
        killed = time.time()
        d.proc.wait(10)
    path = tmp_path / "room" / "state" / "sessions.db"
    conn = sqlite3.connect(path)
    (started, ended, last_seen), = conn.execute(
        "SELECT started, ended, last_seen FROM sessions").fetchall()
    assert ended is None and killed - HEARTBEAT_MARGIN_S <= last_seen <= killed
    assert [v for v, in conn.execute("SELECT verb FROM actions ORDER BY at")] == [
        "ambient", "volume", "welcome"]
    conn.close()
    with room as d:  # the next start closes it where it was last seen
        log = d.cli("log", "--json")
    assert log.returncode == 0, log.stderr
    [session] = json.loads(log.stdout)
    assert session["ended"] == "interrupted" and session["client"] is None
    phases = {p["phase"]: p["seconds"] for p in session["phases"]}
    assert list(phases) == ["ambient", "welcome"]
    assert phases["ambient"] == pytest.approx(welcomed - started, abs=1.0)
    assert phases["welcome"] == pytest.approx(killed - welcomed, abs=HEARTBEAT_MARGIN_S)
    assert [(t["title"], t["channel"]) for t in session["tracks"]] == [
        ("Ambient tone", "ambient"), ("Welcome tone", "foreground")]
    assert [a["level"] for a in session["actions"]] == [None, 30, None]
