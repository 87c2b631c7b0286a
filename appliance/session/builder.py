"""What every command handler of the session core shares: its Outcome, and a Builder that
collects the new state and the effects while one command is handled."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ..levels import level_to_db
from . import commands as c
from . import phases
from .library import track_gain_db
from .model import CHANNELS, IDLE, RECEPTIVE, REFLECTION, ChannelPlan, Phase, State

VOLUME_CHANGE_S = 0.3  # a level change glides instead of jumping


@dataclass(frozen=True)
class Outcome:
    state: State
    effects: tuple = ()
    refusal: Optional[str] = None  # why the command was not carried out
    message: str = ""              # what a person should be told when it was

    @property
    def accepted(self) -> bool:
        return self.refusal is None



class Builder:
    """Collects the new state and its effects while a command is handled."""

    def __init__(self, state: State):
        self.state = state
        self.effects: list = []

    def set(self, **changes):
        self.state = replace(self.state, **changes)

    def set_plan(self, channel: str, plan: ChannelPlan):
        channels = dict(self.state.channels)
        channels[channel] = plan
        self.set(channels=channels)

    def go(self, phase: Phase, now: float, deadline: Optional[float] = None,
           fade_at: Optional[float] = None):
        old = self.state.phase
        self.set(phase=phase, started_at=now, deadline=deadline, fade_at=fade_at)
        if phase == IDLE:  # the session is over: its client and its welcome go with it
            self.state = replace(without_client(self.state), session_welcome=None)
        if phase != RECEPTIVE:
            self.set(block=None)
        if old != phase:
            self.effects.append(c.PhaseChanged(old, phase))

    def start(self, channel: str, tracks, level: float, fade_in_s: float, loop: bool,
              crossfade_s: float):
        play_id = self.state.next_play_id
        self.set(next_play_id=play_id + 1)
        self.set_plan(channel, ChannelPlan(tracks=tuple(tracks), index=0, play_id=play_id,
                                           loop=loop))
        self.effects.append(c.Play(channel, tracks[0], level_to_db(level), fade_in_s, play_id,
                                   crossfade_s, gain_db=track_gain_db(self.state, tracks[0],
                                                                      level)))

    def fade_out(self, channel: str, seconds: float):
        plan = self.state.plan(channel)
        if plan.play_id and not plan.fading_out:
            self.set_plan(channel, replace(plan, fading_out=True))
            self.effects.append(c.Fade(channel, None, seconds))

    def move(self, verb: str, now: float, **timers):
        """Go where the phase table says `verb` leads; staying put keeps the phase's timers."""
        phase = phases.after(verb, self.state.phase)
        if phase != self.state.phase:
            if phase == REFLECTION:
                timers.setdefault("deadline", now + self.state.settings.reflection_s)
            self.go(phase, now, **timers)

    def fade_out_all(self, seconds: float):
        for channel in CHANNELS:
            self.fade_out(channel, seconds)

    def done(self, message: str = "") -> Outcome:
        return Outcome(self.state, tuple(self.effects), message=message)


def without_client(state: State) -> State:
    """The room's own settings and levels back, the client gone (no effects: what plays
    glides there by session/client.py's `glide`)."""
    own = state.room_own
    if own is None:
        return state
    return replace(state, settings=own.settings, volume=own.volume,
                   ambient_level=own.ambient_level, session_welcome=own.session_welcome,
                   client=None, room_own=None)


def refuse(state: State, reason: str) -> Outcome:
    return Outcome(state, refusal=reason)


def not_now(state: State, verb: str) -> Optional[Outcome]:
    """The phase table's refusal of `verb` in the room's phase, if any."""
    reason = phases.refusal(verb, state.phase)
    return None if reason is None else refuse(state, reason)
