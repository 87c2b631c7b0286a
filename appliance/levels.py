"""Loudness levels: the one place where a user's 0-100 becomes decibels and a libVLC volume.

A level is what a therapist sets (0-100). Equal steps must sound like equal steps, so a level
maps linearly to decibels: 100 is 0 dB (full scale), every step is 0.5 dB, level 1 is -49.5 dB
and 0 is silence. Fades are straight lines in decibels, which the ear hears as an even fade.

A track at level 100 is heard 6 dB below full scale (TRACK_HEADROOM_DB): two tracks at the
same level, crossfading in phase, together reach full scale and no more. The cap is a ceiling
in full-scale terms, so the stage under each player on the ALSA path (audio/alsa.py) can sit
at the cap minus that headroom: any two players, whatever libVLC does, stay under the cap.

libVLC's volume (0-100 here; above 100 it clips before any later stage can scale it down, so
we never send that) is cubic: the amplitude heard is (volume / 100) ** 3 on both the
PulseAudio and the ALSA software-volume path.
"""
from __future__ import annotations

import math

DB_PER_STEP = 0.5
SILENCE_DB = -50.0  # level 0; a fade treats it as the floor, then mutes
TRACK_HEADROOM_DB = 20 * math.log10(2)  # 6.02 dB: room for a second track at the same level


def level_to_db(level: float) -> float:
    """0..100 -> dB; 0 is the silence floor."""
    level = min(max(level, 0.0), 100.0)
    if level <= 0:
        return SILENCE_DB
    return (level - 100.0) * DB_PER_STEP


def db_to_level(db: float) -> float:
    if db <= SILENCE_DB:
        return 0.0
    return min(100.0, 100.0 + db / DB_PER_STEP)


def db_to_amplitude(db: float) -> float:
    if db <= SILENCE_DB:
        return 0.0
    return 10.0 ** (db / 20.0)


def vlc_volume_for(db: float, stage_db: float = 0.0) -> int:
    """libVLC volume that makes a player sound at `db` (a level's dB, see level_to_db).

    The track is heard TRACK_HEADROOM_DB lower at the device; `stage_db` is the fixed gain
    already applied below the player (the ALSA cap stage; 0 through PulseAudio), which the
    player's own volume then only tops up. Never above 100.
    """
    if db <= SILENCE_DB:
        return 0
    relative = min(db - TRACK_HEADROOM_DB - stage_db, 0.0)
    volume = 100.0 * (10.0 ** (relative / 20.0)) ** (1.0 / 3.0)
    return max(0, min(100, round(volume)))


def heard_db(volume: int, stage_db: float = 0.0) -> float:
    """Inverse of vlc_volume_for: the level's dB that a libVLC volume is heard as."""
    if volume <= 0:
        return -math.inf
    return 60.0 * math.log10(volume / 100.0) + stage_db + TRACK_HEADROOM_DB
