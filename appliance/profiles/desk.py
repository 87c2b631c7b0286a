"""The profiles as the rest of the appliance uses them: changed (the CLI and the panel, one
function), and resolved for a session (the daemon's `client use`, a booked session).

Every check is profiles.rules' (the one place); the store is profiles.store's. A problem is
a ProfileError (a field: exit 2, HTTP 400) or a ClientRefused (an unknown or taken code, a
disk that says no: exit 1, HTTP 409); nothing stored changes then. Resolving loads the
profile's receptive playlist through appliance/playlist.py and checks the whole profile
against the room as it is now ("checked when set, and at start").
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from .rules import FIELD, OPTION, Profile, ProfileError, Room, check, check_code, clean, updated
from .store import ProfileStore

log = logging.getLogger(__name__)


class ClientRefused(LookupError):
    """The one line: an unknown code, a code already taken, a disk that refuses."""

    def __str__(self):
        return self.args[0]


def unknown(code: str) -> ClientRefused:
    return ClientRefused(f"no profile with the code {code!r} (see appliance client list)")


def change(store: ProfileStore, room: Room, code, given: dict, unset=(), adding=False,
           report=log.error) -> Profile:
    """Add (`adding`) or change a profile from `given` (field or CLI spelling -> value) and
    the fields in `unset`; the stored profile. `report(line)`: a corrupt file's one line."""
    code = check_code(code)
    for option in unset:
        if not isinstance(option, str) or FIELD.get(option, option) not in OPTION:
            raise ProfileError(str(option)[:40], "not a field of a client profile")
        if option in given:
            raise ProfileError(option, "given and unset at once")
    fields = clean(given, room)
    try:
        with store.locked():
            profiles = load(store, report)
            old = profiles.get(code)
            if adding and old is not None:
                raise ClientRefused(f"{code!r} already has a profile (change it with "
                                    f"appliance client set {code})")
            if not adding and old is None:
                raise unknown(code)
            profile = updated(old or Profile(code), fields, unset)
            check(profile, room)
            store.save({**profiles, code: profile})
    except OSError as exc:
        raise ClientRefused(f"cannot write {store.dir}: {exc.strerror or exc}; nothing "
                            "changed") from None
    return profile


def remove(store: ProfileStore, code, report=log.error):
    code = check_code(code)
    try:
        with store.locked():
            profiles = load(store, report)
            if code not in profiles:
                raise unknown(code)
            store.save({c: p for c, p in profiles.items() if c != code})
    except OSError as exc:
        raise ClientRefused(f"cannot write {store.dir}: {exc.strerror or exc}; nothing "
                            "changed") from None


def load(store: ProfileStore, report=log.error) -> dict:
    """code -> Profile; a corrupt file is moved aside and its one line (no code) reported."""
    try:
        profiles, problem = store.load()
    except OSError as exc:
        raise ClientRefused(f"cannot read {store.path} ({exc.strerror or exc})") from None
    if problem:
        report(f"client: {problem}")
    return profiles


class ClientDesk:
    """What the running daemon keeps: its store and the room a profile is checked against."""

    def __init__(self, state_dir: Path, room: Room, annotate=tuple):
        self.store = ProfileStore(state_dir)
        self.room = room
        self.annotate = annotate  # tracks -> tracks with what the track analysis knows

    @classmethod
    def of(cls, cfg, annotate=tuple) -> "ClientDesk":
        return cls(cfg.state_dir, Room.of(cfg, media=True), annotate)

    def profiles(self) -> dict:
        try:
            with self.store.locked():
                return load(self.store)
        except OSError as exc:  # the state dir itself refuses (its lock file)
            raise ClientRefused(f"cannot read {self.store.path} ({exc.strerror or exc})") \
                from None

    def change(self, code, given: dict, unset=(), adding=False) -> Profile:
        return change(self.store, self.room, code, given, unset, adding)

    def remove(self, code):
        remove(self.store, code)

    def resolve(self, code: str):
        """The session's Client for `code` (ProfileError: the field that no longer fits the
        room; ClientRefused: no such profile)."""
        from ..errors import PlaylistError
        from ..playlist import load_playlist
        from ..session.model import Client
        profile: Optional[Profile] = self.profiles().get(check_code(code))
        if profile is None:
            raise unknown(code)
        check(profile, self.room)
        receptive = None
        if profile.receptive_playlist is not None:
            try:
                receptive = self.annotate(
                    load_playlist(self.room.folder / profile.receptive_playlist).tracks)
            except PlaylistError as exc:
                raise ProfileError("receptive-playlist", str(exc)) from None
        return Client(code=profile.code, welcome=profile.welcome, cap=profile.cap,
                      volume=profile.volume, ambient_level=profile.ambient_level,
                      fade_in_s=profile.fade_in_s, quiet_s=profile.quiet_s,
                      reflection_minutes=profile.reflection_minutes, receptive=receptive)

    def commands(self) -> dict:
        """The verbs the daemon offers (appliance.verbs.Registry.offer_commands): their
        session command, with the profile resolved here, off the engine thread."""
        from ..errors import Refused
        from ..session import commands as c

        def use(args: dict):
            try:
                return c.ChooseClient(self.resolve(args["code"]))
            except (ProfileError, ClientRefused) as exc:
                raise Refused(f"client use: {exc}") from None
        return {"client use": use, "client clear": lambda args: c.ClearClient()}
