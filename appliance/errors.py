"""One root error for the appliance; each kind also inherits the built-in it resembles."""


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
