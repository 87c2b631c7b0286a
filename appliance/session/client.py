"""A client's session: choosing a client makes the session follow their profile; clearing
the client, or the session's end (back to idle), gives the room its own settings again.

Pure, like core.py (it uses the handlers' shared builder.py). The daemon resolves the profile from the store
and hands in a `Client` with the values resolved (its receptive playlist already loaded);
here they are applied:

- the cap only lowers: min(profile cap, room cap), and the room's levels are clamped under
  it at once: what plays glides there (heard), nothing waits for the next track;
- volume, ambient level: the profile's (under that cap), else the room's, clamped;
- fade-in, quiet, reflection length: the profile's replace the room's settings;
- the welcome song: the profile's, else the booked session's, else the room's first;
  a `welcome TRACK` a person names still wins;
- the receptive playlist: the profile's tracks instead of the room's.

Choosing is possible before the welcome (idle, ambient: the phase table's `client` row),
so one session follows one profile from its welcome to its end. Refusals and notices never
carry the code (they reach the log); only the answer to the one who asked does.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ..levels import level_to_db
from . import commands as c
from .builder import VOLUME_CHANGE_S, Builder, Outcome, not_now, without_client
from .model import AMBIENT_CH, CHANNELS, Client, RoomOwn, State, find_track

_SETTINGS = ("fade_in_s", "quiet_s", "reflection_minutes")


def receptive_tracks(state: State) -> tuple:
    """What a listening block plays: the chosen client's playlist, else the room's."""
    client = state.client
    return client.receptive if client and client.receptive else state.library.receptive


def problem(state: State, client: Client) -> Optional[str]:
    """Why this profile cannot run in this room now (the one line names the field)."""
    if client.welcome is not None and find_track(state.library.welcome, client.welcome) is None:
        return (f"welcome: no track called {client.welcome!r} in the welcome playlist "
                "(change the profile: appliance client set)")
    if client.receptive is not None and not client.receptive:
        return "receptive-playlist: it has no track that can be played"
    return None


def take(b: Builder, client: Client):
    """Apply `client` to the state being built (a change of client starts from the room's
    own settings), and glide what plays to the new levels."""
    before = b.state
    room = without_client(before)
    s = room.settings
    cap = s.cap if client.cap is None else min(client.cap, s.cap)
    settings = replace(s, cap=cap, **{name: getattr(client, name) for name in _SETTINGS
                                      if getattr(client, name) is not None})
    volume = room.volume if client.volume is None else client.volume
    ambient = room.ambient_level if client.ambient_level is None else client.ambient_level
    b.set(settings=settings, volume=min(volume, cap), ambient_level=min(ambient, cap),
          session_welcome=client.welcome or room.session_welcome, client=client,
          room_own=RoomOwn(s, room.volume, room.ambient_level, room.session_welcome))
    _glide(b, before)


def _glide(b: Builder, before: State):
    """What plays moves to its channel's new level (a cap lowered is heard at once)."""
    for channel in CHANNELS:
        plan = b.state.plan(channel)
        level = b.state.ambient_level if channel == AMBIENT_CH else b.state.volume
        old = before.ambient_level if channel == AMBIENT_CH else before.volume
        if plan.play_id and not plan.fading_out and level != old:
            b.effects.append(c.Fade(channel, level_to_db(level), VOLUME_CHANGE_S))


def choose(state: State, cmd: c.ChooseClient, now: float) -> Outcome:
    refused = not_now(state, "client")
    if refused:
        return refused
    why = problem(state, cmd.client)
    if why:
        return Outcome(state, refusal=f"client use: {why}")
    b = Builder(state)
    take(b, cmd.client)
    return b.done(f"client {cmd.client.code}: the session follows their profile")


def clear(state: State, cmd: c.ClearClient, now: float) -> Outcome:
    refused = not_now(state, "client")
    if refused:
        return refused
    if state.client is None:
        return Outcome(state, message="no client was chosen: the room's own settings")
    b = Builder(state)
    b.state = without_client(state)
    _glide(b, state)
    return b.done("client cleared: the room's own settings")


def booked(b: Builder, cmd: c.Ambient):
    """A booked session's ambient: its client chosen first (so the bed comes in at their
    level), unless a person chose one already; a problem is a notice, never a refusal."""
    if cmd.client_problem:
        b.effects.append(c.Notice(cmd.client_problem))
    chosen = b.state.client
    if chosen is not None:  # by hand, before the ambient: it stays, over the booking's own
        b.set(session_welcome=chosen.welcome or cmd.welcome_track,
              room_own=replace(b.state.room_own, session_welcome=cmd.welcome_track))
        return
    b.set(session_welcome=cmd.welcome_track)
    if cmd.client is None:
        return
    why = problem(b.state, cmd.client)
    if why:
        b.effects.append(c.Notice(f"the booked client's profile was not used: {why}; the "
                                  "room runs on its own settings"))
    else:
        take(b, cmd.client)


HANDLERS = {c.ChooseClient: choose, c.ClearClient: clear}
