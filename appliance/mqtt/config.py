"""The [mqtt] section: broker, topics, credentials, TLS, discovery and light scenes.

Every problem is reported as 'mqtt.key: message' (scenes: 'mqtt.scenes.ambient[1].topic: ...',
entries counted from 1 as they stand in the file).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..schema import Problems, Section, key
from ..session.phases import Phase

SECTIONS = ("mqtt",)
#: published right after the reflection scene, whenever reflection begins
CUE = "reflection_cue"
SCENE_NAMES = tuple(str(phase) for phase in Phase) + (CUE,)  # one scene per phase, and the cue


@dataclass(frozen=True)
class Publish:
    """One message of a light scene."""
    topic: str
    payload: str
    retain: bool = False
    qos: int = 0


@dataclass(frozen=True)
class TlsConfig:
    ca_file: Optional[Path] = None   # None: the system's CA store
    certfile: Optional[Path] = None  # client certificate (optional, with keyfile)
    keyfile: Optional[Path] = None


def _host_problem(host: str) -> Optional[str]:
    if not host.strip() or any(ch.isspace() or ch in "/\0" for ch in host):
        return f"not a host name or address: {host!r}"
    return None


def topic_problem(topic: str, levels_may_be_empty: bool = False) -> Optional[str]:
    """Why `topic` cannot be published to (or be a topic prefix), or None."""
    if not topic:
        return "must not be empty"
    if "+" in topic or "#" in topic:
        return f"must not contain the MQTT wildcards + or #: {topic!r}"
    if "\0" in topic:
        return "must not contain a NUL character"
    if not levels_may_be_empty and "" in topic.split("/"):
        return f"has an empty level (a leading, trailing or double /): {topic!r}"
    if topic.startswith("$"):
        return f"must not start with $ (the broker's own topics): {topic!r}"
    if len(topic.encode()) > 1024:
        return "is too long (over 1024 bytes)"
    return None


@dataclass(frozen=True)
class MqttConfig:
    host: str = key("localhost", check=_host_problem)
    port: int = 1883                 # 8883 with TLS, unless given
    room_id: Optional[str] = None    # None: [room] id
    prefix: str = key("therapy-room", check=topic_problem)
    username: Optional[str] = None
    password: Optional[str] = None
    tls: Optional[TlsConfig] = None  # None: plain TCP
    keepalive_s: int = key(30, 5, 3600, kind="whole")
    reconnect_max_s: int = key(4, 1, 600, kind="whole")  # backoff 1, 2, 4 ... s up to this
    discovery: bool = key(True)
    discovery_prefix: str = key("homeassistant", check=topic_problem)
    scenes_enabled: bool = key(True)
    scenes: dict = field(default_factory=dict)  # scene name -> tuple of Publish


def _file(section: Section, key: str, base: Path) -> Optional[Path]:
    value = section.string(key, None)
    if value is None:
        return None
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        section.problems.add(f"{section.name}.{key}", f"no such file: {path}")
    return path


def _scene(name: str, entries, problems: Problems) -> tuple:
    where = f"mqtt.scenes.{name}"
    if not isinstance(entries, list):
        problems.add(where, "must be a list of publishes ([[mqtt.scenes."
                            f"{name}]] blocks with topic and payload)")
        return ()
    publishes = []
    for number, entry in enumerate(entries, start=1):
        s = Section(f"{where}[{number}]", entry, problems)
        topic = s.string("topic", "")
        why = topic_problem(topic) if "topic" in s.table else "missing (the topic to publish to)"
        if why:
            problems.add(f"{s.name}.topic", why)
        payload = s.raw("payload", "")
        if isinstance(payload, dict):
            payload = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
        elif isinstance(payload, bool):
            payload = "ON" if payload else "OFF"
        elif isinstance(payload, (int, float)):
            payload = str(payload)
        elif not isinstance(payload, str):
            problems.add(f"{s.name}.payload",
                         "must be a string, a number or a table (sent as JSON)")
            payload = ""
        retain = s.boolean("retain", False)
        qos = s.number("qos", 0, 0, 2)
        if qos not in (0, 1, 2):
            problems.add(f"{s.name}.qos", f"must be 0, 1 or 2, not {qos!r}")
            qos = 0
        s.finish()
        if not why:
            publishes.append(Publish(topic, payload, retain, int(qos)))
    return tuple(publishes)


def parse(data: dict, problems: Problems, base: Path, library=None):
    """Return this adapter's config (None: not configured, the adapter stays off)."""
    if "mqtt" not in data:
        return None
    m = Section("mqtt", data.get("mqtt"), problems)
    enabled = m.boolean("enabled", False)
    simple = m.read(MqttConfig)
    port = m.number("port", None, 1, 65535)
    if port is not None and port != int(port):
        problems.add("mqtt.port", f"must be a whole number, not {port!r}")
    room_id = m.string("room_id", None)
    if room_id is not None and (not room_id or not all(ch.isalnum() or ch in "-_"
                                                       for ch in room_id)):
        problems.add("mqtt.room_id", f"use letters, digits, '-' and '_' only, not {room_id!r}")
    username = m.string("username", None)
    password = m.string("password", None)
    password_file = _file(m, "password_file", base)
    if password is not None and password_file is not None:
        problems.add("mqtt.password_file", "give password or password_file, not both")
    elif password_file is not None and password_file.is_file():
        try:
            password = password_file.read_text(encoding="utf-8").strip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            problems.add("mqtt.password_file", f"cannot read {password_file}: {exc}")
    if password is not None and username is None:
        problems.add("mqtt.username", "missing: a password needs a username")

    tls = None
    if "tls" in m.table:
        t = Section("mqtt.tls", m.raw("tls"), problems)
        tls = TlsConfig(ca_file=_file(t, "ca_file", base), certfile=_file(t, "certfile", base),
                        keyfile=_file(t, "keyfile", base))
        if tls.keyfile is not None and tls.certfile is None:
            problems.add("mqtt.tls.certfile", "missing: a keyfile needs its certfile")
        t.finish()
    else:
        m.known.append("tls")

    scenes = {}
    table = m.raw("scenes", {})
    if not isinstance(table, dict):
        problems.add("mqtt.scenes", "must be a table of scene lists ([[mqtt.scenes.ambient]] ...)")
        table = {}
    sc = Section("mqtt.scenes", table, problems)
    for name in SCENE_NAMES:
        entries = sc.raw(name)
        if entries is not None:
            scenes[name] = _scene(name, entries, problems)
    sc.finish()
    m.finish()
    if not enabled:
        return None
    return MqttConfig(
        port=int(port) if port is not None else (8883 if tls else 1883), room_id=room_id,
        username=username, password=password, tls=tls, scenes=scenes, **simple)
