"""GPIO benchmark: pin edge -> first sound at the sink, beside command -> first sound.

Run:  .venv/bin/python -m bench.gpio_latency [--trials 25]
Prints figures from one run (the machine may be busy: nothing here is a test).

Three kinds of trial, interleaved so they share the machine's state:
- edge (press-only button): gpiozero MockPin.drive_low() on a button whose on_press is
  "welcome" -> the first 1 ms window where the welcome tone is above -60 dBFS at the
  PulseAudio null sink. The whole path: pin callback, the adapter's inbox and thread,
  debounce, engine, libVLC.
- release (a button with a hold action, like the default welcome button): drive_high()
  after a 0.2 s press -> first sound. Such a button acts on release by design.
- command: the control socket receiving {"verb": "welcome"} (stamped in-process, as
  bench/core.py does) -> first sound.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rig import listening_rig, pct, stamp_welcome_commands  # noqa: E402
from tests.conftest import WELCOME_HZ, Room, write_config  # noqa: E402
from tests.sinks import Recorder  # noqa: E402

GPIO_TOML = """
[gpio]
pin_factory = "mock"
welcome_repeat_s = 0
[[buttons]]
name = "door"
pin = 22
on_press = "welcome"
[[buttons]]
name = "welcome"
pin = 17
on_press = "welcome"
on_hold = "quiet"
hold_s = 2.0
"""


def run(pulse, tones, folder, trials):
    room = Room(write_config(folder / "room", tones, extra=GPIO_TOML,
                             audio={"fade_in_s": 0.3, "quiet_s": 0.2}))
    out = {"edge": [], "release": [], "command": []}
    with room:
        adapter = room.daemon.adapters["gpio"]
        door, welcome = adapter.factory.pin("GPIO22"), adapter.factory.pin("GPIO17")
        command_sent = stamp_welcome_commands(room.daemon.control)
        time.sleep(0.5)
        for _ in range(trials):
            # a short recording per round: over a minute or more the recorder's mapping of
            # samples to the monotonic clock drifts by milliseconds
            with Recorder(pulse) as rec:
                stamps = {}
                for kind in ("edge", "release", "command"):
                    if kind == "edge":
                        stamps[kind] = time.monotonic()
                        door.drive_low()
                        time.sleep(0.1)
                        door.drive_high()
                    elif kind == "release":
                        welcome.drive_low()
                        time.sleep(0.2)
                        stamps[kind] = time.monotonic()
                        welcome.drive_high()
                    else:
                        room.send("welcome")
                        stamps[kind] = command_sent[-1]
                    time.sleep(0.25)
                    room.send("quiet")
                    room.wait_for(lambda s: s["channels"]["foreground"]["state"] == "idle", 3)
                    time.sleep(0.35)  # past the buttons' repeat_s, and silence again
                recording = rec.take()
            for kind, t in stamps.items():
                onset = recording.onset(WELCOME_HZ, after=t - 0.002, width=0.001)
                if onset is not None and onset - t < 1.0:
                    out[kind].append((onset - t) * 1000)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=25)
    args = ap.parse_args()
    with listening_rig() as (pulse, tones, folder):
        results = run(pulse, tones, folder, args.trials)
    labels = {"edge": "pin edge (press-only button) -> first sound",
              "release": "release (button with a hold action) -> first sound",
              "command": "command (control socket) -> first sound"}
    for kind, label in labels.items():
        ms = results[kind]
        print(f"{label} ({len(ms)} of {args.trials} trials): p50 {statistics.median(ms):.1f} ms,"
              f" p95 {pct(ms, 95):.1f} ms, max {max(ms):.1f} ms")
    edge, cmd = results["edge"], results["command"]
    print(f"ratio edge / command: p50 {statistics.median(edge) / statistics.median(cmd):.2f}, "
          f"p95 {pct(edge, 95) / pct(cmd, 95):.2f}")


if __name__ == "__main__":
    main()
