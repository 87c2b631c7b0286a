"""Which of the volumes sent to a libVLC player it has really applied, and when it stopped.

libVLC applies a new volume when its decoder thread hands over the next block of audio, and
only then reports it back through `audio_get_volume()`. Measured on the Pi-like ALSA sink
(32 ms buffer), the read-back follows a set after 2-3 ms for OGG, ~8 ms for MP3, 8-15 ms for
WAV and ~45 ms for FLAC (the decoder's block length); through PulseAudio after ~1 ms. Once a
file has been read to its end there is no next block: volumes sent then are never applied and
the rest of the track sounds at the last volume applied. That deck is "frozen".

A deck is judged frozen when its read-back matches none of the volumes that were current at
some moment of the last READBACK_WINDOW_S: a healthy player always reports one of those. The
judgement is made afresh on every tick, so a slow read-back can never silence a track for
good (a one-off judgement, 20 ms after a set, did: the track stayed at the level it had).
"""
from __future__ import annotations

from collections import deque
from typing import Optional

# longer than the slowest read-back seen (FLAC ~45 ms, p95 53 ms under load at a 32 ms buffer)
READBACK_WINDOW_S = 0.3


class SentVolumes:
    """The volumes sent to one player, newest last, as far back as the window needs."""

    def __init__(self, volume: int = 0, now: float = 0.0):
        self._sent: deque[tuple[float, int]] = deque([(now, volume)])

    @property
    def current(self) -> int:
        return self._sent[-1][1]

    def send(self, volume: int, now: float):
        self._sent.append((now, volume))
        self._forget(now)

    def _forget(self, now: float):
        # keep the newest volume that was already current when the window began
        while len(self._sent) > 1 and self._sent[1][0] <= now - READBACK_WINDOW_S:
            self._sent.popleft()

    def plausible(self, now: float) -> set[int]:
        """Every volume a healthy player may still report now."""
        self._forget(now)
        return {volume for _, volume in self._sent}

    def frozen(self, readback: Optional[int], now: float) -> bool:
        """True when the player reports a volume it cannot have been asked for lately: it no
        longer takes volume changes (its file has been read to the end)."""
        if readback is None or readback < 0:
            return False  # no audio output yet: nothing applied, nothing frozen
        return readback not in self.plausible(now)

    def applied(self, readback: Optional[int]) -> bool:
        """The newest volume sent has been applied."""
        return readback == self.current
