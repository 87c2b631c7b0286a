"""What the room actually hears: libVLC playing into a PulseAudio null sink, recorded.

Every track is a pure tone of its own, so each assertion is about one track being heard,
when, and how loud. Levels: a full-scale tone is -3 dBFS RMS; the appliance's level L is
heard at -3 + (L - 100) / 2 dB.
"""
from __future__ import annotations

import time

from appliance.levels import level_to_db

from .conftest import AMBIENT_HZ, RECEPTIVE_HZ, WELCOME_HZ
from .sound import FULL_SCALE_TONE_DB, rms_db

import pytest


SILENT_DB = -70.0   # below this a 10 ms window counts as silence
HEARD_DB = -60.0    # above this a tone counts as heard


def heard_at(level: float) -> float:
    return FULL_SCALE_TONE_DB + level_to_db(level)


def longest_silence(rec, start, end, width=0.01) -> float:
    longest = run = 0.0
    for _, w in rec.windows(start, end, width):
        run = run + width if rms_db(w) < SILENT_DB else 0.0
        longest = max(longest, run)
    return longest


@pytest.mark.sound
def test_ambient_plays_at_its_level_below_the_cap(room_factory, recorder):
    room = room_factory(audio={"ambient_level": 40, "cap": 80})
    with room:
        sent = room.send("ambient")
        time.sleep(2.0)
    rec = recorder.take()
    levels = [db for _, db in rec.tone_levels(AMBIENT_HZ, sent + 0.8, sent + 1.9)]
    assert levels, "nothing recorded"
    expected = heard_at(40)
    for db in levels:
        assert abs(db - expected) <= 2.0, f"ambient heard at {db:.1f} dB, expected {expected:.1f}"
        assert db <= heard_at(80)


@pytest.mark.sound
def test_welcome_is_heard_at_once_and_crossfades_without_a_gap(room_factory, recorder):
    room = room_factory()
    with room:
        room.send("ambient")
        time.sleep(1.0)
        sent = room.send("welcome")
        time.sleep(2.0)
        assert room.status()["phase"] == "welcome"
    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=sent, threshold_db=HEARD_DB)
    assert onset is not None, "the welcome tone was never heard"
    assert onset - sent <= 0.150, f"welcome heard {1000 * (onset - sent):.0f} ms after the command"
    assert longest_silence(rec, sent - 0.5, sent + 1.8) <= 0.050
    # the ambient bed goes down under the song and is gone after the crossfade
    ambient_before = rec.tone_levels(AMBIENT_HZ, sent - 0.3, sent)[-1][1]
    ambient_after = max(db for _, db in rec.tone_levels(AMBIENT_HZ, sent + 1.2, sent + 1.8))
    assert ambient_after < ambient_before - 20


@pytest.mark.sound
def test_quiet_reaches_silence_within_its_time(room_factory, recorder):
    room = room_factory(audio={"quiet_s": 1.5})
    with room:
        room.send("ambient")
        time.sleep(0.3)
        room.send("welcome")
        time.sleep(1.0)
        sent = room.send("quiet")
        time.sleep(2.2)
    rec = recorder.take()
    fade = [db for _, db in rec.levels(sent, sent + 1.5)]
    assert fade[0] > -40, "something was playing when quiet was sent"
    for earlier, later in zip(fade, fade[1:]):
        assert later <= earlier + 0.5, f"level rose during quiet: {fade}"
    after = [db for _, db in rec.levels(sent + 1.5 + 0.05, sent + 2.1, width=0.01)]
    assert after and max(after) < SILENT_DB, f"still heard after quiet_s: {max(after):.1f} dB"


@pytest.mark.sound
def test_nothing_exceeds_the_cap_not_even_the_first_buffer(room_factory, recorder, tones, tmp_path):
    # full-scale tracks, room volume at the cap: every track start must stay under it
    room = room_factory(audio={"cap": 60, "volume": 60, "ambient_level": 60})
    ceiling = heard_at(60) + 0.5
    starts = []
    with room:
        starts.append(room.send("ambient"))
        time.sleep(0.6)
        starts.append(room.send("welcome", track="Short hello"))
        time.sleep(1.0)
        starts.append(room.send("active"))
        starts.append(room.send("receptive", minutes=0.1))
        time.sleep(0.8)
        starts.append(room.send("volume", level=100))  # asks for more than the cap
        time.sleep(0.5)
        assert room.status()["volume"] == 60
    rec = recorder.take()
    for start in starts:
        first = [db for _, db in rec.levels(start, start + 0.1, width=0.01)]
        assert max(first) <= ceiling, f"first 100 ms at {max(first):.1f} dB over the cap"
    windows = rec.levels(starts[0], starts[-1] + 0.5, width=0.01)
    print([(round(t - starts[0], 2), round(db, 1)) for t, db in windows if db > ceiling])
    loudest = max(db for _, db in windows)
    assert loudest <= ceiling, f"{loudest:.1f} dB is above the cap ({ceiling - 0.5:.1f} dB)"
    assert loudest > ceiling - 3, "the test never came near the cap"


@pytest.mark.sound
def test_receptive_block_ends_on_time_with_a_fade_that_only_goes_down(room_factory, recorder):
    room = room_factory(receptive={"fade_out_s": 3})
    with room:
        # 9 s of 5 s tracks: a track change, then a closing fade from 6 s to 9 s
        sent = room.send("receptive", minutes=0.15)
        room.wait_for(lambda s: s["phase"] == "reflection", timeout=12, what="reflection")
        time.sleep(0.8)
    rec = recorder.take()
    heard = [(t, db) for t, db in rec.levels(sent, sent + 10.5) if db > SILENT_DB]
    last_heard = heard[-1][0] + 0.1
    assert abs(last_heard - (sent + 9.0)) <= 1.0, f"block ended at {last_heard - sent:.2f} s"
    assert rec.onset(RECEPTIVE_HZ[1], after=sent) is not None, "the second track never played"
    fade = [db for _, db in rec.levels(sent + 6.0, last_heard)]
    for earlier, later in zip(fade, fade[1:]):
        assert later <= earlier + 0.5, f"the closing fade went up: {fade}"
    assert fade[0] - fade[-1] > 20, "no real fade at the end"


@pytest.mark.sound
def test_a_corrupt_track_is_skipped_and_the_next_heard(room_factory, recorder, tones):
    room = room_factory(playlists={"receptive": [
        ("Broken", tones / "corrupt.wav"), ("Not music", tones / "not-audio.ogg"),
        ("Good", tones / "receptive-1.wav")]})
    with room:
        sent = room.send("receptive", minutes=1)
        room.wait_for(lambda s: s["now_playing"] == "Good", timeout=5, what="the good track")
        time.sleep(0.5)
        notices = room.status()["notices"]
    rec = recorder.take()
    onset = rec.onset(RECEPTIVE_HZ[0], after=sent)
    assert onset is not None and onset - sent <= 2.0, "the good track was not heard within 2 s"
    assert any("Broken" in n for n in notices) and any("Not music" in n for n in notices)


@pytest.mark.sound
def test_a_track_deleted_after_loading_is_skipped(room_factory, recorder, tones, tmp_path):
    doomed = tmp_path / "doomed.wav"
    doomed.write_bytes((tones / "receptive-2.wav").read_bytes())
    room = room_factory(playlists={"receptive": [("Doomed", doomed),
                                                 ("Good", tones / "receptive-1.wav")]})
    with room:
        doomed.unlink()
        sent = room.send("receptive", minutes=1)
        room.wait_for(lambda s: s["now_playing"] == "Good", timeout=5, what="the good track")
        time.sleep(0.3)
    rec = recorder.take()
    onset = rec.onset(RECEPTIVE_HZ[0], after=sent)
    assert onset is not None and onset - sent <= 2.0


@pytest.mark.sound
def test_alsa_path_caps_below_the_player(room_factory, recorder):
    """The Pi's path: libVLC -> ALSA cap stage -> device (here ALSA's pulse plugin)."""
    room = room_factory(audio={"output": "alsa", "alsa_device": "pulse", "cap": 50,
                               "volume": 50, "ambient_level": 50})
    with room:
        assert room.audio.output_name == "alsa:pulse"
        room.send("welcome")
        time.sleep(3.0)
        # libVLC told to play at 100 % on the same output: the stage below still caps it
        deck = room.audio.channels["foreground"].current
        room.engine.submit(_RawVolume(deck, 100))
        time.sleep(2.5)
    rec = recorder.take()
    levels = [db for _, db in rec.tone_levels(WELCOME_HZ, rec.t0, rec.end)]
    loudest = max(levels)
    assert loudest <= heard_at(50) + 0.5, f"{loudest:.1f} dB above the cap {heard_at(50):.1f}"
    assert loudest >= heard_at(50) - 2.0, "the welcome tone was not heard at its level"


class _RawVolume:
    """Not a real command: the engine refuses it, and the test sets the volume directly."""

    def __init__(self, deck, volume):
        deck.player.audio_set_volume(volume)  # from the test thread: a deliberate abuse


@pytest.mark.fast
def test_the_pi_cap_stage_with_its_own_small_mixer_is_valid_alsa_config(tmp_path):
    """No sound card here: alsa-lib must accept the config and fail only on the missing card."""
    import os
    import subprocess

    from appliance.audio.alsa import PCM_NAME, install_cap_stage
    saved = os.environ.get("ALSA_CONFIG_PATH")
    try:
        install_cap_stage(tmp_path, "hw:CARD=Headphones,DEV=0", level_to_db(80), 40, "room-1")
        env = dict(os.environ)
    finally:
        if saved is None:
            os.environ.pop("ALSA_CONFIG_PATH", None)
        else:
            os.environ["ALSA_CONFIG_PATH"] = saved
    text = (tmp_path / "alsa-cap.conf").read_text()
    assert "ttable.0.0 0.316228" in text and "buffer_size 1536" in text  # -10 dB, 32 ms
    result = subprocess.run(["aplay", "-q", "-D", PCM_NAME, "-d", "1", "/dev/zero"],
                            env=env, capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "Cannot get card index for Headphones" in result.stderr, result.stderr
    assert "Unexpected" not in result.stderr and "corrupted" not in result.stderr
