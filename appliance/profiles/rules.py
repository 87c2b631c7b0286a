"""What a client profile holds, and the one place that checks it against the room.

Every input (the CLI now, the panel later) passes the fields it was given, as text or
numbers, to `clean()`, and the profile they make to `check()`; the stored file is read back
through `from_json()`, which uses the same per-field rules. A problem is a ProfileError whose
text is one line naming the field as the CLI spells it: `cap: 90 is above the room's cap (80)`.

Limits are the room's own, written once: a level, fade or reflection length has the limits
of its config key (session.model.Settings); a profile's cap may only lower `audio.cap`, and
its levels never exceed the cap that applies. A welcome title is matched only among the
welcome playlist's tracks (so it never reaches the filesystem), and a receptive playlist only
inside the config's folder.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

from ..schema import declared
from ..session.model import Settings
from ..verbs import Arg, check_label, number_problem

MAX_TEXT = 200
PLAYLIST_SUFFIXES = (".m3u", ".m3u8")
COURSE_LIMIT = 52  # a year of weekly sessions
DEFAULT_REVIEW_EVERY = 4


class ProfileError(ValueError):
    """One field of a profile is wrong: `field` (the CLI's spelling) and the one line."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Profile:
    """A client's own settings; None everywhere means "as the room is set"."""
    code: str
    welcome: Optional[str] = None             # a title of the welcome playlist
    cap: Optional[float] = None               # never above the room's audio.cap
    volume: Optional[float] = None            # never above the cap that applies
    ambient_level: Optional[float] = None     # never above the cap that applies
    fade_in_s: Optional[float] = None
    quiet_s: Optional[float] = None
    receptive_playlist: Optional[str] = None  # relative to the config's folder
    reflection_minutes: Optional[float] = None
    course: Optional[int] = None              # sessions in the course (e.g. 8)
    review_every: Optional[int] = None        # goal review due every this many sessions

    def given(self) -> dict:
        """field -> value for what the profile sets (the code aside)."""
        return {k: v for k, v in asdict(self).items() if k != "code" and v is not None}


@dataclass(frozen=True)
class Room:
    """What a profile is checked against."""
    cap: float
    folder: Path                           # the config's folder
    welcome: Optional[tuple] = None        # the welcome playlist's tracks; None: not loaded

    @classmethod
    def of(cls, cfg, media: bool) -> "Room":
        return cls(cap=cfg.settings.cap, folder=cfg.path.resolve().parent,
                   welcome=cfg.library.welcome if media else None)


#: field -> how the CLI (and every message) spells it
OPTION = {"welcome": "welcome", "cap": "cap", "volume": "volume",
          "ambient_level": "ambient-level", "fade_in_s": "fade-in", "quiet_s": "quiet",
          "receptive_playlist": "receptive-playlist",
          "reflection_minutes": "reflection-minutes", "course": "course",
          "review_every": "review-every"}
FIELD = {option: field for field, option in OPTION.items()}

_ROOM_KEYS = {name: k for name, _, k, _ in declared(Settings)}
#: numeric fields -> (kind, limits): the config key's own where the room has one
LIMITS = {name: Arg(OPTION[name], "number", low=_ROOM_KEYS[name].low,
                    high=_ROOM_KEYS[name].high)
          for name in ("cap", "volume", "ambient_level", "fade_in_s", "quiet_s",
                       "reflection_minutes")}
LIMITS.update({name: Arg(OPTION[name], "whole", low=1, high=COURSE_LIMIT)
               for name in ("course", "review_every")})


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_code(code) -> str:
    problem = check_label(code)
    if problem:
        raise ProfileError("code", problem)
    return code


def parse_value(field: str, value):
    """`value` as the profile holds it, checked on its own (no room needed); ProfileError."""
    name = OPTION[field]
    if field in LIMITS:
        return _number(LIMITS[field], value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or any(
            ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ProfileError(name, f"must be text of 1-{MAX_TEXT} printable characters, not "
                                 f"{_shown(value)}")
    value = value.strip()
    if field == "receptive_playlist":
        _playlist_shape(value)
    return value


def _number(arg: Arg, value):
    if isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        try:
            value = int(text) if arg.kind == "whole" and text.isdigit() else float(text)
        except ValueError:
            pass
    kind = "a whole number" if arg.kind == "whole" else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or (arg.kind == "whole" and value != int(value)):
        raise ProfileError(arg.name, f"must be {kind}, not {_shown(value)}")
    problem = number_problem(arg, value)
    if problem:
        raise ProfileError(arg.name, problem)
    return int(value) if arg.kind == "whole" else float(value)


def _playlist_shape(value: str):
    if not value.lower().endswith(PLAYLIST_SUFFIXES):
        raise ProfileError("receptive-playlist", f"{_shown(value)} is not an .m3u playlist")


def clean(given: dict, room: Room) -> dict:
    """field -> value for the fields given (field names or CLI spellings), each checked on
    its own and against the room; the welcome title becomes the track's own title, the
    playlist a path relative to the config's folder."""
    out = {}
    for key, value in given.items():
        field = FIELD.get(key, key)
        if field not in OPTION:
            raise ProfileError(str(key)[:40], "not a field of a client profile (fields: "
                                              f"{', '.join(OPTION.values())})")
        value = parse_value(field, value)
        if field == "welcome":
            value = welcome_title(value, room)
        elif field == "receptive_playlist":
            value = playlist_inside(value, room.folder)
        out[field] = value
    return out


def check(profile: Profile, room: Room):
    """The rules between a profile's fields and the room's; ProfileError for the first."""
    if profile.cap is not None and profile.cap > room.cap:
        raise ProfileError("cap", f"{profile.cap:g} is above the room's cap ({room.cap:g})")
    cap, whose = (profile.cap, "the profile's") if profile.cap is not None else \
        (room.cap, "the room's")
    for field in ("volume", "ambient_level"):
        level = getattr(profile, field)
        if level is not None and level > cap:
            raise ProfileError(OPTION[field], f"{level:g} is above {whose} cap ({cap:g})")
    if profile.welcome is not None and room.welcome is not None:
        welcome_title(profile.welcome, room)
    if profile.receptive_playlist is not None:
        playlist_inside(profile.receptive_playlist, room.folder)


def updated(profile: Profile, fields: dict, unset=()) -> Profile:
    return replace(profile, **fields, **{FIELD.get(f, f): None for f in unset})


def welcome_title(name: str, room: Room) -> str:
    """The title of the welcome track called `name` (title or file name, any case)."""
    from ..session.model import find_track
    if not room.welcome:
        raise ProfileError("welcome", f"no track called {_shown(name)}: the welcome playlist "
                                      "has no track that can be played")
    track = find_track(room.welcome, name)
    if track is None:
        titles = ", ".join(repr(t.title) for t in room.welcome)
        raise ProfileError("welcome", f"no track called {_shown(name)} in the welcome "
                                      f"playlist (its tracks: {titles})")
    return track.title


def playlist_inside(value: str, folder: Path) -> str:
    """`value` as a path relative to the config's folder, once it is known to stay inside it
    (also through links), to be an .m3u file and to hold a playable track."""
    _playlist_shape(value)
    base = os.path.normpath(folder)
    path = os.path.normpath(os.path.join(base, value))  # lexically first: no .. walks out
    if os.path.commonpath([base, path]) != base:
        raise ProfileError("receptive-playlist", f"{_shown(value)} is outside the config's "
                                                 f"folder ({base})")
    real = Path(path).resolve()
    if not real.is_relative_to(Path(base).resolve()):
        raise ProfileError("receptive-playlist", f"{_shown(value)} leads outside the "
                                                 f"config's folder ({base})")
    if not real.is_file():
        raise ProfileError("receptive-playlist", f"{_shown(value)}: no such file in "
                                                 f"{base}")
    from ..errors import PlaylistError
    from ..playlist import load_playlist
    try:
        tracks = load_playlist(real).tracks
    except PlaylistError as exc:
        raise ProfileError("receptive-playlist", str(exc)) from None
    if not tracks:
        raise ProfileError("receptive-playlist", f"{_shown(value)} has no track that can "
                                                 "be played")
    return Path(os.path.relpath(path, base)).as_posix()


# --- the stored form ------------------------------------------------------------------------

def to_json(profile: Profile) -> dict:
    return {"code": profile.code, **profile.given()}


def from_json(entry) -> Profile:
    """A stored profile, by the same rules as `clean` but without the room; ProfileError
    names the field and never the code (the message may reach a log)."""
    if not isinstance(entry, dict):
        raise ProfileError("entry", "not an object")
    if check_label(entry.get("code")):
        raise ProfileError("code", "not a client code")
    fields = {}
    for key, value in entry.items():
        if key == "code":
            continue
        if key not in OPTION:
            raise ProfileError(str(key)[:40], "not a field of a client profile")
        fields[key] = parse_value(key, value)
    if "receptive_playlist" in fields and (
            os.path.isabs(fields["receptive_playlist"])
            or ".." in Path(fields["receptive_playlist"]).parts):
        raise ProfileError("receptive-playlist", "not a path inside the config's folder")
    return Profile(code=entry["code"], **fields)
