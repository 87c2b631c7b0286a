"""A receptive block as it plays: plain (the playlist's order) or planned (the iso programme).

Pure, like the rest of the core. The block keeps what the plan is, which piece plays, since
when, and whether the therapist holds it; core.py asks it when the next piece is due, what
comes after a track that ended, and what the closing fade does.

A block ends on time: the closing fade takes the foreground's fader down over the block's
last `receptive.fade_out_s` and a track that ends inside it is followed by the next one,
under the same fade (before, the music stopped there: a 60 s block of 25 s tracks fell
silent at 50.8 s). No piece change is started inside the closing fade, and no level rises.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Optional

from ..levels import level_to_db
from . import commands as c
from . import iso
from .builder import Builder, Outcome, not_now, refuse
from .client import receptive_tracks
from .library import track_gain_db
from .model import AMBIENT_CH, FOREGROUND_CH, ChannelPlan, State

CARRY_MIN_S = 0.5  # a track that ends this close to the block's end is not followed


@dataclass(frozen=True)
class Block:
    kind: str                        # "receptive" (playlist order), "iso" or "u" (planned)
    started_at: float
    pieces: tuple = ()               # iso.Piece, planned; () for a plain block
    index: int = 0                   # the piece playing (planned blocks)
    piece_at: float = 0.0            # when it began
    held_left: Optional[float] = None  # held: the block's time left, frozen
    held_at: Optional[float] = None
    closing: bool = False            # the closing fade has begun
    played: tuple = ()               # (seconds into the block, bpm or None) of each piece begun
    notes: tuple = ()
    fade_s: float = 0.0              # the closing fade's length
    to_bpm: Optional[float] = None   # where a planned block leads
    cued: bool = False               # the time cue has been given (extend re-arms it)

    @property
    def planned(self) -> bool:
        return bool(self.pieces)

    @property
    def held(self) -> bool:
        return self.held_left is not None

    def current(self) -> Optional[iso.Piece]:
        return self.pieces[self.index] if self.planned else None


def block_of(state: State) -> Optional[Block]:
    return state.block if isinstance(state.block, Block) else None


def change_at(state: State) -> Optional[float]:
    """When the next planned piece starts to crossfade in (None: none is due)."""
    block = block_of(state)
    if block is None or not block.planned or block.held or block.closing:
        return None
    if block.index + 1 >= len(block.pieces):
        return None
    at = block.piece_at + block.pieces[block.index].seconds - state.settings.iso_crossfade_s
    if state.fade_at is not None and at >= state.fade_at:
        return None  # the piece plays on under the closing fade
    return at


def cue_at(state: State) -> Optional[float]:
    """When the discreet time cue before the block's end is due (None: not armed)."""
    block, before = block_of(state), state.settings.receptive_time_cue_s
    if block is None or block.cued or block.held or not before or state.deadline is None:
        return None
    at = state.deadline - before
    return at if at > block.started_at else None  # a block shorter than that: no cue


def closing_fade(state: State, now: float) -> float:
    """How long a fade to silence takes from the room's phase now: what is left of a
    closing fade under way, or a whole one; anything else crossfades."""
    s = state.settings
    block = block_of(state)
    if block is None:
        return s.crossfade_s
    if block.closing and state.deadline is not None:
        return max(0.0, min(s.receptive_fade_out_s, state.deadline - now))
    return s.receptive_fade_out_s


# --- starting a block -----------------------------------------------------------------------

def begin(b: Builder, now: float, minutes: float, tracks, block: Block, level: float,
          crossfade_s: float) -> None:
    s = b.state.settings
    length = minutes * 60.0
    fade = min(s.receptive_fade_out_s, length / 2)
    b.fade_out(AMBIENT_CH, s.crossfade_s)
    b.start(FOREGROUND_CH, tracks, level, s.fade_in_s, loop=True, crossfade_s=crossfade_s)
    b.move("receptive", now, deadline=now + length, fade_at=now + length - fade)
    first = block.pieces[0].bpm if block.planned else tracks[0].bpm
    b.set(block=replace(block, started_at=now, piece_at=now, played=((0.0, first),),
                        fade_s=fade), volume=level)


def length_problem(state: State, verb: str, minutes: float) -> Optional[str]:
    s = state.settings
    if not (s.receptive_min_minutes <= minutes <= s.receptive_max_minutes):
        return (f"{verb}: minutes must be between {s.receptive_min_minutes:g}"
                f" and {s.receptive_max_minutes:g}, not {minutes:g}")
    return None


def _refused(state: State, verb: str, minutes: float) -> Optional[Outcome]:
    """Why a block of `minutes` cannot start now (the phase, the configured lengths)."""
    refused = not_now(state, verb)
    problem = None if refused else length_problem(state, verb, minutes)
    return refused or (refuse(state, problem) if problem else None)


def receptive(state: State, cmd: c.Receptive, now: float) -> Outcome:
    refused = _refused(state, "receptive", cmd.minutes)
    if refused:
        return refused
    tracks = list(receptive_tracks(state))
    if not tracks:
        return refuse(state, "receptive: the receptive playlist is empty")
    if state.settings.receptive_shuffle:
        random.Random(state.shuffle_seed + state.next_play_id).shuffle(tracks)
    b = Builder(state)
    begin(b, now, cmd.minutes, tracks, Block("receptive", now), state.volume,
          state.settings.crossfade_s)
    return b.done(f"receptive: {cmd.minutes:g} min")


def iso_pool(state: State) -> tuple:
    """The chosen client's own receptive playlist (curated for them), else the room's iso
    playlist, else its receptive one."""
    client = state.client
    if client is not None and client.receptive:
        return client.receptive
    return state.library.iso or state.library.receptive


def start_iso(state: State, cmd: c.Iso, now: float) -> Outcome:
    refused = _refused(state, "iso", cmd.minutes)
    if refused:
        return refused
    try:
        made = iso.plan(iso_pool(state), cmd.minutes, iso.Shape.of(state.settings),
                        state.volume, cmd.from_bpm, cmd.energy, cmd.to_bpm, cmd.u)
    except iso.PlanRefused as why:
        return refuse(state, str(why))
    b = Builder(state)
    block = Block(made.shape, now, pieces=made.pieces, notes=made.notes, to_bpm=made.to_bpm)
    begin(b, now, cmd.minutes, [p.track for p in made.pieces], block, made.pieces[0].level,
          state.settings.crossfade_s)
    b.set_plan(FOREGROUND_CH, replace(b.state.plan(FOREGROUND_CH), loop=False))
    for note in made.notes:
        b.effects.append(c.Notice(f"iso: {note}"))
    first, last = made.pieces[0].bpm, min(p.bpm for p in made.pieces)
    return b.done(f"iso: {cmd.minutes:g} min, {len(made.pieces)} pieces, "
                  f"{first:g} -> {last:g} BPM")


# --- while it plays -------------------------------------------------------------------------

def play_piece(b: Builder, now: float, index: int, crossfade_s: float,
               join_fade: bool = False) -> None:
    """Start piece (or playlist track) `index` on the foreground, crossfaded from whatever
    plays; a planned piece brings its step down in level, which never rises."""
    state = b.state
    block = block_of(state)
    plan = state.plan(FOREGROUND_CH)
    level = state.volume
    bpm = plan.tracks[index].bpm
    if block.planned:
        level = min(state.volume, block.pieces[index].level)
        bpm = block.pieces[index].bpm
    play_id = state.next_play_id
    b.set(next_play_id=play_id + 1, volume=level)
    b.set_plan(FOREGROUND_CH, replace(plan, index=index, play_id=play_id))
    # the new piece is up within the first third of the crossfade while the old one goes
    # down over all of it: both move in straight lines in dB, and two equal ramps would
    # leave a hole of some 14 dB in the middle; this way the dip is about 6 dB and the sum
    # never rises above the old piece (no crescendo)
    fade_in = state.settings.fade_in_s if join_fade else max(state.settings.fade_in_s,
                                                              crossfade_s / 3)
    b.effects.append(c.Play(FOREGROUND_CH, plan.tracks[index], level_to_db(level), fade_in,
                            play_id, crossfade_s, join_fade=join_fade,
                            gain_db=track_gain_db(state, plan.tracks[index], level)))
    played = block.played + ((round(now - block.started_at, 1), bpm),)
    b.set(block=replace(block, index=index, piece_at=now, played=played))


def tick(b: Builder, now: float) -> None:
    """The block's own timers: the next planned piece, the time cue, the closing fade."""
    state = b.state
    cue = cue_at(state)
    if cue is not None and now >= cue:
        b.effects.append(c.TimeCue(round(max(0.0, state.deadline - now), 1)))
        b.set(block=replace(block_of(state), cued=True))
        state = b.state
    due = change_at(state)
    if due is not None and now >= due:
        play_piece(b, now, block_of(state).index + 1, state.settings.iso_crossfade_s)
    state = b.state
    if state.fade_at is not None and now >= state.fade_at:
        plan = state.plan(FOREGROUND_CH)
        if plan.play_id and not plan.fading_out:
            # the fader goes down across track changes: the plan is not marked fading out,
            # so a track that ends inside the fade is followed by the next (after_track)
            b.effects.append(c.Fade(FOREGROUND_CH, None,
                                    max(0.0, (state.deadline or now) - now)))
        block = block_of(state)
        if block is not None:
            b.set(block=replace(block, closing=True))
        b.set(fade_at=None)


def after_track(state: State, plan: ChannelPlan, now: float) -> Optional[int]:
    """Which track follows one that ended by itself on the foreground of a block (None: the
    music ends here)."""
    block = block_of(state)
    if block.closing and (state.deadline is None or state.deadline - now < CARRY_MIN_S):
        return None
    if block.held:
        return plan.index  # held: the piece begins again
    if block.planned:
        return min(plan.index + 1, len(plan.tracks) - 1)  # the last piece stays
    return (plan.index + 1) % len(plan.tracks)


def carry_on(b: Builder, now: float, index: int) -> Outcome:
    """Follow a track that ended with track `index`, keeping the fader where it is (under the
    closing fade it goes on down)."""
    play_piece(b, now, index, 0.0, join_fade=True)
    return b.done()
