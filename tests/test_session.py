"""The pure session core: phases, refusals, timers and tracks, with an injected clock."""
from __future__ import annotations

import pytest

from appliance.levels import level_to_db
from appliance.session import (ACTIVE, AMBIENT, FOREGROUND_CH, IDLE, RECEPTIVE, REFLECTION,
                               WELCOME, Library, Settings, Track, new_state, next_wakeup,
                               now_playing, remaining_s, step)
from appliance.session import commands as c

pytestmark = pytest.mark.fast

AMB = (Track("/m/drone.wav", "Drone"),)
WEL = (Track("/m/hello.wav", "Hello song"), Track("/m/goodmorning.ogg", "Good morning"))
REC = tuple(Track(f"/m/r{i}.wav", f"Pad {i}") for i in range(1, 4))


def fresh(**settings):
    return new_state(Settings(**settings), Library(ambient=AMB, welcome=WEL, receptive=REC))


def run(state, *commands, now=0.0):
    """Apply commands in order; every one must be accepted."""
    effects = []
    for command in commands:
        out = step(state, command, now)
        assert out.accepted, out.refusal
        state = out.state
        effects.extend(out.effects)
    return state, effects


def of(effects, kind):
    return [e for e in effects if isinstance(e, kind)]


def test_a_whole_session_walks_through_every_phase():
    s = fresh(reflection_minutes=10, receptive_fade_out_s=30)
    s, fx = run(s, c.Ambient())
    assert s.phase == AMBIENT and of(fx, c.Play)[0].track == AMB[0]
    s, fx = run(s, c.Welcome(), now=10)
    assert s.phase == WELCOME
    assert of(fx, c.Fade)[0].channel == "ambient"        # the bed goes down...
    assert of(fx, c.Play)[0].track == WEL[0]             # ...as the song comes up
    play_id = of(fx, c.Play)[0].play_id
    s, fx = run(s, c.TrackEnded(FOREGROUND_CH, play_id), now=70)
    assert s.phase == ACTIVE                             # song over: the therapist leads
    s, fx = run(s, c.Receptive(20), now=100)
    assert s.phase == RECEPTIVE and remaining_s(s, 100) == 1200
    assert next_wakeup(s) == 100 + 1200 - 120            # the time cue, 2 minutes before
    s, fx = run(s, c.Tick(), now=1180)
    assert of(fx, c.TimeCue) == [c.TimeCue(120)] and not of(fx, c.Fade)
    assert next_wakeup(s) == 100 + 1200 - 30             # the closing fade starts on time
    s, fx = run(s, c.Tick(), now=1270)
    assert of(fx, c.Fade) == [c.Fade(FOREGROUND_CH, None, 30)]
    s, fx = run(s, c.Tick(), now=1300)
    assert s.phase == REFLECTION and remaining_s(s, 1300) == 600
    s, fx = run(s, c.Tick(), now=1900)
    assert s.phase == IDLE and of(fx, c.PhaseChanged) == [c.PhaseChanged(REFLECTION, IDLE)]


@pytest.mark.parametrize("phase_cmds,cmd,reason", [
    ((), c.Reflection(), "reflection: not possible during idle"),
    ((), c.End(), "end: nothing to end"),
    ((c.Ambient(),), c.Ambient(), "already playing"),
    ((c.Welcome(),), c.Welcome(), "already playing"),
    ((c.Receptive(5),), c.Receptive(5), "already running"),
    ((c.Receptive(5), c.Reflection()), c.Welcome(), "welcome: not possible during reflection"),
    ((), c.Receptive(0), "between 1 and 180, not 0"),
    ((), c.Receptive(10000), "between 1 and 180, not 10000"),
    ((), c.Volume(101), "between 0 and 100"),
    ((), c.Volume(-1), "between 0 and 100"),
    ((), c.Welcome("Birthday song"), "no track called 'Birthday song'"),
])
def test_commands_that_do_not_fit_are_refused_with_a_reason(phase_cmds, cmd, reason):
    s, _ = run(fresh(), *phase_cmds)
    out = step(s, cmd, 1.0)
    assert not out.accepted and reason in out.refusal
    assert out.state == s and out.effects == ()


@pytest.mark.parametrize("setup,expected", [
    ((), IDLE), ((c.Ambient(),), IDLE), ((c.Welcome(),), ACTIVE), ((c.Active(),), ACTIVE),
    ((c.Receptive(5),), REFLECTION), ((c.Receptive(5), c.Reflection()), REFLECTION),
])
def test_quiet_is_never_refused_and_never_skips_reflection(setup, expected):
    s, _ = run(fresh(quiet_s=3), *setup)
    s, fx = run(s, c.Quiet(), now=5)
    assert s.phase == expected
    assert all(f.seconds == 3 and f.level_db is None for f in of(fx, c.Fade))
    assert not of(fx, c.Play)


def test_end_always_goes_through_reflection():
    for setup in ((c.Welcome(),), (c.Active(),), (c.Receptive(5),)):
        s, _ = run(fresh(), *setup)
        s, _ = run(s, c.End())
        assert s.phase == REFLECTION
    s, _ = run(s, c.End())
    assert s.phase == IDLE


def test_next_walks_the_session_button_through_the_phases():
    s = fresh(receptive_default_minutes=15)
    phases = []
    for _ in range(6):
        s, _ = run(s, c.Next())
        phases.append(s.phase)
    assert phases == [AMBIENT, WELCOME, ACTIVE, RECEPTIVE, REFLECTION, IDLE]


def test_receptive_block_ends_with_its_closing_fade_not_a_cut():
    s, fx = run(fresh(receptive_fade_out_s=30), c.Receptive(1))
    assert s.fade_at == 30 and s.deadline == 60
    # the closing fade takes the channel down to the block's end, across track changes: a
    # track ending inside it is followed by the next, joined to the fade (the music reaches
    # the end of the block); only in its last half second does nothing new start
    s, fx = run(s, c.Tick(), now=30)
    assert [(f.level_db, f.seconds) for f in of(fx, c.Fade)] == [(None, 30)]
    s, fx = run(s, c.TrackEnded(FOREGROUND_CH, s.plan(FOREGROUND_CH).play_id), now=45)
    assert [(p.track.title, p.join_fade) for p in of(fx, c.Play)] == [("Pad 2", True)]
    assert not of(fx, c.Fade) and s.phase == RECEPTIVE
    s, fx = run(s, c.TrackEnded(FOREGROUND_CH, s.plan(FOREGROUND_CH).play_id), now=59.7)
    assert not of(fx, c.Play) and s.phase == RECEPTIVE
    # a short block fades for half its length at most
    s, _ = run(fresh(receptive_fade_out_s=30, receptive_min_minutes=0.5), c.Receptive(0.5))
    assert s.fade_at == 15


def test_receptive_fills_the_block_by_drawing_the_playlist_again():
    s, fx = run(fresh(), c.Receptive(30))
    titles = [of(fx, c.Play)[0].track.title]
    for _ in range(5):
        s, fx = run(s, c.TrackEnded(FOREGROUND_CH, s.plan(FOREGROUND_CH).play_id), now=60)
        titles.append(of(fx, c.Play)[0].track.title)
    assert titles == ["Pad 1", "Pad 2", "Pad 3", "Pad 1", "Pad 2", "Pad 3"]
    assert all(p.join_fade for p in of(fx, c.Play))  # the next track keeps the channel level


def test_shuffle_is_a_permutation_and_repeatable_for_a_seed():
    orders = set()
    for seed in range(6):
        s = new_state(Settings(receptive_order="shuffle"), Library(AMB, WEL, REC), seed=seed)
        s, fx = run(s, c.Receptive(20))
        order = [of(fx, c.Play)[0].track]
        for _ in range(2):
            s, fx = run(s, c.TrackEnded(FOREGROUND_CH, s.plan(FOREGROUND_CH).play_id))
            order.append(of(fx, c.Play)[0].track)
        assert sorted(t.title for t in order) == ["Pad 1", "Pad 2", "Pad 3"]
        orders.add(tuple(order))
    assert len(orders) > 1


def test_a_failed_track_is_skipped_with_a_notice_and_a_dead_playlist_stops():
    s, fx = run(fresh(), c.Receptive(20))
    for _ in range(3):
        s, fx = run(s, c.TrackFailed(FOREGROUND_CH, s.plan(FOREGROUND_CH).play_id, "corrupt"))
        assert any("skipped" in n.message for n in of(fx, c.Notice))
    assert any("no playable track left" in n.message for n in of(fx, c.Notice))
    assert not of(fx, c.Play) and now_playing(s) is None


def test_a_welcome_song_that_fails_hands_over_to_active_work():
    s, fx = run(fresh(), c.Welcome())
    s, fx = run(s, c.TrackFailed(FOREGROUND_CH, of(fx, c.Play)[0].play_id, "missing"))
    assert s.phase == ACTIVE and of(fx, c.Notice)


def test_late_reports_about_an_old_track_change_nothing():
    s, fx = run(fresh(), c.Welcome())
    old_id = of(fx, c.Play)[0].play_id
    s, _ = run(s, c.Active(), c.Receptive(10))
    out = step(s, c.TrackEnded(FOREGROUND_CH, old_id), 5)
    assert out.state == s and out.effects == ()


def test_welcome_by_name_matches_title_or_file_name_only_from_the_playlist():
    s, fx = run(fresh(), c.Welcome("good morning"))
    assert of(fx, c.Play)[0].track == WEL[1]
    s, fx = run(fresh(), c.Welcome("GOODMORNING"))
    assert of(fx, c.Play)[0].track == WEL[1]
    for name in ("../../etc/passwd", "/m/hello.wav", "hello.wav\0"):
        assert not step(fresh(), c.Welcome(name), 0).accepted


def test_a_booked_session_brings_its_welcome_song_until_the_room_is_idle():
    s, _ = run(fresh(), c.Ambient(welcome_track="Good morning"))
    s, fx = run(s, c.Welcome())
    assert of(fx, c.Play)[0].track == WEL[1]
    s, _ = run(s, c.End(), c.End())
    s, fx = run(s, c.Welcome())
    assert of(fx, c.Play)[0].track == WEL[0]


def test_volume_is_clamped_to_the_cap_and_glides():
    s, fx = run(fresh(cap=60, volume=50), c.Welcome())
    assert of(fx, c.Play)[0].level_db == level_to_db(50)
    out = step(s, c.Volume(90), 1)
    assert out.accepted and out.state.volume == 60 and "capped at 60" in out.message
    assert of(out.effects, c.Fade) == [c.Fade(FOREGROUND_CH, level_to_db(60), 0.3)]


def test_volume_during_ambient_sets_the_bed_and_steps_stay_in_range():
    s, _ = run(fresh(ambient_level=40, cap=80), c.Ambient(), c.Volume(30))
    assert s.ambient_level == 30 and s.volume == 70
    s, _ = run(s, *[c.VolumeStep(-5)] * 10)
    assert s.ambient_level == 0
    s, _ = run(fresh(volume=78, cap=80), c.VolumeStep(5))
    assert s.volume == 80


def test_config_levels_above_the_cap_are_held_down():
    s = fresh(cap=50, volume=70, ambient_level=60)
    assert s.volume == 50 and s.ambient_level == 50


def test_a_no_show_end_does_not_land_on_a_welcome_given_at_the_same_moment():
    s, _ = run(fresh(), c.Ambient(), c.Welcome())
    out = step(s, c.End(fade_s=30, only_from=AMBIENT), 5)
    assert out.refusal == "end: the room is no longer in ambient" and out.state == s
    s, fx = run(fresh(), c.Ambient(), c.End(fade_s=30, only_from=AMBIENT))
    assert s.phase == IDLE and of(fx, c.Fade)[0].seconds == 30
