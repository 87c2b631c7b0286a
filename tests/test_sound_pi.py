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
