"""What the status lights show: pure functions of the room's status and the time.

The room is in one of five light states:

- ``idle``      nothing is going on                          (default: off)
- ``ambient``   the pre-session bed plays                    (default: breathing, 4 s a breath)
- ``session``   welcome, active work, receptive, reflection  (default: steady on)
- ``reminder``  the last minutes of a receptive block, and the first minute of reflection
                                                             (default: a discreet slow blink)
- ``fault``     an adapter or the audio reports a fault      (default: a triple flash)

Each light maps those states to a pattern. A pattern is a function of the time since the
state began, so a test needs no sleeps and the adapter knows when the next change is due.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..session.phases import Phase

FRAME_S = 0.05  # a breathing PWM light is updated 20 times a second

BREATHE_S = 4.0
BLINK = (0.3, 2.7)                          # on briefly, off for long: discreet
FLASH = (0.1, 0.15, 0.1, 0.15, 0.1, 1.4)    # three quick flashes, a pause: unmistakable


@dataclass(frozen=True)
class Pattern:
    kind: str                    # "steady", "breathe" or "blink"
    level: float = 0.0           # steady: brightness 0..1
    period: float = BREATHE_S    # breathe: seconds for one breath
    steps: tuple = ()            # blink: on, off, on, off ... seconds

    def value(self, t: float, pwm: bool = True) -> float:
        """Brightness 0..1 at `t` seconds after the pattern began (0 or 1 for a plain LED)."""
        if self.kind == "steady":
            return (1.0 if self.level > 0 else 0.0) if not pwm else self.level
        if self.kind == "breathe":
            phase = (t % self.period) / self.period
            if not pwm:  # a plain LED breathes as a slow, even on/off
                return 1.0 if phase < 0.5 else 0.0
            # 0 -> 1 -> 0 over one period, quantised so unchanged frames write nothing
            return round((1 - math.cos(2 * math.pi * phase)) / 2, 2)
        index, _ = self._blink_position(t)
        return 1.0 if index % 2 == 0 else 0.0

    def next_change(self, t: float, pwm: bool = True) -> Optional[float]:
        """The time (since the pattern began) of the next change after `t`; None: never."""
        if self.kind == "steady":
            return None
        if self.kind == "breathe":
            if pwm:
                return (math.floor(t / FRAME_S) + 1) * FRAME_S
            half = self.period / 2
            return (math.floor(t / half) + 1) * half
        _, step_end = self._blink_position(t)
        return step_end

    def _blink_position(self, t: float):
        """(index of the step `t` falls in, time that step ends)."""
        cycle = sum(self.steps)
        base = math.floor(t / cycle) * cycle
        acc = 0.0
        for index, seconds in enumerate(self.steps):
            acc += seconds
            if t - base < acc:
                return index, base + acc
        return 0, base + cycle + self.steps[0]  # float rounding at the very end of a cycle


NAMED = {
    "off": Pattern("steady", level=0.0),
    "on": Pattern("steady", level=1.0),
    "breathe": Pattern("breathe", period=BREATHE_S),
    "blink": Pattern("blink", steps=BLINK),
    "flash": Pattern("blink", steps=FLASH),
}
HELP = ('one of "off", "on", "breathe", "blink", "flash", or a table: {on = 0.3} (steady '
        'brightness), {breathe = 4.0} (seconds a breath), {blink = [0.3, 2.7]} (on, off, ... '
        'seconds)')


def parse_pattern(raw) -> Pattern:
    """A pattern from config; ValueError with a one-line reason otherwise."""
    if isinstance(raw, str):
        if raw in NAMED:
            return NAMED[raw]
        raise ValueError(f"unknown pattern {raw!r}: use {HELP}")
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ValueError(f"not a pattern: {raw!r}; use {HELP}")
    (kind, value), = raw.items()
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "on":
        if not number or not 0 <= value <= 1:
            raise ValueError(f"on: brightness must be between 0 and 1, not {value!r}")
        return Pattern("steady", level=float(value))
    if kind == "breathe":
        if not number or not 0.5 <= value <= 60:
            raise ValueError(f"breathe: seconds must be between 0.5 and 60, not {value!r}")
        return Pattern("breathe", period=float(value))
    if kind == "blink":
        if (not isinstance(value, list) or not value or len(value) % 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and 0.02 <= v <= 60 for v in value)):
            raise ValueError(f"blink: give on/off pairs of seconds (each 0.02-60), like "
                             f"[0.3, 2.7], not {value!r}")
        return Pattern("blink", steps=tuple(float(v) for v in value))
    raise ValueError(f"unknown pattern {kind!r}: use {HELP}")


class RoomView:
    """The light state the room is in, from the statuses the engine publishes.

    `update()` takes each status with the (monotonic) time it arrived; `state_at(now)` says
    which light state holds at `now` and when it will change by itself (the reminder before
    a receptive block ends, the end of the reflection reminder).
    """

    def __init__(self, reminder_before_end_s: float, reflection_reminder_s: float):
        self.before_end_s = reminder_before_end_s
        self.reflection_s = reflection_reminder_s
        self.phase: Optional[str] = None
        self.phase_since = 0.0
        self.deadline: Optional[float] = None
        self.fault = False

    def update(self, status, now: float):
        """Take a new Status snapshot; its deadline is absolute (the same monotonic clock)."""
        if status.phase != self.phase:
            self.phase, self.phase_since = status.phase, now
        self.deadline = status.deadline
        self.fault = not status.healthy

    def state_at(self, now: float):
        """(light state, time it changes by itself or None)."""
        if self.fault:
            return "fault", None
        if self.phase in (None, Phase.IDLE):
            return "idle", None
        if self.phase == Phase.AMBIENT:
            return "ambient", None
        if self.phase == Phase.RECEPTIVE and self.deadline is not None:
            warn_at = self.deadline - self.before_end_s
            return ("reminder", None) if now >= warn_at else ("session", warn_at)
        if self.phase == Phase.REFLECTION:
            until = self.phase_since + self.reflection_s
            return ("reminder", until) if now < until else ("session", None)
        return "session", None
