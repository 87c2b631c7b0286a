"""A channel's decks (libVLC media players) as the room's audio keeps them, and the file-tail
rule that judges a deck near its end (audio/vlc_output.py drives them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..levels import heard_db
from ..session.model import Track
from .mixer import ChannelMix, DeckMix
from .readback import SentVolumes

# Through PulseAudio the last ~0.3 s of a file take no volume at all, yet audio_get_volume()
# reports the new one (measured: OGG frozen when sent 0.35 s before the end, FLAC 0.3 s; the
# ALSA path took every change down to 0.25 s). Within this much of its end a deck counts, for
# the cap, at the loudest volume it may still be playing, and it is left to end by itself.
TAIL_S = 0.5


@dataclass
class Deck:
    player: object
    name: str
    mix: DeckMix = field(default_factory=DeckMix)
    play_id: int = 0
    track: Optional[Track] = None
    status: str = "idle"            # idle | starting | playing | waiting (for the device)
    fade_in_s: float = 0.0
    volumes: SentVolumes = field(default_factory=SentVolumes)
    started_at: float = 0.0
    audio_seen: bool = False
    generation: int = 0             # the player's current load (players.Players.load)
    resume_s: float = 0.0           # where a waiting track starts again
    length_s: Optional[float] = None  # the file's length, once libVLC knows it
    tail_volume: Optional[int] = None  # in its tail: the loudest volume it may still play at
    # the deck this one crossfades from, and over how long: its fade is re-timed to begin
    # when this one is heard (a fresh player takes 80 ms and more on ALSA before it sounds)
    crossfade_from: Optional[tuple] = None

    def remaining_s(self, now: float) -> float:
        """How much of the deck's file is still to be heard (it plays from started_at)."""
        if self.length_s is None:
            return float("inf")
        return self.length_s - self.resume_s - (now - self.started_at)

    def watch_tail(self, now: float):
        if self.length_s is None:
            ms = self.player.get_length()
            self.length_s = ms / 1000.0 if ms > 0 else None
        if self.tail_volume is None and self.remaining_s(now) < TAIL_S:
            # any volume of the last read-back window may be the one it keeps
            self.tail_volume = max(self.volumes.plausible(now))

    def loudest_possible(self, frozen_at: Optional[int], stage_db: float) -> float:
        """dB the deck may be heard at, for the cap: a frozen or tail volume counts."""
        volumes = [v for v in (frozen_at, self.tail_volume) if v is not None]
        return heard_db(max(volumes), stage_db)


class Channel:
    def __init__(self, name: str, decks):
        self.name = name
        self.decks = decks
        self.mix = ChannelMix()
        self.front = 0  # index of the deck that plays what the session asked for

    @property
    def current(self) -> Deck:
        return self.decks[self.front]
