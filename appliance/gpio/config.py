"""Config sections read by this adapter: [gpio], [[buttons]] and [[lights]].

Every problem goes into `problems` as one line naming the button or light, e.g.
'buttons[1] (session).hold_s: must be more than 0, not 0'. Pin names are checked against the
40-pin header all supported Pis share (3, 4, 5, Zero 2 W), using gpiozero's own board data,
so 'GPIO17', 17, 'BOARD11' and 'J8:11' are the same pin and a pin used twice is caught.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..schema import Problems, Section, key
from ..errors import InvalidArgument
from ..verbs import TABLE, number_problem, parse_command

HOLD = TABLE["button"].arg("hold_s")  # a hold in config is what a virtual press may be

SECTIONS = ("gpio", "buttons", "lights")
FACTORIES = ("auto", "lgpio", "mock")
#: room verbs a button may give, most used first ('receptive' may carry minutes:
#: "receptive 30"); tests/test_contracts.py checks them against the verb table
ACTIONS = ("welcome", "receptive", "quiet", "next", "end", "volume_up", "volume_down",
           "ambient", "active", "reflection",
           # live control of a receptive block: "extend 5", "shorten 5", "iso 20" take minutes
           "hold", "skip", "step_down", "step_up", "extend", "shorten", "iso")
#: actions that carry minutes (receptive and iso: the room's default length when left out)
WITH_MINUTES = ("receptive", "iso", "extend", "shorten")
NEEDS_MINUTES = ("extend", "shorten")
ROOM_STATES = ("idle", "ambient", "session", "reminder", "fault")
PULLS = ("up", "down", "off")
HEADER_REVISION = 0xa02082  # a Pi 3B: the same 40-pin header as the 4, 5 and Zero 2 W

# what each room state shows unless a light says otherwise (see lights.py for the meaning)
DEFAULT_PATTERNS = {
    "idle": "off",
    "ambient": "breathe",
    "session": "on",
    "reminder": "blink",
    "fault": "flash",
}


@dataclass(frozen=True)
class Action:
    verb: str
    minutes: Optional[float] = None  # WITH_MINUTES only; None = the room's default length

    def __str__(self):
        return self.verb if self.minutes is None else f"{self.verb} {self.minutes:g}"


def _hold_problem(value) -> Optional[str]:
    return number_problem(HOLD, value)  # a hold in config is what a virtual press may be


@dataclass(frozen=True)
class ButtonConfig:
    name: str
    pin: str                      # gpiozero's primary name, e.g. "GPIO17"
    pull: str = key("up", choices=PULLS)  # up: wired between the pin and ground
    active_high: bool = False     # pressed reads high (pull down) or low (pull up)
    on_press: Optional[Action] = None
    on_hold: Optional[Action] = None
    hold_s: float = key(2.0, check=_hold_problem)
    debounce_s: float = key(0.05, 0, 1)


@dataclass(frozen=True)
class LightConfig:
    name: str
    pin: str
    pwm: bool = key(True)         # PWMLED (dimmable, can breathe) or a plain on/off LED
    active_high: bool = key(True)
    brightness: float = key(1.0, 0.01, 1.0)
    patterns: dict = field(default_factory=lambda: dict(DEFAULT_PATTERNS))


@dataclass(frozen=True)
class GpioConfig:
    pin_factory: str = key("auto", choices=FACTORIES)
    lgpio_dir: Optional[Path] = None  # None: the control socket's folder
    welcome_repeat_s: float = key(10.0, 0, 600)
    chatter_edges: int = key(25, 5, 10000, kind="whole")
    repeat_s: float = key(0.3, 0, 10)
    settle_s: float = key(2.0, 0.1, 600)
    reminder_before_end_s: float = key(120.0, 0, 3600)
    reflection_reminder_s: float = key(60.0, 0, 3600)
    retry_s: float = key(10.0, 0.1, 3600)
    buttons: tuple = ()
    lights: tuple = ()


def parse(data: dict, problems: Problems, base: Path, library=None):
    """Return GpioConfig, or None when none of the sections is there (the adapter stays off)."""
    if not any(name in data for name in SECTIONS):
        return None
    g = Section("gpio", data.get("gpio"), problems)
    cfg = g.read(GpioConfig)
    lgpio_dir = g.string("lgpio_dir", "")
    cfg["lgpio_dir"] = _resolve(base, lgpio_dir) if lgpio_dir else None
    g.finish()
    used: dict[str, str] = {}  # pin -> who uses it
    buttons, lights = [], []
    for kind, read, found in (("buttons", _button, buttons), ("lights", _light, lights)):
        names: set = set()
        for i, table in enumerate(_tables(kind, data, problems)):
            item = read(i, table, problems, used)
            if item is None:
                continue
            if item.name in names:
                problems.add(f"{kind}[{i}].name", f"{item.name!r} is used by another one already")
            names.add(item.name)
            found.append(item)
    return GpioConfig(buttons=tuple(buttons), lights=tuple(lights), **cfg)


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _tables(key: str, data: dict, problems: Problems) -> list:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        problems.add(key, f"must be a list of tables ([[{key}]])")
        return []
    return value


def _label(kind: str, index: int, table: dict) -> str:
    """'buttons[session]' when the table has a usable name, else 'buttons[1]'."""
    name = table.get("name")
    if isinstance(name, str) and name and all(ch.isalnum() or ch in "-_" for ch in name):
        return f"{kind}[{name}]"
    return f"{kind}[{index}]"


def _name(s: Section) -> str:
    name = s.string("name", "")
    if not name:
        s.problems.add(f"{s.name}.name", "is needed (a short word, e.g. \"welcome\")")
    elif not all(ch.isalnum() or ch in "-_" for ch in name) or len(name) > 40:
        s.problems.add(f"{s.name}.name", f"use up to 40 letters, digits, '-' and '_', "
                                         f"not {name!r}")
    return name


def _pin(s: Section, used: dict) -> Optional[str]:
    from gpiozero.pins.pi import PiBoardInfo  # board data only: no hardware is touched
    raw = s.raw("pin")
    where = f"{s.name}.pin"
    if raw is None:
        s.problems.add(where, "is needed (a GPIO number like 17, or \"GPIO17\" / \"BOARD11\")")
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        s.problems.add(where, f"must be a GPIO number or pin name, not {raw!r}")
        return None
    try:
        pin = PiBoardInfo.from_revision(HEADER_REVISION).to_gpio(raw)
    except ValueError as exc:
        s.problems.add(where, f"no such GPIO pin on a Raspberry Pi: {exc}")
        return None
    if pin in used:
        s.problems.add(where, f"{pin} is already used by {used[pin]}")
        return None
    used[pin] = s.name
    return pin


def _action(s: Section, key: str) -> Optional[Action]:
    raw = s.raw(key)
    if raw is None:
        return None
    where = f"{s.name}.{key}"
    if not isinstance(raw, str) or not raw.split():
        s.problems.add(where, f"must be one of {', '.join(ACTIONS)}, not {raw!r}")
        return None
    verb, *rest = raw.split()
    if verb not in ACTIONS:
        import difflib
        close = difflib.get_close_matches(verb, ACTIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        s.problems.add(where, f"unknown action {verb!r}{hint}; use one of {', '.join(ACTIONS)}")
        return None
    if rest and verb not in WITH_MINUTES or len(rest) > 1:
        s.problems.add(where, f"{raw!r}: only {', '.join(WITH_MINUTES)} take a value "
                              "(minutes)")
        return None
    if verb in NEEDS_MINUTES and not rest:
        s.problems.add(where, f"{raw!r}: {verb} needs its minutes, e.g. '{verb} 5'")
        return None
    minutes = None
    try:
        if rest:
            minutes = parse_command(verb, {"minutes": rest[0]}).minutes
            if minutes <= 0:
                raise InvalidArgument(f"receptive: minutes must be more than 0, not {minutes:g}")
    except InvalidArgument as exc:
        s.problems.add(where, str(exc))
        return None
    return Action(verb, minutes)


def _button(index: int, table: dict, problems: Problems, used: dict):
    s = Section(_label("buttons", index, table), table, problems)
    name = _name(s)
    pin = _pin(s, used)
    simple = s.read(ButtonConfig)
    pull, hold_s, debounce_s = simple["pull"], simple["hold_s"], simple["debounce_s"]
    active = s.string("active", "", ("low", "high"))
    if not active:
        if pull == "off":
            problems.add(f"{s.name}.active", "is needed with pull = \"off\" (\"low\" or \"high\")")
        active = "high" if pull == "down" else "low"
    on_press = _action(s, "on_press")
    on_hold = _action(s, "on_hold")
    if on_hold is not None and debounce_s >= hold_s:
        problems.add(f"{s.name}.debounce_s", f"{debounce_s:g} s is not shorter than hold_s "
                                             f"({hold_s:g} s): the hold could never be told apart")
    if on_press is None and on_hold is None and "on_press" not in table:
        problems.add(f"{s.name}.on_press", "is needed (what the button does)")
    s.finish()
    if not name or pin is None:
        return None
    return ButtonConfig(name=name, pin=pin, active_high=(active == "high"),
                        on_press=on_press, on_hold=on_hold, **simple)


def _light(index: int, table: dict, problems: Problems, used: dict):
    from .lights import parse_pattern
    s = Section(_label("lights", index, table), table, problems)
    name = _name(s)
    pin = _pin(s, used)
    simple = s.read(LightConfig)
    patterns = {}
    for state in ROOM_STATES:
        raw = s.raw(state, DEFAULT_PATTERNS[state])
        try:
            patterns[state] = parse_pattern(raw)
        except ValueError as exc:
            problems.add(f"{s.name}.{state}", str(exc))
    s.finish()
    if not name or pin is None:
        return None
    return LightConfig(name=name, pin=pin, patterns=patterns, **simple)
