"""The room's mix, without libVLC: what level each deck should sound at, right now.

Each channel (ambient bed, foreground) has a fader; each deck (one media player) on it has its
own gain relative to that fader. A track fades in and crosses out with its deck gain; `quiet`,
`volume` and the closing fade of a receptive block move the channel fader, so a closing fade
goes on smoothly across a track change. The fader and the gains are straight lines in dB.

Two budgets keep the room safe: no deck is ever above the cap, and when several decks sound at
once (a crossfade) their amplitudes together stay under the cap too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import math

from ..levels import SILENCE_DB, db_to_amplitude
from .ramp import Ramp, ramp_from


@dataclass
class DeckMix:
    gain: Ramp = field(default_factory=lambda: Ramp(SILENCE_DB, SILENCE_DB, 0.0, 0.0))
    sounding: bool = False  # playing (confirmed by libVLC), so its level matters
    trim_db: float = 0.0    # the track's matched-loudness gain (session/library.py)

    def gain_db(self, now: float) -> float:
        return self.gain.level_at(now)


@dataclass
class ChannelMix:
    fader: Ramp = field(default_factory=lambda: Ramp(SILENCE_DB, SILENCE_DB, 0.0, 0.0))

    def fader_db(self, now: float) -> float:
        return self.fader.level_at(now)

    def fading_to_silence(self) -> bool:
        return self.fader.stop_at_end


def deck_db(channel: ChannelMix, deck: DeckMix, now: float) -> float:
    """The level a deck should sound at: fader plus gain plus trim, silence below the floor."""
    if not deck.sounding:
        return SILENCE_DB
    db = channel.fader_db(now) + deck.gain_db(now) + deck.trim_db
    return db if db > SILENCE_DB else SILENCE_DB


def within_cap(levels_db: list[float], cap_db: float, fixed=frozenset()) -> list[float]:
    """Levels scaled down together so their amplitudes add up to at most the cap.

    Levels whose index is in `fixed` cannot change (libVLC no longer takes their volume):
    the others make room for them.
    """
    levels = [db if i in fixed else min(db, cap_db) for i, db in enumerate(levels_db)]
    free = [i for i in range(len(levels)) if i not in fixed]
    room = db_to_amplitude(cap_db) - sum(db_to_amplitude(levels[i]) for i in fixed)
    total = sum(db_to_amplitude(levels[i]) for i in free)
    if total <= room or total == 0:
        return levels
    if room <= db_to_amplitude(SILENCE_DB + 1):
        return [SILENCE_DB if i in free else db for i, db in enumerate(levels)]
    cut = 20 * math.log10(room / total)
    return [db + cut if i in free and db > SILENCE_DB else db for i, db in enumerate(levels)]


def set_fader(channel: ChannelMix, target_db: Optional[float], seconds: float, now: float):
    """Move the fader from where it is; None fades to silence and then stops the channel."""
    channel.fader = ramp_from(channel.fader_db(now), target_db, seconds, now)


def hold_heard_level(old: DeckMix, fader_before: float, fader_after: float, now: float):
    """Keep a deck sounding where it is while the fader jumps under it (a new track's level)."""
    shift = fader_before - fader_after
    g = old.gain
    old.gain = Ramp(g.level_at(now) + shift, g.end_db + shift, now,
                    max(0.0, g.t0 + g.seconds - now), g.stop_at_end)
