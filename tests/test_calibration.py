"""Calibration without sound: one meter reading turns levels into dB SPL; the SPL keys take
effect only once the room is calibrated; the status shows the room's approximate level."""
from __future__ import annotations

import json

import pytest

from appliance.calibration import Calibration, load_calibration, save_calibration
from appliance.config import load_config
from appliance.engine import Engine
from appliance.session import Library, Settings, new_state

from .conftest import SilentAudio, write_config

pytestmark = pytest.mark.fast


def test_a_level_step_is_half_a_db_in_the_room():
    cal = Calibration(level=60, spl=62.0)
    assert cal.spl_at(80) == 72.0 and cal.spl_at(40) == 52.0 and cal.spl_at(0) is None
    assert cal.level_for(70) == 76.0 and cal.level_for(200) == 100.0 and cal.level_for(0) == 1.0


@pytest.mark.parametrize("content", [b"{}", b"not json", b'{"level": 60, "spl": 500}'])
def test_a_bad_calibration_file_is_named_and_not_used(tmp_path, content):
    (tmp_path / "calibration.json").write_bytes(content)
    cal, problem = load_calibration(tmp_path)
    assert cal is None and problem.startswith(f"{tmp_path / 'calibration.json'}: not a calib")


def test_spl_keys_wait_for_a_calibration_then_set_the_levels(tmp_path, tones):
    config = write_config(tmp_path, tones, audio={"cap_spl": 70, "volume_spl": 64})
    cfg = load_config(config)
    assert (cfg.settings.cap, cfg.settings.volume) == (80, 70)  # nothing changes
    assert cfg.notices == ("audio.cap_spl and audio.volume_spl: ignored, the room is not "
                           "calibrated yet (appliance calibrate); the levels are used as they "
                           "are",)
    save_calibration(cfg.state_dir, Calibration(level=60, spl=62.0))
    assert json.loads((cfg.state_dir / "calibration.json").read_text()) == \
        {"level": 60, "spl": 62.0}
    cfg = load_config(config)
    # the test config sets audio.cap = 80 too: the lower of the two ceilings wins
    assert (cfg.settings.cap, cfg.settings.volume, cfg.notices) == (76, 64, ())
    quieter = write_config(tmp_path, tones, audio={"cap_spl": 90, "volume_spl": 85})
    cfg = load_config(quieter)
    assert (cfg.settings.cap, cfg.settings.volume) == (80, 80)


def test_an_spl_out_of_range_is_a_config_error(tmp_path, tones):
    from appliance.errors import ConfigError
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, tones, audio={"cap_spl": 300}))
    assert caught.value.problems == ["audio.cap_spl: must be between 30 and 120 dB SPL, not 300"]


def test_status_shows_the_room_level_only_when_calibrated():
    state = new_state(Settings(volume=70), Library())
    plain = Engine(state, SilentAudio(), room={"id": "r"})
    assert plain.status().room_spl is None
    calibrated = Engine(state, SilentAudio(), room={"id": "r",
                                                     "calibration": Calibration(60, 62.0)})
    assert calibrated.status().room_spl == 67
    assert calibrated.status_dict()["room_spl"] == 67
