"""Buttons in a running room: gpiozero's mock pins, the real engine, and what the room hears.

Pins are driven with MockPin.drive_low()/drive_high() (buttons wired to ground with the pull-up
on: pressed reads low); lights are read back from the mock pin's recorded states.
"""
from __future__ import annotations

import logging
import time

import pytest

from .conftest import AMBIENT_HZ, WELCOME_HZ

pytestmark = pytest.mark.sound

HEARD_DB = -60.0

GPIO_TOML = """
[gpio]
pin_factory = "mock"
settle_s = 0.5
[[buttons]]
name = "welcome"
pin = 17
on_press = "welcome"
on_hold = "quiet"
hold_s = 1.0
[[buttons]]
name = "session"
pin = 27
on_press = "next"
on_hold = "end"
hold_s = 1.0
[[buttons]]
name = "door"
pin = "GPIO22"
on_press = "welcome"
[[buttons]]
name = "step"
pin = "BOARD16"
on_press = "next"
"""


class Buttons:
    """The room's mock pins by button name, and the commands buttons gave (engine events)."""

    def __init__(self, room):
        self.room = room
        self.adapter = room.daemon.adapters["gpio"]
        self.events = []
        room.engine.subscribe_events(self.events.append)

    def pin(self, name):
        button = next(b for b in self.adapter.cfg.buttons if b.name == name)
        return self.adapter.factory.pin(button.pin)

    def commands(self, name):
        return [e["verb"] for e in self.events
                if e["type"] == "command" and e["source"] == f"button:{name}"]

    def phases(self):
        return [e["new"] for e in self.events if e["type"] == "phase"]


def burst(pin, end_pressed: bool, edges: int = 11, within_s: float = 0.005):
    """A contact bouncing: `edges` (odd) edges in about `within_s`, starting and ending on
    the pressed (low) or released (high) level."""
    step = within_s / edges
    for i in range(edges):
        pressed = (i % 2 == 0) == end_pressed
        pin.drive_low() if pressed else pin.drive_high()
        time.sleep(step)


@pytest.fixture
def room(room_factory):
    room = room_factory(extra=GPIO_TOML)
    with room:
        yield room


def warm_up(room):
    """Ambient on for a moment: the sink and libVLC are past their start-up."""
    room.send("ambient")
    time.sleep(1.0)


def test_a_press_only_button_is_heard_within_150_ms_of_the_first_edge(room, recorder):
    buttons = Buttons(room)
    warm_up(room)
    door = buttons.pin("door")
    edge = time.monotonic()
    door.drive_low()
    time.sleep(0.8)
    door.drive_high()
    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=edge, threshold_db=HEARD_DB)
    assert onset is not None, "the welcome tone was never heard"
    assert onset - edge <= 0.150, f"heard {1000 * (onset - edge):.0f} ms after the edge"
    assert buttons.commands("door") == ["welcome"]


def test_a_button_with_a_hold_plays_on_release_within_150_ms(room, recorder):
    buttons = Buttons(room)
    warm_up(room)
    pin = buttons.pin("welcome")
    pin.drive_low()
    time.sleep(0.3)
    release = time.monotonic()
    pin.drive_high()
    time.sleep(0.8)
    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=release - 0.3, threshold_db=HEARD_DB)
    assert onset is not None, "the welcome tone was never heard"
    # (a 10 ms analysis window that ends after the release may start a little before it)
    assert release - 0.010 <= onset <= release + 0.150, \
        f"heard {1000 * (onset - release):.0f} ms after the release"
    assert buttons.commands("welcome") == ["welcome"]


@pytest.mark.parametrize("name", ["step", "session"])
def test_a_bouncing_contact_is_one_press(room, name):
    buttons = Buttons(room)
    pin = buttons.pin(name)
    burst(pin, end_pressed=True)
    time.sleep(0.3)
    burst(pin, end_pressed=False)
    room.wait_for(lambda s: s["phase"] == "ambient", what="one 'next': idle -> ambient")
    time.sleep(0.4)
    assert buttons.commands(name) == ["next"]
    assert room.status()["phase"] == "ambient", "a bounce was taken for a second press"


def test_a_hold_gives_quiet_while_held_and_never_the_welcome(room, recorder):
    buttons = Buttons(room)
    warm_up(room)
    pin = buttons.pin("welcome")
    pressed = time.monotonic()
    pin.drive_low()
    time.sleep(1.9)  # hold_s 1.0, then most of quiet's 1.5 s fade while still held
    assert room.status()["phase"] == "idle", "the hold did not act while the button was held"
    release = time.monotonic()
    pin.drive_high()
    time.sleep(0.5)
    rec = recorder.take()
    assert buttons.commands("welcome") == ["quiet"]
    assert rec.onset(WELCOME_HZ, after=pressed - 0.1, threshold_db=HEARD_DB) is None
    before = max(db for _, db in rec.tone_levels(AMBIENT_HZ, pressed - 0.3, pressed))
    at_release = max(db for _, db in rec.tone_levels(AMBIENT_HZ, release - 0.1, release))
    assert at_release < before - 6, "the ambient bed was not fading while the button was held"


def test_a_second_welcome_press_does_not_restart_the_song(room, recorder):
    buttons = Buttons(room)
    door = buttons.pin("door")
    door.drive_low()
    time.sleep(0.1)
    door.drive_high()
    room.wait_for(lambda s: s["phase"] == "welcome", what="welcome")
    room.send("quiet")  # welcome -> active; the therapist pressed again by mistake
    time.sleep(1.6)
    again = time.monotonic()
    door.drive_low()
    time.sleep(0.1)
    door.drive_high()
    time.sleep(0.6)
    rec = recorder.take()
    assert room.status()["phase"] == "active"
    assert buttons.commands("door") == ["welcome"]
    assert rec.onset(WELCOME_HZ, after=again, threshold_db=HEARD_DB) is None


def test_a_chattering_pin_stays_bounded_and_recovers(room, caplog):
    buttons = Buttons(room)
    pin = buttons.pin("session")
    sizes = []
    with caplog.at_level(logging.INFO, logger="appliance"):
        start = time.monotonic()
        for i in range(200):  # 100 edges a second for two seconds
            pin.drive_low() if i % 2 == 0 else pin.drive_high()
            sizes.append(room.engine.queue_depth())
            time.sleep(max(0.0, start + (i + 1) * 0.01 - time.monotonic()))
        faults = room.status()["faults"]
        flood_lines = [r for r in caplog.records if r.name.startswith("appliance.gpio")]
    assert "chattering" in faults.get("gpio", ""), faults
    assert len(buttons.commands("session")) <= 1
    assert len(buttons.phases()) <= 1, f"the room was moved on again and again: {buttons.phases()}"
    assert max(sizes) <= 2
    assert len(flood_lines) <= 4, [r.getMessage() for r in flood_lines]
    # it settles, the fault goes, and the next real press works
    room.wait_for(lambda s: "gpio" not in s["faults"], timeout=3, what="the fault to clear")
    phase = room.status()["phase"]
    pin.drive_low()
    time.sleep(0.1)
    pin.drive_high()
    room.wait_for(lambda s: s["phase"] != phase, what="a press after the chatter settled")


def test_mock_buttons_are_pressed_through_the_control_socket(room):
    adapter = room.daemon.adapters["gpio"]
    assert adapter.virtual_buttons()[:2] == [
        {"name": "welcome", "press": "welcome", "hold": "quiet", "hold_s": 1.0},
        {"name": "session", "press": "next", "hold": "end", "hold_s": 1.0}]
    answer = room.ask("button", name="session")
    assert answer["ok"] and answer["message"] == "session: press -> next", answer
    assert answer["status"]["phase"] == "ambient"
    answer = room.ask("button", name="session", hold_s=1.2)
    assert answer["ok"] and answer["message"] == "session: hold -> end", answer
    assert room.status()["phase"] == "idle"
    assert room.ask("button", name="session", hold_s=1.2) == {
        "ok": False, "kind": "refused",
        "error": "session: hold -> end: end: nothing to end, the room is idle"}
    assert room.ask("button", name="bell") == {
        "ok": False, "kind": "invalid",
        "error": "button: no button called 'bell' (buttons: welcome, session, door, step)"}
    assert room.ask("button", name="welcome", hold_s=-1)["error"] == \
        "button: hold_s must be more than 0 and at most 30, not -1"
    with pytest.raises(ValueError, match="no button called 'bell'"):
        adapter.press("bell")


def test_the_button_command_line(room, capsys):
    from appliance.__main__ import main
    socket = str(room.cfg.socket_path)
    assert main(["button", "door", "--socket", socket]) == 0
    assert capsys.readouterr().out == "ok: welcome (door: press -> welcome)\n"
    assert main(["button", "nope", "--socket", socket]) == 2  # bad input, like a bad argument
    assert "no button called 'nope'" in capsys.readouterr().err
