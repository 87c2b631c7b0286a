"""`appliance audio devices [--json | --pick]` and `appliance audio test`: for the IT person
setting up a room's sound."""
from __future__ import annotations

import argparse
import array
import json
import math
import sys
import tempfile
import time
import wave
from pathlib import Path

TEST_TONE_HZ = 440.0
TEST_TONE_S = 2.5
EXIT_NO_CARD = 1


def register(sub, common):
    audio = sub.add_parser("audio", help="the sound cards, and a test tone through the room")
    verbs = audio.add_subparsers(dest="audio_verb", required=True, metavar="VERB")
    s = verbs.add_parser("devices", help="list the sound cards and the name to put in config")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--json", action="store_true")
    how.add_argument("--pick", action="store_true",
                     help="print only the best card's device (USB or HAT, then jack)")
    s.set_defaults(func=cmd_devices)
    s = verbs.add_parser("test", parents=[common],
                         help="play a short, quiet tone through the room's path and cap")
    s.add_argument("--level", type=_level, default=40.0, help="0-100, default 40 (quiet)")
    s.set_defaults(func=cmd_test)
    from .calibrate import register as register_calibrate
    register_calibrate(sub, common, _level)


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--level must be a number, not {text!r}") from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"--level must be more than 0 and at most 100, "
                                         f"not {text}")
    return value


def cmd_devices(args) -> int:
    from .devices import default_sound_server, list_cards, pick_device
    cards = list_cards()
    best = pick_device(cards)
    if args.pick:
        if best is None:
            print("no usable sound card (`appliance audio devices` lists what there is)",
                  file=sys.stderr)
            return EXIT_NO_CARD
        print(best)
        return 0
    if args.json:
        print(json.dumps({"cards": [dict(index=c.index, id=c.id, kind=c.kind, driver=c.driver,
                                         name=c.name, device=c.device, usable=c.usable)
                                    for c in cards], "best": best}, indent=2))
        return 0
    if not cards:
        print("no sound cards (no /proc/asound/cards: is the sound driver loaded?)")
    else:
        print(f"{'card':>4}  {'kind':<5} {'device (audio.alsa_device)':<30} name")
        for c in cards:
            note = "" if c.usable else "  (not usable: HDMI plays one stream at a time)"
            print(f"{c.index:>4}  {c.kind:<5} {c.device:<30} {c.name}{note}")
    if best:
        print(f'\nbest: {best}\nin config.toml: [audio] output = "alsa", alsa_device = "{best}"')
    server = default_sound_server()
    if server:
        print(f"\nnote: ALSA's 'default' goes to {server} here, which a system service cannot "
              "reach: name a card instead")
    return 0 if best else EXIT_NO_CARD


def _write_test_tone(path: Path, rate: int = 48000):
    step = 2 * math.pi * TEST_TONE_HZ / rate
    samples = array.array("h", (int(32767 * math.sin(step * i))
                                for i in range(int(TEST_TONE_S * rate))))
    write_mono_wav(path, samples, rate)


def write_mono_wav(path: Path, samples: array.array, rate: int = 48000):
    """16-bit mono PCM samples as a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def cmd_test(args) -> int:
    from ..config import load_config
    from ..levels import TRACK_HEADROOM_DB, level_to_db
    cfg = load_config(args.config, check_media=False)
    level = min(args.level, cfg.settings.cap)
    with tempfile.TemporaryDirectory(prefix="appliance-audio-test-") as tmp:
        tone = Path(tmp) / "test-tone.wav"
        _write_test_tone(tone)
        output, problem = play_through_room(cfg, tone, level, TEST_TONE_S, Path(tmp))
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_NO_CARD
    heard = level_to_db(level) - TRACK_HEADROOM_DB
    print(f"played {TEST_TONE_S:g} s of {TEST_TONE_HZ:g} Hz at level {level:g} "
          f"({heard:.0f} dBFS) through {output}, cap {cfg.settings.cap:g}")
    return 0


def play_through_room(cfg, path: Path, level: float, seconds: float, run_dir: Path,
                      gain_db: float = 0.0, what: str = "the tone"):
    """Play `path` through open_audio, VlcAudio and the cap stage exactly as the room's music
    goes: fade in from silence, the level (plus `gain_db`), the cap, a fade out. Returns
    (the output's name, None) or (name, a one-line problem)."""
    from ..levels import level_to_db
    from ..session.model import FOREGROUND_CH, Track
    from .output import open_audio
    events = []
    audio = open_audio(cfg.audio, events.append, run_dir, level_to_db(cfg.settings.cap),
                       cfg.room_id)
    try:
        if audio.output_fault:
            return audio.output_name, f"cannot play: {audio.output_fault}"
        now = time.monotonic
        audio.play(FOREGROUND_CH, Track(str(path), path.stem), level_to_db(level), 0.5, 1,
                   0.0, now(), gain_db=gain_db)
        _run(audio, seconds=seconds - 0.8)
        audio.fade(FOREGROUND_CH, None, 0.5, now())
        _run(audio, seconds=1.0)
    finally:
        audio.close()
    failed = [e for e in events if type(e).__name__ == "TrackFailed"]
    if failed:
        return audio.output_name, f"{what} did not play: {failed[0].reason}"
    return audio.output_name, None


def _run(audio, seconds: float):
    """Drive the audio's clock as the engine would, for `seconds`."""
    end = time.monotonic() + seconds
    while (now := time.monotonic()) < end:
        wake = audio.tick(now)
        time.sleep(max(0.002, min((wake or now + 0.02) - now, 0.02)))
