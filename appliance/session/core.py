"""The session core: step(state, command, now) -> Outcome(state, effects, refusal).

Pure: no threads, no clocks (``now`` is monotonic seconds handed in), no audio, no I/O.

Phases and the commands that move between them::

                 ambient             welcome [TRACK]         song ends / active
      +------+ ----------> +---------+ ----------> +---------+ -----------------> +--------+
      | idle |             | ambient |             | welcome |                    | active |
      +------+ <---------- +---------+             +---------+ ----+              +--------+
        ^  ^   end / quiet       |  receptive N / active           | reflection /     |   |
        |  |                     +--------------------------+      | end / quiet      |   |
        |  |                                                v      v                  |   |
        |  |   timer / end    +------------+  timer, end,  +-----------+  receptive N |   |
        |  +----------------- | reflection | <------------ | receptive | <------------+   |
        |                     +------------+  reflection,  +-----------+                  |
        |                           ^         quiet                                       |
        |                           +----------------------- reflection / end ------------+
        +-- (welcome, active and receptive may also start from idle; ambient only from idle)

Which command is accepted in which phase, and where it leads, is the table in phases.py;
the refusals below are derived from it.

- ``quiet`` is never refused: every channel fades to silence within ``quiet_s``; the phase
  moves on only where staying would be wrong (ambient -> idle, welcome -> active,
  receptive -> reflection: reflection is never skipped by the appliance).
- ``end`` finishes what is going on: a session (welcome, active, receptive) always goes to
  reflection; reflection and ambient go to idle.
- ``next`` (the session button) moves on: idle -> ambient -> welcome -> active ->
  receptive (default length) -> reflection -> idle.
- A receptive block fades out over its last ``receptive_fade_out_s`` and ends on time; a
  track ending inside that fade is followed by the next under it (block.py). ``iso`` plans
  a block by tempo (iso.py); hold, extend, shorten, skip and step change it as it plays
  (live.py).
- ``volume`` sets the level of what the room hears now (the ambient bed during ambient, the
  foreground otherwise), clamped to the cap.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from ..levels import level_to_db
from . import block, live
from . import client as _client
from . import commands as c
from . import phases
from .builder import VOLUME_CHANGE_S, Builder, Outcome, not_now, refuse
from .library import swap_library, track_gain_db
from .model import (AMBIENT, AMBIENT_CH, CHANNELS, FOREGROUND_CH, IDLE, RECEPTIVE, REFLECTION,
                    ChannelPlan, Phase, State, Track, find_track)


def new_state(settings, library, seed: int = 0) -> State:
    return State(settings=settings, library=library, volume=min(settings.volume, settings.cap),
                 ambient_level=min(settings.ambient_level, settings.cap), shuffle_seed=seed)


def next_wakeup(state: State) -> Optional[float]:
    """The monotonic time at which the core wants a Tick, if any."""
    times = [t for t in (state.fade_at, state.deadline, block.change_at(state),
                         block.cue_at(state)) if t is not None]
    return min(times) if times else None


def remaining_s(state: State, now: float) -> Optional[float]:
    return None if state.deadline is None else max(0.0, state.deadline - now)


def next_welcome(state: State) -> Optional[Track]:
    """The song `welcome` without a track name would play now: the chosen client's, the
    booked session's, else the room's first."""
    return find_track(state.library.welcome, state.session_welcome)


def now_playing(state: State) -> Optional[Track]:
    for channel in (FOREGROUND_CH, AMBIENT_CH):
        track = state.plan(channel).current
        if track is not None:
            return track
    return None


def step(state: State, command, now: float) -> Outcome:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        return Outcome(state, refusal=f"unknown command {type(command).__name__}")
    return handler(state, command, now)




# --- commands -------------------------------------------------------------------------------

def _ambient(state: State, cmd: c.Ambient, now: float) -> Outcome:
    refused = not_now(state, "ambient")
    if refused:
        return refused
    tracks = cmd.tracks or state.library.ambient
    if not tracks:
        return refuse(state, "ambient: the ambient playlist is empty")
    b = Builder(state)
    _client.booked(b, cmd)  # first: the bed comes in at the booked client's level
    s = b.state.settings
    fade_in = s.ambient_fade_in_s if cmd.fade_in_s is None else cmd.fade_in_s
    b.start(AMBIENT_CH, tracks, b.state.ambient_level, fade_in, loop=True,
            crossfade_s=s.crossfade_s)
    b.move("ambient", now)
    return b.done()



def _welcome(state: State, cmd: c.Welcome, now: float) -> Outcome:
    refused = not_now(state, "welcome")
    if refused:
        return refused
    if not state.library.welcome:
        return refuse(state, "welcome: the welcome playlist is empty")
    name = cmd.track if cmd.track is not None else state.session_welcome
    track = find_track(state.library.welcome, name)
    if track is None:
        return refuse(state, f"welcome: no track called {name!r} in the welcome playlist")
    s = state.settings
    b = Builder(state)
    b.fade_out(AMBIENT_CH, s.crossfade_s)
    b.start(FOREGROUND_CH, (track,), state.volume, s.fade_in_s, loop=False,
            crossfade_s=s.crossfade_s)
    b.move("welcome", now)
    return b.done(f"welcome: {track.title}")


def _active(state: State, cmd: c.Active, now: float) -> Outcome:
    refused = not_now(state, "active")
    if refused:
        return refused
    b = Builder(state)
    b.fade_out_all(block.closing_fade(state, now))
    b.move("active", now)
    return b.done()


def _reflection(state: State, cmd: c.Reflection, now: float) -> Outcome:
    refused = not_now(state, "reflection")
    if refused:
        return refused
    b = Builder(state)
    b.fade_out_all(block.closing_fade(state, now))
    b.move("reflection", now)
    return b.done()


def _quiet(state: State, cmd: c.Quiet, now: float) -> Outcome:
    b = Builder(state)
    b.fade_out_all(state.settings.quiet_s)
    b.move("quiet", now)
    return b.done()


def _end(state: State, cmd: c.End, now: float) -> Outcome:
    if cmd.only_from is not None and state.phase != cmd.only_from:
        return refuse(state, f"end: the room is no longer in {cmd.only_from}")
    refused = not_now(state, "end")
    if refused:
        return refused
    b = Builder(state)
    to_idle = phases.after("end", state.phase) == IDLE
    # the schedule ends a no-show slowly; a session ends with its closing fade
    b.fade_out_all(cmd.fade_s if to_idle and cmd.fade_s is not None else block.closing_fade(state, now))
    b.move("end", now)
    return b.done()


def _next(state: State, cmd: c.Next, now: float) -> Outcome:
    """The session button gives the command phases.NEXT_VERB names for this phase."""
    verb = phases.NEXT_VERB[state.phase]
    command = (c.Receptive(state.settings.receptive_default_minutes) if verb == "receptive"
               else c.VERBS[verb]())
    return step(state, command, now)




def _volume(state: State, cmd: c.Volume, now: float) -> Outcome:
    level = cmd.level
    if not (0 <= level <= 100):
        return refuse(state, f"volume: level must be between 0 and 100, not {level:g}")
    cap = state.settings.cap
    message = f"volume capped at {cap:g}" if level > cap else ""
    level = min(level, cap)
    b = Builder(state)
    channel = AMBIENT_CH if state.phase == AMBIENT else FOREGROUND_CH
    if channel == AMBIENT_CH:
        b.set(ambient_level=level)
    else:
        b.set(volume=level)
    plan = state.plan(channel)
    closing = channel == FOREGROUND_CH and getattr(state.block, "closing", False)
    if closing:
        message = "the closing fade is under way: the level is for what comes next"
    elif plan.play_id and not plan.fading_out:
        b.effects.append(c.Fade(channel, level_to_db(level), VOLUME_CHANGE_S))
    return b.done(message)


def _volume_step(state: State, cmd: c.VolumeStep, now: float) -> Outcome:
    current = state.ambient_level if state.phase == AMBIENT else state.volume
    return _volume(state, c.Volume(min(100.0, max(0.0, current + cmd.steps))), now)


# --- events ---------------------------------------------------------------------------------

def _tick(state: State, cmd: c.Tick, now: float) -> Outcome:
    b = Builder(state)
    block.tick(b, now)  # the next planned piece, the closing fade
    if state.deadline is not None and now >= state.deadline:
        if state.phase in phases.TIMER:
            b.fade_out_all(state.settings.crossfade_s)  # only if the closing fade was missed
            after = phases.TIMER[state.phase]
            b.go(after, now, deadline=now + state.settings.reflection_s
                 if after == REFLECTION else None)
        else:
            b.set(deadline=None)
    return b.done()


def _track_over(state: State, channel: str, play_id: int, now: float,
                failure: Optional[str]) -> Outcome:
    plan = state.plan(channel)
    if play_id != plan.play_id:
        return Outcome(state)  # a late report about a track we already left
    b = Builder(state)
    if failure:
        title = plan.tracks[plan.index].title if plan.index < len(plan.tracks) else "?"
        b.effects.append(c.Notice(f"{channel}: skipped {title!r}: {failure}"))
        b.effects.append(c.Stop(channel))
    if plan.fading_out:
        b.set_plan(channel, ChannelPlan())
        return b.done()
    if channel == FOREGROUND_CH and state.phase in phases.SONG_ENDS:
        b.set_plan(channel, ChannelPlan())
        b.go(phases.SONG_ENDS[state.phase], now)  # the therapist takes over
        return b.done()
    failures = plan.failures + 1 if failure else 0
    if channel == FOREGROUND_CH and block.block_of(state) is not None:
        index = block.after_track(state, plan, now)
        if index is None:
            b.set_plan(channel, ChannelPlan())
            return b.done()
        if failures < len(plan.tracks):
            b.set_plan(channel, replace(plan, failures=failures))
            return block.carry_on(b, now, index)
    index = plan.index + 1
    if index >= len(plan.tracks):
        if not plan.loop:
            b.set_plan(channel, ChannelPlan())
            return b.done()
        index = 0
    if failures >= len(plan.tracks):
        b.effects.append(c.Notice(f"{channel}: no playable track left, channel stopped"))
        b.set_plan(channel, ChannelPlan())
        return b.done()
    level = state.ambient_level if channel == AMBIENT_CH else state.volume
    play_id = state.next_play_id
    b.set(next_play_id=play_id + 1)
    b.set_plan(channel, replace(plan, index=index, play_id=play_id, failures=failures))
    b.effects.append(c.Play(channel, plan.tracks[index], level_to_db(level),
                            state.settings.fade_in_s, play_id, join_fade=True,
                            gain_db=track_gain_db(state, plan.tracks[index], level)))
    return b.done()


def _track_ended(state: State, cmd: c.TrackEnded, now: float) -> Outcome:
    return _track_over(state, cmd.channel, cmd.play_id, now, None)


def _track_failed(state: State, cmd: c.TrackFailed, now: float) -> Outcome:
    return _track_over(state, cmd.channel, cmd.play_id, now, cmd.reason)


_HANDLERS = {
    **_client.HANDLERS,
    c.Ambient: _ambient, c.Welcome: _welcome, c.Active: _active, c.Receptive: block.receptive,
    c.Iso: block.start_iso, **live.HANDLERS,
    c.Reflection: _reflection, c.Quiet: _quiet, c.End: _end, c.Next: _next,
    c.Volume: _volume, c.VolumeStep: _volume_step,
    c.Tick: _tick, c.TrackEnded: _track_ended, c.TrackFailed: _track_failed,
    c.LibraryAnalysed: lambda state, cmd, now: Outcome(swap_library(state, cmd.library)),
}
