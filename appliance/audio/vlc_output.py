"""Room audio over libVLC: two channels (ambient bed, foreground), each with two decks.

Every libVLC call happens on the engine thread (tick, play, fade, stop), except creating the
instance at start, and stopping retired players, which the reaper does (players.py). libVLC's
own event callbacks only submit: calling libVLC from inside one deadlocks.

A channel has two decks (media players) so a new track can start while the old one fades out
on the same channel: never a gap, never a jump. A new track gets a fresh player muted before
play() and only ramps up once libVLC reports it playing, so the first buffer can never be loud.

While the audio device is away (a USB card unplugged, a sound server gone: see watch.py), the
decks wait: their players are retired, their fades go on in the mix, and when the device is
back each waiting track starts again where it was, from silence, with its fade-in.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..errors import ApplianceError
from ..levels import SILENCE_DB, vlc_volume_for
from ..session.commands import TrackEnded, TrackFailed
from ..session.model import CHANNELS, Track
from .decks import Channel, Deck
from .mixer import DeckMix, deck_db, hold_heard_level, set_fader, within_cap
from .players import PlayerStartFailed, Players
from .preroll import Preroll
from .ramp import STEP_S, Ramp, ramp_from
from .readback import READBACK_WINDOW_S, SentVolumes

START_TIMEOUT_S = 1.5   # a track not playing by then is skipped (the issue allows 2 s)
NO_AUDIO_AFTER_S = 1.0  # playing but no audio stream by then: not an audio file
START_POLL_S = 0.003    # how often a starting deck is checked: sound within milliseconds
# libVLC stops applying volume once it has read a file to its end, which happens this much
# (plus ~0.25 s) before the end is heard: with the default 1000 ms a fade froze for the last
# 1.2 s of every track. Local files need little read-ahead.
FILE_CACHING_MS = 100


class AudioStartFailed(ApplianceError, OSError):
    """libVLC could not be started on the configured output."""


class VlcAudio:
    """The AudioOutput the engine drives (see engine.AudioOutput)."""

    def __init__(self, vlc_args, submit: Callable, cap_db: float, stage_db: float = 0.0,
                 output_name: str = "", watch=None):
        try:
            import vlc  # imported here so the pure core and config checks never need libVLC
        except (ImportError, OSError, NameError) as exc:
            raise AudioStartFailed(f"libVLC cannot be loaded ({exc}); install libvlc5 and "
                                   "vlc-plugin-base (./setup.sh does)") from None
        self.submit = submit
        self.cap_db = cap_db
        self.stage_db = stage_db  # gain already applied below the player (the ALSA cap stage)
        self.output_name = output_name
        self.output_fault: Optional[str] = None  # the output could not be opened at start
        self.watch = watch  # watch.DeviceWatch over the ALSA device; read on every tick
        self._device_away = False
        args = ["--no-video", "--quiet", "--no-xlib", "--no-metadata-network-access",
                "--image-duration=0", f"--file-caching={FILE_CACHING_MS}"] + list(vlc_args)
        self.instance = vlc.Instance(args)
        if self.instance is None:
            raise AudioStartFailed(f"libVLC did not start with {' '.join(vlc_args)}")
        self._owners: dict[int, tuple[str, int]] = {}  # generation -> (channel, play_id)
        self.players = Players(vlc, self.instance, self._on_player_event)
        try:
            self.channels = {name: Channel(name, [Deck(self.players.fresh(), f"{name}{i}")
                                                  for i in range(2)])
                             for name in CHANNELS}
        except PlayerStartFailed as exc:
            raise AudioStartFailed(str(exc)) from None
        self.preroll = Preroll(self.players,
                               enabled=any(a.startswith("--aout=alsa") for a in vlc_args))

    def _on_player_event(self, generation: int, ended: bool, reason: Optional[str]):
        owner = self._owners.get(generation)  # libVLC's thread: a dict read, then submit
        if owner is not None:
            self.submit(TrackEnded(*owner) if ended else TrackFailed(*owner, reason))

    # --- effects from the session ---------------------------------------------------------

    def play(self, channel: str, track: Track, level_db: float, fade_in_s: float,
             play_id: int, crossfade_s: float, now: float, join_fade: bool = False,
             gain_db: float = 0.0):
        ch = self.channels[channel]
        if not join_fade:
            # a new command sets the channel's level; a track still sounding keeps its level
            before = ch.mix.fader_db(now)
            ch.mix.fader = Ramp(level_db, level_db, now, 0.0)
            for deck in ch.decks:
                if deck.status == "playing":
                    hold_heard_level(deck.mix, before, level_db, now)
        old = ch.current
        if old.status != "idle":
            self._fade_deck_out(old, crossfade_s, now)
            ch.front = 1 - ch.front
        deck = ch.current
        self._stop_deck(deck)  # an earlier track still fading out (already low)
        deck.crossfade_from = (old, crossfade_s) if old.status == "playing" else None
        deck.play_id, deck.track, deck.fade_in_s = play_id, track, fade_in_s
        deck.mix, deck.audio_seen, deck.started_at, deck.resume_s = (DeckMix(trim_db=gain_db),
                                                                     False, now, 0.0)
        if self._device_away:
            deck.status = "waiting"
            return
        self._start(channel, deck, now)

    def fade(self, channel: str, level_db: Optional[float], seconds: float, now: float):
        ch = self.channels[channel]
        if level_db is not None:
            level_db = min(level_db, self.cap_db)
        elif not any(d.status == "playing" for d in ch.decks):
            for deck in ch.decks:
                self._stop_deck(deck)  # nothing audible yet: nothing to fade
            return
        set_fader(ch.mix, level_db, seconds, now)
        self._apply(now)

    def stop(self, channel: str):
        self._stop_deck(self.channels[channel].current)

    def track_over(self, channel: str, play_id: int) -> Optional[str]:
        """libVLC said this track ended or failed: free its deck.

        Returns a reason when the track ended without ever being heard (libVLC reports some
        broken files as ended rather than failed).
        """
        for deck in self.channels[channel].decks:
            if deck.play_id == play_id and deck.status != "idle":
                unheard = deck.status == "starting" or not deck.audio_seen
                self._stop_deck(deck)
                return "ended without playing any audio" if unheard else None
        return None

    # --- the engine's clock ---------------------------------------------------------------

    def tick(self, now: float) -> Optional[float]:
        """Advance fades and starting tracks. Returns when the next tick is wanted."""
        away = self.watch is not None and self.watch.problem is not None
        if away != self._device_away:
            self._device_away = away
            self._lose_device() if away else self._regain_device(now)
        wanted = None
        for name, ch in self.channels.items():
            for deck in ch.decks:
                if deck.status == "starting":
                    self._check_start(name, deck, now)
                    if deck.status == "starting":
                        wanted = _earliest(wanted, now + START_POLL_S)
                if deck.status == "playing" and not deck.audio_seen:
                    self._check_audio(name, deck, now)
                    wanted = _earliest(wanted, now + STEP_S)
        if self._apply(now):
            wanted = _earliest(wanted, now + STEP_S)
        preroll_wake = self.preroll.tick(now, away)
        if preroll_wake is not None:
            wanted = _earliest(wanted, max(preroll_wake, now + 0.005))
        return wanted

    def _apply(self, now: float) -> bool:
        """Send every deck its level now; finish fades. True while anything still moves."""
        sounding = [(ch, d) for ch in self.channels.values() for d in ch.decks
                    if d.status == "playing"]
        readback = [d.player.audio_get_volume() for _, d in sounding]
        frozen = {i for i, (_, d) in enumerate(sounding) if d.volumes.frozen(readback[i], now)}
        for _, deck in sounding:
            deck.watch_tail(now)
        # decks whose level libVLC may no longer change: the others make room for them
        fixed = {i for i, (_, d) in enumerate(sounding) if i in frozen or d.tail_volume is not None}
        # one step ahead: libVLC applies a volume from its next block on, so a fade that is
        # sent a step early is heard on time (the first step of a fade at once, not 40 ms on)
        levels = [deck_db(ch.mix, d.mix, now + STEP_S) for ch, d in sounding]
        budget = [d.loudest_possible(readback[i] if i in frozen else None, self.stage_db)
                  if i in fixed else levels[i] for i, (_, d) in enumerate(sounding)]
        wanted = within_cap(budget, self.cap_db, fixed)
        for i, (_, deck) in enumerate(sounding):
            # a fixed deck is still sent its own level: if it was only slow to report, or is
            # not yet at its file's end, it takes it
            db = min(levels[i], self.cap_db) if i in fixed else wanted[i]
            self._send(deck, vlc_volume_for(db, self.stage_db), now)
        # while a deck is held, the others are held back for it: tick on until it has gone
        moving = bool(fixed)
        heard = {id(d): (readback[i], i in frozen) for i, (_, d) in enumerate(sounding)}
        for ch in self.channels.values():
            for deck in ch.decks:
                gain = deck.mix.gain
                if deck.status == "idle":
                    continue
                if not gain.done(now):
                    moving = True
                elif gain.stop_at_end:
                    moving |= not self._stop_when_silent(deck, *heard.get(id(deck), (0, False)),
                                                         gain.t0 + gain.seconds, now)
            fader = ch.mix.fader
            if not fader.done(now):
                moving = True
            elif fader.stop_at_end:
                ended = fader.t0 + fader.seconds
                quiet = [self._stop_when_silent(deck, *heard.get(id(deck), (0, False)), ended,
                                                now) for deck in ch.decks]
                if all(quiet):
                    ch.mix.fader = Ramp(SILENCE_DB, SILENCE_DB, now, 0.0)
                else:
                    moving = True
        return moving

    def _stop_when_silent(self, deck: Deck, readback: int, frozen: bool, fade_ended: float,
                          now: float) -> bool:
        """A fade to silence has arrived: stop the player once libVLC has applied the silent
        volume (or cannot any more), so the stop itself is never heard as a cut."""
        if deck.status == "idle":
            return True
        if deck.tail_volume and deck.remaining_s(now) > -STEP_S:
            return False  # it may still sound: stopping it now would be a cut; it ends soon
        if deck.status == "playing" and not (readback == 0 or frozen
                                             or now >= fade_ended + READBACK_WINDOW_S):
            return False
        self._stop_deck(deck)
        return True

    def snapshot(self, now: float) -> dict:
        out = {}
        for name, ch in self.channels.items():
            deck = ch.current
            fading = ch.mix.fading_to_silence() or deck.mix.gain.stop_at_end
            state = deck.status
            if state == "playing" and fading:
                state = "fading"
            out[name] = {
                "state": state,
                "track": deck.track.title if deck.track and deck.status != "idle" else None,
                "level_db": None if deck.status == "idle"
                else round(deck_db(ch.mix, deck.mix, now), 1),
            }
        return out

    def expect(self, track: Optional[Track], now: float):
        """The welcome song the room plays next waits pre-rolled (on ALSA: preroll.py)."""
        self.preroll.want(track, now)

    def silence_now(self):
        """Last resort when something failed: stop every deck at once (quiet beats loud)."""
        self.preroll.drop()
        for ch in self.channels.values():
            for deck in ch.decks:
                self._stop_deck(deck)

    def start_watch(self, on_change: Callable[[Optional[str]], None]):
        """Report the output's state now, and every change, to `on_change(problem)`."""
        if self.watch is not None:
            self.watch.start(on_change)
        else:
            on_change(self.output_fault)

    def close(self):
        if self.watch is not None:
            self.watch.stop()
        self.silence_now()
        for ch in self.channels.values():
            for deck in ch.decks:
                self.players.retire(deck.player)
        self.players.close(self.instance.release)

    # --- inside ---------------------------------------------------------------------------

    def _start(self, channel: str, deck: Deck, now: float):
        """Start the deck's track on its (fresh, muted) player, or resume the pre-rolled one."""
        ready = self.preroll.take(deck.track, now) if deck.resume_s == 0 else None
        if ready is not None:
            self.players.retire(deck.player)
            deck.player, deck.generation = ready
        else:
            deck.generation = self.players.load(deck.player, deck.track.path, deck.resume_s)
            if not deck.generation:
                self.submit(TrackFailed(channel, deck.play_id, "libVLC could not open the file"))
                deck.status = "idle"
                return
        self._owners[deck.generation] = (channel, deck.play_id)
        deck.status, deck.started_at = "starting", now
        deck.length_s = deck.tail_volume = None
        # the fresh (or pre-rolled) player starts at the bottom of its fade-in, not at 0: on
        # ALSA a volume only takes effect from libVLC's next block, so a player started at 0
        # kept its first blocks silent and the song was heard one block late
        self._send(deck, vlc_volume_for(SILENCE_DB + 1.0, self.stage_db), now)
        if deck.player.play() != 0:
            self.submit(TrackFailed(channel, deck.play_id, "libVLC refused to play it"))
            self._stop_deck(deck)

    def _lose_device(self):
        """The card has gone away: every deck waits, silent, with the place it was at."""
        self.preroll.drop(later=0.0)  # made again when the device is back
        for ch in self.channels.values():
            for deck in ch.decks:
                if deck.status in ("starting", "playing"):
                    at = self.players.position_s(deck.player) if deck.audio_seen else None
                    self._replace_player(deck)
                    deck.resume_s = max(0.0, (at or 0.0) - 0.5)  # a little before the loss
                    deck.status = "waiting"

    def _regain_device(self, now: float):
        """The card is back: each waiting track starts again from silence with its fade-in,
        unless it was on its way out anyway."""
        for name, ch in self.channels.items():
            for deck in ch.decks:
                if deck.status != "waiting":
                    continue
                if deck.mix.gain.stop_at_end or ch.mix.fading_to_silence():
                    self._stop_deck(deck)
                else:
                    self._start(name, deck, now)

    def _check_start(self, channel: str, deck: Deck, now: float):
        if self.players.is_playing(deck.player):
            deck.status = "playing"
            deck.started_at = now
            # ramp from the silence floor (absolute) up to the channel's level
            trim = deck.mix.trim_db
            start = SILENCE_DB + 1.0 - self.channels[channel].mix.fader_db(now) - trim
            deck.mix = DeckMix(gain=Ramp(min(start, 0.0), 0.0, now, deck.fade_in_s),
                               sounding=True, trim_db=trim)
            old, seconds = deck.crossfade_from or (None, 0.0)
            deck.crossfade_from = None
            if old is not None and old.status == "playing" and old.play_id == 0:
                # the old track goes on down from where it is, over the whole crossfade from
                # now: no hole while the new one was still starting, and never up
                old.mix.gain = ramp_from(old.mix.gain_db(now), None, seconds, now)
        elif now - deck.started_at > START_TIMEOUT_S:
            play_id = deck.play_id
            self._stop_deck(deck)
            self.submit(TrackFailed(channel, play_id, f"not playing after {START_TIMEOUT_S:g} s"))

    def _check_audio(self, channel: str, deck: Deck, now: float):
        if deck.player.audio_get_track_count() > 0:
            deck.audio_seen = True
        elif now - deck.started_at > NO_AUDIO_AFTER_S:
            play_id = deck.play_id
            self._stop_deck(deck)
            self.submit(TrackFailed(channel, play_id, "no audio in the file"))

    def _fade_deck_out(self, deck: Deck, seconds: float, now: float):
        if deck.status != "playing":
            self._stop_deck(deck)
            return
        deck.mix.gain = ramp_from(deck.mix.gain_db(now), None, seconds, now)
        self._owners.pop(deck.generation, None)  # its end no longer concerns the session
        deck.play_id = 0

    def _send(self, deck: Deck, volume: int, now: float = 0.0):
        if volume != deck.volumes.current:
            deck.player.audio_set_volume(volume)
            deck.volumes.send(volume, now)
            if deck.tail_volume is not None:
                deck.tail_volume = max(deck.tail_volume, volume)

    def _replace_player(self, deck: Deck):
        """Retire the deck's player (muted now, stopped off this thread) for a fresh one."""
        self._owners.pop(deck.generation, None)
        self.players.retire(deck.player)
        deck.player, deck.generation, deck.volumes = self.players.fresh(), 0, SentVolumes()

    def _stop_deck(self, deck: Deck):
        if deck.status != "idle" or deck.generation:
            self._replace_player(deck)
        deck.status, deck.play_id, deck.track, deck.resume_s = "idle", 0, None, 0.0
        deck.mix, deck.length_s, deck.tail_volume = DeckMix(), None, None
        deck.crossfade_from = None


def _earliest(a: Optional[float], b: float) -> float:
    return b if a is None else min(a, b)
