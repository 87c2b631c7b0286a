"""JSON from outside (panel, control socket, MQTT) decoded so that it can never raise anything
but InvalidInput.

`json.loads` recurses once per nesting level: 3,000 nested lists raise RecursionError, a
30-line traceback per request (or an exception inside paho's callback). The depth is checked
by a plain scan before decoding; non-UTF-8 bytes, NaN/Infinity and oversized input are refused
with one line that says what was wrong.
"""
from __future__ import annotations

import json
from typing import Any

from .errors import InvalidInput

MAX_DEPTH = 16  # the deepest real request is {"args": {"minutes": 20}}: depth 2


def _constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _too_deep(text: str, max_depth: int) -> bool:
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def parse_json(raw: bytes | str, *, what: str, max_bytes: int,
               max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON document from `raw`; InvalidInput naming `what` otherwise."""
    if isinstance(raw, bytes):
        if len(raw) > max_bytes:
            raise InvalidInput(f"{what}: longer than {max_bytes} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{what}: not UTF-8 text") from None
    else:
        text = raw
        if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise InvalidInput(f"{what}: longer than {max_bytes} bytes")
    if _too_deep(text, max_depth):
        raise InvalidInput(f"{what}: nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_constant)
    except ValueError as exc:  # JSONDecodeError, and the constants above
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise InvalidInput(f"{what}: not valid JSON ({reason})") from None
