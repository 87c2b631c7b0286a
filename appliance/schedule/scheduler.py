"""The schedule's one thread: wake, ask the pure plan what should be true now, act, sleep.

There are no jobs to miss or replay. After every wake (at the next moment the plan names, at
most CAP_S later, or at once when a session is added or removed) the thread works the answer
out again from the schedule and the wall clock. So a reboot inside a pre-session window
starts the ambient, a clock that jumps (1970 -> now when NTP syncs, or backwards) only moves
what "now" is, and nothing fires twice: each session occurrence is acted on at most once,
and that is remembered in the state folder, so restarts inside one window start its ambient
once. With schedule.trust_clock = "synced" nothing is acted on until the kernel says a time
server has set the clock (a Pi restores a stale time at boot); meanwhile the status says
"waiting for the clock". The ambient of a one-off that is removed (or moved) while it plays
fades out.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Optional

from ..session import commands as c
from ..verbs import validate
from .clock import WAITING, sync_probe
from .config import ScheduleConfig
from .plan import (UTC, Occurrence, Slot, local_time_exists, occurrences, plan,
                   upcoming)
from .forget import without_code
from .store import ActedStore, OneOffStore, new_id

log = logging.getLogger(__name__)

CAP_S = 30.0                    # never sleep longer: a clock jump is noticed within this
CLOCK_POLL_S = 5.0              # waiting for the clock: ask the kernel this often
JUMP_S = 5.0                    # wall clock moving this much more than monotonic: a jump
CLOCK_SET_AFTER = datetime(2025, 1, 1, tzinfo=UTC)  # earlier: a Pi that booted at 1970
MAX_ONE_OFFS = 200
MAX_AHEAD = timedelta(days=366)
ANSWER_TIMEOUT_S = 5.0


class Scheduler:
    def __init__(self, config: ScheduleConfig, engine, state_dir,
                 wall: Callable[[], datetime] = lambda: datetime.now(UTC),
                 mono: Callable[[], float] = time.monotonic,
                 synced: Optional[Callable[[], bool]] = None, clients=None):
        self.config = config
        self.clients = clients  # profiles.desk.ClientDesk: a booked code's profile
        self.timing = config.timing
        self.engine = engine
        self.store = OneOffStore(state_dir)
        self.memory = ActedStore(state_dir)
        self.wall, self.mono = wall, mono
        self.synced = synced or sync_probe(config.trust_clock)  # may the wall clock be used?
        self._trusted = False                # synced once: trusted for the rest of the run
        self.one_offs: list[Slot] = []
        self.jumps = 0                       # clock jumps seen (status, tests)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._acted: dict[str, datetime] = {}   # occurrence key -> its end (once each)
        self._notes: dict[str, str] = {}        # occurrence key -> why ambient did not start
        self._owner: Optional[Occurrence] = None  # the session whose ambient we started
        self._owner_deadline = 0.0              # monotonic no-show time of that ambient
        self._offset: Optional[float] = None    # wall - monotonic at the last wake
        self._problems: dict[str, str] = {}

    # --- life cycle -----------------------------------------------------------------------

    def load(self):
        slots, problem = self.store.load()
        with self._lock:
            self.one_offs = slots
        if problem:
            log.error("schedule: %s", problem)
        self._set_problem("store", problem)
        acted, problem = self.memory.load()
        for key, (end, note) in acted.items():
            self._acted[key] = end
            if note:
                self._notes[key] = note
        if problem:
            log.error("schedule: %s", problem)

    def start(self):
        self.load()
        self.engine.subscribe_events(self._on_event)
        self._thread = threading.Thread(target=self._run, name="schedule", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.engine.unsubscribe(self._on_event)

    def _run(self):
        while not self._stopping:
            try:
                timeout = self.run_once()
            except Exception:  # a bug here must not end the schedule for good
                log.exception("schedule: planning failed; trying again")
                timeout = CAP_S
            self._wake.wait(timeout)
            self._wake.clear()

    def _on_event(self, event: dict):
        """Engine thread: the room left the ambient we started -> no no-show for it."""
        if event.get("type") == "phase" and event.get("new") != "ambient":
            with self._lock:
                self._owner = None

    # --- one wake ---------------------------------------------------------------------------

    def run_once(self) -> float:
        """Act on what should be true now; return how long to sleep (seconds)."""
        wall, mono = self.wall().astimezone(UTC), self.mono()
        offset = wall.timestamp() - mono
        if self._offset is not None and abs(offset - self._offset) > JUMP_S:
            self.jumps += 1
            log.warning("schedule: the wall clock jumped by %+.0f s; planning again from the "
                        "schedule", offset - self._offset)
        self._offset = offset
        self._check_no_show(wall, mono)  # by the monotonic clock too: even on a 1970 clock
        if not self._clock_trusted():
            self._set_problem("clock", WAITING)
            return CLOCK_POLL_S
        if wall < CLOCK_SET_AFTER:
            self._set_problem("clock", f"the clock is not set ({wall:%Y-%m-%d %H:%M} UTC); "
                                       "sessions wait until it is")
            return CAP_S
        self._set_problem("clock", None)
        now_plan = plan(self._slots(), self.timing, wall)
        self._check_cancelled(now_plan)
        if now_plan.due is not None and now_plan.due.key not in self._acted:
            self._start_ambient(now_plan.due, wall, mono)
        wake = now_plan.next_wake
        with self._lock:
            if self._owner is not None:
                wake = min(wake, self._owner.no_show_at)
        old = [key for key, end in self._acted.items()
               if abs((end - wall).total_seconds()) > 2 * 86400]
        for key in old:
            del self._acted[key]
            self._notes.pop(key, None)
        if old:
            self._remember()
        return max(0.01, min(CAP_S, (wake - wall).total_seconds()))

    def _clock_trusted(self) -> bool:
        if not self._trusted and self.synced():
            self._trusted = True
            log.info("schedule: the clock is synchronised; sessions are acted on from now")
        return self._trusted

    def _remember(self):
        """Keep what has been acted on (and why not) in the state folder."""
        try:
            self.memory.save({key: (end, self._notes.get(key))
                              for key, end in self._acted.items()})
        except OSError as exc:
            self._set_problem("memory", f"{self.memory.path}: cannot save "
                                        f"({exc.strerror or exc}); a restart may start a "
                                        "session's ambient again")
            return
        self._set_problem("memory", None)

    def _check_cancelled(self, now_plan):
        """The one-off whose ambient we started was removed or moved: fade that ambient out."""
        with self._lock:
            owner = self._owner
            if owner is None or any(o.key == owner.key for o in now_plan.occurrences):
                return
            self._owner = None
        log.info("schedule: %s is no longer booked: its ambient fades out over %g s",
                 owner.slot.id, self.timing.no_show_fade_s)
        self.engine.submit(c.End(fade_s=self.timing.no_show_fade_s, only_from="ambient"),
                           source="schedule").wait(ANSWER_TIMEOUT_S)

    def _start_ambient(self, occ: Occurrence, wall: datetime, mono: float):
        phase = self.engine.status().phase
        if phase != "idle":
            note = f"not started: the room was in {phase} at {self._local(wall):%H:%M}"
            if self._notes.get(occ.key) != note:
                log.info("schedule: ambient for %s %s", occ.slot.id, note)
            self._notes[occ.key] = note
            if wall >= occ.start:  # before the start a finished session may still free it
                self._acted[occ.key] = occ.end
                self._remember()
            return
        self._acted[occ.key] = occ.end
        self._notes.pop(occ.key, None)
        self._remember()  # before the start: a crash right after it must not start it twice
        with self._lock:
            self._owner = occ
            self._owner_deadline = mono + (occ.no_show_at - wall).total_seconds()
        client, problem = self._booked_client(occ.slot)
        pending = self.engine.submit(
            c.Ambient(fade_in_s=self.timing.fade_in_s, tracks=occ.slot.ambient_tracks,
                      welcome_track=occ.slot.welcome_track, client=client,
                      client_problem=problem), source="schedule")
        if not pending.wait(ANSWER_TIMEOUT_S) or pending.refusal:
            with self._lock:
                self._owner = None
            self._notes[occ.key] = f"not started: {pending.refusal or 'the engine did not answer'}"
            self._remember()
            log.warning("schedule: ambient for %s %s", occ.slot.id, self._notes[occ.key])
            return
        log.info("schedule: ambient for %s at %s (session %s)", occ.slot.id,
                 f"{self._local(wall):%H:%M}", f"{self._local(occ.start):%H:%M}")

    def _booked_client(self, slot: Slot):
        """(the session's Client, None) or (None, the notice why not): the line may be
        logged, so it names the session, never its code."""
        if slot.label is None:
            return None, None
        from ..profiles.desk import ClientRefused
        from ..profiles.rules import ProfileError
        what = f"{slot.kind} session {slot.id}"
        own = "the room runs on its own settings"
        if self.clients is None:
            return None, f"{what}: client profiles are not available; {own}"
        try:
            return self.clients.resolve(slot.label), None
        except ClientRefused:
            # (the refusal's own text would name the code)
            return None, f"{what}: no client profile could be found for its code; {own}"
        except ProfileError as exc:
            return None, f"{what}: its client's profile does not fit the room ({exc}); {own}"

    def _check_no_show(self, wall: datetime, mono: float):
        """The ambient we started still plays at the no-show time (by the wall clock, or by
        the monotonic clock after a backwards jump): nobody came, the room goes idle."""
        with self._lock:
            owner = self._owner
            if owner is None or (wall < owner.no_show_at and mono < self._owner_deadline):
                return
            self._owner = None
        log.info("schedule: no welcome for %s by %s: ambient fades out over %g s",
                 owner.slot.id, f"{self._local(wall):%H:%M}", self.timing.no_show_fade_s)
        # refused by the core if a welcome got there first
        self.engine.submit(c.End(fade_s=self.timing.no_show_fade_s, only_from="ambient"),
                           source="schedule").wait(ANSWER_TIMEOUT_S)

    # --- what the CLI and the panel use -------------------------------------------------------

    def upcoming(self, limit: int = 10) -> list[dict]:
        now = self.wall().astimezone(UTC)
        return [self._as_dict(occ) for occ in upcoming(self._slots(), self.timing, now,
                                                       max(1, min(int(limit), 100)))]

    def add(self, start_iso: str, minutes: float, label: Optional[str] = None) -> dict:
        """Book a one-off session; ValueError with one line naming the field that is wrong."""
        args = validate("schedule add", {"start": start_iso, "minutes": minutes,
                                         "label": label})  # the one table: InvalidArgument
        start, minutes, label = self._parse_start(args["start"]), args["minutes"], \
            args.get("label")
        now = self.wall().astimezone(UTC)
        if not self._clock_trusted():
            raise ValueError("the clock is not synchronised yet: try again when it is")
        if now < CLOCK_SET_AFTER:
            raise ValueError("the clock is not set yet: try again when it is")
        if start <= now:
            raise ValueError(f"start: {start_iso} is in the past")
        if start > now + MAX_AHEAD:
            raise ValueError(f"start: {start_iso} is more than a year ahead")
        with self._lock:
            if len(self.one_offs) >= MAX_ONE_OFFS:
                raise ValueError(f"at most {MAX_ONE_OFFS} one-off sessions can be booked")
            slot = Slot(id=new_id({s.id for s in self.one_offs}), kind="one-off",
                        minutes=minutes, label=label, start=start)
            self._check_fits(slot)
            kept = [s for s in self.one_offs
                    if s.start + timedelta(minutes=s.minutes) > now - timedelta(days=1)]
            self._save(kept + [slot])
        log.info("schedule: one-off %s added", slot.id)
        self._wake.set()
        occ = next(o for o in occurrences(self._slots(), self.timing, start, start
                                          + timedelta(seconds=1)) if o.slot.id == slot.id)
        return self._as_dict(occ)

    def remove(self, slot_id: str) -> bool:
        """False when there is no such one-off (weekly slots live in config.toml)."""
        with self._lock:
            kept = [s for s in self.one_offs if s.id != slot_id]
            if len(kept) == len(self.one_offs):
                return False
            self._save(kept)
        log.info("schedule: one-off %s removed", slot_id)
        self._wake.set()
        return True

    def forget(self, code: str) -> int:
        """Cancel every one-off booked with `code` (the right to erasure): how many."""
        with self._lock:
            kept = without_code(self.one_offs, code)
            removed = len(self.one_offs) - len(kept)
            self._save(kept)  # always: the .bak may hold an older booking of theirs
        self._wake.set()
        return removed

    # --- helpers ----------------------------------------------------------------------------

    def _slots(self) -> tuple:
        with self._lock:
            return self.config.slots + tuple(self.one_offs)

    def _save(self, slots: list):
        """Under the lock: write first, then take the new list (a failed write changes
        nothing)."""
        try:
            self.store.save(slots)
        except OSError as exc:
            raise ValueError(f"{self.store.path}: cannot save ({exc.strerror or exc})") \
                from None
        self.one_offs = slots
        self._set_problem("store", None)

    def _check_fits(self, slot: Slot):
        end = slot.start + timedelta(minutes=slot.minutes)
        lead = timedelta(seconds=self.timing.lead_s)
        others = occurrences(self.config.slots + tuple(self.one_offs), self.timing,
                             slot.start - timedelta(days=1), end + timedelta(days=1))
        for o in others:
            what = f"{o.slot.kind} session {o.slot.id} at {self._local(o.start):%a %H:%M}"
            if o.start < end and slot.start < o.end:
                raise ValueError(f"start: overlaps the {what}")
            if o.end <= slot.start < o.end + lead:
                raise ValueError(f"start: the lead time ({lead.seconds // 60} min) is longer "
                                 f"than the gap after the {what}")
            if end <= o.start < end + lead:
                raise ValueError(f"start: leaves less than the lead time "
                                 f"({lead.seconds // 60} min) before the {what}")

    def _parse_start(self, text) -> datetime:
        if not isinstance(text, str) or len(text) > 40:
            raise ValueError(f"start: {text!r} is not a date and time like 2026-12-01T10:00")
        try:
            start = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"start: {text!r} is not a date and time like 2026-12-01T10:00") \
                from None
        if start.tzinfo is None:
            if not local_time_exists(start, self.timing.tz):
                raise ValueError(f"start: {text} does not exist in {self.timing.tz.key} "
                                 "(the clocks go forward then)")
            start = start.replace(tzinfo=self.timing.tz)
        return start.astimezone(UTC)

    def _local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.timing.tz)

    def _iso(self, instant: Optional[datetime]) -> Optional[str]:
        return None if instant is None else self._local(instant).isoformat(timespec="minutes")

    def _as_dict(self, occ: Occurrence) -> dict:
        return {"id": occ.slot.id, "kind": occ.slot.kind, "start": self._iso(occ.start),
                "end": self._iso(occ.end), "minutes": occ.slot.minutes,
                "label": occ.slot.label, "ambient_at": self._iso(occ.ambient_at),
                "why_not": self._notes.get(occ.key) or occ.why_not}

    def _set_problem(self, kind: str, message: Optional[str]):
        if self._problems.get(kind) == message:
            return
        if message:
            self._problems[kind] = message
        else:
            self._problems.pop(kind, None)
        if kind == "clock":
            # a fault line of its own: MQTT and Home Assistant carry fault names, never the
            # text, and "waiting for the clock" must reach them too
            self.engine.report_fault("clock", message)
            return
        self.engine.report_fault("schedule", "; ".join(
            text for name, text in self._problems.items() if name != "clock") or None)

