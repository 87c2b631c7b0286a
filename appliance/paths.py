"""Finding and reading config.toml, and the control socket's path in it: what every CLI verb
needs, kept apart from the config model (and from pathlib) so `appliance status` imports
almost nothing. Paths here are strings; the config model makes them Paths."""
from __future__ import annotations

import os

from .errors import ConfigError

DEFAULT_SOCKET = "run/control.sock"  # [control] socket (systemd: /run/therapy-room/...)


def default_config_path() -> str:
    return os.environ.get("APPLIANCE_CONFIG", "config.toml")


def resolve(base, value: str) -> str:
    """A path from config: relative to the config file's folder `base`, `~` expanded."""
    path = os.path.expanduser(value)
    return path if os.path.isabs(path) else os.path.join(os.fspath(base), path)


def read_text(path) -> str:
    """The file's text, or ConfigError with one line: unreadable, not UTF-8, or empty (an
    empty config is almost always a truncated one: nothing starts on defaults by mistake)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config ({exc.strerror or exc})"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError([f"{path}: not UTF-8 text (line {line}); save it as UTF-8"]) \
            from None
    if not text.strip():
        raise ConfigError([f"{path}: the file is empty; a config needs at least one section "
                           "(see config.toml in the repository)"])
    return text


# the plain form of [control] socket: a table header, then `socket = "a/path"` (no escapes)
_CONTROL = r'(?m)^\[control\][ \t]*(?:#.*)?$(?:\n(?![ \t]*\[).*)*?\n[ \t]*socket[ \t]*=[ \t]*"([^"\\\n]*)"[ \t]*(?:#.*)?$'


def read_socket_path(path) -> str:
    """Only the control socket's path, even from a broken config (the daemon that runs on
    it must have read it, so the default is right when the file cannot say)."""
    raw = DEFAULT_SOCKET
    try:
        text = read_text(path)
    except ConfigError:
        text = ""
    if "control" in text:
        import re
        found = re.findall(_CONTROL, text)
        # the plain form, once: tomllib costs ~14 ms here (~60 ms on a Pi 3) for one key
        raw = found[0] if len(found) == 1 else _socket_from_toml(text, raw)
    return resolve(os.path.dirname(os.path.abspath(path)), raw)


def _socket_from_toml(text: str, default: str) -> str:
    import tomllib
    try:
        value = tomllib.loads(text).get("control", {}).get("socket", default)
    except (tomllib.TOMLDecodeError, AttributeError):
        return default
    return value if isinstance(value, str) else default
