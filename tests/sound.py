"""Listening to the room: a private PulseAudio null sink, a recorder on its monitor, analysis.

The PulseAudio server runs in a private runtime directory, so tests never touch a user's
sound. libVLC inside the test process plays into the sink `room`; `parec` records the sink's
monitor; every recorded chunk is stamped with the monotonic clock on arrival, so a moment
in the test (a command sent) can be found in the recording.

A quiet "keeper" stream keeps the null sink in low-latency mode. Without it an idle null sink
renders in 2-second blocks, and whatever connects first (a recorder, or libVLC) hears its
first two seconds late and broken up: that, not libVLC, is what a play() soon after start
ran into on this rig.
"""
from __future__ import annotations

import bisect
import os
import shutil
import subprocess
import threading
import time
import wave
from pathlib import Path

import numpy as np

RATE = 48000
SINK = "room"


class PulseServer:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.runtime = self.root / "run"
        self.proc = None
        self.keeper = None

    @property
    def env(self) -> dict:
        return {"XDG_RUNTIME_DIR": str(self.runtime), "PULSE_RUNTIME_PATH": str(self.runtime),
                "HOME": str(self.root), "PULSE_SERVER": f"unix:{self.runtime}/native"}

    def start(self):
        if not shutil.which("pulseaudio") or not shutil.which("parec"):
            raise RuntimeError("pulseaudio and parec are needed (./setup.sh test installs them)")
        self.runtime.mkdir(parents=True, exist_ok=True)
        script = self.root / "room.pa"
        script.write_text(
            f"load-module module-null-sink sink_name={SINK} rate={RATE} channels=2 norewinds=1\n"
            f"set-default-sink {SINK}\n"
            "load-module module-native-protocol-unix\n")
        env = dict(os.environ, **self.env)
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
             "--disallow-exit", "--system=no", "--log-target=stderr", "--log-level=error"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("PulseAudio did not start")
        self.keeper = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=2",
             "--latency-msec=20", "--stream-name=keeper"],
            stdin=subprocess.PIPE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        threading.Thread(target=self._feed_silence, daemon=True).start()
        return self

    def _feed_silence(self):
        zeros = bytes(RATE // 50 * 4)  # 20 ms
        try:
            while self.keeper.poll() is None:
                self.keeper.stdin.write(zeros)
                self.keeper.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def stop(self):
        for proc in (self.keeper, self.proc):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.keeper and self.keeper.stdin:
            try:
                self.keeper.stdin.close()
            except OSError:
                pass


class Recorder:
    """Records the room sink while it runs; times in the recording are monotonic seconds."""

    def __init__(self, pulse: PulseServer):
        self.pulse = pulse
        self.proc = None
        self._chunks: list[bytes] = []
        self._stamps: list[tuple[float, int]] = []  # (arrival time, frames up to its end)
        self._frames = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def __enter__(self):
        env = dict(os.environ, **self.pulse.env)
        self.proc = subprocess.Popen(
            ["parec", "-d", f"{SINK}.monitor", "--raw", "--format=s16le", f"--rate={RATE}",
             "--channels=2", "--latency-msec=10"], env=env, stdout=subprocess.PIPE)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # recording, and past the recorder's own start-up
            with self._lock:
                if self._frames > RATE // 5:
                    break
            time.sleep(0.01)
        else:
            raise RuntimeError("recorder got no sound data")
        return self

    def _read(self):
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                return
            now = time.monotonic()
            with self._lock:
                self._chunks.append(data)
                self._bytes += len(data)
                self._frames = self._bytes // 4
                self._stamps.append((now, self._frames))

    def __exit__(self, *exc):
        time.sleep(0.05)
        self.proc.terminate()
        self.proc.wait(5)
        self.proc.stdout.close()

    def take(self) -> "Recording":
        with self._lock:
            raw = b"".join(self._chunks)
            stamps = list(self._stamps)
        frames = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<i2").reshape(-1, 2)
        left = frames[:, 0].astype(np.float64) / 32768.0
        # parec delivers 5 ms chunks as the sink mixes them, so frame 0 was mixed about
        # (arrival - frames up to the chunk's end) ago; the earliest such value places the
        # windows used for levels. Onsets use each chunk's own arrival (heard_by).
        t0 = min(t - end / RATE for t, end in stamps)
        return Recording(left, t0, stamps)


class Recording:
    def __init__(self, samples: np.ndarray, t0: float, stamps=()):
        self.x = samples
        self.t0 = t0  # monotonic time of sample 0, for windows and levels
        self._arrivals = [t for t, _ in stamps]
        self._ends = [end for _, end in stamps]

    def heard_by(self, index: int) -> float:
        """When the chunk holding sample `index` reached the recorder. The sink had mixed the
        sample by then: an onset timed this way is never early, and late by at most a chunk
        (5 ms). Used for latencies; the linear time base is for levels."""
        k = bisect.bisect_right(self._ends, index)
        return self._arrivals[k] if k < len(self._arrivals) else self.time(index)

    def index(self, t: float) -> int:
        return max(0, min(len(self.x), int(round((t - self.t0) * RATE))))

    def time(self, index: int) -> float:
        return self.t0 + index / RATE

    def slice(self, start: float, end: float) -> np.ndarray:
        return self.x[self.index(start): self.index(end)]

    @property
    def end(self) -> float:
        return self.time(len(self.x))

    def windows(self, start: float, end: float, width: float = 0.1):
        """(window start time, samples) for consecutive windows between start and end."""
        step = int(width * RATE)
        i, stop = self.index(start), self.index(end)
        while i + step <= stop:
            yield self.time(i), self.x[i: i + step]
            i += step

    def levels(self, start, end, width=0.1):
        return [(t, rms_db(w)) for t, w in self.windows(start, end, width)]

    def tone_levels(self, freq, start, end, width=0.1):
        return [(t, tone_db(w, freq)) for t, w in self.windows(start, end, width)]

    def onset(self, freq: float, after: float, threshold_db: float = -60.0,
              width: float = 0.01):
        """First time after `after` where `freq` is heard above threshold (None if never)."""
        step = int(width * RATE)
        for t, w in self.windows(after - 0.05, self.end, width):
            if tone_db(w, freq) > threshold_db:
                heard = self.heard_by(self.index(t) + step - 1)
                if heard >= after:
                    return heard
        return None


def rms_db(x: np.ndarray) -> float:
    if len(x) == 0:
        return -200.0
    return 20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-10)


def tone_db(x: np.ndarray, freq: float) -> float:
    """RMS level (dBFS) of the sine at `freq` in `x` (Hann-windowed DFT at that frequency)."""
    n = len(x)
    if n == 0:
        return -200.0
    win = np.hanning(n)
    t = np.arange(n) / RATE
    c = np.sum(x * win * np.exp(-2j * np.pi * freq * t))
    amplitude = 2 * abs(c) / np.sum(win)
    return 20 * np.log10(amplitude / np.sqrt(2) + 1e-10)


def write_tone(path: Path, freq: float, seconds: float, amplitude: float = 1.0,
               fade_s: float = 0.0):
    """A stereo 48 kHz WAV of one pure tone (full scale by default: -3 dBFS RMS)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    x = amplitude * np.sin(2 * np.pi * freq * t)
    if fade_s:
        k = int(fade_s * RATE)
        x[:k] *= np.linspace(0, 1, k)
    pcm = np.clip(x * 32767, -32767, 32767).astype("<i2")
    stereo = np.repeat(pcm[:, None], 2, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(stereo.tobytes())
    return path


FULL_SCALE_TONE_DB = -3.01  # RMS of a full-scale sine
