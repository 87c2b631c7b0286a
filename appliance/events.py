"""The events the engine tells its event subscribers (Engine.subscribe_events), all in one
place: each is a plain dict with a "type", described by a TypedDict below.

They come on the engine thread, in the order things happened within one step: the command
a person gave, then the tracks the step stopped, then the phase change, then the tracks it
started. So a track that fades out at the end of a session ends before the room is idle,
and one that a session starts with starts after the phase has left idle. Subscribers only
enqueue (MQTT, the schedule, the session record).
"""
from __future__ import annotations

from typing import Literal, NotRequired, Optional, TypedDict

from .session import commands as c
from .session.model import AMBIENT, CHANNELS


class PhaseEvent(TypedDict):
    type: Literal["phase"]
    old: str
    new: str


class CommandEvent(TypedDict):
    """A command a person (or the schedule) gave, accepted or not."""
    type: Literal["command"]
    verb: str          # as verbs.TABLE names it: "volume_up", "end", ...
    source: str        # "cli", "panel", "mqtt", "schedule", "button:<name>"
    accepted: bool
    reason: Optional[str]  # why it was refused (None: accepted)
    level: NotRequired[float]  # volume verbs: the level the room is at afterwards (0-100)


class TrackStarted(TypedDict):
    type: Literal["track_started"]
    channel: str       # "ambient" | "foreground"
    title: str


class TrackEnded(TypedDict):
    """The room stopped playing a track: it played out, failed, was replaced, or began its
    fade to silence (`fading_s`: how long it is still heard as it fades)."""
    type: Literal["track_ended"]
    channel: str
    title: str
    failed: bool
    fading_s: float


class TimeCue(TypedDict):
    """The receptive block ends in `remaining_s` (receptive.time_cue_s before its end): MQTT
    sends a discreet cue."""
    type: Literal["time_cue"]
    remaining_s: float


Event = PhaseEvent | CommandEvent | TrackStarted | TrackEnded | TimeCue

VOLUME_VERBS = ("volume", "volume_up", "volume_down")
_VERB_OF = {cls: name for name, cls in c.VERBS.items()}


def verb_name(command) -> str:
    if isinstance(command, c.VolumeStep):
        return "volume_up" if command.steps > 0 else "volume_down"
    if isinstance(command, c.Step):
        return "step_up" if command.direction > 0 else "step_down"
    return _VERB_OF.get(type(command), type(command).__name__.lower())


def command_event(command, source: str, outcome) -> CommandEvent:
    event: CommandEvent = {"type": "command", "verb": verb_name(command), "source": source,
                           "accepted": outcome.refusal is None, "reason": outcome.refusal}
    if event["verb"] in VOLUME_VERBS and outcome.refusal is None:
        state = outcome.state
        event["level"] = state.ambient_level if state.phase == AMBIENT else state.volume
    return event


def phase_event(old: str, new: str) -> PhaseEvent:
    return {"type": "phase", "old": str(old), "new": str(new)}


def time_cue_event(remaining_s: float) -> TimeCue:
    return {"type": "time_cue", "remaining_s": remaining_s}


def track_changes(old, new, effects) -> tuple[list, list]:
    """(ended, started): the tracks a step from state `old` to `new` stopped and started,
    judged by each channel's current track (ChannelPlan.current) and its play id."""
    ended: list[TrackEnded] = []
    started: list[TrackStarted] = []
    stopped = {e.channel for e in effects if isinstance(e, c.Stop)}  # only a failed track
    fades = {e.channel: e.seconds for e in effects
             if isinstance(e, c.Fade) and e.level_db is None}
    fades.update({e.channel: e.crossfade_s for e in effects
                  if isinstance(e, c.Play) and not e.join_fade})
    for channel in CHANNELS:
        before, after = old.plan(channel), new.plan(channel)
        was, now = before.current, after.current
        same = before.play_id == after.play_id
        if was is not None and (now is None or not same):
            failed = channel in stopped
            ended.append({"type": "track_ended", "channel": channel, "title": was.title,
                          "failed": failed,
                          "fading_s": 0.0 if failed else float(fades.get(channel, 0.0))})
        if now is not None and (was is None or not same):
            started.append({"type": "track_started", "channel": channel, "title": now.title})
    return ended, started
