"""GPIO that fails: the room keeps running from the panel and CLI, shows it, and retries."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from appliance.gpio import config as gpio_config
from appliance.gpio import pins
from appliance.gpio.adapter import GpioAdapter
from appliance.schema import Problems


lgpio_installed = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import importlib.util as u; "
                    "exit(u.find_spec('lgpio') is None)"]).returncode != 0,
    reason="lgpio is not installed for this machine")
not_a_pi = pytest.mark.skipif(pins.is_raspberry_pi(), reason="this machine is a Raspberry Pi")


@lgpio_installed
@pytest.mark.fast
def test_lgpio_puts_its_pipe_in_the_folder_given_not_the_working_directory(tmp_path):
    cwd, folder = tmp_path / "cwd", tmp_path / "run"
    cwd.mkdir()
    script = textwrap.dedent(f"""
        from pathlib import Path
        from appliance.gpio.pins import open_factory
        try:
            open_factory("lgpio", Path({str(folder)!r})).close()
            print("opened")
        except Exception as exc:
            print(type(exc).__name__)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert list(folder.glob(".lgd-nfy*")), "lgpio made no pipe in the folder it was given"
    assert not list(cwd.glob(".lgd-nfy*")), "lgpio's pipe landed in the working directory"
    if not pins.is_raspberry_pi():
        assert out.stdout.strip() == "PinUnknownPi"  # it got past the import: no pipe error


@lgpio_installed
@not_a_pi
@pytest.mark.sound
def test_lgpio_on_a_machine_without_gpio_is_a_fault_and_the_room_still_works(room_factory):
    room = room_factory(extra="""
[gpio]
pin_factory = "lgpio"
[[buttons]]
name = "welcome"
pin = 17
on_press = "welcome"
""")
    with room:
        status = room.wait_for(lambda s: "gpio" in s["faults"], what="the GPIO fault")
        fault = status["faults"]["gpio"]
        assert fault.startswith("GPIO (lgpio) failed: ") and "retrying every 10 s" in fault
        assert room.ask("welcome")["ok"]  # the CLI (and the panel) still run the room
        assert room.daemon.adapters["gpio"].virtual_buttons() == []
        assert room.ask("button", name="welcome") == {
            "ok": False, "kind": "refused",
            "error": 'button: presses can only be simulated with [gpio] pin_factory = "mock"'}


class FlakyPin(MockPWMPin):
    """A mock pin whose chip can 'go away' (every write fails) while the test says so."""
    gone = False

    def _set_state(self, value):
        if FlakyPin.gone:
            raise OSError("GPIO chip went away")
        super()._set_state(value)


def gpio_cfg(text):
    problems = Problems()
    cfg = gpio_config.parse(tomllib.loads(text), problems, Path("."))
    assert not problems, problems
    return cfg


@pytest.mark.sound
def test_gpio_failing_at_start_and_at_run_time_is_shown_and_retried(room_factory):
    cfg = gpio_cfg("""
[gpio]
pin_factory = "mock"
retry_s = 0.3
[[buttons]]
name = "door"
pin = 22
on_press = "welcome"
[[lights]]
name = "status"
pin = 18
""")
    opened = []

    def open_factory(kind, folder):
        opened.append(kind)
        if len(opened) == 1:
            raise PermissionError("/dev/gpiochip0: permission denied")
        return MockFactory(pin_class=FlakyPin)

    room = room_factory()
    with room:
        adapter = GpioAdapter(cfg, room.engine, None, 20, open_factory=open_factory)
        adapter.start()
        try:
            status = room.wait_for(lambda s: "gpio" in s["faults"], what="the GPIO fault")
            assert status["faults"]["gpio"] == ("GPIO (mock) failed: /dev/gpiochip0: permission "
                                                "denied; retrying every 0.3 s")
            room.send("ambient")  # the room runs on without its buttons
            room.wait_for(lambda s: "gpio" not in s["faults"], what="the retry to succeed")
            door = adapter.factory.pin("GPIO22")
            door.drive_low()
            room.wait_for(lambda s: s["phase"] == "welcome", what="the button to work")
            door.drive_high()
            FlakyPin.gone = True
            room.send("end")  # reflection: the light starts its reminder, and the write fails
            status = room.wait_for(lambda s: "gpio" in s["faults"], what="the run-time fault")
            assert "GPIO chip went away" in status["faults"]["gpio"]
            assert room.ask("volume", level=50)["ok"]  # the CLI still works
            FlakyPin.gone = False
            room.wait_for(lambda s: "gpio" not in s["faults"], what="the second recovery")
            assert len(opened) == 3
            light = adapter.factory.pin("GPIO18")
            deadline = time.monotonic() + 4
            while light.state != 1.0 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert light.state == 1.0, "the reflection reminder did not blink after recovery"
        finally:
            FlakyPin.gone = False
            adapter.stop()
