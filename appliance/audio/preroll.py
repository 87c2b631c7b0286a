"""The room's welcome song, waiting in a paused, muted, rewound player: a press only resumes it.

Measured on both paths before choosing how (one tone, a press 0.3 s, 2 s or 20 s after):
- libVLC's `:start-paused`: resumed silent for 0.6 s on ALSA (the pre-rolled blocks were
  already mixed at volume 0) and, through PulseAudio, silent for over a second after 2 s.
- played, paused and rewound with set_time(0): on ALSA first sound 34-42 ms after resume
  (a fresh play() 80 ms), whole and at the new volume, also after 20 s. Through PulseAudio
  it broke up like :start-paused, so there the welcome starts with a fresh play() (~10 ms).
So pre-rolling is done on ALSA only, the second way. While it pre-rolls the player plays at
volume 0 (a fresh player honours a volume set before play()): nothing is heard.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from ..session.model import Track

log = logging.getLogger(__name__)

PREROLL_AFTER_S = 2.0   # the next pre-roll is made once the last song is well under way
PREROLL_TIMEOUT_S = 3.0


@dataclass
class _Pending:
    track: Track
    player: object
    generation: int
    since: float
    stage: str = "starting"  # starting -> pausing -> ready


class Preroll:
    """Keeps one track ready. Every method runs on the engine thread (it calls libVLC)."""

    def __init__(self, players, enabled: bool):
        self.players = players
        self.enabled = enabled
        self.track: Optional[Track] = None
        self.due: Optional[float] = None
        self._pending: Optional[_Pending] = None

    def want(self, track: Optional[Track], now: float = 0.0):
        """Keep `track` ready from `now` on (None: nothing)."""
        if self.enabled:
            self.track, self.due = track, (now if track is not None else None)

    @property
    def ready(self) -> bool:
        return self._pending is not None and self._pending.stage == "ready"

    def take(self, track: Track, now: float):
        """(player, generation) of `track` if it is ready, else None; the next is due later."""
        pending = self._pending
        if pending is None or pending.stage != "ready" \
                or pending.track.path != track.path:  # the same file, whatever analysis added
            return None
        self._pending, self.due = None, now + PREROLL_AFTER_S
        return pending.player, pending.generation

    def tick(self, now: float, device_away: bool) -> Optional[float]:
        """Move a pre-roll on; returns when it wants the next tick."""
        pending = self._pending
        if pending is not None and (self.track is None
                                    or pending.track.path != self.track.path):
            self.drop()
            pending = None
        if pending is None:
            if self.due is None or device_away:
                return None
            if now < self.due:
                return self.due
            self.due = None
            self._start(now)
            return now + 0.01 if self._pending else None
        if pending.stage == "ready":
            return None
        if now - pending.since > PREROLL_TIMEOUT_S:
            log.warning("the welcome song could not be pre-rolled; it will start from a play()")
            self.drop()
            return None
        if pending.stage == "starting" and self.players.is_playing(pending.player):
            pending.player.set_pause(1)
            pending.stage = "pausing"
        elif pending.stage == "pausing" and self.players.is_paused(pending.player):
            pending.player.set_time(0)
            pending.stage = "ready"
            return None
        return now + 0.01

    def _start(self, now: float):
        player = self.players.fresh()
        generation = self.players.load(player, self.track.path)
        if not generation or player.play() != 0:
            self.players.retire(player)
            return
        self._pending = _Pending(self.track, player, generation, now)

    def drop(self, later: Optional[float] = None):
        """Let go of a pre-rolled player (the device went away, the room fell silent);
        `later`: try again then."""
        if self._pending is not None:
            self.players.retire(self._pending.player)
            self._pending = None
        self.due = later if self.track is not None else None
