"""When a button press counts: debounce, hold and chatter, as a pure state machine.

Timing semantics (times are monotonic seconds handed in; no clock, no threads here):

- A press-only button acts on the FIRST edge. Debounce comes after the edge, not before it:
  for ``debounce_s`` after any accepted edge, further edges are ignored, then the real level
  is read again. A 5 ms bounce burst is therefore one press, heard at once.
- A button with a hold action fires exactly one of its two actions. Held for ``hold_s`` it
  fires the hold while it is still held; released earlier it fires the press on release
  (it cannot know sooner that the press was not the start of a hold).
- One button acts at most once every ``repeat_s``: a pin that starts to chatter looks like
  a few quick presses before it can be told apart from them, and those must not move the
  session on twice or restart the music.
- Chatter: more than ``chatter_edges`` edges within half a second (a loose wire, a dirty
  contact) and the button is ignored until it has been still for ``settle_s``. Whatever it
  is doing then is taken as its new resting state without acting on it.

`edge()` and `poll()` return what happened: "press", "hold", "too soon: press" (or hold:
within repeat_s of the last action, so not acted on), "chatter" (the button is now ignored)
and "settled" (it is listened to again).
"""
from __future__ import annotations

from collections import deque
from typing import Optional

CHATTER_WINDOW_S = 0.5


class ButtonLogic:
    def __init__(self, has_hold: bool, hold_s: float, debounce_s: float,
                 chatter_edges: int, settle_s: float, repeat_s: float = 0.0):
        self.has_hold = has_hold
        self.hold_s = hold_s
        self.debounce_s = debounce_s
        self.chatter_edges = chatter_edges
        self.settle_s = settle_s
        self.repeat_s = repeat_s
        self.acted_at = float("-inf")
        self.down = False                      # what we believe the button is doing
        self.locked_until: Optional[float] = None
        self.hold_at: Optional[float] = None
        self.consumed = False                  # this press already acted (hold or chatter)
        self.chattering = False
        self.last_edge = float("-inf")
        self._edges: deque = deque(maxlen=chatter_edges + 1)

    def edge(self, active: bool, now: float) -> list:
        """The pin changed to `active` (pressed) or not at `now`."""
        self.last_edge = now
        self._edges.append(now)
        if self.chattering:
            return []
        if (len(self._edges) > self.chatter_edges
                and now - self._edges[0] <= CHATTER_WINDOW_S):
            self.chattering = True
            self.hold_at = self.locked_until = None
            return ["chatter"]
        if self.locked_until is not None and now < self.locked_until:
            return []  # bounce: the level is read again when the lock ends
        return self._act(self._become(active, now), now)

    def due(self) -> Optional[float]:
        """When `poll()` should next be called (None: only on the next edge)."""
        if self.chattering:
            return self.last_edge + self.settle_s
        times = [t for t in (self.locked_until, self.hold_at) if t is not None]
        return min(times) if times else None

    def poll(self, now: float, active: bool) -> list:
        """A timer is due; `active` is the pin's level read now."""
        if self.chattering:
            if now - self.last_edge < self.settle_s:
                return []
            self.chattering = False
            self._edges.clear()
            self.down, self.consumed = active, True  # a stuck button does not act on waking
            return ["settled"]
        happened = []
        if self.locked_until is not None and now >= self.locked_until:
            self.locked_until = None
        if self.locked_until is None and active != self.down:
            happened += self._become(active, now)  # an edge hidden in the lock (or lost)
        if self.hold_at is not None and now >= self.hold_at and self.down:
            self.hold_at = None
            self.consumed = True
            happened.append("hold")
        return self._act(happened, now)

    def _act(self, happened: list, now: float) -> list:
        if not happened:
            return happened
        if now - self.acted_at < self.repeat_s:
            return [f"too soon: {what}" for what in happened]
        self.acted_at = now
        return happened

    def _become(self, active: bool, now: float) -> list:
        if active == self.down:
            return []
        self.down = active
        self.locked_until = now + self.debounce_s if self.debounce_s > 0 else None
        if active:
            self.consumed = False
            if self.has_hold:
                self.hold_at = now + self.hold_s
                return []
            return ["press"]
        self.hold_at = None
        if self.has_hold and not self.consumed:
            return ["press"]
        return []
