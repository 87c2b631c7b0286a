"""Synthesised, royalty-free demo tracks, so a new user hears the appliance at once.

Plain 16-bit mono WAV made with the standard library: an ambient drone, a short welcome
melody and three receptive pads that step down in tempo and brightness (the iso principle):
each has a soft low pulse at its tempo (84, 72, 60 BPM), so `appliance analyse` measures it
and `appliance iso` can plan with the demo.
"""
from __future__ import annotations

import array
import math
import wave
from pathlib import Path

RATE = 22050


def _write(path: Path, samples):
    data = array.array("h", (max(-32767, min(32767, int(s * 32767))) for s in samples))
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())
    tmp.replace(path)


def _envelope(i: int, n: int, attack: int, release: int) -> float:
    if i < attack:
        return i / attack
    if i > n - release:
        return max(0.0, (n - i) / release)
    return 1.0


def drone(seconds: float, root: float = 110.0):
    n = int(seconds * RATE)
    two_pi = 2 * math.pi
    fade = RATE * 2
    for i in range(n):
        t = i / RATE
        swell = 0.75 + 0.25 * math.sin(two_pi * 0.05 * t)
        s = (math.sin(two_pi * root * t) + 0.5 * math.sin(two_pi * root * 1.5 * t)
             + 0.25 * math.sin(two_pi * root * 2.0 * t + math.sin(two_pi * 0.1 * t)))
        yield 0.25 * swell * s * _envelope(i, n, fade, fade)


def melody(notes, beat_s: float):
    two_pi = 2 * math.pi
    for freq, beats in notes:
        n = int(beats * beat_s * RATE)
        for i in range(n):
            t = i / RATE
            env = math.exp(-2.5 * t) * min(1.0, i / 200)
            yield 0.4 * env * (math.sin(two_pi * freq * t) + 0.3 * math.sin(two_pi * 2 * freq * t))


def pad(seconds: float, chord, tremolo_hz: float, bpm: float):
    """A chord with a slow tremolo over a soft low pulse (a heartbeat-like thump) at `bpm`."""
    n = int(seconds * RATE)
    two_pi = 2 * math.pi
    beat_s = 60.0 / bpm
    for i in range(n):
        t = i / RATE
        s = sum(math.sin(two_pi * f * t) for f in chord) / len(chord)
        since = t % beat_s
        thump = math.exp(-since / 0.06) * math.sin(two_pi * 60.0 * since)
        yield (0.3 * s * (0.8 + 0.2 * math.sin(two_pi * tremolo_hz * t)) + 0.3 * thump) * \
            _envelope(i, n, RATE * 3, RATE * 3)


C4, D4, E4, G4, A4, C5 = 261.63, 293.66, 329.63, 392.0, 440.0, 523.25

TRACKS = {
    "ambient-drone.wav": lambda: drone(40),
    "welcome-song.wav": lambda: melody([(C4, 1), (E4, 1), (G4, 1), (C5, 2), (A4, 1), (G4, 1),
                                        (E4, 1), (C4, 3)], 0.45),
    "receptive-1-warm.wav": lambda: pad(30, (220.0, 277.18, 329.63), 0.5, 84),
    "receptive-2-slower.wav": lambda: pad(30, (196.0, 246.94, 293.66), 0.3, 72),
    "receptive-3-resting.wav": lambda: pad(30, (174.61, 220.0, 261.63), 0.15, 60),
}


def make_demo_media(folder: Path, overwrite: bool = False) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, make in TRACKS.items():
        path = folder / name
        if overwrite or not path.exists():
            _write(path, make())
            made.append(path)
    return made
