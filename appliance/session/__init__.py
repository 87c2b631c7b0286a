"""The pure session domain: phases, commands, effects and step()."""
from . import commands, phases
from .core import (Outcome, new_state, next_wakeup, next_welcome, now_playing, remaining_s,
                   step)
from .model import (ACTIVE, AMBIENT, AMBIENT_CH, CHANNELS, FOREGROUND_CH, IDLE, PHASES,
                    RECEPTIVE, REFLECTION, WELCOME, Library, Phase, Settings, State, Track,
                    find_track)

__all__ = ["commands", "phases", "Outcome", "find_track", "new_state", "next_wakeup",
           "next_welcome", "now_playing", "remaining_s", "step", "ACTIVE", "AMBIENT",
           "AMBIENT_CH", "CHANNELS", "FOREGROUND_CH", "IDLE", "PHASES", "RECEPTIVE", "REFLECTION", "WELCOME", "Library",
           "Phase", "Settings", "State", "Track"]
