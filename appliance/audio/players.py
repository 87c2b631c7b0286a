"""libVLC media players: made fresh and muted, watched, pre-rolled, and retired off the engine
thread.

- A player honours a volume set before play() only if it has never played: once it has stopped
  or reached its end it drops its audio output, a volume set then is lost, and the next play()
  starts at 100 % (python-vlc issue 220). So every track gets a fresh, muted player.
- libVLC's stop() waits for the player's decoder thread, which sits in the audio output's
  write for as long as the device takes no samples. On the Pi-like sink, with the sound server
  gone or its sink removed, stop() never returned: on the engine thread that would be a room
  whose buttons are dead. Retired players are therefore muted, then stopped and released by a
  thread of their own (the Reaper); a player that never stops costs memory, not the room.
- libVLC's event callbacks run on libVLC's threads and may only submit: calling libVLC from
  one deadlocks. A player replaced while its events are still on the way (a card that went
  away and came back) must not end the track its successor plays: each load has a generation.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
from typing import Callable, Optional

log = logging.getLogger(__name__)

REAPER_QUEUE = 64


class PlayerStartFailed(RuntimeError):
    pass


class Reaper:
    """Stops and releases retired players, one at a time, on its own thread."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue(maxsize=REAPER_QUEUE)
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="vlc-reaper", daemon=True)
        self._thread.start()

    def retire(self, player):
        self._idle.clear()
        try:
            self._queue.put_nowait(player)
        except queue.Full:  # every earlier player hangs: keep this one muted, leak it
            log.error("libVLC players do not stop (is the audio device stalled?)")

    def _run(self):
        while True:
            player = self._queue.get()
            if player is None:
                return
            try:
                player.stop()
                player.release()
            except Exception:
                log.exception("could not release a libVLC player")
            if self._queue.empty():
                self._idle.set()

    def wait_idle(self, timeout: float) -> bool:
        """True when every retired player has been released within `timeout`."""
        return self._idle.wait(timeout)

    def close(self):
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass


class Players:
    """Makes, loads and retires the players of one libVLC instance."""

    def __init__(self, vlc, instance, submit_event: Callable):
        self._vlc = vlc
        self._instance = instance
        self._submit_event = submit_event  # (generation, ended: bool, reason) -> None
        self._generations = itertools.count(1)
        self._reaper = Reaper()

    def fresh(self):
        """A new media player, muted before it ever plays (1-6 ms)."""
        player = self._instance.media_player_new()
        if player.audio_set_volume(0) != 0:
            raise PlayerStartFailed("libVLC did not accept a volume on a new player")
        return player

    def load(self, player, path: str, start_s: float = 0.0) -> int:
        """Give `player` the file at `path` (from `start_s` on); returns the load's generation
        (0: libVLC could not open it)."""
        media = self._instance.media_new_path(path)
        if media is None:
            return 0
        if start_s > 0:
            media.add_option(f":start-time={start_s:.3f}")
        generation = next(self._generations)
        vlc, submit = self._vlc, self._submit_event

        def on_state(event):  # a libVLC thread: only submit, never call libVLC
            state = event.u.new_state
            if state == vlc.State.Ended:
                submit(generation, True, None)
            elif state == vlc.State.Error:
                submit(generation, False, "libVLC could not play the file")

        media.event_manager().event_attach(vlc.EventType.MediaStateChanged, on_state)
        player.set_media(media)
        media.release()
        return generation

    def retire(self, player):
        """Mute `player` now; stop and release it on the reaper's thread."""
        player.audio_set_volume(0)
        self._reaper.retire(player)

    def close(self, instance_release: Callable, timeout: float = 2.0):
        """After every player is retired: release the instance unless a player still hangs
        (releasing it under a live player could crash the process on its way out)."""
        released = self._reaper.wait_idle(timeout)
        self._reaper.close()
        if released:
            instance_release()
        else:
            log.warning("a libVLC player did not stop within %g s; leaving it", timeout)

    def is_paused(self, player) -> bool:
        return player.get_state() == self._vlc.State.Paused

    def is_playing(self, player) -> bool:
        return player.get_state() == self._vlc.State.Playing

    def position_s(self, player) -> Optional[float]:
        ms = player.get_time()
        return ms / 1000.0 if ms is not None and ms >= 0 else None
