"""The engine: one thread, one inbox, the only place the room's state changes.

Every input (control socket, buttons, panel, MQTT, schedule, libVLC events) calls submit() and
gets a Pending it may wait on. The engine thread takes commands in order, runs the pure
session step, carries out its effects on the audio output, and tells subscribers (panel,
MQTT, lights) the new status. Timers are not threads: the loop sleeps until the core's next
deadline or the next fade step, whichever is first.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Optional, Protocol

from . import session
from .session import commands as c

log = logging.getLogger(__name__)

INBOX_LIMIT = 64          # a flood of inputs is refused, never queued without bound
SHUTDOWN_FADE_S = 1.5     # systemd stop: a short fade, then exit well inside 5 s


class AudioOutput(Protocol):
    def play(self, channel, track, level_db, fade_in_s, play_id, crossfade_s, now,
             join_fade): ...
    def fade(self, channel, level_db, seconds, now): ...
    def stop(self, channel): ...
    def track_over(self, channel, play_id) -> Optional[str]: ...
    def tick(self, now) -> Optional[float]: ...
    def snapshot(self, now) -> dict: ...
    def silence_now(self): ...


class Pending:
    """The answer to one submitted command, filled in by the engine thread."""

    def __init__(self, command, source: str = ""):
        self.command = command
        self.source = source  # who asked: "cli", "button:welcome", "panel", "mqtt", "schedule"
        self._done = threading.Event()
        self.outcome: Optional[session.Outcome] = None
        self.refusal: Optional[str] = None
        self.message = ""

    def _finish(self, refusal: Optional[str], message: str = ""):
        self.refusal, self.message = refusal, message
        self._done.set()

    def wait(self, timeout: float = 5.0) -> bool:
        """True when the engine has answered (accepted or refused) within `timeout`."""
        return self._done.wait(timeout)

    @property
    def accepted(self) -> bool:
        return self._done.is_set() and self.refusal is None


class _Refresh:
    """Publish the status again (a fault came or went)."""


class _Shutdown:
    def __init__(self, fade_s):
        self.fade_s = fade_s


class Engine:
    def __init__(self, state: session.State, audio: AudioOutput,
                 clock: Callable[[], float] = time.monotonic, room: dict | None = None):
        self.state = state
        self.audio = audio
        self.clock = clock
        self.room = dict(room or {})
        self._inbox: queue.Queue = queue.Queue(maxsize=INBOX_LIMIT)
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[dict], None]] = []
        self._event_subscribers: list[Callable[[dict], None]] = []
        self.notices: list[str] = []
        self.fault: Optional[str] = None
        self.faults: dict[str, str] = {}  # adapter -> what is wrong with it now
        self.stopped = threading.Event()
        #: time.monotonic() of the loop's last turn (at least once a second): the watchdog's
        self.heartbeat = time.monotonic()
        self._status = self._build_status(clock())

    # --- for inputs (any thread) ----------------------------------------------------------

    def submit(self, command, source: str = "") -> Pending:
        pending = Pending(command, source)
        try:
            self._inbox.put_nowait(pending)
        except queue.Full:
            pending._finish("busy: too many commands at once, try again")
        return pending

    def queue_depth(self) -> int:
        """Commands waiting in the inbox (at most INBOX_LIMIT)."""
        return self._inbox.qsize()

    def status(self) -> dict:
        """The room's status now (remaining_s counts down between changes)."""
        with self._lock:
            status = dict(self._status)
            deadline = self.state.deadline
        now = self.clock()
        if deadline is not None:
            status["remaining_s"] = round(max(0.0, deadline - now), 1)
        status["channels"] = self.audio.snapshot(now)  # plain reads: fades move between changes
        return status

    def subscribe(self, callback: Callable[[dict], None]):
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
            faults = dict(self.faults)  # replaced, never changed in place: readers need no lock
            if message:
                faults[source] = message
            else:
                faults.pop(source, None)
            self.faults = faults
        self.submit(_Refresh())

    def subscribe_events(self, callback: Callable[[dict], None]):
        """`callback(event)` on the engine thread for each phase change and each command a
        person gave: {"type": "phase", "old", "new"} or {"type": "command", "verb",
        "source", "accepted", "reason"}. Only enqueue in it."""
        with self._lock:
            self._event_subscribers.append(callback)

    # --- life cycle ---------------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()

    def begin_shutdown(self, fade_s: float = SHUTDOWN_FADE_S):
        """Start the closing fade; commands after this are refused."""
        try:
            self._inbox.put(_Shutdown(fade_s), timeout=1.0)
        except queue.Full:
            pass

    def shutdown(self, fade_s: float = SHUTDOWN_FADE_S, timeout: float = 4.0):
        """Fade everything out briefly, then stop the thread (SIGTERM, end of tests)."""
        if self._thread is None or not self._thread.is_alive():
            return
        self.begin_shutdown(fade_s)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("engine did not stop in time")

    # --- the engine thread ----------------------------------------------------------------

    def _run(self):
        try:
            self._loop()
        except Exception:
            log.exception("engine failed; silencing the room")
            self.fault = "engine failed"
        finally:
            try:
                self.audio.silence_now()
            except Exception:
                log.exception("could not silence the audio")
            self.stopped.set()

    def _loop(self):
        audio_wake: Optional[float] = None
        shutdown_at: Optional[float] = None
        while True:
            self.heartbeat = time.monotonic()
            now = self.clock()
            wake = [t for t in (session.next_wakeup(self.state), audio_wake, shutdown_at)
                    if t is not None]
            timeout = max(0.0, min(wake) - now) if wake else 1.0
            try:
                item = self._inbox.get(timeout=min(timeout, 1.0))
            except queue.Empty:
                item = None
            now = self.clock()
            if isinstance(item, _Shutdown):
                if shutdown_at is None:
                    self._apply(session.step(self.state, c.Quiet(), now).effects, now,
                                fade_s=item.fade_s)
                    shutdown_at = now + item.fade_s
            elif item is not None and isinstance(item.command, _Refresh):
                self._publish(now)
            elif item is not None and shutdown_at is not None:
                item._finish("the appliance is shutting down")  # nothing new starts now
            elif item is not None:
                self._handle(item, now)
            due = session.next_wakeup(self.state)
            if due is not None and now >= due:
                self._handle(Pending(c.Tick()), now)
            audio_wake = self.audio.tick(now)
            if shutdown_at is not None and now >= shutdown_at:
                return

    def _handle(self, pending: Pending, now: float):
        command = pending.command
        if isinstance(command, (c.TrackEnded, c.TrackFailed)):
            unheard = self.audio.track_over(command.channel, command.play_id)
            if unheard and isinstance(command, c.TrackEnded):
                command = c.TrackFailed(command.channel, command.play_id, unheard)
        old_phase = self.state.phase
        outcome = session.step(self.state, command, now)
        if pending.source:
            self._emit({"type": "command", "verb": _verb_name(command),
                        "source": pending.source, "accepted": outcome.refusal is None,
                        "reason": outcome.refusal})
        if outcome.refusal:
            log.info("refused %s: %s", type(command).__name__, outcome.refusal)
            pending._finish(outcome.refusal)
            return
        self.state = outcome.state
        self._apply(outcome.effects, now)
        pending._finish(None, outcome.message)
        if not isinstance(command, c.Tick) or self.state.phase != old_phase or outcome.effects:
            self._publish(now)

    def _apply(self, effects, now: float, fade_s: Optional[float] = None):
        for effect in effects:
            if isinstance(effect, c.Play):
                self.audio.play(effect.channel, effect.track, effect.level_db, effect.fade_in_s,
                                effect.play_id, effect.crossfade_s, now, effect.join_fade)
            elif isinstance(effect, c.Fade):
                seconds = effect.seconds if fade_s is None else fade_s
                self.audio.fade(effect.channel, effect.level_db, seconds, now)
            elif isinstance(effect, c.Stop):
                self.audio.stop(effect.channel)
            elif isinstance(effect, c.PhaseChanged):
                log.info("phase %s -> %s", effect.old, effect.new)
                self._emit({"type": "phase", "old": effect.old, "new": effect.new})
            elif isinstance(effect, c.Notice):
                log.warning("%s", effect.message)
                self.notices = (self.notices + [effect.message])[-10:]

    def _build_status(self, now: float) -> dict:
        state = self.state
        track = session.now_playing(state)
        return {
            "room": self.room.get("id"),
            "room_name": self.room.get("name"),
            "phase": state.phase,
            "remaining_s": None if state.deadline is None
            else round(max(0.0, state.deadline - now), 1),
            "volume": state.ambient_level if state.phase == session.AMBIENT else state.volume,
            "room_volume": state.volume,
            "ambient_level": state.ambient_level,
            "cap": state.settings.cap,
            "now_playing": track.title if track else None,
            "channels": self.audio.snapshot(now),
            "notices": list(self.notices),
            "fault": self.fault,
            "faults": dict(self.faults),
        }

    def _emit(self, event: dict):
        with self._lock:
            subscribers = list(self._event_subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")

    def _publish(self, now: float):
        status = self._build_status(now)
        with self._lock:
            self._status = status
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(status)
            except Exception:
                log.exception("status subscriber failed")


_VERB_OF = {cls: name for name, cls in c.VERBS.items()}


def _verb_name(command) -> str:
    if isinstance(command, c.VolumeStep):
        return "volume_up" if command.steps > 0 else "volume_down"
    return _VERB_OF.get(type(command), type(command).__name__.lower())
