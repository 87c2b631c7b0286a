"""Live control of a receptive block (plain or iso): hold, extend, shorten, skip, step.

Therapists watch breathing, muscle tension and eye contact and change the music as they go.
Every control answers at once with the time left, and every one honours the closing fade:
once it has begun nothing changes the music any more (it only goes down to its end), and
`shorten` never leaves less than the closing fade.

- ``hold`` stays on the piece playing: no next piece, the piece begins again if it ends, and
  the block's time left is frozen (the block is extended by as long as it is held). Given
  again it releases: the countdown goes on from where it stood. `skip`, `step`, `extend`
  and `shorten` work while held and leave it held.
- ``skip`` crossfades into the next piece (the plan's next, or the playlist's).
- ``step down`` / ``step up`` crossfade into a piece one step (iso.step_percent) slower or
  faster than the one playing; a planned block is planned again from there for the time
  left. The level still never rises.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional

from . import commands as c
from . import iso
from .block import Block, block_of, iso_pool, play_piece
from .builder import Builder, Outcome, not_now, refuse
from .model import FOREGROUND_CH, State


def _ready(state: State, verb: str) -> tuple[Optional[Outcome], Optional[Block]]:
    """The refusal of a live control now (not in a block, or in its closing fade)."""
    refused = not_now(state, verb)
    if refused:
        return refused, None
    block = block_of(state)
    if block is None or not state.plan(FOREGROUND_CH).play_id:
        return refuse(state, f"{verb}: no receptive block is playing"), None
    if block.closing:
        return refuse(state, f"{verb}: the closing fade has begun; the block ends with it"), None
    return None, block


def time_left(state: State, now: float) -> float:
    block = block_of(state)
    if block is not None and block.held:
        return block.held_left
    return max(0.0, (state.deadline or now) - now)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _set_left(b: Builder, now: float, left: float) -> None:
    """The block ends `left` seconds from now (or, held, has that much left when released)."""
    block = block_of(b.state)
    if left > b.state.settings.receptive_time_cue_s:
        block = replace(block, cued=False)  # longer again: the cue comes again before the end
        b.set(block=block)
    if block.held:
        b.set(block=replace(block, held_left=left))
    else:
        b.set(deadline=now + left, fade_at=now + left - block.fade_s)


def _hold(state: State, cmd: c.Hold, now: float) -> Outcome:
    refused, block = _ready(state, "hold")
    if refused:
        return refused
    b = Builder(state)
    if block.held:
        b.set(block=replace(block, held_left=None, held_at=None,
                            piece_at=block.piece_at + (now - block.held_at)))
        _set_left(b, now, block.held_left)
        return b.done(f"released: {_clock(block.held_left)} left")
    left = time_left(state, now)
    b.set(block=replace(block, held_left=left, held_at=now), deadline=None, fade_at=None)
    return b.done(f"held on this piece, {_clock(left)} left when released (hold again)")


def _extend(state: State, cmd: c.Extend, now: float) -> Outcome:
    refused, block = _ready(state, "extend")
    if refused:
        return refused
    left = time_left(state, now) + cmd.minutes * 60.0
    most = state.settings.receptive_max_minutes
    if left > most * 60.0:
        return refuse(state, f"extend: the block would last {left / 60:.0f} more minutes, "
                             f"over receptive.max_minutes ({most:g})")
    b = Builder(state)
    _set_left(b, now, left)
    return b.done(f"extended: {_clock(left)} left")


def _shorten(state: State, cmd: c.Shorten, now: float) -> Outcome:
    refused, block = _ready(state, "shorten")
    if refused:
        return refused
    wanted = time_left(state, now) - cmd.minutes * 60.0
    left = max(wanted, block.fade_s)  # never less than the closing fade: it is never cut
    b = Builder(state)
    _set_left(b, now, left)
    note = f" (the closing fade takes {_clock(block.fade_s)})" if wanted < left else ""
    return b.done(f"shortened: {_clock(left)} left{note}")


def _crossfade(state: State, block: Block) -> float:
    s = state.settings
    return s.iso_crossfade_s if block.planned else s.crossfade_s


def _skip(state: State, cmd: c.Skip, now: float) -> Outcome:
    refused, block = _ready(state, "skip")
    if refused:
        return refused
    plan = state.plan(FOREGROUND_CH)
    if block.planned and plan.index + 1 >= len(plan.tracks):
        return refuse(state, "skip: this is the plan's last piece; it plays to the end")
    index = (plan.index + 1) % len(plan.tracks)
    b = Builder(state)
    play_piece(b, now, index, _crossfade(state, block))
    return b.done(f"skip: {plan.tracks[index].title}")


def _step(state: State, cmd: c.Step, now: float) -> Outcome:
    verb = "step_down" if cmd.direction < 0 else "step_up"
    refused, block = _ready(state, verb)
    if refused:
        return refused
    plan = state.plan(FOREGROUND_CH)
    playing = plan.tracks[plan.index]
    bpm = block.current().bpm if block.planned else playing.bpm
    if not bpm:
        return refuse(state, f"{verb}: no tempo known for {playing.title!r}: "
                             "run appliance analyse")
    s = state.settings
    target = bpm * (1.0 + cmd.direction * s.iso_step_percent / 100.0)
    word = "slower" if cmd.direction < 0 else "faster"
    b = Builder(state)
    if block.planned:
        pieces = _replanned(state, block, target, cmd.direction, now)
        if pieces is None or (pieces[0].bpm - bpm) * cmd.direction <= 0:
            return refuse(state, f"{verb}: no {word} track than {playing.title!r} to plan with")
        done = block.pieces[:block.index + 1]
        b.set(block=replace(block, pieces=done + pieces))
        b.set_plan(FOREGROUND_CH, replace(plan, tracks=tuple(p.track for p in done + pieces)))
        index = block.index + 1
    else:
        fits = [i for i, t in enumerate(plan.tracks)
                if t.bpm and (t.bpm - bpm) * cmd.direction > 0]
        if not fits:
            return refuse(state, f"{verb}: no {word} track than {playing.title!r} with a "
                                 "known tempo in the playlist")
        index = min(fits, key=lambda i: abs(math.log(plan.tracks[i].bpm / target)))
    play_piece(b, now, index, _crossfade(state, block))
    track = b.state.plan(FOREGROUND_CH).tracks[index]
    return b.done(f"{verb.replace('_', ' ')}: {track.title} ({track.bpm:g} BPM)")


def _replanned(state: State, block: Block, start: float, direction: int, now: float):
    """The plan for the rest of the block from tempo `start` (None: no plan can be made)."""
    shape = iso.Shape.of(state.settings)
    to = block.to_bpm or start * (1 - shape.drop)
    if to >= start:
        to = start * (1 - shape.step)
    playing = block.current().track
    pool = [t for t in iso_pool(state) if t != playing]
    try:
        made = iso.plan(pool, max(time_left(state, now), 1.0) / 60.0, shape,
                        state.volume, from_bpm=start, to_bpm=to, u=block.kind == "u")
    except iso.PlanRefused:
        return None
    if direction < 0 and made.pieces[0].bpm >= block.current().bpm:
        return None
    return tuple(made.pieces)


HANDLERS = {c.Hold: _hold, c.Extend: _extend, c.Shorten: _shorten, c.Skip: _skip,
            c.Step: _step}
