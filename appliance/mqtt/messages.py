"""What goes over MQTT, as pure functions: topics, the state and event payloads, commands.

No paho here and no clock of its own: the adapter hands in the time, tests call these directly.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from ..errors import CommandError, InvalidInput
from ..status import Status
from ..verbs import parse_command
from ..wire import parse_json

MAX_PAYLOAD = 4096  # command payloads above this are ignored unread


@dataclass(frozen=True)
class Topics:
    """Every topic of one room, under <prefix>/<room_id>/."""
    base: str

    @classmethod
    def of(cls, prefix: str, room_id: str) -> "Topics":
        return cls(f"{prefix}/{room_id}")

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def cmd_filter(self) -> str:
        return f"{self.base}/cmd/+"

    def cmd(self, action: str) -> str:
        return f"{self.base}/cmd/{action}"

    @property
    def cmd_result(self) -> str:
        return f"{self.base}/cmd_result"


def _dumps(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def state_payload(status: Status, wall_now: float, mono_now: float) -> str:
    """The retained state: only what a light, a dashboard or a clinic system needs.

    Built field by field from the engine's status snapshot, so nothing else (notices, fault
    texts, channel details, anything about a client) can ever leave the device this way.
    `ends_at` (UTC) lets Home Assistant count the time left down by itself between messages;
    it comes from the snapshot's absolute deadline (engine clock `mono_now` = wall clock
    `wall_now`). `faults` names what needs attention ("audio", "logins" ...), never the text:
    that may hold paths.
    """
    remaining = status.remaining_s(mono_now)
    ends_at = None
    if remaining is not None:
        ends_at = datetime.fromtimestamp(wall_now + remaining, timezone.utc).isoformat(
            timespec="seconds")
    return _dumps({
        "phase": str(status.phase),
        "remaining_s": None if remaining is None else round(remaining, 1),
        "ends_at": ends_at,
        "volume": status.volume,
        "cap": status.cap,
        "now_playing": status.now_playing,
        "faults": sorted(str(name) for name in status.faults),
    })


def event_payload(event: dict, wall_now: float) -> Optional[str]:
    """One event message per phase change and per button press; None for anything else."""
    at = datetime.fromtimestamp(wall_now, timezone.utc).isoformat(timespec="milliseconds")
    if event.get("type") == "phase":
        return _dumps({"type": "phase", "old": event.get("old"), "new": event.get("new"),
                       "at": at})
    if event.get("type") == "time_cue":  # receptive.time_cue_s before a block ends
        return _dumps({"type": "time_cue", "remaining_s": event.get("remaining_s"), "at": at})
    source = str(event.get("source") or "")
    if event.get("type") == "command" and source.startswith("button:"):
        return _dumps({"type": "button", "button": source[len("button:"):],
                       "verb": event.get("verb"), "accepted": bool(event.get("accepted")),
                       "reason": event.get("reason"), "at": at})
    return None


def result_payload(action: str, ok: bool, error: Optional[str] = None,
                   kind: Optional[str] = None) -> str:
    """cmd_result: `kind` is the error's kind (appliance.errors: busy, refused, invalid,
    unknown, engine), so a client can tell "try again" from "never like this"."""
    return _dumps({"action": action, "ok": ok, "error": error, "kind": kind})


class Ignored(ValueError):
    """A message on our topics that is not a command we take: the reason, in one line, and
    its kind for cmd_result."""

    def __init__(self, action: str, reason: str, kind: str = "invalid"):
        super().__init__(reason)
        self.action = action
        self.kind = kind


def parse_cmd(topics: Topics, topic: str, payload: bytes):
    """('therapy-room/room-1/cmd/receptive', b'{"minutes": 20}') -> ('receptive', command).

    The payload is empty or a JSON object of arguments, validated exactly like the CLI's.
    Raises Ignored naming what is wrong.
    """
    head = f"{topics.base}/cmd/"
    if not topic.startswith(head) or "/" in topic[len(head):]:
        raise Ignored("", f"not a command topic: {topic[:120]!r}")
    action = topic[len(head):]
    shown = action[:40]
    if len(payload) > MAX_PAYLOAD:
        raise Ignored(shown, f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    args = {}
    if payload.strip():
        try:
            args = parse_json(payload, what="payload", max_bytes=MAX_PAYLOAD)
        except InvalidInput as exc:
            raise Ignored(shown, f"{exc} (send nothing, or an object of arguments such as "
                                 "{\"minutes\": 20})") from None
        if not isinstance(args, dict):
            raise Ignored(shown, "payload must be a JSON object of arguments")
    try:
        return action, parse_command(action, args)
    except CommandError as exc:
        raise Ignored(shown, exc.message, exc.kind) from None
