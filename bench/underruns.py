"""Underruns on the Pi-like ALSA sink with both cores busy, per device buffer.

Run:  .venv/bin/python -m bench.underruns [--seconds 20]
For each buffer the rig offers (the stand-in for the appliance's own dmix buffer on a Pi's
card), the appliance plays a steady tone while `stress-ng --cpu 2` keeps both cores busy,
with a volume change every second; the recording is cut into 5 ms windows and every window
more than 3 dB below the steady level counts as a gap (an underrun: the card got zeros).
The same without stress-ng for comparison. Figures from one run; the machine may be busy.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import Room, write_config, write_test_tones  # noqa: E402
from tests.sinks import RIG_BUFFERS, RIG_PERIOD_FRAMES, PipeWireRig, Recorder  # noqa: E402

WINDOW_S = 0.005


def gaps(rec, start, end) -> int:
    levels = [db for _, db in rec.levels(start, end, WINDOW_S)]
    steady = float(np.median(levels))
    return sum(1 for db in levels if db < steady - 3.0)


def play(rig, tones, folder, frames, seconds, loaded) -> int:
    room = Room(write_config(folder / f"room-{frames}-{loaded}", tones, fmt="ogg",
                             audio={**rig.audio_config(frames), "ambient_level": 50}))
    stress = (subprocess.Popen(["stress-ng", "--cpu", "2", "--timeout", f"{seconds + 5}s"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              if loaded else None)
    try:
        with room, Recorder(rig) as rec:
            start = room.send("ambient") + 1.0
            for i in range(int(seconds)):
                time.sleep(1.0)
                room.send("volume", level=50 - 2 * (i % 2))
            end = time.monotonic()
    finally:
        if stress:
            stress.terminate()
            stress.wait()
    return gaps(rec.take(), start, end)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rig = PipeWireRig(folder / "rig").start()
        os.environ.update(rig.env)
        tones = folder / "tones"
        tones.mkdir()
        write_test_tones(tones, formats=("ogg",))
        try:
            print(f"underruns: {args.seconds:g} s of a steady tone per run, gaps of 5 ms "
                  f"(period {RIG_PERIOD_FRAMES} frames)")
            for frames in RIG_BUFFERS:
                idle = play(rig, tones, folder, frames, args.seconds, False)
                busy = play(rig, tones, folder, frames, args.seconds, True)
                print(f"  buffer {frames} frames ({1000 * frames / 48000:.0f} ms): "
                      f"idle {idle} gaps, both cores busy {busy} gaps")
        finally:
            rig.stop()


if __name__ == "__main__":
    main()
