"""Core benchmark: command -> first sound at the sink, beside raw libVLC; idle cost; start-up.

Run:  .venv/bin/python -m bench.core [--trials 25] [--idle-seconds 60]
Prints figures from one run. Nothing here is a test: the machine may be busy.

- command -> sound: timed from the moment the control socket hands the command to the daemon
  (in-process, stamped in ControlSocket.answer) to the first 1 ms window where the welcome
  tone is above -60 dBFS at the PulseAudio null sink.
- raw libVLC play(): a player with its media already set, play() -> first sound, same sink,
  same recorder, same run.
- idle: the daemon as a process, idle, CPU % of one core and RSS over the idle period.
- ready: process start -> "ready" printed (libVLC created, socket listening).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rig import listening_rig, pct, stamp_welcome_commands  # noqa: E402
from tests.conftest import WELCOME_HZ, Room, write_config  # noqa: E402
from tests.sinks import Recorder  # noqa: E402


def onsets(recorder, stamps, freq):
    rec = recorder.take()
    out = []
    for t in stamps:
        onset = rec.onset(freq, after=t - 0.002, width=0.001)
        if onset is not None and onset - t < 1.0:
            out.append((onset - t) * 1000)
    return out


def bench_commands(pulse, tones, folder, trials):
    room = Room(write_config(folder / "room", tones, audio={"fade_in_s": 0.3, "quiet_s": 0.2}))
    with room, Recorder(pulse) as rec:
        stamps = stamp_welcome_commands(room.daemon.control)
        time.sleep(0.5)
        for _ in range(trials):
            room.send("welcome")
            time.sleep(0.25)
            room.send("quiet")
            room.wait_for(lambda s: s["channels"]["foreground"]["state"] == "idle", 3)
            time.sleep(0.25)
        return onsets(rec, stamps, WELCOME_HZ)


def bench_raw_vlc(pulse, tones, trials):
    import vlc
    inst = vlc.Instance(["--no-video", "--quiet", "--aout=pulse", "--file-caching=100"])
    time.sleep(2.5)  # give libVLC the head start the appliance has by starting early
    stamps = []
    with Recorder(pulse) as rec:
        for _ in range(trials):
            player = inst.media_player_new()
            player.audio_set_volume(60)
            player.set_media(inst.media_new_path(str(tones / "welcome.wav")))
            time.sleep(0.1)
            stamps.append(time.monotonic())
            player.play()
            time.sleep(0.3)
            player.stop()
            player.release()
            time.sleep(0.2)
        result = onsets(rec, stamps, WELCOME_HZ)
    inst.release()
    return result


def bench_process(config, env, idle_s):
    ready = []
    for _ in range(5):
        t = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "appliance", "run", "--config",
                                 str(config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, env=env)
        proc.stdout.readline()
        ready.append(time.monotonic() - t)
        if len(ready) < 5:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()
    time.sleep(2)
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu():
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks
    c0, t0 = cpu(), time.monotonic()
    time.sleep(idle_s)
    c1, t1 = cpu(), time.monotonic()
    rss_kb = next(int(line.split()[1]) for line in
                  Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                  if line.startswith("VmRSS"))
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()
    return ready, 100 * (c1 - c0) / (t1 - t0), rss_kb / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=25)
    ap.add_argument("--idle-seconds", type=float, default=60)
    args = ap.parse_args()
    with listening_rig() as (pulse, tones, folder):
        cmd = bench_commands(pulse, tones, folder, args.trials)
        raw = bench_raw_vlc(pulse, tones, args.trials)
        ready, cpu, rss = bench_process(write_config(folder / "proc", tones),
                                        dict(os.environ), args.idle_seconds)
    p50, p95 = statistics.median(cmd), pct(cmd, 95)
    r50, r95 = statistics.median(raw), pct(raw, 95)
    print(f"command -> first sound at the sink ({len(cmd)} trials): "
          f"p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"raw libVLC play() on a pre-loaded player ({len(raw)} trials): "
          f"p50 {r50:.1f} ms, p95 {r95:.1f} ms")
    print(f"ratio appliance / raw libVLC: p50 {p50 / r50:.2f}, p95 {p95 / r95:.2f}")
    print(f"start -> ready: median {statistics.median(ready):.2f} s, "
          f"max {max(ready):.2f} s (5 starts)")
    print(f"idle over {args.idle_seconds:g} s: CPU {cpu:.2f} % of one core, RSS {rss:.1f} MB")


if __name__ == "__main__":
    main()
