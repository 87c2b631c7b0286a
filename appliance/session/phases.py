"""The room's phases and which command moves it where: data, not code.

`TRANSITIONS[verb][phase]` is the phase a command leads to; a phase that is not in a verb's
row refuses the command, and the reason is derived from the table (`refusal`). The session
core asks this module, the README's table, the OpenAPI enum, the panel's enabled buttons and
the MQTT / Home Assistant payloads are checked against it (tests/test_phases.py).
"""
from __future__ import annotations

from enum import StrEnum
from typing import Optional


class Phase(StrEnum):
    """A phase is also its own name: Phase.IDLE == "idle", and JSON writes "idle"."""
    IDLE = "idle"
    AMBIENT = "ambient"
    WELCOME = "welcome"
    ACTIVE = "active"
    RECEPTIVE = "receptive"
    REFLECTION = "reflection"


IDLE, AMBIENT, WELCOME, ACTIVE, RECEPTIVE, REFLECTION = Phase
PHASES = tuple(Phase)

#: what a therapist can change while a receptive block plays (session/live.py)
LIVE = ("hold", "extend", "shorten", "skip", "step_down", "step_up")

#: verb -> {phase it is accepted in: phase it leads to}
TRANSITIONS: dict[str, dict[Phase, Phase]] = {
    "ambient": {IDLE: AMBIENT},
    "welcome": {IDLE: WELCOME, AMBIENT: WELCOME, ACTIVE: WELCOME},
    "active": {IDLE: ACTIVE, AMBIENT: ACTIVE, WELCOME: ACTIVE, RECEPTIVE: ACTIVE},
    "receptive": {IDLE: RECEPTIVE, AMBIENT: RECEPTIVE, WELCOME: RECEPTIVE, ACTIVE: RECEPTIVE},
    "reflection": {WELCOME: REFLECTION, ACTIVE: REFLECTION, RECEPTIVE: REFLECTION},
    # quiet is never refused and never skips reflection
    "quiet": {IDLE: IDLE, AMBIENT: IDLE, WELCOME: ACTIVE, ACTIVE: ACTIVE,
              RECEPTIVE: REFLECTION, REFLECTION: REFLECTION},
    # a session always ends through reflection
    "end": {AMBIENT: IDLE, WELCOME: REFLECTION, ACTIVE: REFLECTION, RECEPTIVE: REFLECTION,
            REFLECTION: IDLE},
    "volume": {phase: phase for phase in Phase},
    # choosing, changing or clearing the client (session/client.py): before the welcome only,
    # so the session follows one profile from its welcome to its end
    "client": {IDLE: IDLE, AMBIENT: AMBIENT},
    # a receptive block planned by tempo, and the live controls of a block under way
    "iso": {IDLE: RECEPTIVE, AMBIENT: RECEPTIVE, WELCOME: RECEPTIVE, ACTIVE: RECEPTIVE},
    **{verb: {RECEPTIVE: RECEPTIVE} for verb in LIVE},
}
TRANSITIONS["volume_up"] = TRANSITIONS["volume_down"] = TRANSITIONS["volume"]

#: the session button: in each phase, the command `next` gives
NEXT_VERB: dict[Phase, str] = {IDLE: "ambient", AMBIENT: "welcome", WELCOME: "active",
                               ACTIVE: "receptive", RECEPTIVE: "reflection",
                               REFLECTION: "end"}
TRANSITIONS["next"] = {phase: TRANSITIONS[verb][phase] for phase, verb in NEXT_VERB.items()}

#: what the machinery does by itself
TIMER = {RECEPTIVE: REFLECTION, REFLECTION: IDLE}   # the phase's countdown runs out
SONG_ENDS = {WELCOME: ACTIVE}                        # the welcome song has played

#: the refusal when a command asks for the phase the room is already in
ALREADY = {
    AMBIENT: "the ambient bed is already playing",
    WELCOME: "the welcome song is already playing",
    ACTIVE: "already in active work",
    RECEPTIVE: "a listening block is already running",
    REFLECTION: "reflection is already running",
}
NOTHING_TO_END = "nothing to end, the room is idle"


def after(verb: str, phase: Phase) -> Phase:
    """The phase `verb` leads to from `phase` (KeyError: it is refused there)."""
    return TRANSITIONS[verb][phase]


def possible(phase: Phase) -> tuple[str, ...]:
    """The verbs the room accepts in `phase`, in the table's order."""
    return tuple(verb for verb, row in TRANSITIONS.items() if phase in row)


def refusal(verb: str, phase: Phase) -> Optional[str]:
    """Why `verb` is refused in `phase`, or None when the table allows it."""
    row = TRANSITIONS[verb]
    if phase in row:
        return None
    if verb == phase:
        return f"{verb}: {ALREADY[phase]}"
    if verb == "end" and phase == IDLE:
        return f"end: {NOTHING_TO_END}"
    allowed = ", ".join(p for p in PHASES if p in row)
    return f"{verb}: not possible during {phase} (possible during {allowed})"
