"""What the track analysis brings to the session: an annotated library swapped in, and each
track's matched-loudness gain as it is played.

The gain (Track.gain_db, from `appliance analyse`: the reference loudness minus the track's
own) is added to the level a track plays at, but never past the cap: a quiet track is raised
only as far as the cap allows, so matched loudness can never make the room louder than the
therapist's ceiling. The mixer caps every deck again (audio/mixer.py), whatever the core says.
"""
from __future__ import annotations

from dataclasses import replace

from ..levels import level_to_db
from .model import Library, State, Track

_KINDS = ("ambient", "welcome", "receptive", "iso")


def track_gain_db(state: State, track: Track, level: float) -> float:
    """The gain to play `track` with at `level` (0-100): 0 without audio.normalise."""
    if not state.settings.normalise or not track.gain_db:
        return 0.0
    headroom = level_to_db(state.settings.cap) - level_to_db(level)
    return min(track.gain_db, max(headroom, 0.0))


def swap_library(state: State, library: Library) -> State:
    """The new library from now on; what is already planned on a channel (the tracks after
    the one playing) takes the new figures too, matched by file, keeping its own titles."""
    known = {t.path: t for kind in _KINDS for t in getattr(library, kind)}

    def annotated(track: Track) -> Track:
        new = known.get(track.path)
        if new is None:
            return track
        return replace(track, seconds=new.seconds, bpm=new.bpm, energy=new.energy,
                       gain_db=new.gain_db)

    channels = {name: replace(plan, tracks=tuple(map(annotated, plan.tracks)))
                for name, plan in state.channels.items()}
    client = state.client  # a chosen client's own receptive playlist takes them too
    if client is not None and client.receptive:
        client = replace(client, receptive=tuple(map(annotated, client.receptive)))
    return replace(state, library=library, channels=channels, client=client)
