"""Room audio over libVLC: two channels (ambient bed, foreground), each with two decks.

Every libVLC call happens on the engine thread (tick, play, fade, stop), except creating and
releasing the instance at start and exit. libVLC's own event callbacks only submit commands:
calling libVLC from inside one deadlocks.

A channel has two decks (media players) so a new track can start while the old one fades out
on the same channel: never a gap, never a jump. A new track gets a fresh player muted before
play() and only ramps up once libVLC reports it playing, so the first buffer can never be loud.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..errors import ApplianceError
from ..levels import SILENCE_DB, TRACK_HEADROOM_DB, heard_db, vlc_volume_for
from ..session.commands import TrackEnded, TrackFailed
from ..session.model import CHANNELS, Track
from .mixer import ChannelMix, DeckMix, deck_db, hold_heard_level, set_fader, within_cap
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


@dataclass
class Deck:
    player: object
    name: str
    mix: DeckMix = field(default_factory=DeckMix)
    play_id: int = 0
    track: Optional[Track] = None
    status: str = "idle"            # idle | starting | playing
    fade_in_s: float = 0.0
    volumes: SentVolumes = field(default_factory=SentVolumes)
    started_at: float = 0.0
    audio_seen: bool = False
    used: bool = False              # the player has played: it must be replaced before reuse


class Channel:
    def __init__(self, name: str, decks):
        self.name = name
        self.decks = decks
        self.mix = ChannelMix()
        self.front = 0  # index of the deck that plays what the session asked for

    @property
    def current(self) -> Deck:
        return self.decks[self.front]


def pulse_reachable() -> bool:
    if os.environ.get("PULSE_SERVER"):
        return True
    for base in (os.environ.get("PULSE_RUNTIME_PATH"),
                 os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), "pulse")):
        if base and os.path.exists(os.path.join(base, "native")):
            return True
    return False


class VlcAudio:
    """The AudioOutput the engine drives (see engine.AudioOutput)."""

    def __init__(self, vlc_args, submit: Callable, cap_db: float, stage_db: float = 0.0,
                 output_name: str = ""):
        try:
            import vlc  # imported here so the pure core and config checks never need libVLC
        except (ImportError, OSError, NameError) as exc:
            raise AudioStartFailed(f"libVLC cannot be loaded ({exc}); install libvlc5 and "
                                   "vlc-plugin-base (./setup.sh does)") from None
        self._vlc = vlc
        self.submit = submit
        self.cap_db = cap_db
        self.stage_db = stage_db  # gain already applied below the player (the ALSA cap stage)
        self.output_name = output_name
        self.output_fault: Optional[str] = None  # the output could not be opened at start
        args = ["--no-video", "--quiet", "--no-xlib", "--no-metadata-network-access",
                "--image-duration=0", f"--file-caching={FILE_CACHING_MS}"] + list(vlc_args)
        self.instance = vlc.Instance(args)
        if self.instance is None:
            raise AudioStartFailed(f"libVLC did not start with {' '.join(vlc_args)}")
        self.channels = {name: Channel(name, [Deck(player=self._fresh_player(),
                                                   name=f"{name}{i}")
                                              for i in range(2)])
                         for name in CHANNELS}

    def _fresh_player(self):
        """A new media player, muted before it ever plays.

        libVLC honours a volume set before play() only on a player that has never played:
        once a player has stopped or reached its end it drops its audio output, a volume
        set then is lost, and the next play() starts at 100 % (python-vlc issue 220). So every
        track gets a fresh player; making one takes 1-6 ms, done when the last one stops.
        """
        player = self.instance.media_player_new()
        if player.audio_set_volume(0) != 0:
            raise AudioStartFailed("libVLC did not accept a volume on a new player")
        return player

    # --- effects from the session ---------------------------------------------------------

    def play(self, channel: str, track: Track, level_db: float, fade_in_s: float,
             play_id: int, crossfade_s: float, now: float, join_fade: bool = False):
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
        self._stop_deck(deck)  # an earlier track still fading out (already low), or a used player
        media = self.instance.media_new_path(track.path)
        if media is None:
            self.submit(TrackFailed(channel, play_id, "libVLC could not open the file"))
            return
        self._watch(media, channel, play_id)
        deck.play_id, deck.track, deck.fade_in_s = play_id, track, fade_in_s
        deck.mix = DeckMix()
        deck.audio_seen = False
        deck.started_at = now
        deck.player.set_media(media)  # a fresh player, muted: no loud first buffer
        media.release()
        deck.status, deck.used = "starting", True
        if deck.player.play() != 0:
            deck.status = "idle"
            self.submit(TrackFailed(channel, play_id, "libVLC refused to play it"))

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
        return wanted

    def _apply(self, now: float) -> bool:
        """Send every deck its level now; finish fades. True while anything still moves."""
        moving = False
        sounding = [(ch, d) for ch in self.channels.values() for d in ch.decks
                    if d.status == "playing"]
        readback = [d.player.audio_get_volume() for _, d in sounding]
        frozen = {i for i, (_, d) in enumerate(sounding) if d.volumes.frozen(readback[i], now)}
        levels = [deck_db(ch.mix, d.mix, now) for ch, d in sounding]
        wanted = within_cap([heard_db(readback[i], self.stage_db) if i in frozen else db
                             for i, db in enumerate(levels)], self.cap_db, frozen)
        for i, (_, deck) in enumerate(sounding):
            # a frozen deck is still sent its own level: if it was only slow to report, it
            # takes it and counts as healthy again
            db = min(levels[i], self.cap_db) if i in frozen else wanted[i]
            self._send(deck, vlc_volume_for(db, self.stage_db), now)
            gain = deck.mix.gain
            if not gain.done(now):
                moving = True
            elif gain.stop_at_end:
                moving |= not self._stop_when_silent(deck, readback[i], i in frozen,
                                                     gain.t0 + gain.seconds, now)
        heard = {id(d): (readback[i], i in frozen) for i, (_, d) in enumerate(sounding)}
        for ch in self.channels.values():
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

    def silence_now(self):
        """Last resort when something failed: stop every deck at once (quiet beats loud)."""
        for ch in self.channels.values():
            for deck in ch.decks:
                self._stop_deck(deck)

    def close(self):
        self.silence_now()
        for ch in self.channels.values():
            for deck in ch.decks:
                deck.player.release()
        self.instance.release()

    # --- inside ---------------------------------------------------------------------------

    def _watch(self, media, channel: str, play_id: int):
        vlc = self._vlc

        def on_state(event):  # runs on a libVLC thread: only submit, never call libVLC
            state = event.u.new_state
            if state == vlc.State.Ended:
                self.submit(TrackEnded(channel, play_id))
            elif state == vlc.State.Error:
                self.submit(TrackFailed(channel, play_id, "libVLC could not play the file"))

        media.event_manager().event_attach(vlc.EventType.MediaStateChanged, on_state)

    def _check_start(self, channel: str, deck: Deck, now: float):
        state = deck.player.get_state()
        if state == self._vlc.State.Playing:
            deck.status = "playing"
            deck.started_at = now
            # ramp from the silence floor (absolute) up to the channel's level
            start = SILENCE_DB + 1.0 - self.channels[channel].mix.fader_db(now)
            deck.mix = DeckMix(gain=Ramp(min(start, 0.0), 0.0, now, deck.fade_in_s),
                               sounding=True)
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
        deck.play_id = 0  # its end no longer concerns the session

    def _send(self, deck: Deck, volume: int, now: float = 0.0):
        if volume != deck.volumes.current:
            deck.player.audio_set_volume(volume)
            deck.volumes.send(volume, now)

    def _stop_deck(self, deck: Deck):
        if deck.status != "idle" or deck.used:
            self._send(deck, 0)
            deck.player.stop()
            deck.player.release()
            deck.player = self._fresh_player()
            deck.volumes, deck.used = SentVolumes(), False
        deck.status, deck.play_id, deck.track = "idle", 0, None
        deck.mix = DeckMix()


def _earliest(a: Optional[float], b: float) -> float:
    return b if a is None else min(a, b)


def open_audio(audio_cfg, submit, runtime_dir, cap_db: float, room_id: str = "") -> VlcAudio:
    """Choose the output path from config and open libVLC on it (at start-up, once)."""
    from .alsa import install_cap_stage, probe
    output = audio_cfg.output
    if output == "auto":
        output = "pulse" if pulse_reachable() else "alsa"
    if output == "alsa":
        # each player at most a track at the cap, so any two together at most the cap
        stage_db = cap_db - TRACK_HEADROOM_DB
        pcm = install_cap_stage(runtime_dir, audio_cfg.alsa_device, stage_db,
                                audio_cfg.alsa_buffer_ms, room_id)
        audio = VlcAudio(["--aout=alsa", f"--alsa-audio-device={pcm}"], submit, cap_db,
                         stage_db=stage_db, output_name=f"alsa:{audio_cfg.alsa_device}")
        audio.output_fault = probe(pcm)
        return audio
    audio = VlcAudio(["--aout=pulse"], submit, cap_db, output_name="pulse")
    if not pulse_reachable():
        audio.output_fault = "PulseAudio is not reachable (no server socket)"
    return audio
