"""What can be asked of a room (commands) and what the room then does (effects).

Commands come from people (CLI, buttons, panel, MQTT, schedule) or from the machinery
(timers, libVLC reporting a track ended). All are plain frozen dataclasses: the session core
is a pure function over them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .model import Client, Library, Track

# --- commands a person (or the schedule) gives -----------------------------------------


@dataclass(frozen=True)
class Ambient:
    """Start the pre-session atmosphere on the ambient bed."""
    fade_in_s: Optional[float] = None  # the schedule asks for a slow fade-in
    # a booked session may bring its own ambient tracks (from config, never from a request)
    # and its own welcome song, used by the next `welcome` without a track name
    tracks: Optional[tuple] = None
    welcome_track: Optional[str] = None
    # a booked session's client, chosen as its ambient starts (unless one was chosen by
    # hand), or why it could not be: a notice that never names the code
    client: Optional[Client] = None
    client_problem: Optional[str] = None


@dataclass(frozen=True)
class Welcome:
    track: Optional[str] = None  # a track name from the welcome playlist; None = the room's song


@dataclass(frozen=True)
class Active:
    pass


@dataclass(frozen=True)
class Receptive:
    minutes: float


@dataclass(frozen=True)
class Iso:
    """A receptive block planned by tempo (session/iso.py): from a tempo (or an energy) down."""
    minutes: float
    from_bpm: Optional[float] = None
    energy: Optional[str] = None      # high | medium | low
    to_bpm: Optional[float] = None
    u: bool = False                   # down, rest, gently back up before reflection


# --- live control of a receptive block (session/live.py) -----------------------------------

@dataclass(frozen=True)
class Hold:
    """Stay on the piece playing, the block's time left frozen; given again: release."""


@dataclass(frozen=True)
class Extend:
    minutes: float


@dataclass(frozen=True)
class Shorten:
    minutes: float


@dataclass(frozen=True)
class Skip:
    """The next piece now, crossfaded."""


@dataclass(frozen=True)
class Step:
    """A piece one step slower (-1) or faster (+1) than the one playing, crossfaded."""
    direction: int


@dataclass(frozen=True)
class Reflection:
    pass


@dataclass(frozen=True)
class Quiet:
    pass


@dataclass(frozen=True)
class End:
    fade_s: Optional[float] = None  # the schedule ends a no-show slowly
    # only if the room is still in this phase: a no-show end must not land on a welcome
    # pressed in the same instant
    only_from: Optional[str] = None


@dataclass(frozen=True)
class Next:
    """The session button: move the room on to the next part of the session."""


@dataclass(frozen=True)
class Volume:
    level: float


@dataclass(frozen=True)
class VolumeStep:
    """Louder or softer by `steps` levels (buttons): still never above the cap."""
    steps: float


@dataclass(frozen=True)
class ChooseClient:
    """Choose (or change) the client before the welcome: the session follows their profile,
    resolved by the daemon from the store (appliance/profiles/desk.py)."""
    client: Client


@dataclass(frozen=True)
class ClearClient:
    """Back to the room's own settings before the welcome (the session's end does it too)."""


# --- events from the machinery -----------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    """A timer the core asked for (see next_wakeup) is due."""


@dataclass(frozen=True)
class TrackEnded:
    channel: str
    play_id: int


@dataclass(frozen=True)
class TrackFailed:
    channel: str
    play_id: int
    reason: str


@dataclass(frozen=True)
class LibraryAnalysed:
    """The background analysis has annotated the playlists (tempo, loudness, gain): the
    room plays these from now on (see session/library.py)."""
    library: Library


Command = Union[Ambient, Welcome, Active, Receptive, Iso, Hold, Extend, Shorten, Skip, Step,
                Reflection, Quiet, End, Next, Volume, VolumeStep, ChooseClient, ClearClient,
                Tick, TrackEnded, TrackFailed, LibraryAnalysed]

#: the verbs people use, by name (CLI, panel, MQTT) -> command class
VERBS = {
    "ambient": Ambient, "welcome": Welcome, "active": Active, "receptive": Receptive,
    "reflection": Reflection, "quiet": Quiet, "end": End, "next": Next, "volume": Volume,
    "volume_up": VolumeStep, "volume_down": VolumeStep, "iso": Iso, "hold": Hold,
    "extend": Extend, "shorten": Shorten, "skip": Skip, "step_down": Step, "step_up": Step,
    "client use": ChooseClient, "client clear": ClearClient,
}
VOLUME_STEP = 5  # levels per volume_up / volume_down (2.5 dB)

# --- effects the engine carries out ------------------------------------------------------


@dataclass(frozen=True)
class Play:
    """Start `track` on `channel` from silence and ramp to `level_db` over `fade_in_s`."""
    channel: str
    track: Track
    level_db: float
    fade_in_s: float
    play_id: int
    crossfade_s: float = 0.0  # whatever this channel still plays fades out over this time
    join_fade: bool = False   # the next track of a playlist: keep the channel's fader as it is
    gain_db: float = 0.0      # this track's matched-loudness gain, on top of the fader


@dataclass(frozen=True)
class Fade:
    """Ramp `channel` from wherever it is now to `level_db` (None: silence, then stop)."""
    channel: str
    level_db: Optional[float]
    seconds: float


@dataclass(frozen=True)
class Stop:
    """Stop a channel that is already silent or never became audible (a failed track)."""
    channel: str


@dataclass(frozen=True)
class PhaseChanged:
    old: str
    new: str


@dataclass(frozen=True)
class Notice:
    """Something a person should read in the log and the status (a skipped track...)."""
    message: str


@dataclass(frozen=True)
class TimeCue:
    """The receptive block ends in `remaining_s` (receptive.time_cue_s): a discreet cue for
    the therapist (MQTT event), never anything about the client."""
    remaining_s: float


Effect = Union[Play, Fade, Stop, PhaseChanged, Notice, TimeCue]
