"""Turning the engine's events (appliance.events) into the record's rows, on one thread.

A session is everything from the room leaving idle (ambient, or a welcome straight from
idle) until it is idle again. Each item is stamped by the adapter when the engine told it
(`mono`, the engine's monotonic clock); the wall time of a row is the session's start plus
the monotonic time since, so a clock that NTP sets mid-session does not bend a duration.

What is kept: every phase (start, seconds), every track that started (title, seconds heard
including its fade-out; failed ones marked), every command a person or the schedule gave
during the session (verb, source, accepted or why not, the level of volume changes; the
command that opened the session too), the chosen client's code, and whether it was a no-show:
a session that never got past ambient and that the schedule ended (nobody came, or the
booking was cancelled).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

IDLE, AMBIENT = "idle", "ambient"
SAME_STEP_S = 1.0  # a command told this shortly before a session opens is what opened it


@dataclass
class Open:
    """The session being recorded."""
    id: int
    wall0: float
    mono0: float
    phase_row: int = 0
    phase_mono: float = 0.0
    phases: set = field(default_factory=set)
    tracks: dict = field(default_factory=dict)   # channel -> (row id, mono at start)
    ended_by_schedule: bool = False

    def wall(self, mono: float) -> float:
        return self.wall0 + (mono - self.mono0)


class Recorder:
    """Holds the open session and writes each item's rows with `conn` (autocommit off:
    the adapter wraps a batch in BEGIN ... COMMIT)."""

    def __init__(self, conn):
        self.conn = conn
        self.session: Optional[Open] = None
        self.client: Optional[str] = None      # the status's chosen client, as last seen
        self.phase: str = IDLE                 # the room's phase, as last seen
        self._opener: Optional[tuple] = None   # (mono, event): the command just before
        self.erased = False  # the session in the room was erased (client forget): skip it

    # --- items ----------------------------------------------------------------------------

    def client_chosen(self, code: Optional[str]):
        self.client = code
        if self.session is not None:  # the last choice during a session counts
            self._sql("UPDATE sessions SET client = ? WHERE id = ?", (code, self.session.id))

    def event(self, mono: float, wall: float, event: dict):
        kind = event.get("type")
        if self.erased:
            if kind == "phase":
                self.phase = event["new"]
                self.erased = event["new"] != IDLE
            return
        if kind == "phase":
            self._phase(mono, wall, event["new"])
        elif kind == "command":
            if self.session is None:
                self._opener = (mono, event)
            else:
                self._action(mono, event)
        elif kind == "track_started" and self.session is not None:
            s = self.session
            row = self._sql("INSERT INTO tracks (session, channel, title, started) VALUES "
                            "(?, ?, ?, ?)", (s.id, event["channel"], event["title"],
                                             s.wall(mono))).lastrowid
            s.tracks[event["channel"]] = (row, mono)
        elif kind == "track_ended" and self.session is not None:
            self._track_ended(event["channel"], mono + event.get("fading_s", 0.0),
                              event.get("failed", False))

    def heartbeat(self, mono: float):
        if self.session is not None:
            self._sql("UPDATE sessions SET last_seen = ? WHERE id = ?",
                      (self.session.wall(mono), self.session.id))

    def close(self, mono: float, how: str):
        """End the open session (`how`: idle, or stopped when the daemon stops)."""
        s = self.session
        if s is None:
            return
        self._end_phase(mono)
        for channel in list(s.tracks):
            self._track_ended(channel, mono, False)
        no_show = s.phases == {AMBIENT} and s.ended_by_schedule
        self._sql("UPDATE sessions SET ended = ?, last_seen = ?, ended_how = ?, no_show = ? "
                  "WHERE id = ?", (s.wall(mono), s.wall(mono), how, int(no_show), s.id))
        self.session = None

    def reopen(self, mono: float, wall: float):
        """After the file was replaced mid-session: go on recording from now."""
        self.session = None
        if self.phase != IDLE:
            self._open(mono, wall, self.phase)

    # --- rows ------------------------------------------------------------------------------

    def _sql(self, sql: str, args=()):
        return self.conn.execute(sql, args)

    def _phase(self, mono: float, wall: float, new: str):
        self.phase = new
        opener, self._opener = self._opener, None
        if new == IDLE:
            self.close(mono, "idle")
            return
        if self.session is None:
            self._open(mono, wall, new)
            if opener is not None and mono - opener[0] <= SAME_STEP_S:  # what opened it
                self._action(*opener)
            return
        self._end_phase(mono)
        self._start_phase(mono, new)

    def _open(self, mono: float, wall: float, phase: str):
        row = self._sql("INSERT INTO sessions (started, last_seen, client) VALUES (?, ?, ?)",
                        (wall, wall, self.client)).lastrowid
        self.session = Open(row, wall, mono)
        self._start_phase(mono, phase)

    def _start_phase(self, mono: float, phase: str):
        s = self.session
        s.phase_row = self._sql("INSERT INTO phases (session, phase, started) VALUES "
                                "(?, ?, ?)", (s.id, phase, s.wall(mono))).lastrowid
        s.phase_mono = mono
        s.phases.add(phase)

    def _end_phase(self, mono: float):
        s = self.session
        self._sql("UPDATE phases SET seconds = ? WHERE id = ?",
                  (max(0.0, mono - s.phase_mono), s.phase_row))

    def _action(self, mono: float, event: dict):
        s = self.session
        if event["verb"] == "end" and event["source"] == "schedule" and event["accepted"]:
            s.ended_by_schedule = True
        self._sql("INSERT INTO actions (session, at, verb, source, accepted, reason, level) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (s.id, s.wall(mono), event["verb"], event["source"],
                   int(bool(event["accepted"])), event.get("reason"), event.get("level")))

    def _track_ended(self, channel: str, until_mono: float, failed: bool):
        row, started = self.session.tracks.pop(channel, (None, 0.0))
        if row is not None:
            self._sql("UPDATE tracks SET seconds = ?, failed = ? WHERE id = ?",
                      (max(0.0, until_mono - started), int(failed), row))
