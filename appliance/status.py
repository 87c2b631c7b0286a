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

    def __post_init__(self):
        object.__setattr__(self, "channels", _frozen(self.channels))
        object.__setattr__(self, "faults", _frozen(self.faults))
        object.__setattr__(self, "notices", tuple(self.notices))
        object.__setattr__(self, "possible", tuple(self.possible))

    def remaining_s(self, now: float) -> Optional[float]:
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
        }

    @property
    def healthy(self) -> bool:
        return not self.fault and not self.faults


#: the fields of Status.as_dict, in order: README, openapi.json and the CLI are checked
#: against this (tests/test_contracts.py)
FIELDS = tuple(Status(phase="idle").as_dict(0.0))
