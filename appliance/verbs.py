"""The one table of every command and argument, for every input.

The CLI, the control socket, the panel, MQTT, the buttons and the schedule all validate
through `validate()` (and `parse_command()` for the room's own verbs), so the same argument is
refused everywhere with the same one line naming it. What depends on the room (the phase, the
configured receptive lengths, a track name) is the session core's refusal, not this table's.

`Registry` says who carries out a verb: the engine, or the adapter that offers it (buttons,
schedule, MQTT). Inputs call `Registry.call(verb, args, source)` and get an answer dict or a
CommandError, which each adapter maps to its own answer by type.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from .errors import InvalidArgument, UnknownCommand

# plain classes, and no module that only one kind of argument needs: the command line
# imports this table to check its arguments, and every millisecond of it is the CLI's

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MAX_TEXT = 200


class Arg:
    __slots__ = ("name", "kind", "required", "low", "above", "high", "choices")

    def __init__(self, name: str, kind: str, required: bool = True, low: float | None = None,
                 above: float | None = None, high: float | None = None,
                 choices: tuple = ()):
        self.name = name
        self.kind = kind          # number | whole | track | name | label | code | datetime |
                                  # choice | flag
        self.choices = choices    # choice: the words it may be
        self.required = required
        self.low = low            # inclusive
        self.above = above        # exclusive
        self.high = high          # inclusive

    def clean(self, verb: str, value):
        """The value as the command needs it; InvalidArgument naming it otherwise."""
        return _CLEAN[self.kind](self, f"{verb}: {self.name}", value)


class Verb:
    __slots__ = ("name", "args", "owner", "help")

    def __init__(self, name: str, args: tuple[Arg, ...] = (), owner: str = "engine",
                 help: str = ""):
        self.name = name
        self.args = args
        self.owner = owner        # who carries it out: engine, gpio, schedule, mqtt
        self.help = help

    def arg(self, name: str) -> Arg:
        return next(a for a in self.args if a.name == name)


TABLE: dict[str, Verb] = {v.name: v for v in (
    Verb("ambient", help="start the pre-session ambient bed"),
    Verb("welcome", (Arg("track", "track", required=False),), help="play the welcome song"),
    Verb("active", help="therapist-led work: the room goes quiet"),
    # the configured min..max lengths are the room's to refuse (they come from config)
    Verb("receptive", (Arg("minutes", "number"),), help="a timed listening block"),
    # an iso programme: tempos are those analysis gives tracks (session/iso.py's limits)
    Verb("iso", (Arg("minutes", "number", above=0, high=24 * 60),
                 Arg("from", "number", False, low=30, high=220),
                 Arg("energy", "choice", False, choices=("high", "medium", "low")),
                 Arg("to", "number", False, low=30, high=220), Arg("u", "flag", False)),
         help="a listening block planned by tempo, from the client's down (iso principle)"),
    Verb("hold", help="stay on this piece, the time left frozen (again: release)"),
    Verb("extend", (Arg("minutes", "number", above=0, high=120),),
         help="make the listening block longer"),
    Verb("shorten", (Arg("minutes", "number", above=0, high=120),),
         help="make the listening block shorter (never cuts the closing fade)"),
    Verb("skip", help="crossfade into the next piece"),
    Verb("step_down", help="crossfade into a piece one step slower"),
    Verb("step_up", help="crossfade into a piece one step faster"),
    Verb("reflection", help="start reflection with its countdown"),
    Verb("quiet", help="fade everything to silence now"),
    Verb("end", help="finish the session (always via reflection)"),
    Verb("next", help="move on to the next part of the session"),
    Verb("volume", (Arg("level", "number", low=0, high=100),), help="set the level (0-100)"),
    Verb("volume_up", help="5 levels louder, never above the cap"),
    Verb("volume_down", help="5 levels softer"),
    Verb("button", (Arg("name", "name"), Arg("hold_s", "number", False, above=0, high=30)),
         owner="gpio", help="press a mock button (a short press, or held for hold_s)"),
    Verb("buttons", owner="gpio", help="the buttons that can be pressed virtually"),
    Verb("schedule list", (Arg("limit", "whole", False, low=1, high=100),),
         owner="schedule", help="the next booked sessions"),
    Verb("schedule add", (Arg("start", "datetime"), Arg("minutes", "number", low=5, high=480),
                          Arg("label", "label", required=False)),
         owner="schedule", help="book a one-off session"),
    Verb("schedule forget", (Arg("client", "code"),), owner="schedule",
         help="cancel every one-off booked with this client code (client forget)"),
    Verb("schedule remove", (Arg("id", "name"),), owner="schedule",
         help="cancel a one-off session"),
    # the daemon resolves the code from the profiles, the engine applies it (session/client.py)
    Verb("client use", (Arg("code", "code"),), owner="clients",
         help="choose the client before the welcome: the session follows their profile"),
    Verb("client clear", owner="clients",
         help="before the welcome: back to the room's own settings"),
    Verb("mqtt", owner="mqtt", help="the broker connection and topics"),
    Verb("record sessions", (Arg("client", "label", required=False),
                             Arg("since", "datetime", required=False),
                             Arg("limit", "whole", False, low=1, high=500)),
         owner="record", help="the last sessions of the session record"),
    Verb("record course", (Arg("client", "label"),), owner="record",
         help="where a client is in their course (session N of M, goal review due)"),
    # offered only with APPLIANCE_TEST_HOOKS=1 (appliance/watchdog.py): the watchdog's test
    Verb("test-stall-engine", (Arg("seconds", "number", above=0, high=60),), owner="test",
         help="block the engine thread for SECONDS (tests only)"),
)}

ROOM_VERBS = tuple(name for name, v in TABLE.items() if v.owner == "engine")
OFF = {"gpio": "GPIO is off: no [gpio], [[buttons]] or [[lights]] in config.toml",
       "schedule": "the schedule is off: add a [schedule] section to config.toml",
       "mqtt": "MQTT is off (no [mqtt] section, or enabled = false)",
       "record": "the session record is off ([record] enabled = false)",
       "clients": "client profiles are chosen through the appliance's daemon only",
       "test": "test hooks are off (APPLIANCE_TEST_HOOKS=1 turns them on, for the tests)"}


def resolve(verb, args) -> tuple[str, object]:
    """The wire form {"verb": "schedule", "args": {"action": "add", ...}} -> 'schedule add'."""
    if verb == "schedule" and isinstance(args, dict):
        args = dict(args)
        action = args.pop("action", "list")
        if not isinstance(action, str) or f"schedule {action}" not in TABLE:
            raise InvalidArgument(f"schedule: unknown action {action!r} (list, add, remove, forget)",
                                  "action")
        verb = f"schedule {action}"
    return verb, args


def validate(verb, args=None) -> dict:
    """The arguments of `verb` checked and converted; UnknownCommand / InvalidArgument with
    one line naming what is wrong."""
    spec = TABLE.get(verb) if isinstance(verb, str) else None
    if spec is None:
        shown = verb[:40] if isinstance(verb, str) else verb
        raise UnknownCommand(f"unknown command {shown!r} (known: {', '.join(ROOM_VERBS)})")
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InvalidArgument(f"{verb}: arguments must be an object, not {_shown(args)}")
    extra = sorted(str(k) for k in set(args) - {a.name for a in spec.args})
    if extra:
        raise InvalidArgument(f"{verb}: unexpected argument {extra[0][:40]!r}", extra[0])
    clean = {}
    for arg in spec.args:
        value = args.get(arg.name)
        if value is None:
            if arg.required:
                raise InvalidArgument(f"{verb}: missing {arg.name}", arg.name)
            continue
        clean[arg.name] = arg.clean(verb, value)
    return clean


def parse_command(verb, args=None):
    """('receptive', {'minutes': 20}) -> Receptive(20.0), for the room's own verbs."""
    spec = TABLE.get(verb) if isinstance(verb, str) else None
    if spec is not None and spec.owner != "engine":
        # before its arguments are looked at: an input that may not give this verb (MQTT)
        # never echoes them (a client's name typed where a code belongs)
        raise UnknownCommand(f"{verb}: not a command for the room")
    return _command(verb, validate(verb, args))


def _command(verb: str, args: dict):
    """The session command of a room verb (imported here: the CLI never needs the core)."""
    from .session import commands as c
    if verb == "welcome":
        return c.Welcome(args.get("track"))
    if verb == "receptive":
        return c.Receptive(args["minutes"])
    if verb == "volume":
        return c.Volume(args["level"])
    if verb in ("volume_up", "volume_down"):
        return c.VolumeStep(c.VOLUME_STEP if verb == "volume_up" else -c.VOLUME_STEP)
    if verb == "iso":
        if "from" in args and "energy" in args:
            raise InvalidArgument("iso: give from or energy, not both", "energy")
        if "from" in args and "to" in args and args["to"] >= args["from"]:
            raise InvalidArgument(f"iso: to ({args['to']:g}) must be below from "
                                  f"({args['from']:g})", "to")
        return c.Iso(args["minutes"], args.get("from"), args.get("energy"), args.get("to"),
                     bool(args.get("u")))
    if verb in ("extend", "shorten"):
        return c.VERBS[verb](args["minutes"])
    if verb in ("step_down", "step_up"):
        return c.Step(-1 if verb == "step_down" else 1)
    return c.VERBS[verb]()


def check_label(label) -> str | None:
    """Why `label` is not an acceptable client code (None: it is). Config and the schedule's
    file use this too."""
    if not isinstance(label, str) or not LABEL_RE.match(label):
        return (f"{_shown(label)} is not a client code: 1-32 letters, digits, '.', '-' or '_', "
                "no spaces (never a client's name)")
    return None


def number_problem(arg: Arg, value: float) -> str | None:
    """Why a number is outside `arg`'s limits (None: inside)."""
    high = "" if arg.high is None else f" and at most {arg.high:g}"
    if arg.above is not None:
        if value <= arg.above or (arg.high is not None and value > arg.high):
            return f"must be more than {arg.above:g}{high}, not {value:g}"
        return None
    if (arg.low is not None and value < arg.low) or (arg.high is not None and value > arg.high):
        if arg.low is None:
            return f"must be at most {arg.high:g}, not {value:g}"
        return (f"must be between {arg.low:g} and {arg.high:g}, not {value:g}"
                if arg.high is not None else f"must be at least {arg.low:g}, not {value:g}")
    return None


# --- one cleaner per kind of argument -----------------------------------------------------

def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(arg: Arg, where: str, value):
    if isinstance(value, str) and len(value) <= 40:
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise InvalidArgument(f"{where} must be a number, not {_shown(value)}", arg.name)
    problem = number_problem(arg, value)
    if problem:
        raise InvalidArgument(f"{where} {problem}", arg.name)
    return float(value)


def _whole(arg: Arg, where: str, value):
    if isinstance(value, str) and value.strip().isdigit() and len(value) <= 12:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{where} must be a whole number, not {_shown(value)}", arg.name)
    problem = number_problem(arg, value)
    if problem:
        raise InvalidArgument(f"{where} {problem}", arg.name)
    return value


def _path_like(name: str) -> bool:
    parts = re.split(r"[/\\]", name)
    return (name[:1] in ("/", "\\", "~")                        # absolute or home
            or ".." in parts or (len(parts) > 1 and "." in parts)  # relative walks
            or re.match(r"^[A-Za-z]:", name) is not None        # a drive letter
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in name))  # NUL, newlines


def _track(arg: Arg, where: str, value):
    """A track is named as the playlist names it, never as a path: the core compares the
    name with the loaded playlist only, and path-like names are refused before that."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise InvalidArgument(f"{where} must be a track name from the playlist", arg.name)
    from urllib.parse import unquote
    if _path_like(value) or _path_like(unquote(value)):
        raise InvalidArgument(f"{where} must be a track name from the playlist, not a path",
                              arg.name)
    return value


def _name(arg: Arg, where: str, value):
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise InvalidArgument(f"{where} must be 1-40 letters, digits, '-' or '_', not "
                              f"{_shown(value)}", arg.name)
    return value


def _code(arg: Arg, where: str, value):
    problem = check_label(value)
    if problem:
        raise InvalidArgument(f"{where}: {problem}", arg.name)
    return value


def _label(arg: Arg, where: str, value):
    """A client code, or "" for none (a booking without one)."""
    return None if value == "" else _code(arg, where, value)


def _datetime(arg: Arg, where: str, value):
    """The shape only: the schedule reads it in its own time zone."""
    from datetime import datetime
    ok = isinstance(value, str) and len(value) <= 40
    try:
        ok = ok and datetime.fromisoformat(value.strip()) is not None
    except ValueError:
        ok = False
    if not ok:
        raise InvalidArgument(f"{where}: {_shown(value)} is not a date and time like "
                              "2026-12-01T10:00", arg.name)
    return value.strip()


def _choice(arg: Arg, where: str, value):
    if not isinstance(value, str) or value.strip().lower() not in arg.choices:
        raise InvalidArgument(f"{where} must be one of {', '.join(arg.choices)}, not "
                              f"{_shown(value)}", arg.name)
    return value.strip().lower()


def _flag(arg: Arg, where: str, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise InvalidArgument(f"{where} must be true or false, not {_shown(value)}", arg.name)


_CLEAN = {"number": _number, "whole": _whole, "track": _track, "name": _name,
          "label": _label, "code": _code, "datetime": _datetime, "choice": _choice,
          "flag": _flag}


# --- who carries a verb out -----------------------------------------------------------------

Handler = Callable[[dict], dict]


class Registry:
    """The engine's verbs, and those the adapters offer (each adapter registers its own in
    one call). Every input that asks and waits (control socket, panel) comes through here."""

    def __init__(self, engine, answer_timeout_s: float = 5.0):
        self.engine = engine
        self.answer_timeout_s = answer_timeout_s
        self._handlers: dict[str, Handler] = {}
        self._makers: dict[str, Callable[[dict], object]] = {}

    def offer(self, owner: str, handlers: Mapping[str, Handler]):
        self._check(owner, handlers)
        self._handlers.update(handlers)

    def offer_commands(self, owner: str, makers: Mapping[str, Callable[[dict], object]]):
        """Verbs the engine carries out once `owner` has built their command from the
        checked arguments (the daemon resolves a client code from the profiles): submitted
        like the room's own, with their source. A maker raises a CommandError to refuse."""
        self._check(owner, makers)
        self._makers.update(makers)

    @staticmethod
    def _check(owner: str, verbs):
        for verb in verbs:
            if TABLE[verb].owner != owner:
                raise ValueError(f"{owner} cannot offer {verb!r}: the table says "
                                 f"{TABLE[verb].owner}")

    def offers(self, verb: str) -> bool:
        return verb in self._handlers or verb in self._makers or (
            verb in TABLE and TABLE[verb].owner == "engine")

    def call(self, verb, args=None, source: str = "cli") -> dict:
        """Validate, carry out, answer: {"ok": True, ...}; raises a CommandError."""
        verb, args = resolve(verb, args)
        clean = validate(verb, args)
        spec = TABLE[verb]
        if spec.owner == "engine" or verb in self._makers:
            command = _command(verb, clean) if spec.owner == "engine" else \
                self._makers[verb](clean)
            message = self.engine.submit(command, source=source).result(self.answer_timeout_s)
            return {"ok": True, "message": message, "status": self.engine.status_dict()}
        handler = self._handlers.get(verb)
        if handler is None:
            raise UnknownCommand(f"unknown command {verb!r}: {OFF[spec.owner]}")
        return {"ok": True, **handler(clean)}
