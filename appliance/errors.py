"""One root error for the appliance; each kind also inherits the built-in it resembles.

A command that is not carried out fails with one of four kinds (plus a dead engine). Every
adapter turns the *type* into its own answer (HTTP status, CLI exit code, MQTT cmd_result),
never the text; the text is the one line a person reads:

  kind        type             panel  CLI exit  meaning
  busy        Busy             503    1         too many commands at once, or no answer in time
  refused     Refused          409    1         the room cannot do it now; says why
  invalid     InvalidArgument  400    2         an argument is wrong; names it
  unknown     UnknownCommand   400    2         no such command
  engine      EngineFailed     503    3         the engine has failed or stopped responding
"""
from __future__ import annotations


class ApplianceError(Exception):
    """Anything the appliance reports to a person as one clear line."""


class ConfigError(ApplianceError, ValueError):
    """The config is wrong. `problems` holds every 'section.key: message' found."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class PlaylistError(ApplianceError, OSError):
    """A playlist file cannot be read."""


class ControlError(ApplianceError, OSError):
    """The daemon's control socket cannot be reached or answered garbage."""


class InvalidInput(ApplianceError, ValueError):
    """Bytes from outside that are not a well-formed request (not JSON, too deep, too long)."""


# --- why a command was not carried out -------------------------------------------------------

class CommandError(ApplianceError):
    """A command that was not carried out; `kind` travels on the wire, the type in-process."""
    kind = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Busy(CommandError):
    """Too many commands at once, or the answer did not come in time: try again."""
    kind = "busy"


class Refused(CommandError):
    """The room cannot do this now (the phase, an empty playlist ...): the room's reason."""
    kind = "refused"


class InvalidArgument(CommandError, ValueError):
    """An argument is missing, of the wrong type, out of range or not expected."""
    kind = "invalid"

    def __init__(self, message: str, argument: str | None = None):
        super().__init__(message)
        self.argument = argument  # the argument's name, when one is to blame


class UnknownCommand(CommandError, ValueError):
    """There is no such command (or the adapter that offers it is off)."""
    kind = "unknown"


class EngineFailed(CommandError):
    """The engine thread has failed or is stuck: nothing is carried out until a restart."""
    kind = "engine"


KINDS = {cls.kind: cls for cls in (Busy, Refused, InvalidArgument, UnknownCommand,
                                   EngineFailed)}


def from_kind(kind: str | None, message: str) -> CommandError:
    """The typed error a wire answer ({"kind", "error"}) stands for."""
    return KINDS.get(kind or "", Refused)(message)
