"""The config model: config.toml read into frozen dataclasses, every problem reported at once
as 'section.key: message' (with a did-you-mean for unknown keys and choices).

Each default and limit is written once, on its dataclass field (appliance.schema.key): the
session's in session.model.Settings, the room's, audio output's, paths' here, each adapter's
in its own config.py. The rules between keys are written once too, in RULES below.
Relative paths are relative to the config file's folder, so the demo runs from any directory.
"""
from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .adapters import ADAPTERS
from .calibration import levels_from_spl, spl_problem
from .errors import ConfigError, PlaylistError
from .paths import DEFAULT_SOCKET, default_config_path, read_text
from .paths import resolve
from .playlist import load_playlist
from .schema import Problems, Section, key, unknown_keys
from .session.model import Library, Settings


def _room_id_problem(value: str) -> Optional[str]:
    if not value:  # MQTT would publish to therapy-room//state
        return "must not be empty: it names the room on MQTT and the panel"
    if not all(ch.isalnum() or ch in "-_" for ch in value):
        return f"use letters, digits, '-' and '_' only, not {value!r}"
    return None


def _alsa_device_problem(value: str) -> Optional[str]:
    if not value or any(ch in value for ch in '"\n\\'):
        return f"not a usable ALSA device name: {value!r}"
    return None


@dataclass(frozen=True)
class RoomConfig:
    id: str = key("room-1", check=_room_id_problem)  # names the room on MQTT and the panel
    name: str = key("Therapy room")                   # shown on the panel; never a client's


@dataclass(frozen=True)
class AudioConfig:
    """Where the sound goes. Levels and fade times are session Settings."""
    output: str = key("auto", choices=("auto", "alsa", "pulse"))  # auto: PulseAudio if there
    alsa_device: str = key("default", check=_alsa_device_problem)  # the PCM below the cap stage
    alsa_buffer_ms: float = key(32, 10, 500)  # own dmix buffer, whole periods (alsa.py)
    # in dB SPL once the room is calibrated (appliance calibrate; calibration.py): they then
    # set audio.cap / audio.volume; without a calibration they are ignored with a notice
    cap_spl: Optional[float] = key(None, kind="number", check=spl_problem)
    volume_spl: Optional[float] = key(None, kind="number", check=spl_problem)


@dataclass(frozen=True)
class PlaylistsConfig:
    ambient: str = key("playlists/ambient.m3u")
    welcome: str = key("playlists/welcome.m3u")
    receptive: str = key("playlists/receptive.m3u")
    iso: str = key("")  # optional: the iso programme's own pool (empty: the receptive list)


@dataclass(frozen=True)
class ControlConfig:
    socket: str = key(DEFAULT_SOCKET)  # systemd: /run/therapy-room/control.sock


@dataclass(frozen=True)
class AnalysisConfig:
    # files not yet analysed are measured while the daemon runs (low priority, subprocesses)
    background: bool = key(True)


@dataclass(frozen=True)
class StateConfig:
    dir: str = key("state")  # what must survive a restart


#: the core's own sections: name -> the dataclasses whose fields live there
SECTIONS = {"room": (RoomConfig,), "audio": (AudioConfig, Settings),
            "playlists": (PlaylistsConfig,), "receptive": (Settings,),
            "reflection": (Settings,), "iso": (Settings,), "control": (ControlConfig,),
            "state": (StateConfig,), "analysis": (AnalysisConfig,)}


@dataclass(frozen=True)
class Config:
    path: Path
    room_id: str
    room_name: str
    audio: AudioConfig
    settings: Settings
    library: Library
    playlist_problems: tuple        # tracks left out at load, one line each
    socket_path: Path
    state_dir: Path
    analysis: AnalysisConfig = AnalysisConfig()
    notices: tuple = ()             # keys that cannot take effect yet (audio.cap_spl ...)
    adapters: dict = field(default_factory=dict)  # adapter name -> its config (None: off)


# --- the rules between keys, each written once ----------------------------------------------

def _levels_under_cap(v: dict, given: set) -> list:
    """A level the file sets above the cap is a mistake; a default above it is not (the cap
    wins, as it does for every level)."""
    return [(f"audio.{k}", f"{v[k]:g} is above audio.cap ({v['cap']:g}); the cap always wins")
            for k in ("volume", "ambient_level") if f"audio.{k}" in given and v[k] > v["cap"]]


def _receptive_lengths(v: dict, given: set) -> list:
    low, high, default = (v["receptive_min_minutes"], v["receptive_max_minutes"],
                          v["receptive_default_minutes"])
    if low > high:
        return [("receptive.min_minutes", f"{low:g} is longer than receptive.max_minutes "
                                          f"({high:g})")]
    if default > high:
        return [("receptive.default_minutes", f"{default:g} is longer than "
                                              f"receptive.max_minutes ({high:g})")]
    if default < low:
        return [("receptive.default_minutes", f"{default:g} is shorter than "
                                              f"receptive.min_minutes ({low:g})")]
    return []


RULES = (_levels_under_cap, _receptive_lengths)


def _clamped(v: dict) -> dict:
    """Unwritten levels follow the cap down (cap = 50 alone gives volume 50, not an error)."""
    return dict(v, volume=min(v["volume"], v["cap"]),
                ambient_level=min(v["ambient_level"], v["cap"]))


# --- reading ----------------------------------------------------------------------------------

def _resolve(base: Path, value: str) -> Path:
    return Path(resolve(base, value))


def load_config(path: Optional[Path] = None, check_media: bool = True) -> Config:
    path = Path(path or default_config_path())
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
    return parse_config(data, path, check_media)


def adapter_configs() -> dict:
    """name -> the adapter's config module (SECTIONS, parse())."""
    return {name: importlib.import_module(f".{name}.config", __package__) for name in ADAPTERS}


def parse_config(data: dict, path: Path, check_media: bool = True) -> Config:
    problems = Problems()
    base = path.resolve().parent
    modules = adapter_configs()
    extra = tuple(s for module in modules.values() for s in module.SECTIONS)
    unknown_keys("", data, tuple(SECTIONS) + extra, problems)

    values: dict = {cls: {} for classes in SECTIONS.values() for cls in classes}
    given: set = set()
    for name, classes in SECTIONS.items():
        section = Section(name, data.get(name), problems)
        for cls in classes:
            values[cls].update(section.read(cls))
        given |= {f"{name}.{k}" for k in section.given}
        section.finish()
    for rule in RULES:
        for where, message in rule(values[Settings], given):
            problems.add(where, message)

    room = RoomConfig(**values[RoomConfig])
    playlists = PlaylistsConfig(**values[PlaylistsConfig])
    lists, playlist_problems = {}, []
    if check_media:
        for kind in ("ambient", "welcome", "receptive", "iso"):
            if kind == "iso" and not playlists.iso:
                continue  # the iso programme's own list is optional
            try:
                loaded = load_playlist(_resolve(base, getattr(playlists, kind)))
            except PlaylistError as exc:
                problems.add(f"playlists.{kind}", str(exc))
                continue
            lists[kind] = loaded.tracks
            playlist_problems.extend(loaded.problems)
    library = Library(**lists)
    adapters = {name: module.parse(data, problems, base, library if check_media else None)
                for name, module in modules.items()}
    if problems:
        raise ConfigError(problems)
    audio = AudioConfig(**values[AudioConfig])
    state_dir = _resolve(base, StateConfig(**values[StateConfig]).dir)
    settings, notices = levels_from_spl(_clamped(values[Settings]), given, audio.cap_spl,
                                        audio.volume_spl, state_dir)
    return Config(path=path, room_id=room.id, room_name=room.name, audio=audio,
                  settings=Settings(**settings), library=library, notices=tuple(notices),
                  playlist_problems=tuple(playlist_problems),
                  socket_path=_resolve(base, ControlConfig(**values[ControlConfig]).socket),
                  state_dir=state_dir,
                  analysis=AnalysisConfig(**values[AnalysisConfig]),
                  adapters=adapters)

