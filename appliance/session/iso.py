"""The iso programme, planned: meet the client at a tempo, then lead them down step by step.

Pure: tracks with their analysed tempo (Track.bpm) and length (Track.seconds) in, a plan out.
No clock, no audio; the session core plays the plan (session/block.py).

The shape, from the figures the README's section "Receptive programmes and the iso principle"
stands on: start near the client's tempo (`--from`, or `--energy`), step down by about
`iso.step_percent` per piece (never more than `iso.max_step_percent`) until `--to` (default
`iso.drop_percent` below the start: only -30 % and -45 % lowered heart rate, Van Dyck 2017),
then stay there. The room level comes down by `iso.level_drop` levels over the pieces and
never rises (Bernardi 2006/2009: crescendos raise blood pressure). The "U" (MUSIC CARE) goes
down, rests, and comes gently back up in half steps before reflection; its level still
never rises.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .model import Track

ENERGIES = ("high", "medium", "low")
#: where in the playlist's range of tempo (or energy) each --energy starts
ENERGY_QUANTILE = {"high": 0.85, "medium": 0.5, "low": 0.2}
BPM_LOW, BPM_HIGH = 30.0, 220.0   # a tempo outside this is a mistake (the verb table's limits)
NEAR = 0.08                       # a piece within 8 % of its target tempo counts as a fit


class PlanRefused(ValueError):
    """No plan can be made: one line saying why."""


@dataclass(frozen=True)
class Piece:
    track: Track
    bpm: float
    target_bpm: float   # the tempo the shape asked for at this step
    level: float        # the room level (0-100) it is planned at
    seconds: float      # how long it plays, the crossfade into the next included


@dataclass(frozen=True)
class Plan:
    pieces: tuple[Piece, ...]
    start_bpm: float
    to_bpm: float
    shape: str                    # "iso" (down, then stay) or "u" (down, rest, back up)
    notes: tuple[str, ...] = ()   # what is missing or does not fit, one line each

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.pieces)


@dataclass(frozen=True)
class Shape:
    """The part of the settings a plan is made with (session.model.Settings iso_*)."""
    piece_s: float = 210.0
    step: float = 0.12
    max_step: float = 0.15
    drop: float = 0.30
    crossfade_s: float = 8.0
    level_drop: float = 10.0

    @classmethod
    def of(cls, settings) -> "Shape":
        return cls(settings.iso_piece_minutes * 60.0, settings.iso_step_percent / 100.0,
                   settings.iso_max_step_percent / 100.0, settings.iso_drop_percent / 100.0,
                   settings.iso_crossfade_s, settings.iso_level_drop)


def usable(tracks) -> tuple[list[Track], int]:
    """The tracks a plan can use (tempo and length known), and how many lack them."""
    known = [t for t in tracks if t.bpm and t.seconds and t.seconds > 0]
    return known, len(tracks) - len(known)


def start_tempo(tracks, energy: str) -> float:
    """The tempo `--energy` starts at: a quantile of the playlist's energies (or tempos)."""
    if all(t.energy is not None for t in tracks):
        ranked = sorted(tracks, key=lambda t: (t.energy, t.bpm))
    else:
        ranked = sorted(tracks, key=lambda t: t.bpm)
    q = ENERGY_QUANTILE[energy]
    return ranked[min(len(ranked) - 1, int(round(q * (len(ranked) - 1))))].bpm


def targets(start: float, to: float, count: int, shape: Shape, u: bool) -> list[float]:
    """The tempo asked of each piece: down in steps, then stay (or, for a U, back up)."""
    if count <= 0:
        return []
    down = count
    if u:
        down = max(2, math.ceil(count * 0.6))
    needed = 1.0 - (to / start) ** (1.0 / max(1, down - 1)) if down > 1 else 0.0
    step = min(shape.max_step, max(shape.step, needed))
    out = [max(to, start * (1.0 - step) ** i) for i in range(min(down, count))]
    if u and count > down:
        rest = max(1, (count - down) // 2)
        bottom = out[-1]
        out += [bottom] * min(rest, count - len(out))
        ceiling = start * (1.0 - shape.drop / 2)  # the way back up stops well below the start
        k = 1
        while len(out) < count:
            out.append(min(ceiling, bottom * (1.0 + step / 2) ** k))
            k += 1
    return out


def plan(tracks, minutes: float, shape: Shape, volume: float, from_bpm: Optional[float] = None,
         energy: Optional[str] = None, to_bpm: Optional[float] = None,
         u: bool = False) -> Plan:
    """A plan for `minutes` from `tracks`; PlanRefused (one line, naming the field) when none
    can be made. Too few tracks is not a refusal: the plan plays what fits and says what is
    missing in its notes."""
    if minutes <= 0:
        raise PlanRefused(f"iso: minutes must be more than 0, not {minutes:g}")
    known, unknown = usable(tracks)
    if not known:
        raise PlanRefused(f"iso: no tempo known for {unknown} tracks: run appliance analyse"
                          if unknown else "iso: the playlist is empty")
    start = from_bpm if from_bpm is not None else start_tempo(known, energy or "medium")
    to = to_bpm if to_bpm is not None else start * (1.0 - shape.drop)
    if to >= start:
        raise PlanRefused(f"iso: to ({to:g} BPM) must be below the starting tempo "
                          f"({start:g} BPM)")
    block_s = minutes * 60.0
    notes = [f"no tempo known for {unknown} tracks: run appliance analyse"] if unknown else []
    typical = min(shape.piece_s, _median([t.seconds for t in known]))
    count = max(1, math.ceil(block_s / max(1.0, typical - shape.crossfade_s)))
    wanted = targets(start, to, count, shape, u)
    chosen = _choose(known, wanted, u, notes)
    pieces, total, i = [], 0.0, 0
    drop_per_piece = shape.level_drop / max(1, len(chosen) - 1)
    # fill the block: if the chosen pieces are shorter than planned, the last one repeats
    while total < block_s:
        track, target = chosen[min(i, len(chosen) - 1)]
        seconds = min(track.seconds, shape.piece_s)
        level = max(0.0, volume - drop_per_piece * min(i, len(chosen) - 1))
        pieces.append(Piece(track, track.bpm, target, round(level, 1), seconds))
        total += seconds - shape.crossfade_s
        i += 1
    reached = min(p.bpm for p in pieces)
    if reached > to * (1 + NEAR) and not u:
        notes.append(f"reaches {reached:g} BPM, not {to:g}: no slower track, or the block "
                     "is too short for the steps")
    # each note once: a short playlist repeats its last track many times, one notice says it
    return Plan(tuple(pieces), start, to, "u" if u else "iso", tuple(dict.fromkeys(notes)))


def _choose(tracks, wanted, u: bool, notes: list) -> list[tuple[Track, float]]:
    """For each target tempo the nearest unused track; going down it is never faster than
    the piece before. A target nothing fits repeats the piece before (and a note says so)."""
    left = list(tracks)
    chosen: list[tuple[Track, float]] = []
    going_up = False
    for i, target in enumerate(wanted):
        previous = chosen[-1][0] if chosen else None
        going_up = u and i > 0 and target > wanted[i - 1] + 1e-9 or (going_up and u)
        fits = [t for t in left if previous is None or going_up or t.bpm <= previous.bpm]
        if going_up and previous is not None:
            fits = [t for t in fits if t.bpm >= previous.bpm]
        if not fits:
            if previous is None:
                break
            notes.append(f"no track left near {target:.0f} BPM: "
                         f"{previous.title!r} plays on")
            chosen.append((previous, target))
            continue
        best = min(fits, key=lambda t: abs(math.log(t.bpm / target)))
        if abs(best.bpm / target - 1) > NEAR:
            notes.append(f"no track near {target:.0f} BPM (nearest: {best.bpm:g})")
        left.remove(best)
        chosen.append((best, target))
    return chosen


def _median(values) -> float:
    values = sorted(values)
    return values[len(values) // 2]
