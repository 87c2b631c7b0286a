"""Pressing mock buttons from outside (control socket, panel), and keeping the log readable.

In mock mode `appliance button NAME [--hold S]` asks the daemon, over the control socket,
to drive the button's mock pin: pressed, held, released. The press then takes the same path
as a finger on a real button (edge, debounce, hold, action, engine), so the whole chain can
be tried on a laptop.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Optional

SETTLE_WAIT_S = 3.0  # beyond the hold itself: debounce, the engine's answer


class PressTicket:
    """One virtual press: filled in by the adapter's thread, read by whoever asked."""

    def __init__(self, name: str, hold_s: float):
        self.name = name
        self.hold_s = hold_s
        self.release_at: Optional[float] = None
        self.error: Optional[str] = None
        self.outcomes: list = []  # (event, action, Pending or None, why it was not given)
        self._done = threading.Event()

    def add(self, event: str, action: str, pending, why_not: Optional[str]):
        self.outcomes.append((event, action, pending, why_not))

    def fail(self, error: str):
        self.error = error
        self._done.set()

    def finish(self):
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


def press_length(buttons, kind: str, name, hold_s) -> float:
    """How long to hold the mock button `name` down; ValueError naming what is wrong."""
    button = next((b for b in buttons if b.name == name), None)
    if button is None:
        known = ", ".join(b.name for b in buttons) or "none"
        raise ValueError(f"button: no button called {name!r} (buttons: {known})")
    if kind != "mock":
        raise ValueError('button: presses can only be simulated with [gpio] pin_factory = "mock"')
    if hold_s is None:  # a short press, shorter than any hold
        return min(0.1, button.hold_s / 2) if button.on_hold else 0.1
    if isinstance(hold_s, bool) or not isinstance(hold_s, (int, float)) or not 0 < hold_s <= 30:
        raise ValueError(f"button: hold_s must be a number of seconds (0-30], not {hold_s!r}")
    return float(hold_s)


def control_verb(adapter):
    """The control socket's 'button' verb: {"name": "welcome", "hold_s": 2.5 (optional)}."""
    def button(args: dict) -> dict:
        name, hold_s = args.get("name"), args.get("hold_s")
        extra = sorted(set(args) - {"name", "hold_s"})
        if extra:
            raise ValueError(f"button: unexpected argument {extra[0]!r}")
        if not isinstance(name, str) or not name:
            raise ValueError("button: missing name")
        ticket = adapter.press(name, hold_s)
        if not ticket.wait(ticket.hold_s + SETTLE_WAIT_S):
            return {"ok": False, "error": f"button: {name} did not finish in time"}
        if ticket.error:
            return {"ok": False, "error": ticket.error}
        return answer(ticket, adapter.engine)
    return button


def answer(ticket: PressTicket, engine) -> dict:
    lines, refused = [], None
    for event, action, pending, why_not in ticket.outcomes:
        if pending is not None and not pending.wait(SETTLE_WAIT_S):
            why_not = "the engine did not answer in time"
        elif pending is not None:
            why_not = pending.refusal
        line = f"{ticket.name}: {event} -> {action}"
        lines.append(f"{line}: {why_not}" if why_not else line)
        refused = refused or (why_not if pending is not None else None)
    message = "; ".join(lines) or f"{ticket.name}: pressed (nothing to do)"
    if refused:
        return {"ok": False, "error": message}
    return {"ok": True, "message": message, "status": engine.status()}


class RateLimitedLog:
    """At most one line per key every `every_s`; the lines left out are counted."""

    def __init__(self, logger: logging.Logger, every_s: float = 10.0, clock=time.monotonic):
        self.logger = logger
        self.every_s = every_s
        self.clock = clock
        self._last: dict = {}  # key -> (time logged, lines left out since)

    def _log(self, level: int, key: str, message: str, *args):
        now = self.clock()
        last, left_out = self._last.get(key, (None, 0))
        if last is not None and now - last < self.every_s:
            self._last[key] = (last, left_out + 1)
            return
        if left_out:
            message += f" ({left_out} similar lines left out)"
        self._last[key] = (now, 0)
        if len(self._last) > 1000:  # keys are button names and a few more: never many
            self._last.clear()
        self.logger.log(level, message, *args)

    def info(self, key: str, message: str, *args):
        self._log(logging.INFO, key, message, *args)

    def warning(self, key: str, message: str, *args):
        self._log(logging.WARNING, key, message, *args)
