"""Plain values the session core works on: tracks, playlists, timing settings, room state."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

IDLE, AMBIENT, WELCOME, ACTIVE, RECEPTIVE, REFLECTION = (
    "idle", "ambient", "welcome", "active", "receptive", "reflection")
PHASES = (IDLE, AMBIENT, WELCOME, ACTIVE, RECEPTIVE, REFLECTION)

AMBIENT_CH, FOREGROUND_CH = "ambient", "foreground"
CHANNELS = (AMBIENT_CH, FOREGROUND_CH)


@dataclass(frozen=True)
class Track:
    path: str
    title: str


@dataclass(frozen=True)
class Library:
    """The three playlists a room needs, already loaded and checked."""
    ambient: tuple[Track, ...] = ()
    welcome: tuple[Track, ...] = ()
    receptive: tuple[Track, ...] = ()


@dataclass(frozen=True)
class Settings:
    """The part of the config that shapes a session (levels are 0-100, times in seconds)."""
    cap: float = 80
    volume: float = 70
    ambient_level: float = 40
    quiet_s: float = 3.0
    crossfade_s: float = 2.0
    fade_in_s: float = 1.0
    ambient_fade_in_s: float = 5.0
    receptive_fade_out_s: float = 30.0
    receptive_shuffle: bool = False
    receptive_min_minutes: float = 1
    receptive_max_minutes: float = 180
    receptive_default_minutes: float = 20  # the session button and the panel's default
    reflection_s: float = 600.0


@dataclass(frozen=True)
class ChannelPlan:
    """What a channel is playing and what comes next."""
    tracks: tuple[Track, ...] = ()
    index: int = 0
    play_id: int = 0          # 0: nothing started
    loop: bool = False
    fading_out: bool = False  # a fade to silence is under way: start nothing new
    failures: int = 0         # tracks that failed in a row; a playlist of bad files stops

    @property
    def current(self) -> Optional[Track]:
        if self.play_id and not self.fading_out and self.index < len(self.tracks):
            return self.tracks[self.index]
        return None


@dataclass(frozen=True)
class State:
    settings: Settings
    library: Library
    phase: str = IDLE
    volume: float = 70            # room level for the foreground, never above the cap
    ambient_level: float = 40     # level of the ambient bed, never above the cap
    deadline: Optional[float] = None      # when the timed phase ends (monotonic seconds)
    fade_at: Optional[float] = None       # when the closing fade of a receptive block starts
    started_at: Optional[float] = None    # when the current phase began
    channels: dict = field(default_factory=dict)  # channel -> ChannelPlan
    next_play_id: int = 1
    shuffle_seed: int = 0
    session_welcome: Optional[str] = None  # the booked session's welcome track, until idle

    def plan(self, channel: str) -> ChannelPlan:
        return self.channels.get(channel, ChannelPlan())
