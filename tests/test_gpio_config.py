"""[gpio], [[buttons]] and [[lights]]: every mistake is one clear line naming the button."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from appliance.config import parse_config
from appliance.errors import ConfigError
from appliance.gpio import config as gpio_config
from appliance.gpio.lights import NAMED, Pattern
from appliance.schema import Problems

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent


def parse(text: str):
    problems = Problems()
    cfg = gpio_config.parse(tomllib.loads(text), problems, Path("/srv/room"))
    return cfg, problems


def problems_of(text: str) -> list:
    cfg, problems = parse(text)
    return list(problems)


def test_the_demo_config_wires_the_two_default_buttons_and_a_light():
    cfg = parse_config(tomllib.loads((ROOT / "config.toml").read_text()), ROOT / "config.toml",
                       check_media=False).adapters["gpio"]
    assert cfg.pin_factory == "auto"
    welcome, session = cfg.buttons
    assert (welcome.name, str(welcome.on_press), str(welcome.on_hold), welcome.hold_s) == \
        ("welcome", "welcome", "quiet", 2.0)
    assert (session.name, str(session.on_press), str(session.on_hold)) == \
        ("session", "next", "end")
    assert [light.name for light in cfg.lights] == ["status"]
    assert cfg.lights[0].patterns["ambient"] == NAMED["breathe"]


def test_no_gpio_sections_means_the_adapter_is_off():
    assert parse("[other]\nx = 1\n") == (None, [])


def test_pins_are_read_the_way_gpiozero_names_them():
    cfg, problems = parse("""
[[buttons]]
name = "a"
pin = "BOARD11"
on_press = "welcome"
[[buttons]]
name = "b"
pin = "GPIO27"
on_press = "receptive 30"
[[lights]]
name = "l"
pin = 18
pwm = false
ambient = {breathe = 6}
reminder = {blink = [0.2, 1.0]}
""")
    assert problems == []
    assert [b.pin for b in cfg.buttons] == ["GPIO17", "GPIO27"]
    assert cfg.buttons[1].on_press.minutes == 30
    assert cfg.buttons[0].on_hold is None and not cfg.buttons[0].active_high
    assert cfg.lights[0].patterns["ambient"] == Pattern("breathe", period=6.0)
    assert cfg.lights[0].patterns["reminder"] == Pattern("blink", steps=(0.2, 1.0))


def test_an_unknown_action_names_the_button_and_suggests():
    assert problems_of("""
[[buttons]]
name = "door"
pin = 17
on_press = "welcom"
""") == ["buttons[door].on_press: unknown action 'welcom' (did you mean 'welcome'?); use one "
         "of welcome, receptive, quiet, next, end, volume_up, volume_down, ambient, active, "
         "reflection, hold, skip, step_down, step_up, extend, shorten, iso"]


def test_a_pin_used_twice_is_refused_even_under_another_name():
    assert problems_of("""
[[buttons]]
name = "door"
pin = 17
on_press = "welcome"
[[lights]]
name = "status"
pin = "BOARD11"
""") == ["lights[status].pin: GPIO17 is already used by buttons[door]"]


@pytest.mark.parametrize("pin", [28, "GPIO40", "BOARD1", "banana", -1, 3.5])
def test_a_pin_that_does_not_exist_is_refused(pin):
    problems = problems_of(f"""
[[buttons]]
name = "door"
pin = {pin!r}
on_press = "welcome"
""".replace("'", '"'))
    assert len(problems) == 1
    assert problems[0].startswith("buttons[door].pin: ")


@pytest.mark.parametrize("hold", [0, -1])
def test_hold_of_zero_or_less_is_refused(hold):
    assert problems_of(f"""
[[buttons]]
name = "session"
pin = 27
on_press = "next"
on_hold = "end"
hold_s = {hold}
""") == [f"buttons[session].hold_s: must be more than 0 and at most 30, not {hold}"]


def test_a_debounce_longer_than_the_hold_is_refused():
    assert problems_of("""
[[buttons]]
name = "session"
pin = 27
on_press = "next"
on_hold = "end"
hold_s = 0.5
debounce_s = 0.6
""") == ["buttons[session].debounce_s: 0.6 s is not shorter than hold_s (0.5 s): the hold "
         "could never be told apart"]


def test_every_problem_is_reported_at_once_with_did_you_mean():
    problems = problems_of("""
[gpio]
pin_factory = "lgpoi"
welcome_repeat = 3
[[buttons]]
pin = 17
on_press = "welcome 3"
pul = "up"
[[buttons]]
name = "x"
pin = 22
on_press = "receptive -5"
[[lights]]
name = "status"
pin = 18
fault = "sparkle"
ambient = {blink = [0.3]}
""")
    assert problems == [
        "gpio.pin_factory: must be one of auto, lgpio, mock, not 'lgpoi' (did you mean "
        "'lgpio'?)",
        "gpio.welcome_repeat: unknown key (did you mean 'welcome_repeat_s'?)",
        'buttons[0].name: is needed (a short word, e.g. "welcome")',
        "buttons[0].on_press: 'welcome 3': only receptive, iso, extend, shorten take a value "
        "(minutes)",
        "buttons[0].pul: unknown key (did you mean 'pull'?)",
        "buttons[x].on_press: receptive: minutes must be more than 0, not -5",
        "lights[status].ambient: blink: give on/off pairs of seconds (each 0.02-60), like "
        "[0.3, 2.7], not [0.3]",
        "lights[status].fault: unknown pattern 'sparkle': use " + gpio_config_help(),
    ]


def gpio_config_help():
    from appliance.gpio.lights import HELP
    return HELP


def test_pull_off_needs_an_active_level_and_names_repeat():
    assert problems_of("""
[[buttons]]
name = "a"
pin = 5
pull = "off"
on_press = "quiet"
[[buttons]]
name = "a"
pin = 6
on_press = "end"
""") == ['buttons[a].active: is needed with pull = "off" ("low" or "high")',
         "buttons[1].name: 'a' is used by another one already"]


def test_the_whole_config_refuses_to_load_with_the_gpio_problem(tmp_path):
    data = tomllib.loads((ROOT / "config.toml").read_text())
    data["buttons"][1]["hold_s"] = 0
    with pytest.raises(ConfigError) as caught:
        parse_config(data, ROOT / "config.toml", check_media=False)
    assert caught.value.problems == ["buttons[session].hold_s: must be more than 0 and at most 30, not 0"]
