"""The Pi's own path, heard at the Pi-like ALSA sink: the cap stage, and libVLC at 100 %."""
from __future__ import annotations

import time

import numpy as np
import pytest

from .conftest import WELCOME_HZ
from .sinks import Recorder
from .sound import ceiling_of, heard_at, write_tone

pytestmark = pytest.mark.sound


def _raw_players(room, files, volume):
    """libVLC players of the test's own on the room's ALSA output (its cap stage), forced to
    `volume`: what a libVLC that ignores every volume the appliance sends would do."""
    import vlc
    instance = vlc.Instance(["--no-video", "--quiet", "--aout=alsa",
                             "--alsa-audio-device=therapy_room"])
    players = []
    for path in files:
        player = instance.media_player_new()
        player.set_media(instance.media_new_path(str(path)))
        player.audio_set_volume(volume)
        player.play()
        players.append(player)
    return instance, players


@pytest.mark.parametrize("sink", ["alsa"], indirect=True)
def test_players_forced_to_100_percent_stay_under_the_cap(room_factory, sink, tmp_path):
    """One player at 100 % is no louder than a track at the cap; two (the most that play
    together outside overlapping crossfades) not more than 1 dB above the cap itself."""
    cap = 70
    tones = [write_tone(tmp_path / f"loud-{hz}.wav", hz, 6) for hz in (440, 660)]
    room = room_factory(audio={"cap": cap, "volume": cap})
    with room, Recorder(sink) as recorder:
        instance, players = _raw_players(room, tones[:1], 100)
        time.sleep(1.5)
        one = time.monotonic()
        time.sleep(1.0)
        more, second = _raw_players(room, tones[1:], 100)
        time.sleep(1.5)
        two = time.monotonic()
        time.sleep(1.5)
        for player in players + second:
            player.stop()
            player.release()
        instance.release()
        more.release()
    rec = recorder.take()
    alone = rec.tone_levels(440, one, one + 1.0)
    assert all(abs(db - heard_at(cap)) <= 0.5 for _, db in alone), \
        f"one player at 100 % heard at {alone[0][1]:.1f} dB, a track at the cap {heard_at(cap):.1f}"
    both = rec.slice(two, two + 1.5)
    assert rec.tone_levels(660, two, two + 1.5)[0][1] > heard_at(cap) - 1, "second never heard"
    peak_db = 20 * np.log10(np.max(np.abs(both)))
    ceiling_peak_db = ceiling_of(cap) + 3.01  # a sine's peak is 3 dB over its RMS
    assert peak_db <= ceiling_peak_db + 1.0, \
        f"two players at 100 % peaked at {peak_db:.1f} dBFS; the cap is {ceiling_peak_db:.1f}"


@pytest.mark.parametrize("sink", ["alsa"], indirect=True)
def test_a_track_at_the_cap_reaches_its_level_through_the_stage(room_factory, recorder):
    room = room_factory(fmt="mixed", audio={"cap": 70, "volume": 70})
    with room:
        sent = room.send("welcome")
        time.sleep(1.5)
    rec = recorder.take()
    levels = [db for _, db in rec.tone_levels(WELCOME_HZ, sent + 0.6, sent + 1.4)]
    assert all(abs(db - heard_at(70)) <= 1.0 for db in levels), levels


@pytest.mark.parametrize("sink", ["alsa"], indirect=True)
def test_a_card_missing_at_start_or_unplugged_is_a_fault_and_sound_resumes_from_silence(
        room_factory, sink):
    """Started without its card the room runs (a fault, the ambient waits); with the card
    plugged in the bed fades in; unplugged mid-session the room waits, its buttons answer;
    plugged in again the bed comes back from silence with a fade, never at a jump."""
    room = room_factory(fmt="ogg", audio={"ambient_level": 60, "ambient_fade_in_s": 1.0})
    sink.unplug()
    try:
        with room:
            status = room.wait_for(lambda s: "audio" in s["faults"], 5, "the missing card")
            assert "its sound server is not running" in status["faults"]["audio"]
            room.send("ambient")
            assert room.status()["channels"]["ambient"]["state"] == "waiting"
            for attempt in range(2):
                sink.plug_in()
                with Recorder(sink) as recorder:
                    room.wait_for(lambda s: "audio" not in s["faults"], 5,
                                  "the card to be found again")
                    back_at = time.monotonic()
                    time.sleep(2.5)
                rec = recorder.take()
                onset = rec.onset(330.0, after=back_at - 1.0, threshold_db=-60)
                assert onset is not None, f"nothing heard after plug-in {attempt + 1}"
                first = [db for _, db in rec.tone_levels(330.0, onset, onset + 0.1, 0.02)]
                assert max(first) < heard_at(60) - 10, f"came back at a jump: {first}"
                settled = [db for _, db in rec.tone_levels(330.0, onset + 1.3, onset + 2.0)]
                assert all(abs(db - heard_at(60)) <= 2.0 for db in settled), settled
                if attempt == 0:
                    sink.unplug()
                    room.wait_for(lambda s: "audio" in s["faults"] and
                                  s["channels"]["ambient"]["state"] == "waiting", 5,
                                  "the unplug seen: a fault, the bed waiting")
                    answered = room.ask("volume", level=50)  # the engine is not held up
                    assert answered["ok"], answered
                    room.send("volume", level=60)
    finally:
        if sink.proc is None:
            sink.plug_in()


@pytest.mark.parametrize("sink", ["alsa"], indirect=True)
def test_audio_test_plays_a_quiet_tone_through_the_rooms_path(sink, tmp_path):
    import os
    import subprocess
    import sys

    from .conftest import write_config
    config = write_config(tmp_path / "room", tmp_path, audio=sink.audio_config())
    with Recorder(sink) as recorder:
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "appliance", "audio", "test",
                                 "--config", str(config)], capture_output=True, text=True,
                                env=dict(os.environ, **sink.env), timeout=30)
        time.sleep(0.3)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("played 2.5 s of 440 Hz at level 40 (-36 dBFS) through "
                                    "alsa:pi_rig, cap 80")
    rec = recorder.take()
    onset = rec.onset(440.0, after=started)
    assert onset is not None, "the test tone was never heard"
    levels = [db for _, db in rec.tone_levels(440.0, onset + 0.7, onset + 1.5)]
    assert all(abs(db - heard_at(40)) <= 2.0 for db in levels), levels
    start = [db for _, db in rec.tone_levels(440.0, onset, onset + 0.1, 0.02)]
    assert max(start) < heard_at(40) - 6, f"the tone started at a jump: {start}"
    assert max(db for _, db in rec.levels(started, rec.end, 0.01)) <= heard_at(40) + 0.5


@pytest.mark.parametrize("sink", ["pulse", "alsa"], indirect=True)
def test_a_mono_44k_track_plays_at_its_level(room_factory, recorder, tmp_path):
    """The card runs at 48 kHz stereo; a CD-rate mono track is converted on the way."""
    mono = write_tone(tmp_path / "mono.wav", 660.0, 4, rate=44100, channels=1)
    room = room_factory(playlists={"welcome": [("Mono hello", mono)]})
    with room:
        sent = room.send("welcome")
        time.sleep(2.0)
    rec = recorder.take()
    levels = [db for _, db in rec.tone_levels(WELCOME_HZ, sent + 0.8, sent + 1.8)]
    assert all(abs(db - heard_at(70)) <= 2.0 for db in levels), levels


def _gaps(rec, start, end, width=0.005):
    """5 ms windows more than 3 dB under the steady level: the card was given zeros."""
    levels = [db for _, db in rec.levels(start, end, width)]
    steady = float(np.median(levels))
    return [round(t - start, 3) for (t, _), db in zip(rec.levels(start, end, width), levels)
            if db < steady - 3.0]


@pytest.mark.alone
@pytest.mark.parametrize("sink", ["alsa"], indirect=True)
def test_no_underrun_at_the_default_buffer_with_both_cores_busy(daemon, recorder):
    """The rig's default PCM has the buffer the appliance's own mixer gets by default on a Pi
    (alsa_buffer_ms = 32: 3 x 512 frames). Both cores busy with stress-ng: not one gap. Then
    the daemon is stopped for 0.2 s, which must show as a gap: the check can fail."""
    import signal
    import subprocess
    with daemon(fmt="ogg", audio={"ambient_level": 50}) as d:
        assert d.cli("ambient").returncode == 0
        time.sleep(1.0)
        stress = subprocess.Popen(["stress-ng", "--cpu", "2", "--timeout", "12s"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            busy_from = time.monotonic()
            for level in (48, 50, 48, 50, 48, 50, 48, 50):
                assert d.cli("volume", str(level)).returncode == 0
                time.sleep(0.6)
            busy_to = time.monotonic()
        finally:
            stress.terminate()
            stress.wait()
        time.sleep(0.5)
        d.proc.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        time.sleep(0.2)
        d.proc.send_signal(signal.SIGCONT)
        time.sleep(1.0)
    rec = recorder.take()
    assert _gaps(rec, busy_from, busy_to) == [], "the card was given zeros under load"
    assert _gaps(rec, stopped - 0.5, stopped + 0.8), "a stopped player went unnoticed"


@pytest.mark.parametrize("sink", ["alsa"], indirect=True)
def test_the_pre_rolled_welcome_is_silent_while_it_waits_and_starts_from_silence(
        room_factory, recorder):
    """On ALSA the song waits paused and rewound; it must never be heard while it waits (also
    while the next one is made after a use), and a press starts it from silence, at once."""
    from appliance.audio.preroll import PREROLL_AFTER_S
    room = room_factory(fmt="ogg", audio={"cap": 70, "volume": 70, "fade_in_s": 0.5})
    with room:
        room.wait_for(lambda s: room.audio.preroll.ready, 5, "the welcome pre-rolled")
        waited = time.monotonic()
        time.sleep(0.5)
        sent = room.send("welcome")
        assert not room.audio.preroll.ready, "the welcome did not use the pre-rolled player"
        time.sleep(1.2)
        quiet = room.send("quiet")
        room.wait_for(lambda s: s["channels"]["foreground"]["state"] == "idle", 5, "silence")
        silent = time.monotonic() + 0.2
        room.wait_for(lambda s: room.audio.preroll.ready, PREROLL_AFTER_S + 5, "pre-rolled again")
        time.sleep(0.5)
        again = time.monotonic()
    rec = recorder.take()
    waiting = [db for _, db in rec.levels(waited - 1.0, sent - 0.03, 0.01)]
    assert max(waiting) < -70, f"heard while waiting: {max(waiting):.1f} dB"
    onset = rec.onset(WELCOME_HZ, after=sent)
    assert onset is not None and onset - sent <= 0.150, \
        f"pre-rolled welcome heard {1000 * (onset - sent):.0f} ms after the command"
    first = [db for _, db in rec.levels(onset, onset + 0.1, 0.01)]
    assert max(first) < heard_at(70) - 6, f"it did not start from silence: {first}"
    song = [db for _, db in rec.levels(onset + 0.6, quiet, 0.01)]
    assert min(song) > heard_at(70) - 2 and max(song) < heard_at(70) + 0.5, "broken or loud"
    silent_after = [db for _, db in rec.levels(silent, again, 0.01)]
    assert max(silent_after) < -70, "the next pre-roll was heard"
