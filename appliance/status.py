"""The room's status: one immutable snapshot, built on the engine thread after every change.

Readers on other threads (control socket, panel, live page, MQTT, lights, schedule) get this
object or its JSON and never touch engine-owned state or libVLC. Times are absolute
(`deadline` on the engine's monotonic clock), so each reader counts down from its own `now`
instead of rebuilding a deadline from a rounded number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Optional


@dataclass(frozen=True)
class ChannelStatus:
    """One audio channel (the ambient bed, the foreground) as the engine last saw it."""
    state: str                      # idle | starting | playing | fading | waiting (no card)
    track: Optional[str] = None     # the title
    level_db: Optional[float] = None

    def as_dict(self) -> dict:
        return {"state": self.state, "track": self.track, "level_db": self.level_db}


@dataclass(frozen=True)
class PlanPiece:
    """One piece of a planned receptive block (the iso programme)."""
    title: str
    bpm: Optional[float]
    starts_s: float      # seconds into the block (planned; past pieces as planned at start)
    seconds: float
    level: float

    def as_dict(self) -> dict:
        return {"title": self.title, "bpm": self.bpm, "starts_s": round(self.starts_s, 1),
                "seconds": round(self.seconds, 1), "level": self.level}


@dataclass(frozen=True)
class BlockStatus:
    """The receptive block under way: its plan, where the room is in it, what was heard."""
    kind: str                          # receptive | iso | u
    started_at: float                  # engine clock
    held: bool = False
    piece: Optional[int] = None        # index into plan of the piece playing
    plan: tuple[PlanPiece, ...] = ()   # empty for a plain block (the playlist's order)
    played: tuple = ()                 # (seconds into the block, bpm or None) per piece begun
    to_bpm: Optional[float] = None

    def as_dict(self, now: float) -> dict:
        return {"kind": self.kind, "held": self.held, "piece": self.piece,
                "elapsed_s": round(max(0.0, now - self.started_at), 1),
                "to_bpm": self.to_bpm, "plan": [p.as_dict() for p in self.plan],
                "played": [[t, bpm] for t, bpm in self.played]}


def block_status(block, crossfade_s: float) -> Optional[BlockStatus]:
    """The status of a session.block.Block (None: no block)."""
    if block is None:
        return None
    plan, at = [], 0.0
    for i, piece in enumerate(block.pieces):
        if i == block.index:
            at = block.piece_at - block.started_at
        plan.append(PlanPiece(piece.track.title, piece.bpm, at, piece.seconds, piece.level))
        at += piece.seconds - crossfade_s
    return BlockStatus(block.kind, block.started_at, block.held,
                       block.index if block.pieces else None, tuple(plan), tuple(block.played),
                       block.to_bpm)


def _frozen(mapping: Optional[Mapping] = None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Status:
    phase: str
    room: Optional[str] = None
    room_name: Optional[str] = None
    deadline: Optional[float] = None   # when the timed phase ends (engine's monotonic clock)
    volume: float = 0                  # what the room hears now: the bed in ambient
    room_volume: float = 0             # the foreground's level
    ambient_level: float = 0
    cap: float = 0
    room_spl: Optional[float] = None   # about how loud the room is now, dB SPL (calibrated)
    now_playing: Optional[str] = None
    client: Optional[str] = None       # the chosen client's code: on the box only, never MQTT
    channels: Mapping[str, ChannelStatus] = field(default_factory=_frozen)
    notices: tuple[str, ...] = ()
    fault: Optional[str] = None        # the engine's own: it has failed or is stuck
    faults: Mapping[str, str] = field(default_factory=_frozen)  # adapter -> what is wrong
    possible: tuple[str, ...] = ()     # the verbs the room accepts now (phases.TRANSITIONS)
    built_at: float = 0.0              # engine clock: when this snapshot was made
    block: Optional[BlockStatus] = None  # the receptive block under way
    held_left_s: Optional[float] = None  # a held block's time left, frozen while held

    def __post_init__(self):
        object.__setattr__(self, "channels", _frozen(self.channels))
        object.__setattr__(self, "faults", _frozen(self.faults))
        object.__setattr__(self, "notices", tuple(self.notices))
        object.__setattr__(self, "possible", tuple(self.possible))

    def remaining_s(self, now: float) -> Optional[float]:
        if self.held_left_s is not None:
            return self.held_left_s
        return None if self.deadline is None else max(0.0, self.deadline - now)

    def as_dict(self, now: float) -> dict:
        """The JSON of `appliance status --json`, `GET /api/status` and the live page."""
        remaining = self.remaining_s(now)
        return {
            "room": self.room,
            "room_name": self.room_name,
            "phase": str(self.phase),
            "remaining_s": None if remaining is None else round(remaining, 1),
            "volume": self.volume,
            "room_volume": self.room_volume,
            "ambient_level": self.ambient_level,
            "cap": self.cap,
            "room_spl": self.room_spl,
            "now_playing": self.now_playing,
            "client": self.client,
            "channels": {name: ch.as_dict() for name, ch in self.channels.items()},
            "notices": list(self.notices),
            "fault": self.fault,
            "faults": dict(self.faults),
            "possible": list(self.possible),
            "block": None if self.block is None else self.block.as_dict(now),
        }

    @property
    def healthy(self) -> bool:
        return not self.fault and not self.faults


#: the fields of Status.as_dict, in order: README, openapi.json and the CLI are checked
#: against this (tests/test_contracts.py)
FIELDS = tuple(Status(phase="idle").as_dict(0.0))
