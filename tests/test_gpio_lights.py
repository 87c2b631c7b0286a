"""The status light follows the room: read back from gpiozero's mock pins (pin.states)."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.sound

LIGHTS_TOML = """
[gpio]
pin_factory = "mock"
reflection_reminder_s = 0.8
[[lights]]
name = "status"
pin = 18
ambient = {breathe = 1.0}
reminder = {blink = [0.1, 0.2]}
[[lights]]
name = "plain"
pin = 24
pwm = false
ambient = {breathe = 1.0}
"""


@pytest.fixture
def room(room_factory):
    room = room_factory(extra=LIGHTS_TOML)
    with room:
        yield room


def watch(pin, seconds):
    """The states `pin` went through during the next `seconds` (the first: where it was)."""
    pin.clear_states()
    time.sleep(seconds)
    return list(pin.states)


def durations(states, level):
    """How long each stretch at `level` lasted (complete stretches only)."""
    return [nxt.timestamp for cur, nxt in zip(states[1:], states[2:]) if cur.state == level]


def test_the_light_breathes_in_ambient_and_is_steady_in_a_session(room):
    factory = room.daemon.adapters["gpio"].factory
    status, plain = factory.pin("GPIO18"), factory.pin("GPIO24")
    assert status.state == 0 and plain.state == 0  # idle: dark
    room.send("ambient")
    time.sleep(0.1)
    breathing = [s.state for s in watch(status, 1.2)]
    assert len(set(breathing)) > 10, "the light did not glide"
    assert max(breathing) >= 0.95 and min(breathing) <= 0.05
    peak = breathing.index(max(breathing))
    assert breathing[1:peak] == sorted(breathing[1:peak])  # rising to the peak, then falling
    plain_states = watch(plain, 1.6)
    assert [round(d, 1) for d in durations(plain_states, True)] == [0.5] * len(
        durations(plain_states, True)) and durations(plain_states, True)
    room.send("welcome")
    time.sleep(0.1)
    steady = watch(status, 0.6)
    assert [s.state for s in steady] == [1.0], "not steady during the welcome song"


def test_a_discreet_blink_before_receptive_ends_and_as_reflection_starts(room):
    status = room.daemon.adapters["gpio"].factory.pin("GPIO18")
    room.send("receptive", minutes=0.05)  # 3 s: inside the last two minutes at once
    time.sleep(0.05)
    blinking = watch(status, 1.0)
    ons, offs = durations(blinking, 1.0), durations(blinking, 0.0)
    assert len(ons) >= 2 and len(offs) >= 2, blinking
    assert all(abs(d - 0.1) < 0.05 for d in ons), ons
    assert all(abs(d - 0.2) < 0.05 for d in offs), offs
    room.wait_for(lambda s: s["phase"] == "reflection", timeout=5, what="reflection")
    still_blinking = watch(status, 0.5)
    assert {s.state for s in still_blinking} == {0.0, 1.0}
    time.sleep(0.4)  # reflection_reminder_s = 0.8 is over: steady
    assert [s.state for s in watch(status, 0.5)] == [1.0]


def test_a_fault_shows_its_own_pattern_and_goes_when_it_is_cleared(room):
    status = room.daemon.adapters["gpio"].factory.pin("GPIO18")
    room.send("welcome")
    room.engine.report_fault("audio", "test: the sound card went away")
    time.sleep(0.05)
    flashing = watch(status, 2.4)
    ons, offs = durations(flashing, 1.0), durations(flashing, 0.0)
    assert len(ons) >= 3 and all(abs(d - 0.1) < 0.05 for d in ons), ons  # quick flashes ...
    assert sorted(round(d, 1) for d in offs)[-1] == 1.4, offs  # ... then a pause
    assert sum(abs(d - 0.15) < 0.05 for d in offs) >= 2, offs
    room.engine.report_fault("audio", None)
    time.sleep(0.1)
    assert [s.state for s in watch(status, 0.4)] == [1.0]
