"""Watching the audio device: is the card there, can it be opened, did it come back?

libVLC gives no sign when its ALSA device goes away: on the Pi-like sink, with the sound
server stopped or its sink removed, the player kept saying "playing", its clock ran on, and
nothing was heard, also after the device came back. So the appliance looks for itself, once
a second, on a thread of its own that never touches libVLC: for a card named `hw:CARD=...`
that is listed, the listing is enough; otherwise (a card that was missing, a sound server, a
custom PCM) it opens and closes the PCM. What it finds is a fault shown in status, lights,
panel and MQTT, and the audio output (vlc_output.py) reads it on every tick.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

from .alsa import probe as open_probe
from .devices import _HW_NAME, card_of, device_problem, list_cards

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0


def device_probe(device: str, pcm: str) -> Callable[[Optional[str]], Optional[str]]:
    """probe(last problem) -> what is wrong with `device` now (None: it plays)."""

    def probe(last: Optional[str]) -> Optional[str]:
        cards = list_cards()
        problem = device_problem(device, cards)
        if problem:
            return problem
        named = _HW_NAME.match(device) is not None
        if named and cards and card_of(device, cards) is None:
            return (f"audio.alsa_device {device!r}: no such card (unplugged?); "
                    "`appliance audio devices` lists the cards")
        if named and cards and last is None:
            return None  # listed and fine before: no need to open it beside libVLC
        return open_probe(pcm, device)
    return probe


class DeviceWatch:
    """Probes the device now and then once a second; `problem` is the latest answer."""

    def __init__(self, probe: Callable[[Optional[str]], Optional[str]],
                 interval_s: float = WATCH_INTERVAL_S):
        self._probe = probe
        self.interval_s = interval_s
        self.problem: Optional[str] = probe(None)
        self._on_change: Callable[[Optional[str]], None] = lambda problem: None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self, on_change: Callable[[Optional[str]], None]):
        """Report the problem now and every change from here on to `on_change`."""
        self._on_change = on_change
        on_change(self.problem)
        self._thread = threading.Thread(target=self._run, name="audio-watch", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval_s):
            try:
                problem = self._probe(self.problem)
            except Exception as exc:  # a probe must never end the watch
                problem = f"audio device check failed: {exc}"
            if problem != self.problem:
                self.problem = problem
                if problem:
                    log.error("audio output: %s", problem)
                else:
                    log.info("audio output is back")
                self._on_change(problem)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * self.interval_s + 1)
