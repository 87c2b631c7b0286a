"""Buttons and status lights on GPIO: one thread between the pins and the engine.

gpiozero calls back on its own thread (lgpio's, or whoever drives a mock pin); those
callbacks and the engine's status callback only put a note in this adapter's bounded inbox.
The adapter's one thread owns everything else: the button state machines (buttons.py), the
light patterns (lights.py), opening the pins and, when GPIO fails at run time, closing them,
reporting the fault and trying again. Commands go to the engine with source "button:NAME".
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Optional

from gpiozero import LED, PWMLED, DigitalInputDevice

from ..errors import Busy
from ..verbs import parse_command
from . import pins
from .buttons import ButtonLogic
from .config import WITH_MINUTES, Action, GpioConfig
from .lights import RoomView
from .virtual import PressTicket, RateLimitedLog, press_length

log = logging.getLogger(__name__)

INBOX_LIMIT = 256        # edges beyond this are dropped; the level is read again later
MOCK_STATES_KEEP = 5000  # a mock pin records every change: keep a long demo's memory flat


class GpioAdapter:
    def __init__(self, cfg: GpioConfig, engine, lgpio_dir, default_minutes: float,
                 open_factory: Callable = pins.open_factory, kind: Optional[str] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.cfg = cfg
        self.engine = engine
        self.lgpio_dir = lgpio_dir
        self.default_minutes = default_minutes
        self.kind = kind or pins.choose(cfg.pin_factory)
        self.clock = clock
        self._open_factory = open_factory
        self._inbox: queue.Queue = queue.Queue(maxsize=INBOX_LIMIT)
        self._thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._latest_status = None  # the engine's newest Status snapshot
        self._dropped = 0
        self._log = RateLimitedLog(log)                      # faults, drops: every 10 s
        self._log_press = RateLimitedLog(log, every_s=1.0)   # presses: once a second a button
        self.factory = None
        self._buttons: list = []   # gpiozero input devices, in config order (empty: closed)
        self._lights: list = []
        self._logic = [self._new_logic(b) for b in cfg.buttons]
        self._pending: dict = {}   # button name -> the engine's answer it still waits for
        self._last_welcome = None  # (time, Pending) of the last welcome a button gave
        self._tickets: dict = {}   # button name -> PressTicket of a virtual press
        self._problems: dict = {}  # what is wrong now -> message (one engine fault "gpio")
        self._reported: Optional[str] = None
        self._view = RoomView(cfg.reminder_before_end_s, cfg.reflection_reminder_s)
        self._light_state, self._light_since = None, 0.0
        self._written: dict = {}   # light index -> value last written
        self._retry_at: Optional[float] = None
        self._health_at: Optional[float] = None

    # --- for other threads -----------------------------------------------------------------

    def start(self):
        """Open the pins (a failure is reported and retried on the thread), then run."""
        self._latest_status = self.engine.status()
        self.engine.subscribe(self._on_status)
        self._open(self.clock())
        self._thread = threading.Thread(target=self._run, name="gpio", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        self._put(("wake",))
        self.engine.unsubscribe(self._on_status)
        if self._thread is not None:
            self._thread.join(5)

    def verbs(self) -> dict:
        """'button' (press a mock button, wait for what it did) and 'buttons' (the list)."""
        from .virtual import control_verb
        return {"button": control_verb(self),
                "buttons": lambda args: {"buttons": self.virtual_buttons()}}

    def virtual_buttons(self) -> list:
        """The buttons a person can press from the panel or CLI (mock pins only)."""
        if self.kind != "mock":
            return []
        return [{"name": b.name, "press": str(b.on_press) if b.on_press else None,
                 "hold": str(b.on_hold) if b.on_hold else None,
                 "hold_s": b.hold_s if b.on_hold else None} for b in self.cfg.buttons]

    def press(self, name: str, hold_s: Optional[float] = None) -> PressTicket:
        """Press a mock button (held for `hold_s`, else a short press); returns at once."""
        hold_s = press_length(self.cfg.buttons, self.kind, name, hold_s)
        ticket = PressTicket(name, hold_s)
        if not self._put(("press", ticket)):
            raise Busy("button: too many presses at once, try again")
        return ticket

    def _on_status(self, status):  # engine thread: only note it
        self._latest_status = status
        self._put(("wake",))

    def _on_edge(self, index: int, active: bool):  # gpiozero's thread: only note it
        if not self._put(("edge", index, active, self.clock())):
            self._dropped += 1

    def _put(self, item) -> bool:
        try:
            self._inbox.put_nowait(item)
            return True
        except queue.Full:
            return False

    # --- the adapter's thread --------------------------------------------------------------

    def _run(self):
        while not self._stopping.is_set():
            try:
                self._loop()
            except Exception:  # a bug here must not leave the buttons dead for good
                log.exception("GPIO adapter failed; closing the pins and starting again")
                self._failed(RuntimeError("internal error, see the log"), self.clock())
                time.sleep(0.5)
        self._close(lights_off=True)

    def _loop(self):
        seen_status, dropped = None, self._dropped
        while not self._stopping.is_set():
            self._report()  # before waiting: a failure at start is shown at once
            now = self.clock()
            timeout = max(0.0, min(1.0, self._next_wake(now) - now))
            try:
                item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                item = None
            now = self.clock()
            if item is not None and item[0] == "edge":
                self._edge(item[1], item[2], item[3])
            elif item is not None and item[0] == "press":
                self._start_press(item[1], now)
            if self._dropped != dropped:  # edges were lost: read every button again
                dropped = self._dropped
                self._log.warning("dropped", "GPIO: edges came faster than they could be "
                                  "handled; %d dropped so far", dropped)
                self._poll_buttons(now, force=True)
            status = self._latest_status
            if status is not seen_status:
                seen_status = status
                self._view.update(status, now)
            self._timers(now)

    def _next_wake(self, now: float) -> float:
        times = [now + 1.0, self._retry_at, self._health_at, self._lights_due(now)]
        times += [logic.due() for logic in self._logic]
        times += [t.release_at for t in self._tickets.values()]
        return min(t for t in times if t is not None)

    def _timers(self, now: float):
        if self._retry_at is not None and now >= self._retry_at:
            self._open(now)
        if self._health_at is not None and now >= self._health_at:
            self._health_at = now + self.cfg.retry_s
            self._guard(lambda: [d.value for d in self._buttons + self._lights], now)
        for name, ticket in list(self._tickets.items()):
            if ticket.release_at is not None and now >= ticket.release_at:
                ticket.release_at = None
                self._drive(name, pressed=False, now=now)
        self._poll_buttons(now)
        for name, ticket in list(self._tickets.items()):
            logic = self._logic[self._index(name)]
            settled = logic.due() is None or logic.chattering
            if ticket.release_at is None and settled:  # released, and nothing more to come
                del self._tickets[name]
                ticket.finish()
        self._show_lights(now)
        self._report()

    # --- buttons ---------------------------------------------------------------------------

    def _new_logic(self, b) -> ButtonLogic:
        return ButtonLogic(b.on_hold is not None, b.hold_s, b.debounce_s,
                           self.cfg.chatter_edges, self.cfg.settle_s, self.cfg.repeat_s)

    def _index(self, name: str) -> int:
        return next(i for i, b in enumerate(self.cfg.buttons) if b.name == name)

    def _edge(self, index: int, active: bool, at: float):
        if self._buttons:
            self._happened(index, self._logic[index].edge(active, at), at)

    def _poll_buttons(self, now: float, force: bool = False):
        if not self._buttons:
            return
        for index, logic in enumerate(self._logic):
            due = logic.due()
            if force or (due is not None and now >= due):
                level = self._guard(lambda: self._buttons[index].is_active, now)
                if level is None:
                    return  # GPIO failed: closed, will retry
                self._happened(index, logic.poll(now, level), now)

    def _happened(self, index: int, events: list, now: float):
        button = self.cfg.buttons[index]
        for event in events:
            if event == "chatter":
                self._problems[f"chatter:{button.name}"] = (
                    f"button {button.name!r} is chattering (more than "
                    f"{self.cfg.chatter_edges} edges in half a second): ignored until it settles")
                log.warning("GPIO: %s", self._problems[f"chatter:{button.name}"])
            elif event == "settled":
                self._problems.pop(f"chatter:{button.name}", None)
                log.info("GPIO: button %r has settled and works again", button.name)
            elif event.startswith("too soon: "):  # a double tap, or chatter starting:
                what = event.removeprefix("too soon: ")  # not worth a log line
                action = button.on_press if what == "press" else button.on_hold
                if button.name in self._tickets and action is not None:
                    self._tickets[button.name].add(what, str(action), None, (
                        f"not given: pressed again within repeat_s ({self.cfg.repeat_s:g} s)"))
            else:
                action = button.on_press if event == "press" else button.on_hold
                if action is not None:
                    self._act(button.name, event, action, now)

    def _act(self, name: str, event: str, action: Action, now: float):
        ticket = self._tickets.get(name)
        why_not = self._why_not(name, action, now)
        if why_not:
            self._log_press.info(f"skip:{name}", "button %s: %s -> %s not given: %s", name, event,
                           action, why_not)
            if ticket:
                ticket.add(event, str(action), None, why_not)
            return
        args = {}
        if action.verb in WITH_MINUTES:
            args["minutes"] = action.minutes or self.default_minutes
        pending = self.engine.submit(parse_command(action.verb, args), source=f"button:{name}")
        self._pending[name] = pending
        if action.verb == "welcome":
            self._last_welcome = (now, pending)
        self._log_press.info(f"act:{name}", "button %s: %s -> %s", name, event, action)
        if ticket:
            ticket.add(event, str(action), pending, None)

    def _why_not(self, name: str, action: Action, now: float) -> Optional[str]:
        pending = self._pending.get(name)
        if pending is not None and not pending.wait(0):
            return "the engine has not answered the last press yet"
        if action.verb == "welcome" and self._last_welcome is not None:
            at, last = self._last_welcome
            refused = last.wait(0) and last.refusal is not None
            if now - at < self.cfg.welcome_repeat_s and not refused:
                return (f"welcome was given {now - at:.1f} s ago (welcome_repeat_s = "
                        f"{self.cfg.welcome_repeat_s:g}); the song is not restarted")
        return None

    # --- virtual presses (mock pins) -------------------------------------------------------

    def _start_press(self, ticket: PressTicket, now: float):
        if not self._buttons:
            ticket.fail("button: GPIO is not open (see the fault in status)")
        elif ticket.name in self._tickets:
            ticket.fail(f"button: {ticket.name} is being pressed already")
        else:
            self._tickets[ticket.name] = ticket
            ticket.release_at = now + ticket.hold_s
            self._drive(ticket.name, pressed=True, now=now)

    def _drive(self, name: str, pressed: bool, now: float):
        if not self._buttons:
            return
        button = self.cfg.buttons[self._index(name)]
        pin = self._buttons[self._index(name)].pin
        high = pressed == button.active_high
        pin.drive_high() if high else pin.drive_low()  # its callback lands in our inbox

    # --- lights ----------------------------------------------------------------------------

    def _lights_due(self, now: float) -> Optional[float]:
        state, change_at = self._view.state_at(now)
        times = [change_at]
        if state == self._light_state and self._lights:
            for light in self.cfg.lights:
                t = light.patterns[state].next_change(now - self._light_since, light.pwm)
                times.append(None if t is None else self._light_since + t)
        times = [t for t in times if t is not None]
        return min(times) if times else None

    def _show_lights(self, now: float):
        state, _ = self._view.state_at(now)
        if state != self._light_state:
            self._light_state, self._light_since = state, now
        for index, light in enumerate(self.cfg.lights):
            if index >= len(self._lights):
                return
            value = light.patterns[state].value(now - self._light_since, light.pwm)
            value = value * light.brightness if light.pwm else value
            if self._written.get(index) != value:
                if self._guard(lambda: self._write(index, value), now) is None:
                    return
                self._written[index] = value

    def _write(self, index: int, value: float) -> bool:
        device = self._lights[index]
        device.value = value
        states = getattr(device.pin, "states", None)
        if states is not None and len(states) > MOCK_STATES_KEEP:
            device.pin.clear_states()
        return True

    # --- opening, failing, retrying --------------------------------------------------------

    def _open(self, now: float):
        self._retry_at = None
        try:
            self.factory = self._open_factory(self.kind, self.lgpio_dir)
            for index, b in enumerate(self.cfg.buttons):
                device = DigitalInputDevice(
                    b.pin, pull_up={"up": True, "down": False, "off": None}[b.pull],
                    active_state=None if b.pull != "off" else b.active_high,
                    bounce_time=None, pin_factory=self.factory)  # debounce is ours
                device.when_activated = lambda i=index: self._on_edge(i, True)
                device.when_deactivated = lambda i=index: self._on_edge(i, False)
                self._buttons.append(device)
            for light in self.cfg.lights:
                kind = PWMLED if light.pwm else LED
                self._lights.append(kind(light.pin, active_high=light.active_high,
                                         pin_factory=self.factory))
            self._logic = [self._new_logic(b) for b in self.cfg.buttons]
            for logic, device in zip(self._logic, self._buttons):
                logic.down = logic.consumed = device.is_active  # held at start: no action
        except Exception as exc:  # chip gone, permission denied, no lgpio: keep running
            self._failed(exc, now)
            return
        self._written.clear()
        self._light_state = None
        self._problems.pop("gpio", None)
        self._health_at = now + self.cfg.retry_s
        log.info("GPIO: %s pins open: %d buttons, %d lights", self.kind,
                 len(self._buttons), len(self._lights))

    def _guard(self, fn, now: float):
        """Run a GPIO operation; on failure close the pins, report it, and retry later."""
        try:
            return fn()
        except Exception as exc:
            self._failed(exc, now)
            return None

    def _failed(self, exc: Exception, now: float):
        self._close(lights_off=False)
        self._problems["gpio"] = (f"GPIO ({self.kind}) failed: {exc or type(exc).__name__}; "
                                  f"retrying every {self.cfg.retry_s:g} s")
        self._log.warning("failed", "%s", self._problems["gpio"])
        self._retry_at = now + self.cfg.retry_s
        self._health_at = None

    def _close(self, lights_off: bool):
        for device in self._lights + self._buttons:
            try:
                if lights_off and device in self._lights:
                    device.off()
                device.close()
            except Exception:
                pass  # the pins may be gone already
        self._buttons, self._lights = [], []
        if self.factory is not None:
            try:
                self.factory.close()
            except Exception:
                pass
        for ticket in self._tickets.values():
            ticket.finish()
        self._tickets.clear()

    def _report(self):
        message = "; ".join(self._problems[k] for k in sorted(self._problems)) or None
        if message != self._reported:
            self._reported = message
            self.engine.report_fault("gpio", message)


def create(context, **options) -> GpioAdapter:
    """Buttons and lights from [gpio], [[buttons]], [[lights]] (the daemon's registry)."""
    cfg = context.config
    adapter = GpioAdapter(cfg, context.engine, cfg.lgpio_dir or context.room.socket_dir,
                          context.room.settings.receptive_default_minutes, **options)
    log.info("GPIO: pin factory %s (%s)", adapter.kind, cfg.pin_factory)
    return adapter
