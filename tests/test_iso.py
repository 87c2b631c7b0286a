"""The iso programme's plan and the live controls of a receptive block, in the pure core.

No sound here (test_iso_sound.py listens); these are the promises a plan makes before anything
plays: the tempo never rises (except the U's gentle way back up), the level never rises, the
steps are the configured size, a block is filled to its length, and every control changes
the time left at once while the closing fade is always honoured.
"""
from __future__ import annotations

import random

import pytest

from appliance.engine import Engine
from appliance.session import FOREGROUND_CH, Library, Settings, Track, new_state, step
from appliance.session import commands as c
from appliance.session import iso
from appliance.status import Status

from .conftest import SilentAudio

pytestmark = pytest.mark.fast


def library(bpms, seconds=210.0):
    return tuple(Track(f"/m/{i}.wav", f"P{i} {bpm:g}", seconds=seconds, bpm=bpm)
                 for i, bpm in enumerate(bpms))


def settings(**kw):
    base = dict(receptive_fade_out_s=30, receptive_min_minutes=0.05, iso_crossfade_s=8)
    base.update(kw)
    return Settings(**base)


def plan(tracks, minutes=10, volume=70, **kw):
    return iso.plan(tracks, minutes, iso.Shape.of(settings()), volume, **kw)


def falls(values):
    return all(b <= a + 1e-9 for a, b in zip(values, values[1:]))


def test_the_planned_tempo_and_level_never_rise_over_many_playlists():
    rng = random.Random(14)
    for case in range(300):
        tracks = library([rng.uniform(50, 150) for _ in range(rng.randint(1, 25))],
                         seconds=rng.uniform(60, 400))
        start = rng.choice([None, rng.uniform(60, 140)])
        energy = None if start else rng.choice(iso.ENERGIES)
        minutes = rng.uniform(3, 45)
        made = plan(tracks, minutes=minutes, from_bpm=start, energy=energy)
        bpms = [p.bpm for p in made.pieces]
        assert falls(bpms), (case, bpms)
        assert falls([p.level for p in made.pieces]), case
        # filled: the pieces, overlapped by their crossfades, last the block asked
        assert sum(p.seconds - 8 for p in made.pieces) >= minutes * 60, case


def test_a_plan_fills_its_block_and_starts_near_the_clients_tempo():
    tracks = library(range(60, 131, 5), seconds=200)
    for minutes in (5, 10, 20, 40):
        made = plan(tracks, minutes=minutes, from_bpm=112)
        covered = sum(p.seconds - 8 for p in made.pieces)
        assert minutes * 60 <= covered < minutes * 60 + 200, minutes
        assert abs(made.pieces[0].bpm - 112) <= 3


def test_it_goes_down_at_least_30_percent_in_steps_of_10_to_15_percent():
    tracks = library(range(50, 141, 2), seconds=210)  # a tempo for every step
    made = plan(tracks, minutes=20, from_bpm=120)
    bpms = [p.bpm for p in made.pieces]
    assert made.to_bpm == pytest.approx(84) and min(bpms) <= 84 * 1.02
    # on the way down each step is 10-15 %; at the bottom it stays near --to
    steps = [1 - b.bpm / a.bpm for a, b in zip(made.pieces, made.pieces[1:])
             if b.target_bpm < a.target_bpm * 0.99]
    assert len(steps) >= 3 and all(0.08 <= s <= 0.17 for s in steps), steps
    assert all(p.bpm >= 84 * 0.9 for p in made.pieces)
    assert made.notes == ()
    # --to further down; a 10-minute block steps at most 15 % and says what it reaches
    short = plan(tracks, minutes=10, from_bpm=120, to_bpm=60)
    assert any("reaches" in n for n in short.notes)
    assert all(1 - b / a <= 0.17 for a, b in zip([p.bpm for p in short.pieces],
                                                   [p.bpm for p in short.pieces][1:]))


def test_the_room_level_steps_down_over_the_block():
    made = plan(library(range(60, 131, 5)), minutes=20, from_bpm=120, volume=70)
    levels = [p.level for p in made.pieces]
    assert levels[0] == 70 and levels[-1] == pytest.approx(60) and falls(levels)


def test_a_u_goes_down_rests_and_comes_gently_back_up_without_rising_in_level():
    made = plan(library(range(50, 141, 2)), minutes=40, from_bpm=120, u=True)
    bpms = [p.bpm for p in made.pieces]
    bottom = bpms.index(min(bpms))
    assert 0 < bottom < len(bpms) - 1 and bpms[-1] > min(bpms)
    assert falls(bpms[:bottom + 1]) and max(bpms[bottom:]) <= 120 * 0.85 + 2
    assert falls([p.level for p in made.pieces])


def test_too_few_tracks_play_what_fits_and_say_what_is_missing():
    made = plan(library([120, 118]) + (Track("/m/x.wav", "no tempo"),), minutes=10,
                from_bpm=120)
    assert [p.bpm for p in made.pieces][:2] == [120, 118]
    assert made.seconds >= 600 and falls([p.bpm for p in made.pieces])
    assert any("no tempo known for 1 tracks" in n for n in made.notes)
    assert any("no track" in n and "BPM" in n for n in made.notes)


@pytest.mark.parametrize("tracks, kw, line", [
    ((Track("/a.wav", "A"),), {}, "iso: no tempo known for 1 tracks: run appliance analyse"),
    ((), {}, "iso: the playlist is empty"),
    (library([90]), {"from_bpm": 80, "to_bpm": 85},
     "iso: to (85 BPM) must be below the starting tempo (80 BPM)"),
])
def test_a_plan_that_cannot_be_made_is_one_line(tracks, kw, line):
    with pytest.raises(iso.PlanRefused) as why:
        plan(tracks, **kw)
    assert str(why.value) == line


# --- the block as it plays, and its live controls --------------------------------------------

def room(**kw):
    lib = Library(receptive=library([120, 108, 96, 86, 78, 70, 62], seconds=40))
    return new_state(settings(iso_piece_minutes=0.5, iso_crossfade_s=4, **kw), lib)


def run(state, command, now=0.0):
    out = step(state, command, now)
    assert out.refusal is None, out.refusal
    return out.state, out.effects


def plays(effects):
    return [e for e in effects if isinstance(e, c.Play)]


def left(state, now):
    return Engine(state, SilentAudio())._build_status(now).remaining_s(now)


def test_an_iso_block_crossfades_down_piece_by_piece_and_its_level_steps_down():
    s, fx = run(room(), c.Iso(3, from_bpm=120))
    assert plays(fx)[0].track.bpm == 120 and s.block.pieces[1].bpm == 108
    heard = [(plays(fx)[0].track.bpm, plays(fx)[0].level_db)]
    now = 0.0
    while now < 150:
        now += 1
        s, fx = run(s, c.Tick(), now)
        heard += [(p.track.bpm, p.level_db) for p in plays(fx)]
        for p in plays(fx):
            assert p.crossfade_s == 4 and p.fade_in_s == pytest.approx(4 / 3)
            assert not p.join_fade
            assert now == pytest.approx(26 * (len(heard) - 1), abs=1)  # 30 s pieces, 4 s overlap
    assert [b for b, _ in heard] == sorted((b for b, _ in heard), reverse=True)
    assert falls([db for _, db in heard]) and heard[-1][1] < heard[0][1]
    status = Engine(s, SilentAudio())._build_status(now).as_dict(now)["block"]
    assert status["kind"] == "iso" and status["piece"] == len(heard) - 1
    assert [p[1] for p in status["played"]] == [b for b, _ in heard]


def test_hold_freezes_the_time_left_and_the_piece_until_released():
    s, _ = run(room(), c.Iso(3, from_bpm=120))
    s, _ = run(s, c.Hold(), now=10)
    assert left(s, 10) == left(s, 90) == 170 and s.block.held
    for now in range(11, 90):
        s, fx = run(s, c.Tick(), now)
        assert not plays(fx)  # no next piece while held
    s, fx = run(s, c.TrackEnded(FOREGROUND_CH, s.plan(FOREGROUND_CH).play_id), now=40)
    assert plays(fx)[0].track.bpm == 120  # the held piece begins again
    out = step(s, c.Hold(), 90)
    assert out.message == "released: 2:50 left" and left(out.state, 90) == 170
    assert out.state.deadline == 260


def test_extend_and_shorten_change_the_time_left_at_once_and_never_cut_the_fade():
    s, _ = run(room(), c.Receptive(2))
    s, _ = run(s, c.Extend(1.5), now=20)
    assert left(s, 20) == 190
    s, _ = run(s, c.Shorten(1), now=20)
    assert left(s, 20) == 130
    out = step(s, c.Shorten(100), 20)
    assert left(out.state, 20) == 30 and "closing fade takes 0:30" in out.message
    s, fx = run(out.state, c.Tick(), now=20)  # the closing fade starts at once, whole
    assert [(f.level_db, f.seconds) for f in fx if isinstance(f, c.Fade)] == [(None, 30)]
    for verb in (c.Extend(1), c.Shorten(1), c.Hold(), c.Skip(), c.Step(-1)):
        assert "closing fade has begun" in step(s, verb, 25).refusal
    long, _ = run(room(), c.Receptive(170))
    assert step(long, c.Extend(20), 1).refusal == \
        "extend: the block would last 190 more minutes, over receptive.max_minutes (180)"


def test_skip_and_step_crossfade_into_the_next_or_a_slower_or_faster_piece():
    s, _ = run(room(), c.Iso(3, from_bpm=120))
    s, fx = run(s, c.Skip(), now=5)
    assert plays(fx)[0].track.bpm == 108 and plays(fx)[0].crossfade_s == 4
    s, fx = run(s, c.Step(-1), now=10)
    assert plays(fx)[0].track.bpm == 96 and s.block.pieces[s.block.index].bpm == 96
    assert falls([p.bpm for p in s.block.pieces[s.block.index:]])  # planned again from there
    s, fx = run(s, c.Step(1), now=15)
    assert plays(fx)[0].track.bpm > 96
    assert plays(fx)[0].level_db <= -15  # a step up never brings the level up
    # a plain block steps within its playlist; without tempos it says why
    s, _ = run(room(), c.Receptive(3))
    s, fx = run(s, c.Step(-1), now=1)
    assert plays(fx)[0].track.bpm == 108
    plain = new_state(settings(), Library(receptive=(Track("/a.wav", "A"),)))
    plain, _ = run(plain, c.Receptive(3))
    assert step(plain, c.Step(-1), 1).refusal == \
        "step_down: no tempo known for 'A': run appliance analyse"


def test_status_shows_the_plan_and_a_held_block_counts_down_nowhere():
    s, _ = run(room(), c.Iso(3, from_bpm=120))
    s, _ = run(s, c.Hold(), now=10)
    status: Status = Engine(s, SilentAudio())._build_status(10)
    shown = status.as_dict(50)
    assert shown["remaining_s"] == 170 and shown["block"]["held"]
    assert [p["bpm"] for p in shown["block"]["plan"]][:3] == [120, 108, 96]
    assert shown["block"]["plan"][1]["starts_s"] == 26


def test_the_time_cue_comes_once_before_the_end_and_again_after_an_extend():
    s, _ = run(room(receptive_time_cue_s=60), c.Receptive(5))
    cues = []
    for now in range(0, 300, 5):
        s, fx = run(s, c.Tick(), now)
        cues += [(now, e.remaining_s) for e in fx if isinstance(e, c.TimeCue)]
        if now == 250:
            s, _ = run(s, c.Extend(2), now)  # 170 s left: the cue comes again at 60 s left
    assert cues == [(240, 60.0)]
    for now in range(300, 420, 5):
        s, fx = run(s, c.Tick(), now)
        cues += [(now, e.remaining_s) for e in fx if isinstance(e, c.TimeCue)]
    assert cues == [(240, 60.0), (360, 60.0)]


def test_events_name_the_live_control_that_was_given():
    engine = Engine(room(), SilentAudio())
    events = []
    engine.subscribe_events(events.append)
    engine.start()
    try:
        for command in (c.Iso(3, from_bpm=120), c.Step(-1), c.Step(1), c.Hold(), c.Skip()):
            assert engine.submit(command, source="mqtt").wait(5)
    finally:
        engine.shutdown(fade_s=0.05)
    assert [e["verb"] for e in events if e["type"] == "command"] == [
        "iso", "step_down", "step_up", "hold", "skip"]
    assert all(e["accepted"] for e in events if e["type"] == "command")


def test_appliance_status_lists_the_plan_and_marks_the_piece_playing():
    from appliance.__main__ import format_status
    s, _ = run(room(), c.Iso(3, from_bpm=120))
    s, _ = run(s, c.Skip(), now=5)
    text = format_status(Engine(s, SilentAudio())._build_status(5).as_dict(5))
    assert "block: iso" in text
    assert "    0:00  120 BPM  level 70  P0 120" in text
    assert "  > 0:05  108 BPM" in text  # skipped to, so it began at 0:05


def test_a_short_playlist_is_told_once_not_once_per_repeated_piece():
    """Three 30 s tracks for a 5-minute block: the calmest plays on, and the notice that
    says so comes once (the room keeps only the last ten notices)."""
    tracks = (Track("/a", "Warm", 30, 84), Track("/b", "Slower", 30, 72),
              Track("/c", "Resting", 30, 60))
    made = iso.plan(tracks, 5, iso.Shape.of(Settings()), 70, None, "high", None, False)
    assert len(made.pieces) >= 10 and made.pieces[-1].track.title == "Resting"
    assert len(made.notes) == len(set(made.notes)) == 1
