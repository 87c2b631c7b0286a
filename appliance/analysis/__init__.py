"""Track analysis: each file's length, tempo (tag or measured), loudness (EBU R128) and an
energy figure, cached per file in the state folder; the matched-loudness gain follows from the
loudness. `appliance analyse` shows it; the daemon fills the Library's tracks with it.

The figures and the choices behind them are in README.md, "Track analysis and matched
loudness".
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Optional

from ..session.model import Library, Track

REFERENCE_LUFS = -18.0   # the common loudness (ReplayGain 2.0's): see README
GAIN_LIMITS_DB = (-20.0, 10.0)  # no track is cut or raised further than this
# energy: tempo counts most (Bernardi 2006: tempo drives arousal), loudness as mastered next
ENERGY_BPM = (60.0, 140.0)      # 0 .. 1 over the range
ENERGY_LUFS = (-30.0, -8.0)     # a quiet classical recording .. a loud pop master
ENERGY_TEMPO_WEIGHT = 0.7
KINDS = ("ambient", "welcome", "receptive", "iso")


@dataclass(frozen=True)
class TrackAnalysis:
    seconds: Optional[float] = None
    bpm: Optional[float] = None
    bpm_source: Optional[str] = None  # "tag", "measured", or None: no steady beat
    lufs: Optional[float] = None      # None: silent (or not decoded: see error)
    notes: tuple = ()                 # tags ignored, no beat found...
    error: Optional[str] = None       # one line: the file could not be analysed

    # worked out from the measured figures when read: a cache made before a change of
    # reference or formula gives today's gain and energy
    @property
    def gain_db(self) -> float:
        return gain_for(self.lufs)

    @property
    def energy(self) -> float:
        return energy_of(self.bpm, self.lufs)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["notes"] = list(self.notes)
        out["gain_db"] = round(self.gain_db, 2)
        out["energy"] = self.energy
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TrackAnalysis":
        return cls(seconds=_num(data.get("seconds")), bpm=_num(data.get("bpm")),
                   bpm_source=data.get("bpm_source") if data.get("bpm_source") in
                   ("tag", "measured") else None,
                   lufs=_num(data.get("lufs")),
                   notes=tuple(str(n) for n in data.get("notes") or ()),
                   error=str(data["error"]) if data.get("error") else None)


def _num(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def gain_for(lufs: Optional[float]) -> float:
    """The gain that brings a track to REFERENCE_LUFS, within GAIN_LIMITS_DB (0: unknown)."""
    if lufs is None:
        return 0.0
    low, high = GAIN_LIMITS_DB
    return min(max(REFERENCE_LUFS - lufs, low), high)


def energy_of(bpm: Optional[float], lufs: Optional[float]) -> float:
    """0 (calm) - 1 (lively): tempo and loudness each on 0-1 over their range, weighted. No
    steady beat (a drone, a pad) counts as the slowest tempo; silence as the quietest."""
    def scaled(value, bounds):
        return 0.0 if value is None else min(max((value - bounds[0]) /
                                                 (bounds[1] - bounds[0]), 0.0), 1.0)
    tempo, loud = scaled(bpm, ENERGY_BPM), scaled(lufs, ENERGY_LUFS)
    return round(ENERGY_TEMPO_WEIGHT * tempo + (1 - ENERGY_TEMPO_WEIGHT) * loud, 3)


def annotated(track: Track, analysis: Optional[TrackAnalysis]) -> Track:
    if analysis is None or analysis.error:
        return track
    return replace(track, seconds=analysis.seconds, bpm=analysis.bpm, energy=analysis.energy,
                   gain_db=analysis.gain_db)


def annotate_library(library: Library, known) -> Library:
    """The library with what `known(path)` (a TrackAnalysis or None) says of each track."""
    return Library(**{kind: tuple(annotated(t, known(t.path)) for t in getattr(library, kind))
                      for kind in KINDS})


def library_paths(library: Library) -> list[str]:
    """Each file once, in playlist order (iso and receptive first: the iso programme plans
    with them)."""
    seen: dict[str, None] = {}
    for kind in ("iso", "receptive", "welcome", "ambient"):
        for track in getattr(library, kind):
            seen.setdefault(track.path)
    return list(seen)
