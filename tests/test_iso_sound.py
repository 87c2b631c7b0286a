"""Receptive blocks as the room hears them: ending on time, the iso programme, live control.

Real libVLC into the test sinks (both paths where the promise is about levels in time). The
daemon's library is given tempos and lengths directly (what `appliance analyse` fills in), so
no analysis runs here.
"""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from appliance.session import Track

from .conftest import RECEPTIVE_HZ, both_paths
from .sound import heard_at, rms_db, write_tone

pytestmark = pytest.mark.sound

SILENT_DB = -70.0
HEARD_DB = -60.0


def only_goes_down(levels, slack_db=0.5) -> bool:
    return all(later <= earlier + slack_db for earlier, later in zip(levels, levels[1:]))


def last_heard(rec, start, end) -> float:
    heard = [t for t, db in rec.levels(start, end, width=0.05) if db > SILENT_DB]
    return heard[-1] + 0.05


def with_tempos(room, tracks):
    """The room's receptive playlist, as analysis would leave it (bpm and seconds known)."""
    lib = room.daemon.cfg.library
    room.daemon.cfg = replace(room.daemon.cfg, library=replace(lib, receptive=tuple(tracks)))


@both_paths
def test_a_block_of_short_tracks_is_heard_until_its_last_second(room_factory, recorder):
    """The 50.8 s bug, short: an 8 s block of 5 s tracks whose closing fade (4 s) holds the
    track change. Before, the music stopped when the first track ended inside the fade."""
    room = room_factory(receptive={"fade_out_s": 4})
    with room:
        sent = room.send("receptive", minutes=8 / 60)
        room.wait_for(lambda s: s["phase"] == "reflection", timeout=12, what="reflection")
        time.sleep(0.5)
    rec = recorder.take()
    end = last_heard(rec, sent, sent + 9.5)
    assert abs(end - (sent + 8.0)) <= 0.6, f"the block fell silent at {end - sent:.2f} s, not 8"
    # the next track, found well above what the first one's abrupt end leaks into its band
    second = next((t for t, db in rec.tone_levels(RECEPTIVE_HZ[1], sent + 4.5, end, 0.05)
                   if db > -50), None)
    assert second is not None and second - sent < 5.8, "the next track was not carried in"
    # it comes in under the fade (after its own 0.3 s fade-in), which goes on down to the end
    carried = [db for _, db in rec.tone_levels(RECEPTIVE_HZ[1], second + 0.4, end - 0.1)]
    assert len(carried) > 10 and only_goes_down(carried), carried
    before = [db for _, db in rec.levels(sent + 4.1, sent + 4.9)]
    assert only_goes_down(before) and before[0] - carried[-1] > 15


@both_paths
def test_an_iso_block_steps_down_in_tempo_and_level_and_ends_with_a_fade(room_factory,
                                                                          recorder, tmp_path):
    """A 10-minute iso programme, time-scaled by about 50: pieces of 4 s for 3.5 minutes,
    crossfades of 1 s for 8 s, a 2 s closing fade for 30 s, a 15 s block (0.25 min) of five
    pieces from 120 down to 76 BPM. Each piece is its own tone, so the sink says which piece
    was heard when, and how loud; the block must last its length (within 0.6 s here: the
    +/-10 s of a 10-minute block, scaled)."""
    bpms = (120, 106, 94, 84, 76)
    freqs = (392.0, 466.0, 523.0, 587.0, 698.0)
    files = [write_tone(tmp_path / f"iso-{bpm}.wav", hz, 4.0) for bpm, hz in zip(bpms, freqs)]
    room = room_factory(
        receptive={"fade_out_s": 2},
        playlists={"receptive": [(f"Piece {bpm}", f) for bpm, f in zip(bpms, files)]},
        extra="[iso]\npiece_minutes = 0.0667\ncrossfade_s = 1.0\nlevel_drop = 12\n")
    with_tempos(room, [Track(str(f), f"Piece {bpm}", seconds=4.0, bpm=bpm)
                       for bpm, f in zip(bpms, files)])
    with room:
        sent = room.send("iso", minutes=0.25, **{"from": 120, "to": 76})
        plan = room.status()["block"]["plan"]
        assert [p["bpm"] for p in plan] == list(bpms)
        room.wait_for(lambda s: s["phase"] == "reflection", timeout=20, what="reflection")
        time.sleep(0.5)
    rec = recorder.take()
    starts = [rec.onset(hz, after=sent + max(0.0, p["starts_s"] - 0.3))
              for hz, p in zip(freqs, plan)]
    assert all(s is not None for s in starts) and starts == sorted(starts), starts
    for at, p in zip(starts, plan):
        assert abs(at - sent - p["starts_s"]) < 0.5, (at - sent, p)
    # each piece alone (after its crossfade, before the next) at its planned, lower level;
    # the last one is alone only under the closing fade (below)
    # (its 1 s fade-in counted from when it was heard: a piece heard up to 0.5 s late, as
    # allowed above, was once measured still coming up, 1.4 dB short, in a clean-clone run)
    heard = []
    for hz, p, at in zip(freqs[:-1], plan[:-1], starts):
        begin = max(sent + p["starts_s"], at) + 1.2
        levels = [db for _, db in rec.tone_levels(hz, begin, begin + 0.7)]
        heard.append(sum(levels) / len(levels))
        assert abs(heard[-1] - heard_at(p["level"])) < 1.0, (p, at - sent, heard[-1])
    assert all(b < a - 0.8 for a, b in zip(heard, heard[1:])), heard
    # a crossfade: never louder than the piece before, and no deep hole in the middle
    for p, before, after in zip(plan[1:], heard, heard[1:]):
        begin = sent + p["starts_s"]
        during = [db for _, db in rec.levels(begin, begin + 1.0, width=0.05)]
        assert max(during) < before + 1.0 and min(during) > after - 9.0, (p, during)
    end = last_heard(rec, sent, sent + 17)
    assert abs(end - (sent + 15.0)) <= 0.6, f"the block lasted {end - sent:.2f} s, not 15"
    fade = [db for _, db in rec.levels(sent + 13.0, end)]
    assert only_goes_down(fade) and fade[0] - fade[-1] > 20, fade


def test_skip_hold_step_extend_and_shorten_change_what_is_heard_and_the_time_left(
        room_factory, recorder):
    """Through PulseAudio only (the suite's time): the crossfades and fades these controls
    start are the same fades both paths already prove above and in test_sound.py."""
    room = room_factory(receptive={"fade_out_s": 2})
    first, second, third = RECEPTIVE_HZ
    # tempos as analysis would give them: the third track is the one a step slower
    with_tempos(room, [replace(t, bpm=bpm, seconds=5.0) for t, bpm in
                       zip(room.daemon.cfg.library.receptive, (110, 100, 90))])
    with room:
        room.send("receptive", minutes=0.5)
        time.sleep(1.0)
        skipped = room.send("skip")
        held = room.ask("hold")
        assert held["ok"] and held["status"]["block"]["held"]
        frozen = held["status"]["remaining_s"]
        time.sleep(1.0)
        assert room.status()["remaining_s"] == frozen  # the countdown stands still
        # the held piece ends (5 s) and begins again instead of the third
        room.wait_for(lambda s: len(s["block"]["played"]) == 3, timeout=7,
                      what="the held piece begun again")
        replay = time.monotonic()
        time.sleep(0.8)
        released = room.ask("hold")["status"]["remaining_s"]
        assert abs(released - frozen) < 0.3, (released, frozen)
        stepped = room.send("step_down")
        time.sleep(1.2)  # its crossfade over before the block is changed again
        before = room.status()["remaining_s"]
        extended = room.ask("extend", minutes=1)["status"]["remaining_s"]
        assert abs(extended - before - 60) < 0.5
        answer = room.ask("shorten", minutes=5)
        assert answer["status"]["remaining_s"] == pytest.approx(2.0, abs=0.2)
        assert "closing fade takes 0:02" in answer["message"]
        shortened = time.monotonic()
        room.wait_for(lambda s: s["phase"] == "reflection", timeout=4, what="reflection")
        time.sleep(0.4)
    rec = recorder.take()
    assert rec.onset(second, after=skipped) - skipped < 0.5
    gone = [db for _, db in rec.tone_levels(first, skipped + 1.3, skipped + 2.0)]
    assert max(gone) < HEARD_DB, "the skipped piece went on"
    again = [db for _, db in rec.tone_levels(second, replay + 0.3, replay + 0.7)]
    not_next = [db for _, db in rec.tone_levels(third, replay - 0.5, replay + 0.7)]
    assert min(again) > HEARD_DB and max(not_next) < HEARD_DB, "hold did not keep the piece"
    assert rec.onset(third, after=stepped) - stepped < 0.5, "step down was not heard"
    left_behind = [db for _, db in rec.tone_levels(second, stepped + 1.3, stepped + 1.8)]
    assert max(left_behind) < HEARD_DB, "the piece stepped away from went on"
    end = last_heard(rec, shortened, shortened + 3.5)
    assert abs(end - (shortened + 2.0)) <= 0.5, f"ended {end - shortened:.2f} s after shorten"
    fade = [rms_db(w) for _, w in rec.windows(shortened + 0.1, end, 0.1)]
    assert only_goes_down(fade) and fade[0] - fade[-1] > 15
