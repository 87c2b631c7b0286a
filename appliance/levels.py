"""Loudness levels: the one place where a user's 0-100 becomes decibels and a libVLC volume.

A level is what a therapist sets (0-100). Equal steps must sound like equal steps, so a level
maps linearly to decibels: 100 is 0 dB (full scale), every step is 0.5 dB, level 1 is -49.5 dB
and 0 is silence. Fades are straight lines in decibels, which the ear hears as an even fade.

libVLC's volume (0-100 here; it allows up to 200, which we never send) is cubic: the amplitude
heard is (volume / 100) ** 3 on both the PulseAudio and the ALSA software-volume path.
"""
from __future__ import annotations

import math

DB_PER_STEP = 0.5
SILENCE_DB = -50.0  # level 0; a fade treats it as the floor, then mutes


def level_to_db(level: float) -> float:
    """0..100 -> dB; 0 is the silence floor."""
    level = min(max(level, 0.0), 100.0)
    if level <= 0:
        return SILENCE_DB
    return (level - 100.0) * DB_PER_STEP


def db_to_amplitude(db: float) -> float:
    if db <= SILENCE_DB:
        return 0.0
    return 10.0 ** (db / 20.0)


def vlc_volume_for(db: float, headroom_db: float = 0.0) -> int:
    """libVLC volume that makes the player sound at `db`.

    `headroom_db` is the fixed gain already applied below the player (the ALSA cap stage,
    negative or zero); the player then only supplies the difference. Never above 100.
    """
    if db <= SILENCE_DB:
        return 0
    relative = min(db - headroom_db, 0.0)
    volume = 100.0 * (10.0 ** (relative / 20.0)) ** (1.0 / 3.0)
    return max(0, min(100, round(volume)))


def heard_db(volume: int, headroom_db: float = 0.0) -> float:
    """Inverse of vlc_volume_for: what a libVLC volume is heard as."""
    if volume <= 0:
        return -math.inf
    return 60.0 * math.log10(volume / 100.0) + headroom_db
