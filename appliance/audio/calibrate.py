"""`appliance calibrate [--level N] [--spl DB]`: pink noise through the room's path at a known
level, then what a phone's sound-level meter showed; saved in the state folder
(appliance/calibration.py says what follows from it)."""
from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from array import array
from pathlib import Path

CALIBRATE_LEVEL = 60.0   # moderate: well under any cap a therapist would set
CALIBRATE_S = 15.0       # long enough to read a meter that averages over a second or so
NOISE_RATE = 48000
NOISE_RMS_DBFS = -21.0   # about -18 LUFS already: the gain that matches it stays small
EXIT_NOT_CALIBRATED = 1


def register(sub, common, level_type):
    s = sub.add_parser("calibrate", parents=[common],
                       help="pink noise through the room; enter what a sound-level meter shows")
    s.add_argument("--level", type=level_type, default=CALIBRATE_LEVEL,
                   help=f"0-100, default {CALIBRATE_LEVEL:g} (never above the cap)")
    s.add_argument("--spl", type=_spl, default=None,
                   help="the meter's reading in dB SPL (default: asked after the noise)")
    s.add_argument("--seconds", type=_seconds, default=CALIBRATE_S, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_calibrate)


def _spl(text: str) -> float:
    from ..calibration import spl_problem
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"the reading must be a number of dB, not {text!r}") \
            from None
    problem = spl_problem(value) if math.isfinite(value) else "must be a number of dB"
    if problem:
        raise argparse.ArgumentTypeError(f"the reading {problem}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 1.5 <= value <= 120:
        raise argparse.ArgumentTypeError("--seconds must be between 1.5 and 120")
    return value


def write_pink_noise(path: Path, seconds: float, seed: int = 1):
    """Mono pink noise (Paul Kellet's filter over white noise) at NOISE_RMS_DBFS."""
    rng = random.Random(seed)
    b0 = b1 = b2 = 0.0
    raw = []
    for _ in range(int(seconds * NOISE_RATE)):
        white = rng.gauss(0.0, 1.0)
        b0 = 0.99765 * b0 + white * 0.0990460
        b1 = 0.96300 * b1 + white * 0.2965164
        b2 = 0.57000 * b2 + white * 1.0526913
        raw.append(b0 + b1 + b2 + white * 0.1848)
    rms = math.sqrt(sum(x * x for x in raw) / len(raw))
    scale = 32767 * 10 ** (NOISE_RMS_DBFS / 20) / rms
    from .cli import write_mono_wav
    write_mono_wav(path, array("h", (max(-32767, min(32767, int(x * scale))) for x in raw)),
                   NOISE_RATE)


def cmd_calibrate(args) -> int:
    from ..analysis import gain_for
    from ..analysis.measure import AnalysisFailed, loudness
    from ..calibration import Calibration, save_calibration
    from ..config import load_config
    from ..levels import level_to_db
    from .cli import play_through_room
    cfg = load_config(args.config, check_media=False)
    level = min(args.level, cfg.settings.cap)
    with tempfile.TemporaryDirectory(prefix="appliance-calibrate-") as tmp:
        noise = Path(tmp) / "pink-noise.wav"
        write_pink_noise(noise, args.seconds)
        try:
            lufs, _ = loudness(str(noise))
        except AnalysisFailed as exc:
            print(f"calibrate: {exc}", file=sys.stderr)
            return EXIT_NOT_CALIBRATED
        # heard as a matched track is (audio.normalise), never past the cap
        gain = min(gain_for(lufs), level_to_db(cfg.settings.cap) - level_to_db(level))
        print(f"playing pink noise at level {level:g} for {args.seconds:g} s: hold the phone's "
              "sound-level meter (dB A) where the client sits", flush=True)
        output, problem = play_through_room(cfg, noise, level, args.seconds, Path(tmp), gain,
                                            what="the noise")
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_NOT_CALIBRATED
    spl = args.spl if args.spl is not None else _ask_reading()
    if spl is None:
        print("not calibrated: nothing changed", file=sys.stderr)
        return EXIT_NOT_CALIBRATED
    calibration = Calibration(level=level, spl=spl)
    try:
        save_calibration(cfg.state_dir, calibration)
    except OSError as exc:
        print(f"calibrate: {cfg.state_dir}: cannot save ({exc.strerror or exc})",
              file=sys.stderr)
        return EXIT_NOT_CALIBRATED
    cap = cfg.settings.cap
    print(f"calibrated through {output}: level {level:g} is about {spl:g} dB SPL in this room; "
          f"the cap ({cap:g}) about {calibration.spl_at(cap):.0f} dB SPL. audio.cap_spl and "
          "audio.volume_spl may now be used (restart the appliance)")
    return 0


def _ask_reading():
    """The meter's reading from stdin (None: nothing entered); asks again on a typo."""
    for _ in range(3):
        print("what did the meter show, in dB? (Enter: cancel) ", end="", file=sys.stderr,
              flush=True)
        line = sys.stdin.readline().strip()
        if not line:
            return None
        try:
            return _spl(line)
        except argparse.ArgumentTypeError as exc:
            print(f"calibrate: {exc}", file=sys.stderr)
    return None
