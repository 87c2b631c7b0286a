"""Track analysis without the tools: tag parsing, tempo from beats, energy, gain and the cap,
the cache's file keys, and the annotated library reaching the session core."""
from __future__ import annotations

import json

import pytest

from appliance.analysis import (REFERENCE_LUFS, TrackAnalysis, annotate_library, energy_of,
                                gain_for)
from appliance.analysis.cache import AnalysisCache, file_key
from appliance.analysis.measure import AnalysisFailed, parse_ebur128, tempo_of
from appliance.analysis.tags import parse_bpm_tag
from appliance.levels import level_to_db
from appliance.session import Library, Settings, Track, new_state, step
from appliance.session import commands as c

pytestmark = pytest.mark.fast


@pytest.mark.parametrize("raw, bpm", [("120", 120.0), ("92.5", 92.5), ("92,5", 92.5),
                                      (b"88".decode(), 88.0), (100, 100.0)])
def test_a_plausible_tag_is_the_tempo(raw, bpm):
    assert parse_bpm_tag(raw) == (bpm, None)


@pytest.mark.parametrize("raw", ["0", "999", "fast", "", "nan"])
def test_an_absurd_tag_is_ignored_with_a_note(raw):
    bpm, note = parse_bpm_tag(raw)
    assert bpm is None
    assert repr(raw) in note and "measured instead" in note


def test_tempo_from_beats_skips_the_lock_on_and_needs_onsets():
    # the tracker ticks at double speed for 10 s, then locks on 1 s beats
    beats = [i * 0.5 for i in range(20)] + [10.0 + i for i in range(21)]
    onsets = [float(i) for i in range(31)]
    assert tempo_of(beats, onsets, 31.0) == pytest.approx(60.0, abs=0.01)
    # the same beats with nothing heard under them (a drone): no tempo
    assert tempo_of(beats, [0.3, 17.7], 31.0) is None
    # steady onsets alone (a click track the tracker lost) still give the tempo
    assert tempo_of([2.0, 7.0], [i * 60 / 140 for i in range(70)], 30.0) == \
        pytest.approx(140.0, abs=0.01)


def test_loudness_log_parsed_and_a_broken_file_named():
    log = ("  Duration: 00:01:02.50, start: 0\nsize=N/A time=00:01:02.48 bitrate=N/A\n"
           "[Parsed_ebur128_0 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:  -14.2 LUFS\n")
    assert parse_ebur128(log, 0, "a.mp3") == (-14.2, pytest.approx(62.48))
    with pytest.raises(AnalysisFailed, match=r"^b\.mp3: cannot be decoded \(Invalid data"):
        parse_ebur128("b.mp3: Invalid data found when processing input\n", 1, "b.mp3")


def test_gain_brings_tracks_to_the_reference_within_limits():
    assert gain_for(-20.0) == pytest.approx(REFERENCE_LUFS + 20.0)
    assert gain_for(-8.0) == pytest.approx(REFERENCE_LUFS + 8.0)
    assert gain_for(-60.0) == 10.0 and gain_for(5.0) == -20.0 and gain_for(None) == 0.0


def test_energy_rises_with_tempo_and_loudness():
    assert energy_of(60, -30) == 0.0 and energy_of(140, -8) == 1.0
    assert energy_of(70, -20) < energy_of(120, -20) < energy_of(120, -10)
    assert energy_of(None, -8) < energy_of(70, -8)  # no steady beat counts as calm


def _library():
    return Library(receptive=(Track("/m/quiet.wav", "Quiet"), Track("/m/loud.wav", "Loud")))


def _analysed(library):
    known = {"/m/quiet.wav": TrackAnalysis(seconds=200, bpm=70, bpm_source="tag", lufs=-20),
             "/m/loud.wav": TrackAnalysis(seconds=180, bpm=120, bpm_source="measured",
                                          lufs=-8)}
    return annotate_library(library, known.get)


def test_the_core_plays_each_track_with_its_gain_never_past_the_cap():
    state = new_state(Settings(cap=80, volume=70), _library())
    state = step(state, c.LibraryAnalysed(_analysed(state.library)), 0.0).state
    assert state.library.receptive[1].bpm == 120 and state.library.receptive[1].seconds == 180
    play = next(e for e in step(state, c.Receptive(5), 0.0).effects if isinstance(e, c.Play))
    assert play.track.title == "Quiet" and play.gain_db == pytest.approx(2.0)
    # at the cap a quiet track cannot be raised: the cap wins over matched loudness
    at_cap = new_state(Settings(cap=70, volume=70), state.library)
    play = next(e for e in step(at_cap, c.Receptive(5), 0.0).effects if isinstance(e, c.Play))
    assert play.level_db + play.gain_db <= level_to_db(70)
    off = new_state(Settings(normalise=False), state.library)
    play = next(e for e in step(off, c.Receptive(5), 0.0).effects if isinstance(e, c.Play))
    assert play.gain_db == 0.0


def test_a_block_already_planned_takes_the_new_figures():
    state = new_state(Settings(), _library())
    state = step(state, c.Receptive(5), 0.0).state
    state = step(state, c.LibraryAnalysed(_analysed(state.library)), 1.0).state
    plan = state.plan("foreground")
    assert [t.gain_db for t in plan.tracks] == [pytest.approx(2.0), pytest.approx(-10.0)]


def test_cache_entry_counts_only_for_the_file_as_it_was(tmp_path):
    track = tmp_path / "a.wav"
    track.write_bytes(b"x" * 10)
    cache = AnalysisCache(tmp_path / "state")
    cache.put(str(track), file_key(str(track)), TrackAnalysis(seconds=1.0, lufs=-12.0))
    cache.save()
    again = AnalysisCache(tmp_path / "state")
    assert again.get(str(track)).lufs == -12.0 and again.notice is None
    track.write_bytes(b"y" * 11)
    assert again.get(str(track)) is None


@pytest.mark.parametrize("content", [b"{not json", b'{"version": 1, "files": []}', b"[]"])
def test_a_corrupt_cache_is_rebuilt_with_a_notice(tmp_path, content):
    (tmp_path / "analysis.json").write_bytes(content)
    cache = AnalysisCache(tmp_path)
    assert "analysis cache is corrupt" in cache.notice and str(tmp_path) in cache.notice
    cache.save()
    assert json.loads((tmp_path / "analysis.json").read_text()) == {"version": 1, "files": {}}
