"""What a listener hears of track analysis: two tracks mastered 12 LU apart sound equally
loud (matched loudness), and the background analysis leaves the music playing untouched."""
from __future__ import annotations

import time

import numpy as np
import pytest

from appliance.analysis import REFERENCE_LUFS
from appliance.levels import TRACK_HEADROOM_DB, level_to_db

from .conftest import both_paths
from .sound import FULL_SCALE_TONE_DB, heard_at, write_tone
from .test_analysis_tools import write_clicks
from .test_sound import longest_silence

pytestmark = pytest.mark.sound

QUIET_HZ, LOUD_HZ, STEADY_HZ = 550.0, 770.0, 440.0
R128_OFFSET = 0.691  # a full-scale stereo sine reads -0.691 LUFS (BS.1770's constant)


def amplitude_for(lufs: float) -> float:
    return 10 ** ((lufs + R128_OFFSET) / 20)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@both_paths
def test_tracks_at_minus_20_and_minus_8_lufs_are_heard_within_1_db(room_factory, recorder,
                                                                   tmp_path):
    quiet = write_tone(tmp_path / "quiet.wav", QUIET_HZ, 3.0, amplitude_for(-20.0))
    loud = write_tone(tmp_path / "loud.wav", LOUD_HZ, 3.0, amplitude_for(-8.0))
    room = room_factory(analysis=True, audio={"normalise": True},
                        playlists={"receptive": [("Quiet", quiet), ("Loud", loud)]})
    with room:
        assert room.daemon.analysis.finished.wait(30), "the analysis did not finish"
        wait_until(lambda: all(t.gain_db for t in room.engine.state.library.receptive), 5,
                   "the analysed library to reach the engine")
        sent = room.send("receptive", minutes=0.2)
        time.sleep(5.8)
    rec = recorder.take()
    # each 3 s: the quiet one from the command, the loud one from its end (fade-in 0.3 s)
    heard_quiet = float(np.median([db for _, db in rec.tone_levels(QUIET_HZ, sent + 0.8,
                                                                   sent + 2.5)]))
    heard_loud = float(np.median([db for _, db in rec.tone_levels(LOUD_HZ, sent + 3.8,
                                                                  sent + 5.5)]))
    # without matched loudness these are 12 dB apart
    assert abs(heard_quiet - heard_loud) <= 1.0, (heard_quiet, heard_loud)
    # and both where a track at the reference loudness is heard at the room's level
    reference = (FULL_SCALE_TONE_DB + REFERENCE_LUFS + R128_OFFSET + level_to_db(70)
                 - TRACK_HEADROOM_DB)
    assert abs(heard_quiet - reference) <= 1.5 and abs(heard_loud - reference) <= 1.5, \
        (heard_quiet, heard_loud, reference)


@both_paths
def test_background_analysis_while_a_track_plays_leaves_no_gap_and_no_dip(room_factory,
                                                                          recorder,
                                                                          tmp_path):
    steady = write_tone(tmp_path / "steady.wav", STEADY_HZ, 9.0)
    to_analyse = [(f"Clicks {bpm}", write_clicks(tmp_path / f"clicks-{bpm}.wav", bpm, 60.0))
                  for bpm in (70, 85, 100, 115)]
    room = room_factory(analysis=True, receptive={"fade_out_s": 1},
                        playlists={"receptive": [("Steady", steady)], "ambient": to_analyse})
    analysed_at = []
    with room:
        sent = room.send("receptive", minutes=0.2)

        def count():
            done = sum(t.seconds is not None for t in room.engine.state.library.ambient)
            while len(analysed_at) < done:
                analysed_at.append(time.monotonic())
            return time.monotonic() > sent + 6.0
        wait_until(count, 10, "6 s of music")
        assert room.daemon.analysis.finished.wait(30)
    rec = recorder.take()
    start, end = sent + 1.0, sent + 6.0
    during = [t for t in analysed_at if start < t < end]
    assert len(during) >= 2, f"the analysis did not run while the track played: {analysed_at}"
    assert longest_silence(rec, start, end) <= 0.02
    levels = [db for _, db in rec.tone_levels(STEADY_HZ, start, end, width=0.05)]
    assert max(levels) - min(levels) <= 1.0 and abs(np.median(levels) - heard_at(70)) <= 1.0, \
        (min(levels), max(levels))
    short = [db for _, db in rec.levels(start, end, width=0.005)]
    assert min(short) >= float(np.median(short)) - 3.0, "the card was given zeros"
