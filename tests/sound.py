"""What was heard: a recording with its time line, levels per window, tones, test tracks.

The sinks that record (tests/sinks.py) hand over a Recording; a test asks it what was heard
when, how loud, and which tone.
"""
from __future__ import annotations

import bisect
import wave
from pathlib import Path

import numpy as np

from appliance.levels import TRACK_HEADROOM_DB, level_to_db

RATE = 48000


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


#: the formats the appliance plays, as clinics' libraries hold them; soundfile (libsndfile 1.2)
#: writes the compressed ones
FORMATS = ("wav", "flac", "mp3", "ogg")
_SOUNDFILE_SUBTYPES = {".flac": "PCM_16", ".mp3": "MPEG_LAYER_III", ".ogg": "VORBIS"}


def write_tone(path: Path, freq: float, seconds: float, amplitude: float = 1.0,
               fade_s: float = 0.0, rate: int = RATE, channels: int = 2):
    """A file of one pure tone (full scale by default: -3 dBFS RMS); its suffix picks the
    format (see FORMATS)."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    x = amplitude * np.sin(2 * np.pi * freq * t)
    if fade_s:
        k = int(fade_s * rate)
        x[:k] *= np.linspace(0, 1, k)
    path = Path(path)
    if path.suffix != ".wav":
        import soundfile
        soundfile.write(str(path), np.repeat(x[:, None], channels, axis=1), rate,
                        subtype=_SOUNDFILE_SUBTYPES[path.suffix])
        return path
    pcm = np.clip(x * 32767, -32767, 32767).astype("<i2")
    frames = np.repeat(pcm[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return path


FULL_SCALE_TONE_DB = -3.01  # RMS of a full-scale sine


def heard_at(level: float) -> float:
    """How loud a full-scale tone track at `level` is heard (RMS dBFS): 6 dB of headroom."""
    return FULL_SCALE_TONE_DB + level_to_db(level) - TRACK_HEADROOM_DB


def ceiling_of(cap: float) -> float:
    """The loudest a tone may be heard in any combination with the room at `cap`."""
    return FULL_SCALE_TONE_DB + level_to_db(cap)
