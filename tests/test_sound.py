"""What the room actually hears, on both paths: libVLC into a PulseAudio null sink, and libVLC
on ALSA into a real-time sink with a Pi-sized buffer (the path a Raspberry Pi service uses).

Every track is a pure tone of its own, so each assertion is about one track being heard,
when, and how loud. Levels: a full-scale tone is -3 dBFS RMS; the appliance's level L is
heard at -3 + (L - 100) / 2 - 6 dB (sound.heard_at: every track keeps 6 dB of headroom). Tests that do not name a format play every role in another
one (MIXED_FORMATS), so each of them hears WAV, FLAC, MP3 and OGG.
"""
from __future__ import annotations

import time

import pytest

from .conftest import AMBIENT_HZ, RECEPTIVE_HZ, WELCOME_HZ, both_paths
from .sound import FORMATS, heard_at, rms_db

SILENT_DB = -70.0   # below this a 10 ms window counts as silence
HEARD_DB = -60.0    # above this a tone counts as heard

pytestmark = pytest.mark.sound


def longest_silence(rec, start, end, width=0.01) -> float:
    longest = run = 0.0
    for _, w in rec.windows(start, end, width):
        run = run + width if rms_db(w) < SILENT_DB else 0.0
        longest = max(longest, run)
    return longest


def only_goes_down(levels, slack_db=0.5) -> bool:
    return all(later <= earlier + slack_db for earlier, later in zip(levels, levels[1:]))


def first_time_near(rec, freq, after, target_db, within_db=1.0, width=0.02):
    """When the tone first sounds within `within_db` of `target_db` after `after`."""
    for t, db in rec.tone_levels(freq, after, rec.end, width):
        if abs(db - target_db) <= within_db:
            return t + width
    return None


@both_paths
@pytest.mark.parametrize("fmt", FORMATS)
def test_level_volume_and_quiet_in_every_format(room_factory, recorder, fmt):
    """Ambient at its level; a volume change heard at once and landing on its level; quiet a
    fade that only goes down and reaches silence in time. (On the ALSA path a WAV or FLAC
    track stuck where its fade-in happened to be, and quiet ended in a cut.)"""
    quiet_s = 1.5
    room = room_factory(fmt=fmt, audio={"ambient_level": 80, "cap": 80, "quiet_s": quiet_s})
    with room:
        sent = room.send("ambient")
        time.sleep(1.3)
        changed = room.send("volume", level=50)
        time.sleep(1.2)
        quiet = room.send("quiet")
        time.sleep(quiet_s + 0.6)
    rec = recorder.take()
    levels = [db for _, db in rec.tone_levels(AMBIENT_HZ, sent + 0.6, changed)]
    assert levels and all(abs(db - heard_at(80)) <= 2.0 for db in levels), \
        f"ambient heard at {min(levels):.1f}..{max(levels):.1f} dB, not {heard_at(80):.1f}"
    # the change begins to be heard within 150 ms and glides to its level
    going = first_time_near(rec, AMBIENT_HZ, changed, heard_at(80) - 2.0, within_db=1.0)
    assert going is not None and going - changed <= 0.150 + 0.02, \
        f"volume change heard {1000 * (going - changed):.0f} ms late" if going else "never"
    after = [db for _, db in rec.tone_levels(AMBIENT_HZ, changed + 0.7, quiet)]
    assert all(abs(db - heard_at(50)) <= 1.0 for db in after), \
        f"after volume 50: {min(after):.1f}..{max(after):.1f} dB, not {heard_at(50):.1f}"
    fade = [db for _, db in rec.levels(quiet, quiet + quiet_s, width=0.05)]
    assert only_goes_down(fade), f"level rose during quiet: {fade}"
    half = rms_db(rec.slice(quiet + quiet_s / 2 - 0.05, quiet + quiet_s / 2 + 0.05))
    assert half <= heard_at(50) - 6.0, f"halfway through quiet still at {half:.1f} dB"
    assert half >= SILENT_DB + 10.0, f"quiet was a cut: {half:.1f} dB halfway"
    tail = [db for _, db in rec.levels(quiet + quiet_s + 0.3, quiet + quiet_s + 0.6, 0.01)]
    assert tail and max(tail) < SILENT_DB, f"still heard after quiet_s: {max(tail):.1f} dB"


@both_paths
def test_welcome_is_heard_at_once_and_crossfades_without_a_gap(room_factory, recorder):
    room = room_factory(fmt="mixed")
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


@both_paths
def test_nothing_exceeds_the_cap_not_even_the_first_buffer(room_factory, recorder):
    # full-scale tracks, room volume at the cap: every track start must stay under it
    room = room_factory(fmt="mixed", audio={"cap": 60, "volume": 60, "ambient_level": 60})
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
    loudest = max(db for _, db in windows)
    assert loudest <= ceiling, f"{loudest:.1f} dB is above the cap ({ceiling - 0.5:.1f} dB)"
    assert loudest > ceiling - 3, "the test never came near the cap"


@both_paths
def test_receptive_block_ends_on_time_with_a_fade_that_only_goes_down(room_factory, recorder):
    room = room_factory(fmt="mixed", receptive={"fade_out_s": 3})
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
    assert only_goes_down(fade), f"the closing fade went up: {fade}"
    assert fade[0] - fade[-1] > 20, "no real fade at the end"


@both_paths
def test_every_track_of_a_block_is_heard_after_the_room_was_at_the_cap(room_factory, recorder):
    """On the ALSA path the second track of a block was sometimes never heard while status
    said it played: a slow volume read-back made it count as frozen at 0."""
    room = room_factory(fmt="mixed", audio={"cap": 80, "volume": 80},
                        receptive={"fade_out_s": 2})
    with room:
        room.send("welcome", track="Short hello")
        room.send("volume", level=100)
        time.sleep(0.5)
        sent = room.send("receptive", minutes=0.3)  # 18 s: every track, then the first again
        room.wait_for(lambda s: s["phase"] == "reflection", timeout=25, what="reflection")
    rec = recorder.take()
    for i, (hz, begins) in enumerate(zip(RECEPTIVE_HZ, (0.0, 5.0, 10.0))):
        levels = [db for _, db in rec.tone_levels(hz, sent + begins + 1.5, sent + begins + 4.5)]
        assert levels and min(levels) >= heard_at(80) - 2.0, \
            f"track {i + 1} heard at {min(levels):.1f} dB, not {heard_at(80):.1f}"


@both_paths
def test_a_corrupt_track_is_skipped_and_the_next_heard(room_factory, recorder, tones):
    room = room_factory(playlists={"receptive": [
        ("Broken", tones / "corrupt.wav"), ("Not music", tones / "not-audio.ogg"),
        ("Good", tones / "receptive-1.flac")]})
    with room:
        sent = room.send("receptive", minutes=1)
        room.wait_for(lambda s: s["now_playing"] == "Good", timeout=5, what="the good track")
        time.sleep(0.5)
        notices = room.status()["notices"]
    rec = recorder.take()
    onset = rec.onset(RECEPTIVE_HZ[0], after=sent)
    assert onset is not None and onset - sent <= 2.0, "the good track was not heard within 2 s"
    assert any("Broken" in n for n in notices) and any("Not music" in n for n in notices)


@both_paths
def test_a_track_deleted_after_loading_is_skipped(room_factory, recorder, tones, tmp_path):
    doomed = tmp_path / "doomed.mp3"
    doomed.write_bytes((tones / "receptive-2.mp3").read_bytes())
    room = room_factory(playlists={"receptive": [("Doomed", doomed),
                                                 ("Good", tones / "receptive-1.ogg")]})
    with room:
        doomed.unlink()
        sent = room.send("receptive", minutes=1)
        room.wait_for(lambda s: s["now_playing"] == "Good", timeout=5, what="the good track")
        time.sleep(0.3)
    rec = recorder.take()
    onset = rec.onset(RECEPTIVE_HZ[0], after=sent)
    assert onset is not None and onset - sent <= 2.0
