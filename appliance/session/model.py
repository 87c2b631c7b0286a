"""Plain values the session core works on: tracks, playlists, timing settings, room state."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..schema import key
from .phases import ACTIVE, AMBIENT, IDLE, PHASES, RECEPTIVE, REFLECTION, WELCOME, Phase

__all__ = ["ACTIVE", "AMBIENT", "IDLE", "PHASES", "RECEPTIVE", "REFLECTION", "WELCOME",
           "Phase", "AMBIENT_CH", "FOREGROUND_CH", "CHANNELS", "Track", "Library", "Settings",
           "ChannelPlan", "Client", "RoomOwn", "State", "find_track"]

AMBIENT_CH, FOREGROUND_CH = "ambient", "foreground"
CHANNELS = (AMBIENT_CH, FOREGROUND_CH)


@dataclass(frozen=True)
class Track:
    path: str
    title: str
    # what the track analysis knows (appliance analyse; None: not known yet). The core plans
    # with these, so they travel with the track instead of being looked up on the engine thread
    seconds: Optional[float] = None
    bpm: Optional[float] = None
    energy: Optional[float] = None  # 0 (calm) - 1 (lively), from tempo and loudness
    gain_db: float = 0.0  # matched loudness (audio.normalise): added to the level, capped


@dataclass(frozen=True)
class Library:
    """The three playlists a room needs, already loaded and checked."""
    ambient: tuple[Track, ...] = ()
    welcome: tuple[Track, ...] = ()
    receptive: tuple[Track, ...] = ()
    iso: tuple[Track, ...] = ()  # playlists.iso, if the config names one (else: receptive)


@dataclass(frozen=True)
class Settings:
    """The part of the config that shapes a session (levels are 0-100, times in seconds).

    Each field names its config key, default and limits once (appliance.schema.key); the
    config reads them from there, and the rules between them are in appliance.config.
    """
    cap: float = key(80, 1, 100, toml="audio.cap")
    volume: float = key(70, 0, 100, toml="audio.volume")
    ambient_level: float = key(40, 0, 100, toml="audio.ambient_level")
    quiet_s: float = key(3.0, 0.1, 60, toml="audio.quiet_s")
    crossfade_s: float = key(2.0, 0.1, 30, toml="audio.crossfade_s")
    fade_in_s: float = key(1.0, 0.05, 30, toml="audio.fade_in_s")
    ambient_fade_in_s: float = key(5.0, 0.05, 600, toml="audio.ambient_fade_in_s")
    # matched loudness: each track's gain_db (from `appliance analyse`) is applied, capped
    normalise: bool = key(True, toml="audio.normalise")
    receptive_order: str = key("order", choices=("order", "shuffle"), toml="receptive.order")
    receptive_fade_out_s: float = key(30.0, 0, 600, toml="receptive.fade_out_s")
    receptive_min_minutes: float = key(1, 0.01, 60, toml="receptive.min_minutes")
    receptive_max_minutes: float = key(180, 1, 24 * 60, toml="receptive.max_minutes")
    # the session button, the panel's and Home Assistant's default length
    receptive_default_minutes: float = key(20, 1, 24 * 60, toml="receptive.default_minutes")
    reflection_minutes: float = key(10, 0.05, 120, toml="reflection.minutes")
    # a discreet cue this long before a receptive block ends (MQTT event "time_cue"; 0: none)
    receptive_time_cue_s: float = key(120, 0, 3600, toml="receptive.time_cue_s")
    # the iso programme (session/iso.py; README "Receptive programmes and the iso principle")
    iso_piece_minutes: float = key(3.5, 0.05, 15, toml="iso.piece_minutes")
    iso_step_percent: float = key(12, 3, 20, toml="iso.step_percent")
    iso_max_step_percent: float = key(15, 3, 25, toml="iso.max_step_percent")
    iso_drop_percent: float = key(30, 10, 60, toml="iso.drop_percent")
    iso_crossfade_s: float = key(8.0, 0.5, 30, toml="iso.crossfade_s")
    iso_level_drop: float = key(10, 0, 40, toml="iso.level_drop")

    @property
    def receptive_shuffle(self) -> bool:
        return self.receptive_order == "shuffle"

    @property
    def reflection_s(self) -> float:
        return self.reflection_minutes * 60.0


def find_track(tracks, name: Optional[str]) -> Optional[Track]:
    """The first of `tracks` (the room's welcome song), or the one called `name` (its title
    or file name, any case).

    Only tracks already in the playlist can be named, so a name never reaches the filesystem.
    """
    if not tracks:
        return None
    if name is None:
        return tracks[0]
    wanted = name.strip().casefold()
    for track in tracks:
        stem = track.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if wanted in (track.title.casefold(), stem.casefold()):
            return track
    return None


@dataclass(frozen=True)
class Client:
    """A chosen client's profile as the session uses it (see session/client.py): resolved
    from the store by the daemon, its receptive playlist already loaded. None: as the room
    is set. The code is for the status and the record only: never in a log line or a notice."""
    code: str
    welcome: Optional[str] = None           # a title of the welcome playlist
    cap: Optional[float] = None             # only ever lowers the room's cap
    volume: Optional[float] = None
    ambient_level: Optional[float] = None
    fade_in_s: Optional[float] = None
    quiet_s: Optional[float] = None
    reflection_minutes: Optional[float] = None
    receptive: Optional[tuple[Track, ...]] = None


@dataclass(frozen=True)
class RoomOwn:
    """What the room had before a client was chosen: its own again when the client is
    cleared or the session ends."""
    settings: Settings
    volume: float
    ambient_level: float
    session_welcome: Optional[str]


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
    phase: Phase = IDLE
    volume: float = 70            # room level for the foreground, never above the cap
    ambient_level: float = 40     # level of the ambient bed, never above the cap
    deadline: Optional[float] = None      # when the timed phase ends (monotonic seconds)
    fade_at: Optional[float] = None       # when the closing fade of a receptive block starts
    started_at: Optional[float] = None    # when the current phase began
    channels: dict = field(default_factory=dict)  # channel -> ChannelPlan
    next_play_id: int = 1
    shuffle_seed: int = 0
    session_welcome: Optional[str] = None  # the booked session's welcome track, until idle
    client: Optional[Client] = None        # the chosen client, until idle (session/client.py)
    room_own: Optional[RoomOwn] = None     # the room's own settings while a client is chosen
    block: Optional[object] = None  # the receptive block under way (session.block.Block)

    def plan(self, channel: str) -> ChannelPlan:
        return self.channels.get(channel, ChannelPlan())
