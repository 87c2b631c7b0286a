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

from ..errors import Busy, InvalidArgument, Refused
from ..verbs import validate

from .cli import SETTLE_WAIT_S  # beyond the hold itself: debounce, the engine's answer


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
    """How long to hold the mock button `name` down; a CommandError naming what is wrong."""
    args = validate("button", {"name": name, "hold_s": hold_s})  # the one table
    button = next((b for b in buttons if b.name == args["name"]), None)
    if button is None:
        known = ", ".join(b.name for b in buttons) or "none"
        raise InvalidArgument(f"button: no button called {name!r} (buttons: {known})", "name")
    if kind != "mock":
        raise Refused('button: presses can only be simulated with [gpio] pin_factory = "mock"')
    if "hold_s" not in args:  # a short press, shorter than any hold
        return min(0.1, button.hold_s / 2) if button.on_hold else 0.1
    return args["hold_s"]


def control_verb(adapter):
    """The 'button' verb (checked by the table): press, wait for what the button did."""
    def button(args: dict) -> dict:
        ticket = adapter.press(args["name"], args.get("hold_s"))
        if not ticket.wait(ticket.hold_s + SETTLE_WAIT_S):
            raise Busy(f"button: {ticket.name} did not finish in time")
        if ticket.error:
            raise Refused(ticket.error)
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
        raise Refused(message)
    return {"message": message, "status": engine.status_dict()}


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
