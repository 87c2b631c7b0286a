"""The engine: one thread, one inbox, the only place the room's state changes.

Every input (control socket, buttons, panel, MQTT, schedule, libVLC events) calls submit() and
gets a Pending it may wait on. The engine thread takes commands in order, runs the pure
session step, carries out its effects on the audio output, builds the new status snapshot
and tells subscribers (panel, MQTT, lights). Timers are not threads: the loop sleeps until the
core's next deadline or the next fade step, whichever is first, and at most a second.

A failure is loud: if anything in the loop raises, the command being handled and every one
still waiting are answered with EngineFailed, the status shows the fault, new commands are
refused, every player is silenced and `stopped` is set (the daemon then exits non-zero so
systemd restarts it). A loop that stops turning (a libVLC call that hangs) shows as a fault in
status after STUCK_AFTER_S, and commands are refused from then on.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import replace
from typing import Callable, Optional, Protocol

from . import events, session
from .errors import Busy, CommandError, EngineFailed, Refused
from .session import commands as c
from .session import phases
from .status import ChannelStatus, Status, block_status

log = logging.getLogger(__name__)

INBOX_LIMIT = 64          # a flood of inputs is refused, never queued without bound
SHUTDOWN_FADE_S = 1.5     # systemd stop: a short fade, then exit well inside 5 s
ANSWER_TIMEOUT_S = 5.0    # how long an input waits for the engine's answer
STUCK_AFTER_S = 10.0      # the loop turns at least once a second; this long without: stuck
LOOP_MAX_SLEEP_S = 1.0


class AudioOutput(Protocol):
    """What the engine drives (appliance.audio.vlc_output.VlcAudio; tests' SilentAudio).
    Every call comes from the engine thread."""

    def play(self, channel, track, level_db, fade_in_s, play_id, crossfade_s, now,
             join_fade=False, gain_db=0.0): ...
    def fade(self, channel, level_db, seconds, now): ...
    def stop(self, channel): ...
    def track_over(self, channel, play_id) -> Optional[str]: ...
    def tick(self, now) -> Optional[float]: ...
    def snapshot(self, now) -> dict: ...
    def silence_now(self): ...
    # the welcome song the room plays next (the room's, a booking's, a client's): keep it
    # ready, so a press only resumes it (None: no welcome playlist)
    def expect(self, track, now): ...


class Pending:
    """The answer to one submitted command, filled in by the engine thread."""

    def __init__(self, command, source: str = ""):
        self.command = command
        self.source = source  # who asked: "cli", "button:welcome", "panel", "mqtt", "schedule"
        self._done = threading.Event()
        self.error: Optional[CommandError] = None
        self.message = ""

    def _finish(self, error: Optional[CommandError] = None, message: str = ""):
        self.error, self.message = error, message
        self._done.set()

    def wait(self, timeout: float = ANSWER_TIMEOUT_S) -> bool:
        """True when the engine has answered (accepted or refused) within `timeout`."""
        return self._done.wait(timeout)

    def result(self, timeout: float = ANSWER_TIMEOUT_S) -> str:
        """The message of an accepted command; raises its CommandError otherwise (Busy when
        the engine did not answer within `timeout`)."""
        if not self._done.wait(timeout):
            raise Busy("the room did not answer in time; try again")
        if self.error is not None:
            raise self.error
        return self.message

    @property
    def accepted(self) -> bool:
        return self._done.is_set() and self.error is None

    @property
    def refusal(self) -> Optional[str]:
        """The one line saying why it was not carried out (None: accepted or waiting)."""
        return None if self.error is None else self.error.message


_WAKE = object()  # something changed (a fault, a shutdown request): look again


class Engine:
    def __init__(self, state: session.State, audio: AudioOutput,
                 clock: Callable[[], float] = time.monotonic, room: dict | None = None,
                 stuck_after_s: float = STUCK_AFTER_S):
        self.state = state
        self.stuck_after_s = stuck_after_s
        self.audio = audio
        self.clock = clock
        self.room = dict(room or {})
        self._inbox: queue.Queue = queue.Queue(maxsize=INBOX_LIMIT)
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[Status], None]] = []
        self._event_subscribers: list[Callable[[dict], None]] = []
        self._notices: tuple[str, ...] = ()
        self.fault: Optional[str] = None          # set once, when the engine fails
        self._faults: dict[str, str] = {}         # adapter -> what is wrong with it now
        self._faults_version = 0
        self._shutdown_fade: Optional[float] = None
        self._handling: Optional[Pending] = None
        self._expected = None  # the welcome song the audio was last told to keep ready
        self.stopped = threading.Event()
        # until the engine thread has built the first one: no audio is read off its thread
        self._status = self._build_status(clock(), channels=False)

    # --- for inputs (any thread) ----------------------------------------------------------

    def submit(self, command, source: str = "") -> Pending:
        pending = Pending(command, source)
        with self._lock:  # against _fail: a command is either drained or refused here
            refusal = self._refuse_now()
            if refusal is None:
                try:
                    self._inbox.put_nowait(pending)
                except queue.Full:
                    refusal = Busy("busy: too many commands at once, try again")
        if refusal is not None:
            pending._finish(refusal)
        return pending

    def _refuse_now(self) -> Optional[CommandError]:
        if self.fault is not None:
            return EngineFailed(self.fault)
        if self.stuck_s() > self.stuck_after_s:
            return EngineFailed(self._stuck_line())
        if self._shutdown_fade is not None:
            return Refused("the appliance is shutting down")
        return None

    def queue_depth(self) -> int:
        """Commands waiting in the inbox (at most INBOX_LIMIT)."""
        return self._inbox.qsize()

    def status(self) -> Status:
        """The newest snapshot; a stuck engine shows as a fault in it."""
        status = self._status
        if status.fault is None and self.stuck_s() > self.stuck_after_s:
            return replace(status, fault=self._stuck_line())
        return status

    def status_dict(self) -> dict:
        """The status as JSON readers show it, counted down to now."""
        return self.status().as_dict(self.clock())

    def stuck_s(self) -> float:
        """How long the loop has not turned, when that is longer than it ever sleeps."""
        if self._thread is None or self.stopped.is_set():
            return 0.0
        quiet = self.clock() - self._status.built_at
        return quiet if quiet > LOOP_MAX_SLEEP_S * 2 else 0.0

    def _stuck_line(self) -> str:
        return (f"the engine has not responded for {self.stuck_s():.0f} s; "
                "the appliance restarts")

    def subscribe(self, callback: Callable[[Status], None]):
        """`callback(status)` runs on the engine thread after each change: only enqueue in it."""
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback):
        with self._lock:
            for subscribers in (self._subscribers, self._event_subscribers):
                if callback in subscribers:
                    subscribers.remove(callback)

    def report_fault(self, source: str, message: Optional[str]):
        """An adapter reports a fault (None clears it): shown in status, lights, MQTT."""
        with self._lock:
            if message:
                self._faults[source] = message
            else:
                self._faults.pop(source, None)
            self._faults_version += 1
        self._wake()

    def subscribe_events(self, callback: Callable[[dict], None]):
        """`callback(event)` on the engine thread for each phase change, each command a
        person gave and each track started or ended: the dicts of appliance.events. Only
        enqueue in it."""
        with self._lock:
            self._event_subscribers.append(callback)

    def _wake(self):
        try:
            self._inbox.put_nowait(_WAKE)
        except queue.Full:
            pass  # the loop is busy with the queue anyway and looks at every turn

    # --- life cycle -----------------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()

    def begin_shutdown(self, fade_s: float = SHUTDOWN_FADE_S):
        """Start the closing fade; commands from now on are refused. Never lost: a flag the
        loop reads on every turn, not a queue item."""
        with self._lock:
            if self._shutdown_fade is None:
                self._shutdown_fade = fade_s
        self._wake()

    def shutdown(self, fade_s: float = SHUTDOWN_FADE_S, timeout: float = 4.0) -> bool:
        """Fade everything out briefly, then stop the thread (SIGTERM, end of tests).
        False when the thread is still running after `timeout` (stuck)."""
        if self._thread is None or not self._thread.is_alive():
            return True
        self.begin_shutdown(fade_s)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("engine did not stop in time")
            return False
        return True

    # --- the engine thread ----------------------------------------------------------------

    def _run(self):
        try:
            self._status = self._build_status(self.clock())
            self._expect_welcome(self.clock())
            self._loop()
        except Exception as exc:
            log.exception("engine failed; silencing the room")
            self._fail(exc)
        finally:
            try:
                self.audio.silence_now()
            except Exception:
                log.exception("could not silence the audio")
            self.stopped.set()

    def _fail(self, exc: Exception):
        """Answer everyone, refuse what comes, and show the fault (on the engine thread)."""
        with self._lock:
            self.fault = f"the engine failed ({type(exc).__name__}: {exc}); the appliance restarts"
            waiting = [self._handling] if self._handling is not None else []
            while True:
                try:
                    waiting.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
        for pending in waiting:
            if isinstance(pending, Pending):
                pending._finish(EngineFailed(self.fault))
        self._publish(self.clock(), channels=False)

    def _loop(self):
        audio_wake: Optional[float] = None
        shutdown_at: Optional[float] = None
        published = (self._faults_version, self._notices)
        while True:
            now = self.clock()
            wake = [t for t in (session.next_wakeup(self.state), audio_wake, shutdown_at)
                    if t is not None]
            timeout = max(0.0, min(wake) - now) if wake else LOOP_MAX_SLEEP_S
            try:
                item = self._inbox.get(timeout=min(timeout, LOOP_MAX_SLEEP_S))
            except queue.Empty:
                item = None
            now = self.clock()
            if shutdown_at is None and self._shutdown_fade is not None:
                fade_s = self._shutdown_fade
                self._apply(session.step(self.state, c.Quiet(), now).effects, now, fade_s=fade_s)
                shutdown_at = now + fade_s
            if isinstance(item, Pending):
                if shutdown_at is not None:
                    item._finish(Refused("the appliance is shutting down"))
                else:
                    self._handle(item, now)
            due = session.next_wakeup(self.state)
            if due is not None and now >= due:
                self._handle(Pending(c.Tick()), now)
            audio_wake = self.audio.tick(now)
            if (self._faults_version, self._notices) != published:
                published = (self._faults_version, self._notices)
                self._publish(now)
            else:
                self._status = self._build_status(now)  # levels move during a fade
            if shutdown_at is not None and now >= shutdown_at:
                return

    def _handle(self, pending: Pending, now: float):
        self._handling = pending
        command = pending.command
        if isinstance(command, (c.TrackEnded, c.TrackFailed)):
            unheard = self.audio.track_over(command.channel, command.play_id)
            if unheard and isinstance(command, c.TrackEnded):
                command = c.TrackFailed(command.channel, command.play_id, unheard)
        old_phase = self.state.phase
        outcome = session.step(self.state, command, now)
        if pending.source:
            self._emit(events.command_event(command, pending.source, outcome))
        if outcome.refusal:
            log.info("refused %s: %s", type(command).__name__, outcome.refusal)
            pending._finish(Refused(outcome.refusal))
            self._handling = None
            return
        ended, started = events.track_changes(self.state, outcome.state, outcome.effects)
        self.state = outcome.state
        self._expect_welcome(now)
        for event in ended:  # what stops stops before the phase moves; what starts, after
            self._emit(event)
        self._apply(outcome.effects, now)
        for event in started:
            self._emit(event)
        if not isinstance(command, c.Tick) or self.state.phase != old_phase or outcome.effects:
            self._publish(now)  # before the answer: whoever asked then reads the new status
        self._handling = None
        pending._finish(None, outcome.message)

    def _apply(self, effects, now: float, fade_s: Optional[float] = None):
        for effect in effects:
            if isinstance(effect, c.Play):
                self.audio.play(effect.channel, effect.track, effect.level_db, effect.fade_in_s,
                                effect.play_id, effect.crossfade_s, now, effect.join_fade,
                                effect.gain_db)
            elif isinstance(effect, c.Fade):
                seconds = effect.seconds if fade_s is None else fade_s
                self.audio.fade(effect.channel, effect.level_db, seconds, now)
            elif isinstance(effect, c.Stop):
                self.audio.stop(effect.channel)
            elif isinstance(effect, c.PhaseChanged):
                log.info("phase %s -> %s", effect.old, effect.new)
                self._emit(events.phase_event(effect.old, effect.new))
            elif isinstance(effect, c.TimeCue):
                self._emit(events.time_cue_event(effect.remaining_s))
            elif isinstance(effect, c.Notice):
                log.warning("%s", effect.message)
                self._notices = (self._notices + (effect.message,))[-10:]

    def _expect_welcome(self, now: float):
        track = session.next_welcome(self.state)
        if track != self._expected:
            self._expected = track
            self.audio.expect(track, now)

    def _build_status(self, now: float, channels: bool = True) -> Status:
        state = self.state
        track = session.now_playing(state)
        with self._lock:
            faults = dict(self._faults)
        volume = state.ambient_level if state.phase == session.AMBIENT else state.volume
        calibration = self.room.get("calibration")
        return Status(
            room=self.room.get("id"), room_name=self.room.get("name"), phase=state.phase,
            deadline=state.deadline,
            volume=volume, room_volume=state.volume, ambient_level=state.ambient_level,
            cap=state.settings.cap, now_playing=track.title if track else None,
            room_spl=round(calibration.spl_at(volume)) if calibration and volume else None,
            client=state.client.code if state.client else None,
            channels={name: ChannelStatus(**ch)
                      for name, ch in self.audio.snapshot(now).items()} if channels else {},
            notices=self._notices, fault=self.fault, faults=faults,
            possible=() if self.fault else phases.possible(state.phase), built_at=now,
            block=block_status(state.block, state.settings.iso_crossfade_s),
            held_left_s=getattr(state.block, "held_left", None))

    def _emit(self, event: dict):
        with self._lock:
            subscribers = list(self._event_subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")

    def _publish(self, now: float, channels: bool = True):
        status = self._build_status(now, channels)
        self._status = status
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(status)
            except Exception:
                log.exception("status subscriber failed")
