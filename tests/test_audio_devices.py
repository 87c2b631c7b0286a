"""The cards a Pi has, which one the room picks, and devices it must refuse, with the fix."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.audio.devices import device_problem, list_cards, pick_device

from .conftest import write_config

pytestmark = pytest.mark.fast

PI4 = """\
 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones
                      bcm2835 Headphones
 1 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0
                      vc4-hdmi-0
 2 [vc4hdmi1       ]: vc4-hdmi - vc4-hdmi-1
                      vc4-hdmi-1
"""
USB_DAC = """\
 3 [Device         ]: USB-Audio - USB Audio Device
                      GeneralPlus USB Audio Device at usb-0000:01:00.0-1.4, full speed
"""
HAT = """\
 0 [sndrpihifiberry]: HifiberryDacp - snd_rpi_hifiberry_dacplus
                      snd_rpi_hifiberry_dacplus
"""
PI5 = """\
 0 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0
                      vc4-hdmi-0
 1 [vc4hdmi1       ]: vc4-hdmi - vc4-hdmi-1
                      vc4-hdmi-1
"""


def asound(tmp_path: Path, cards: str, usb=()) -> Path:
    """A /proc/asound of a Pi: `cards` as the kernel lists them, one playback PCM each."""
    root = tmp_path / "asound"
    root.mkdir()
    (root / "cards").write_text(cards)
    for line in cards.splitlines():
        if "[" in line:
            index = int(line.split("[")[0])
            (root / f"card{index}" / "pcm0p").mkdir(parents=True)
            if index in usb:
                (root / f"card{index}" / "usbid").write_text("1b3f:2008\n")
    return root


@pytest.mark.parametrize("cards, usb, best", [
    (PI4, (), "hw:CARD=Headphones,DEV=0"),
    (PI4 + USB_DAC, (3,), "hw:CARD=Device,DEV=0"),       # a USB DAC beats the jack
    (HAT + PI4.replace(" 0 [", " 4 ["), (), "hw:CARD=sndrpihifiberry,DEV=0"),  # and a HAT too
    (PI5, (), None),                                      # HDMI only: nothing usable
    ("", (), None),
])
def test_the_best_card_is_picked_usb_or_hat_then_the_jack_never_hdmi(tmp_path, cards, usb,
                                                                       best):
    found = list_cards(asound(tmp_path, cards, usb))
    assert pick_device(found) == best
    assert all(card.kind == "hdmi" for card in found if not card.usable)


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "appliance", *args], capture_output=True,
                          text=True, env=dict(os.environ, **(env or {})), timeout=30)


def test_devices_lists_every_card_with_the_name_to_put_in_config(tmp_path):
    root = asound(tmp_path, PI4 + USB_DAC, usb=(3,))
    env = {"APPLIANCE_ASOUND_ROOT": str(root)}
    table = run_cli("audio", "devices", env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split()[:3] == ["3", "usb", "hw:CARD=Device,DEV=0"]
    assert lines[2].split()[:3] == ["0", "jack", "hw:CARD=Headphones,DEV=0"]
    assert "not usable: HDMI plays one stream at a time" in lines[3]
    assert 'alsa_device = "hw:CARD=Device,DEV=0"' in table.stdout
    listed = json.loads(run_cli("audio", "devices", "--json", env=env).stdout)
    assert listed["best"] == "hw:CARD=Device,DEV=0"
    assert [c["kind"] for c in listed["cards"]] == ["usb", "jack", "hdmi", "hdmi"]
    picked = run_cli("audio", "devices", "--pick", env=env)
    assert (picked.returncode, picked.stdout) == (0, "hw:CARD=Device,DEV=0\n")


def test_pick_with_only_hdmi_says_so_and_exits_1(tmp_path):
    picked = run_cli("audio", "devices", "--pick",
                     env={"APPLIANCE_ASOUND_ROOT": str(asound(tmp_path, PI5))})
    assert picked.returncode == 1 and picked.stdout == ""
    assert picked.stderr.strip() == ("no usable sound card (`appliance audio devices` lists "
                                     "what there is)")


def test_hdmi_as_the_room_output_is_refused_with_what_to_use_instead(tmp_path):
    cards = list_cards(asound(tmp_path, PI4))
    problem = device_problem("hw:CARD=vc4hdmi0,DEV=0", cards)
    assert problem == ("audio.alsa_device 'hw:CARD=vc4hdmi0,DEV=0' is HDMI (vc4-hdmi): it "
                       "plays one stream at a time and the appliance's mixer cannot open it, "
                       "so the ambient bed and the welcome song cannot cross over: use "
                       "hw:CARD=Headphones,DEV=0")
    assert device_problem("hw:CARD=Headphones,DEV=0", cards) is None
    assert device_problem("plughw:1", cards).startswith("audio.alsa_device 'plughw:1' is HDMI")


@pytest.mark.parametrize("device, says", [
    ("hw:CARD=vc4hdmi0,DEV=0", "is HDMI (vc4-hdmi)"),
    ("default", "goes to pipewire, a desktop user's sound server that a system service "
                "cannot reach: set audio.alsa_device to a card's name (`appliance audio "
                "devices` lists them)"),
])
def test_the_room_refuses_hdmi_and_a_default_that_leads_to_a_sound_server(tmp_path, device,
                                                                           says):
    """`appliance audio test` opens the output exactly as the room does: one line, exit 1."""
    desktop = tmp_path / "desktop-alsa.conf"  # what pipewire-alsa installs on a desktop
    desktop.write_text("pcm.!default { type pipewire }\nctl.!default { type pipewire }\n")
    config = write_config(tmp_path / "room", tmp_path / "no-media",
                          audio={"output": "alsa", "alsa_device": device})
    result = run_cli("audio", "test", "--config", str(config), env={
        "APPLIANCE_ASOUND_ROOT": str(asound(tmp_path, PI4)),
        "ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{desktop}"})
    assert result.returncode == 1
    assert result.stderr.startswith(f"cannot play: audio.alsa_device {device!r}")
    assert says in result.stderr and "Traceback" not in result.stderr


def test_the_pi_cap_stage_with_its_own_small_mixer_is_valid_alsa_config(tmp_path):
    """No sound card here: alsa-lib must accept the config and fail only on the missing card.
    The buffer is whole periods: 32 ms asked is 3 x 512 frames."""
    from appliance.audio.alsa import PCM_NAME, cap_stage_conf
    from appliance.levels import TRACK_HEADROOM_DB, db_to_amplitude, level_to_db
    stage_db = level_to_db(80) - TRACK_HEADROOM_DB
    conf = tmp_path / "alsa-cap.conf"
    conf.write_text(cap_stage_conf("hw:CARD=Headphones,DEV=0", stage_db, 32, "room-1"))
    text = conf.read_text()
    gain = f"{db_to_amplitude(stage_db):.6f}"
    assert gain == "0.158114"  # -16 dB: the cap (-10) less the track headroom
    assert f"ttable.0.0 {gain}" in text and "buffer_size 1536" in text and "period_size 512" in text
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{conf}")
    result = subprocess.run(["aplay", "-q", "-D", PCM_NAME, "-d", "1", "/dev/zero"],
                            env=env, capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "Cannot get card index for Headphones" in result.stderr, result.stderr
    assert "Unexpected" not in result.stderr and "corrupted" not in result.stderr


@pytest.mark.parametrize("asked_ms, period, frames", [(32, 512, 1536), (40, 512, 1536),
                                                      (64, 512, 3072), (20, 256, 768),
                                                      (10, 256, 512)])
def test_the_own_mixer_buffer_is_whole_periods(asked_ms, period, frames):
    from appliance.audio.alsa import dmix_buffer
    assert dmix_buffer(asked_ms) == (period, frames)
