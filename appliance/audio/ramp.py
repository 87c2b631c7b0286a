"""Fades as straight lines in decibels (what the ear hears as even), sampled by the engine.

A ramp is interrupted by a newer one starting from wherever the old one is at that instant:
the latest command wins and the level never jumps or wobbles.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..levels import SILENCE_DB

STEP_S = 0.04  # 25 volume updates a second while a fade runs (the issue asks for >= 20)


@dataclass(frozen=True)
class Ramp:
    start_db: float
    end_db: float
    t0: float
    seconds: float
    stop_at_end: bool = False  # a fade to silence stops the player when it arrives

    def level_at(self, now: float) -> float:
        if self.seconds <= 0 or now >= self.t0 + self.seconds:
            return self.end_db
        if now <= self.t0:
            return self.start_db
        frac = (now - self.t0) / self.seconds
        return self.start_db + (self.end_db - self.start_db) * frac

    def done(self, now: float) -> bool:
        return now >= self.t0 + self.seconds


def ramp_from(current_db: float, target_db, seconds: float, now: float) -> Ramp:
    """A ramp from the level heard now to `target_db` (None: to silence, then stop)."""
    start = max(current_db, SILENCE_DB)
    if target_db is None:
        return Ramp(start, SILENCE_DB, now, seconds, stop_at_end=True)
    return Ramp(start, max(target_db, SILENCE_DB), now, seconds)
