"""Core benchmark on both paths: command -> first sound and volume change -> heard, beside raw
libVLC in the same run; then the daemon's idle cost and start-up.

Run:  .venv/bin/python -m bench.core [--trials 25] [--idle-seconds 60]
Prints figures from one run. Nothing here is a test: the machine may be busy.

Paths: PulseAudio's null sink, and the Pi-like ALSA sink (libVLC on ALSA through the cap
stage into a 32 ms buffer; tests/sinks.py). On each:
- welcome -> sound: from the control socket handing {"verb": "welcome"} to the daemon
  (stamped in-process) to the first 1 ms window where the welcome tone is above -60 dBFS. The
  song waits pre-rolled, so this is a resume.
- raw libVLC, paused resume: a player opened with :start-paused, play() -> first sound.
- raw libVLC, play(): a player with its media set, play() -> first sound.
- volume -> heard: the appliance playing the welcome song steadily, `volume` sent -> the
  first 5 ms window 1.5 dB away from the level before; raw: audio_set_volume() on a player
  -> the same.
A sound is timed by when the recorder received the chunk that holds it: never early, late by
at most a chunk (5 ms through PulseAudio, one 21 ms graph cycle on the rig).
- idle: the daemon as a process (PulseAudio path), CPU % of one core and RSS over the idle
  period; ready: process start -> "ready" printed.
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

from bench.rig import both_sinks, pct, stamp_welcome_commands  # noqa: E402
from tests.conftest import WELCOME_HZ, Room, write_config  # noqa: E402
from tests.sinks import Recorder  # noqa: E402
from tests.sound import rms_db  # noqa: E402

PERIOD_MS = 512 / 48  # the Pi-like device's period: 10.7 ms


def onset_ms(rec, stamp, freq=WELCOME_HZ):
    onset = rec.onset(freq, after=stamp - 0.002, width=0.001)
    return None if onset is None or onset - stamp > 1.0 else (onset - stamp) * 1000


def change_ms(rec, stamp, by_db=1.5, width=0.005):
    """When the level first moved `by_db` away from where it was just before `stamp`."""
    before = rms_db(rec.slice(stamp - 0.1, stamp))
    i, step = rec.index(stamp), int(width * 48000)
    while i + step <= len(rec.x):
        if abs(rms_db(rec.x[i:i + step]) - before) >= by_db:
            return (rec.heard_by(i + step - 1) - stamp) * 1000
        i += step
    return None


def bench_room(sink, tones, folder, trials):
    """(welcome -> sound, volume -> heard) of the appliance on `sink`."""
    room = Room(write_config(folder / f"room-{sink.name}", tones, fmt="ogg",
                             audio={**sink.audio_config(), "fade_in_s": 0.3, "quiet_s": 0.2}))
    welcome, volume = [], []
    with room:
        stamps = stamp_welcome_commands(room.daemon.control)
        time.sleep(1.0)
        for _ in range(trials):
            if room.audio.preroll.enabled:
                room.wait_for(lambda s: room.audio.preroll.ready, 5, "the pre-roll")
            with Recorder(sink) as rec:
                room.send("welcome")
                time.sleep(0.3)
            room.send("quiet")
            room.wait_for(lambda s: s["channels"]["foreground"]["state"] == "idle", 3)
            welcome.append(onset_ms(rec.take(), stamps[-1]))
        room.send("volume", level=70)
        for i in range(trials):
            if i % 8 == 0:
                room.send("quiet")
                room.wait_for(lambda s: s["phase"] == "active", 3)
                room.send("welcome")
                time.sleep(1.0)
            with Recorder(sink) as rec:
                time.sleep(0.3)
                # 20 dB in the 0.3 s glide: its first step (2.7 dB) is heard as the change
                sent = room.send("volume", level=30 if i % 2 == 0 else 70)
                time.sleep(0.3)
            volume.append(change_ms(rec.take(), sent))
    return [x for x in welcome if x is not None], [x for x in volume if x is not None]


def bench_raw(sink, tones, folder, trials):
    """(paused resume, play(), volume) of a bare libVLC on the same output."""
    import vlc

    from appliance.audio.alsa import install_cap_stage
    args = ["--no-video", "--quiet", "--file-caching=100"]
    if sink.name == "alsa":
        args += ["--aout=alsa", "--alsa-audio-device="
                 + install_cap_stage(folder / "raw-alsa", sink.audio_config()["alsa_device"],
                                     -16.0)]
    else:
        args += ["--aout=pulse"]
    inst = vlc.Instance(args)
    time.sleep(2.5)  # the head start the appliance has by creating libVLC at start-up
    song = str(tones / "welcome.ogg")
    resumed, played, volume = [], [], []

    def player(paused=False, vol=60, path=song):
        p = inst.media_player_new()
        p.audio_set_volume(vol)
        media = inst.media_new_path(path)
        if paused:
            media.add_option(":start-paused")
        p.set_media(media)
        return p
    for _ in range(trials):
        for out, paused in ((resumed, True), (played, False)):
            p = player(paused)
            if paused:
                p.play()
                deadline = time.monotonic() + 3
                while p.get_state() != vlc.State.Paused and time.monotonic() < deadline:
                    time.sleep(0.005)
            time.sleep(0.2)
            with Recorder(sink) as rec:
                stamp = time.monotonic()
                p.play()
                time.sleep(0.3)
            p.stop()
            p.release()
            out.append(onset_ms(rec.take(), stamp))
    p = player(vol=72, path=str(tones / "ambient.ogg"))  # 30 s: long enough for every trial
    p.play()
    time.sleep(1.0)
    for i in range(trials):
        with Recorder(sink) as rec:
            time.sleep(0.3)
            stamp = time.monotonic()
            p.audio_set_volume(58 if i % 2 == 0 else 72)
            time.sleep(0.3)
        volume.append(change_ms(rec.take(), stamp))
    p.stop()
    p.release()
    inst.release()
    return tuple([x for x in xs if x is not None] for xs in (resumed, played, volume))


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


def line(name, values):
    return (f"  {name:<36} p50 {statistics.median(values):6.1f} ms, "
            f"p95 {pct(values, 95):6.1f} ms ({len(values)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=25)
    ap.add_argument("--idle-seconds", type=float, default=60)
    args = ap.parse_args()
    with both_sinks() as (sinks, tones, folder):
        for sink in sinks:
            welcome, volume = bench_room(sink, tones, folder, args.trials)
            resumed, played, raw_volume = bench_raw(sink, tones, folder, args.trials)
            print(f"{sink.name}:")
            print(line("welcome command -> first sound", welcome))
            print(line("raw libVLC paused resume -> sound", resumed))
            print(line("raw libVLC play() -> sound", played))
            print(line("volume command -> change heard", volume))
            print(line("raw libVLC audio_set_volume -> heard", raw_volume))
            w95, r95 = pct(welcome, 95), pct(resumed, 95)
            print(f"  welcome p95 / raw paused resume p95: {w95 / r95:.2f}; "
                  f"difference {w95 - r95:+.1f} ms (a device period: {PERIOD_MS:.1f} ms)")
        ready, cpu, rss = bench_process(write_config(folder / "proc", tones),
                                        dict(os.environ), args.idle_seconds)
    print(f"start -> ready: median {statistics.median(ready):.2f} s, "
          f"max {max(ready):.2f} s (5 starts)")
    print(f"idle over {args.idle_seconds:g} s: CPU {cpu:.2f} % of one core, RSS {rss:.1f} MB")


if __name__ == "__main__":
    main()
