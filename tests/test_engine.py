"""The engine thread and the mix arithmetic, with a recording stand-in for libVLC.

libVLC is not the subject here (test_sound.py listens to it); these tests are about the one
inbox, its bound, what happens when something breaks, and the level sums the mixer does.
"""
from __future__ import annotations

import threading
import time

import pytest

from appliance.audio.mixer import ChannelMix, DeckMix, deck_db, hold_heard_level, within_cap
from appliance.audio.ramp import Ramp, ramp_from
from appliance.engine import INBOX_LIMIT, Engine
from appliance.errors import EngineFailed
from appliance.levels import (SILENCE_DB, TRACK_HEADROOM_DB, db_to_amplitude, heard_db,
                              level_to_db, vlc_volume_for)
from appliance.session import Library, Settings, Track, new_state
from appliance.session import commands as c

from .conftest import SilentAudio



class RecordingAudio(SilentAudio):
    """SilentAudio that remembers every call, can block in play() or fail there."""

    def __init__(self, fail_on_play=False, block=None):
        super().__init__()
        self.calls = []
        self.silenced = threading.Event()
        self.fail_on_play = fail_on_play
        self.block = block

    def play(self, *args):
        if self.block:
            self.block.wait(5)
        if self.fail_on_play:
            raise RuntimeError("sound card gone")
        self.calls.append(("play",) + args)

    def fade(self, *args):
        self.calls.append(("fade",) + args)

    def stop(self, channel):
        self.calls.append(("stop", channel))

    def silence_now(self):
        self.silenced.set()


def engine(audio, **options):
    lib = Library(ambient=(Track("/a.wav", "A"),), welcome=(Track("/w.wav", "W"),),
                  receptive=(Track("/r.wav", "R"),))
    e = Engine(new_state(Settings(), lib), audio, **options)
    e.start()
    return e


@pytest.mark.fast
def test_a_flood_of_commands_is_refused_past_the_bound_not_queued():
    gate = threading.Event()
    audio = RecordingAudio(block=gate)
    e = engine(audio)
    first = e.submit(c.Welcome(), source="button:welcome")   # the engine is stuck in play()
    floods = [e.submit(c.Quiet(), source="button:welcome") for _ in range(INBOX_LIMIT * 4)]
    refused = [p for p in floods if p.wait(0) and p.refusal and p.refusal.startswith("busy")]
    assert len(refused) >= INBOX_LIMIT * 3 - 1
    gate.set()
    assert first.wait(5) and first.accepted
    e.shutdown(fade_s=0.05)


@pytest.mark.fast
def test_events_tell_phase_changes_and_who_asked():
    e = engine(RecordingAudio())
    events = []
    e.subscribe_events(events.append)
    assert e.submit(c.Welcome(), source="button:welcome").wait(5)
    refused = e.submit(c.Welcome(), source="panel")
    assert refused.wait(5) and "already playing" in refused.refusal
    e.shutdown(fade_s=0.05)
    assert {"type": "phase", "old": "idle", "new": "welcome"} in events
    assert {"type": "command", "verb": "welcome", "source": "button:welcome",
            "accepted": True, "reason": None} in events
    assert any(ev.get("source") == "panel" and not ev["accepted"] for ev in events)


@pytest.mark.fast
def test_a_failing_subscriber_does_not_stop_the_room():
    e = engine(RecordingAudio())
    e.subscribe(lambda status: 1 / 0)
    assert e.submit(c.Ambient()).wait(5)
    p = e.submit(c.Welcome())
    assert p.wait(5) and p.accepted and e.status().phase == "welcome"
    e.shutdown(fade_s=0.05)


@pytest.mark.fast
def test_a_dead_engine_is_loud_answers_everyone_and_refuses_what_comes():
    gate = threading.Event()
    audio = RecordingAudio(fail_on_play=True, block=gate)
    e = engine(audio)
    published = []
    e.subscribe(published.append)
    failing = e.submit(c.Welcome(), source="panel")     # the engine fails in play()
    queued = e.submit(c.Quiet(), source="panel")        # waits behind it
    gate.set()
    assert audio.silenced.wait(5), "the room was not silenced after the audio failed"
    assert e.stopped.wait(5)
    for pending in (failing, queued):  # nobody is left waiting
        assert pending.wait(0) and isinstance(pending.error, EngineFailed)
        assert "sound card gone" in pending.refusal
    status = e.status()
    assert "the engine failed (RuntimeError: sound card gone)" in status.fault
    assert status.possible == () and published and published[-1].fault == status.fault
    late = e.submit(c.Ambient(), source="cli")
    assert late.wait(0) and isinstance(late.error, EngineFailed)
    with pytest.raises(EngineFailed, match="sound card gone"):
        late.result()


@pytest.mark.slow
def test_a_stuck_engine_shows_in_status_and_refuses_commands():
    gate = threading.Event()
    e = engine(RecordingAudio(block=gate), stuck_after_s=2.5)  # play() hangs, as libVLC might
    e.submit(c.Welcome())
    assert e.status().fault is None
    deadline = time.monotonic() + 4.5
    while e.stuck_s() <= 2.5 and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        assert "has not responded" in e.status().fault
        refused = e.submit(c.Quiet(), source="cli")
        assert refused.wait(0) and isinstance(refused.error, EngineFailed)
    finally:
        gate.set()
    assert e.shutdown(fade_s=0.05)


@pytest.mark.fast
def test_a_shutdown_request_is_not_lost_when_the_inbox_is_full():
    gate = threading.Event()
    audio = RecordingAudio(block=gate)
    e = engine(audio)
    e.submit(c.Welcome())
    while e.queue_depth() < INBOX_LIMIT:       # fill the inbox behind the stuck command
        e.submit(c.Quiet())
    e.begin_shutdown(fade_s=0.1)
    gate.set()
    assert e.stopped.wait(10), "the shutdown request was lost"
    assert audio.silenced.is_set()


@pytest.mark.fast
def test_faults_reported_by_adapters_show_in_status():
    e = engine(RecordingAudio())
    seen = []
    e.subscribe(seen.append)
    e.report_fault("gpio", "GPIO chip gone; retrying")
    e.submit(c.Ambient()).wait(5)
    assert e.status().faults == {"gpio": "GPIO chip gone; retrying"}
    e.report_fault("gpio", None)
    e.submit(c.End()).wait(5)
    assert e.status().faults == {}
    e.shutdown(fade_s=0.05)
    assert any(s.faults for s in seen)


@pytest.mark.fast
def test_levels_are_equal_decibel_steps_and_libvlc_volume_is_cubic():
    assert [level_to_db(x) for x in (100, 90, 80, 1)] == [0, -5, -10, -49.5]
    assert level_to_db(0) == SILENCE_DB
    for level in (10, 40, 70, 100):
        db = level_to_db(level)
        assert abs(heard_db(vlc_volume_for(db), 0) - db) < 1.0
        # with the ALSA cap stage at -16 dB (cap -10 less the track headroom) the player
        # supplies only the rest
        stage = -10 - TRACK_HEADROOM_DB
        assert abs(heard_db(vlc_volume_for(min(db, -10), stage), stage) - min(db, -10)) < 1.0
    # a track at level 100 is heard 6 dB below full scale, at libVLC volume 79
    assert vlc_volume_for(0.0) == 79 and vlc_volume_for(SILENCE_DB) == 0
    assert vlc_volume_for(TRACK_HEADROOM_DB) == 100
    assert vlc_volume_for(+20.0) == 100  # never above 100 %, whatever is asked


@pytest.mark.fast
def test_a_newer_fade_starts_from_where_the_old_one_is():
    old = Ramp(-10, -50, t0=0, seconds=4, stop_at_end=True)
    now = 1.0
    newer = ramp_from(old.level_at(now), -20, 1.0, now)
    assert newer.start_db == old.level_at(now) == -20
    assert newer.level_at(now) == old.level_at(now)  # no jump at the hand-over


@pytest.mark.fast
def test_crossfading_decks_together_stay_under_the_cap():
    cap = -10.0
    levels = within_cap([-10.0, -10.0, -30.0], cap)
    assert sum(db_to_amplitude(db) for db in levels) <= db_to_amplitude(cap) * 1.0001
    assert levels[0] == levels[1] and levels[2] < levels[0]
    # a deck libVLC no longer takes volume for is kept; the others make room
    fixed = within_cap([-12.0, -10.0], cap, fixed={0})
    assert fixed[0] == -12.0
    assert db_to_amplitude(fixed[0]) + db_to_amplitude(fixed[1]) <= db_to_amplitude(cap) * 1.0001
    assert within_cap([-40.0], cap) == [-40.0]


@pytest.mark.fast
def test_a_new_level_under_a_sounding_deck_keeps_it_where_it_was():
    ch = ChannelMix(fader=Ramp(-30, -30, 0, 0))
    deck = DeckMix(gain=Ramp(0, 0, 0, 0), sounding=True)
    before = deck_db(ch, deck, 1.0)
    hold_heard_level(deck, -30, -15, 1.0)
    ch.fader = Ramp(-15, -15, 1.0, 0)
    assert abs(deck_db(ch, deck, 1.0) - before) < 1e-9


@pytest.mark.fast
def test_nothing_new_starts_while_the_appliance_shuts_down():
    audio = RecordingAudio()
    e = engine(audio)
    e.begin_shutdown(fade_s=0.5)
    late = e.submit(c.Welcome(), source="panel")
    assert late.wait(5) and late.refusal == "the appliance is shutting down"
    assert not [call for call in audio.calls if call[0] == "play"]
    assert e.stopped.wait(5) and audio.silenced.is_set()
