"""Turning a verb and its arguments (from the CLI, the panel, MQTT) into a session command.

One place validates arguments for every input, so all of them refuse bad input the same way:
a ValueError whose one line names the field that is wrong.
"""
from __future__ import annotations

import math

from .session import commands as c


class BadRequest(ValueError):
    pass


def _number(args: dict, field: str, verb: str) -> float:
    if field not in args:
        raise BadRequest(f"{verb}: missing {field}")
    value = args[field]
    if isinstance(value, bool):
        raise BadRequest(f"{verb}: {field} must be a number, not {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise BadRequest(f"{verb}: {field} must be a number, not {value!r}") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"{verb}: {field} must be a number, not {value!r}")
    return float(value)


def _no_args(verb: str, args: dict, allowed=()):
    extra = sorted(set(args) - set(allowed))
    if extra:
        raise BadRequest(f"{verb}: unexpected argument {extra[0]!r}")


def parse_command(verb: str, args: dict | None = None):
    """('receptive', {'minutes': 20}) -> Receptive(20.0); BadRequest with a reason otherwise."""
    args = args or {}
    if not isinstance(args, dict):
        raise BadRequest(f"{verb}: arguments must be an object")
    if verb not in c.VERBS:
        raise BadRequest(f"unknown command {verb!r} (known: {', '.join(c.VERBS)})")
    if verb == "receptive":
        _no_args(verb, args, ("minutes",))
        return c.Receptive(_number(args, "minutes", verb))
    if verb == "volume":
        _no_args(verb, args, ("level",))
        return c.Volume(_number(args, "level", verb))
    if verb == "welcome":
        _no_args(verb, args, ("track",))
        track = args.get("track")
        if track is not None and (not isinstance(track, str) or not track.strip()
                                  or len(track) > 200 or "\0" in track):
            raise BadRequest("welcome: track must be a track name from the welcome playlist")
        return c.Welcome(track)
    if verb in ("volume_up", "volume_down"):
        _no_args(verb, args)
        return c.VolumeStep(c.VOLUME_STEP if verb == "volume_up" else -c.VOLUME_STEP)
    _no_args(verb, args)
    return c.VERBS[verb]()
