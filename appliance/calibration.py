"""Loudness in the room: one reading of a sound-level meter turns levels into dB SPL.

`appliance calibrate` plays pink noise at the matched-loudness reference (-18 LUFS, as every
analysed track is played with audio.normalise) at a known level through the room's path; the
therapist enters what a phone's sound-level meter showed. From that one pair (level, dB SPL)
every level is a dB SPL: a level step is 0.5 dB (levels.py), so the room at level L plays a
matched track at about spl + (L - level) / 2 dB SPL. Then `audio.cap_spl` and
`audio.volume_spl` may be given in dB SPL, and the status shows the room's approximate level
(`room_spl`). Without a calibration nothing changes: those keys are ignored with a notice.

The figure is approximate: a phone's meter is good to a few dB, music is not pink noise, and
the room's loudness depends on where one sits. README: "Loudness in the room (calibration)".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .atomic import write_atomic
from .levels import DB_PER_STEP

CALIBRATION_NAME = "calibration.json"
SPL_RANGE = (30.0, 120.0)  # what a phone's meter can show in a therapy room


@dataclass(frozen=True)
class Calibration:
    level: float  # the room level the noise was played at (0-100)
    spl: float    # what the meter read, dB SPL (A-weighted, as phone meters show)

    def spl_at(self, level: float) -> Optional[float]:
        """About how loud a matched track is in the room at `level` (None: silent)."""
        if level <= 0:
            return None
        return self.spl + (level - self.level) * DB_PER_STEP

    def level_for(self, spl: float) -> float:
        """The level (1-100) at which a matched track is about `spl` dB SPL."""
        return min(100.0, max(1.0, self.level + (spl - self.spl) / DB_PER_STEP))


def spl_problem(value: float) -> Optional[str]:
    low, high = SPL_RANGE
    if not low <= value <= high:
        return f"must be between {low:g} and {high:g} dB SPL, not {value:g}"
    return None


def load_calibration(state_dir: Path) -> tuple[Optional[Calibration], Optional[str]]:
    """(the calibration or None, a one-line problem with the file or None)."""
    path = Path(state_dir) / CALIBRATION_NAME
    try:
        data = json.loads(path.read_bytes())
        calibration = Calibration(level=float(data["level"]), spl=float(data["spl"]))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{path}: not a calibration ({exc}); run appliance calibrate again"
    if not 0 < calibration.level <= 100 or spl_problem(calibration.spl):
        return None, (f"{path}: not a calibration (values out of range); run appliance "
                      "calibrate again")
    return calibration, None


def save_calibration(state_dir: Path, calibration: Calibration):
    write_atomic(Path(state_dir) / CALIBRATION_NAME,
                 json.dumps({"level": calibration.level, "spl": calibration.spl}).encode())


def levels_from_spl(settings: dict, given: set, cap_spl: Optional[float],
                    volume_spl: Optional[float], state_dir: Path) -> tuple[dict, list]:
    """Settings values with audio.cap_spl / volume_spl turned into levels, and the notices
    (one line each) for keys that cannot be used yet. A cap set both ways: the lower wins."""
    if cap_spl is None and volume_spl is None:
        return settings, []
    calibration, problem = load_calibration(state_dir)
    if calibration is None:
        keys = " and ".join(k for k, v in (("audio.cap_spl", cap_spl),
                                           ("audio.volume_spl", volume_spl)) if v is not None)
        why = problem or "the room is not calibrated yet (appliance calibrate)"
        return settings, [f"{keys}: ignored, {why}; the levels are used as they are"]
    out = dict(settings)
    if cap_spl is not None:
        cap = calibration.level_for(cap_spl)
        out["cap"] = min(cap, settings["cap"]) if "audio.cap" in given else cap
    if volume_spl is not None:
        out["volume"] = calibration.level_for(volume_spl)
    out["volume"] = min(out["volume"], out["cap"])
    out["ambient_level"] = min(out["ambient_level"], out["cap"])
    return out, []
