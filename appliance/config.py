"""Typed config from config.toml. Every problem is reported at once as 'section.key: message'.

Relative paths are relative to the config file's folder, so the demo runs from any directory.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import ConfigError, PlaylistError
from .gpio import config as gpio_config
from .mqtt import config as mqtt_config
from .playlist import load_playlist
from .schedule import config as schedule_config
from .schema import Problems, Section, unknown_keys
from .session.model import Library, Settings
from .web import config as web_config

OUTPUTS = ("auto", "alsa", "pulse")
KNOWN_SECTIONS = ("room", "audio", "playlists", "receptive", "reflection", "control", "state")
#: each adapter reads its own sections: name -> module with SECTIONS and parse()
ADAPTER_CONFIGS = {"gpio": gpio_config, "web": web_config, "schedule": schedule_config,
                   "mqtt": mqtt_config}
EXTRA_SECTIONS = tuple(name for module in ADAPTER_CONFIGS.values() for name in module.SECTIONS)


@dataclass(frozen=True)
class AudioConfig:
    """Where the sound goes. Levels and fade times are session Settings."""
    output: str = "auto"          # auto: PulseAudio/PipeWire when reachable, else ALSA
    alsa_device: str = "default"  # the ALSA PCM below the appliance's cap stage
    alsa_buffer_ms: float = 40    # own dmix buffer for a hw: device: how late a fade is heard


@dataclass(frozen=True)
class Config:
    path: Path
    room_id: str
    room_name: str
    audio: AudioConfig
    settings: Settings
    playlist_paths: dict            # kind -> Path
    library: Library
    playlist_problems: tuple        # tracks left out at load, one line each
    socket_path: Path
    state_dir: Path
    default_receptive_minutes: float = 20
    adapters: dict = field(default_factory=dict)  # adapter name -> its config (None: off)


def default_config_path() -> Path:
    return Path(os.environ.get("APPLIANCE_CONFIG", "config.toml"))


def read_socket_path(path: Path) -> Path:
    """Only the control socket's path: what the CLI verbs need, even from a broken config."""
    try:
        data = tomllib.loads(Path(path).read_text())
        raw = data.get("control", {}).get("socket", ControlDefaults.socket)
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        raw = ControlDefaults.socket
    return _resolve(Path(path).resolve().parent, str(raw))


class ControlDefaults:
    socket = "run/control.sock"


def _resolve(base: Path, value: str) -> Path:
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else base / p


def load_config(path: Optional[Path] = None, check_media: bool = True) -> Config:
    path = Path(path or default_config_path())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config ({exc.strerror or exc})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from None
    return parse_config(data, path, check_media)


def parse_config(data: dict, path: Path, check_media: bool = True) -> Config:
    problems = Problems()
    base = path.resolve().parent
    unknown_keys("", data, KNOWN_SECTIONS + EXTRA_SECTIONS, problems)

    room = Section("room", data.get("room"), problems)
    room_id = room.string("id", "room-1")
    room_name = room.string("name", "Therapy room")
    if room_id and not all(ch.isalnum() or ch in "-_" for ch in room_id):
        problems.add("room.id", f"use letters, digits, '-' and '_' only, not {room_id!r}")
    room.finish()

    a = Section("audio", data.get("audio"), problems)
    audio = AudioConfig(
        output=a.string("output", "auto", OUTPUTS),
        alsa_device=a.string("alsa_device", "default"),
        alsa_buffer_ms=a.number("alsa_buffer_ms", 40, 10, 500),
    )
    levels = dict(
        cap=a.number("cap", 80, 1, 100),
        volume=a.number("volume", 70, 0, 100),
        ambient_level=a.number("ambient_level", 40, 0, 100),
        quiet_s=a.number("quiet_s", 3.0, 0.1, 60),
        crossfade_s=a.number("crossfade_s", 2.0, 0.1, 30),
        fade_in_s=a.number("fade_in_s", 1.0, 0.05, 30),
        ambient_fade_in_s=a.number("ambient_fade_in_s", 5.0, 0.05, 600),
    )
    if not audio.alsa_device or any(ch in audio.alsa_device for ch in '"\n\\'):
        problems.add("audio.alsa_device", f"not a usable ALSA device name: {audio.alsa_device!r}")
    for key in ("volume", "ambient_level"):
        if levels[key] > levels["cap"]:
            problems.add(f"audio.{key}", f"{levels[key]:g} is above audio.cap "
                                         f"({levels['cap']:g}); the cap always wins")
    a.finish()

    r = Section("receptive", data.get("receptive"), problems)
    order = r.string("order", "order", ("order", "shuffle"))
    fade_out_s = r.number("fade_out_s", 30.0, 0, 600)
    min_minutes = r.number("min_minutes", 1, 0.01, 60)
    max_minutes = r.number("max_minutes", 180, 1, 24 * 60)
    default_minutes = r.number("default_minutes", 20, 1, 24 * 60)
    if default_minutes > max_minutes:
        problems.add("receptive.default_minutes",
                     f"{default_minutes:g} is longer than receptive.max_minutes ({max_minutes:g})")
    r.finish()

    f = Section("reflection", data.get("reflection"), problems)
    reflection_minutes = f.number("minutes", 10, 0.05, 120)
    f.finish()

    pl = Section("playlists", data.get("playlists"), problems)
    playlist_paths = {kind: _resolve(base, pl.string(kind, f"playlists/{kind}.m3u"))
                      for kind in ("ambient", "welcome", "receptive")}
    pl.finish()

    ctl = Section("control", data.get("control"), problems)
    socket_path = _resolve(base, ctl.string("socket", ControlDefaults.socket))
    ctl.finish()

    st = Section("state", data.get("state"), problems)
    state_dir = _resolve(base, st.string("dir", "state"))
    st.finish()

    lists, playlist_problems = {}, []
    if check_media:
        for kind, p in playlist_paths.items():
            try:
                loaded = load_playlist(p)
            except PlaylistError as exc:
                problems.add(f"playlists.{kind}", str(exc))
                continue
            lists[kind] = loaded.tracks
            playlist_problems.extend(loaded.problems)

    adapters = {name: module.parse(data, problems, base)
                for name, module in ADAPTER_CONFIGS.items()}
    if problems:
        raise ConfigError(problems)

    settings = Settings(
        **levels, receptive_fade_out_s=fade_out_s,
        receptive_order=order, receptive_min_minutes=min_minutes,
        receptive_max_minutes=max_minutes, receptive_default_minutes=default_minutes,
        reflection_minutes=reflection_minutes)
    return Config(path=path, room_id=room_id, room_name=room_name, audio=audio,
                  settings=settings, playlist_paths=playlist_paths, library=Library(**lists),
                  playlist_problems=tuple(playlist_problems), socket_path=socket_path,
                  state_dir=state_dir, default_receptive_minutes=default_minutes,
                  adapters=adapters)

