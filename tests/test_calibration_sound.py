"""`appliance calibrate` heard at the sink: pink noise through the room's path at the level it
names, as loud as a matched track (the reference loudness), then the reading saved."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave

import numpy as np
import pytest

from appliance.analysis import REFERENCE_LUFS
from appliance.analysis.measure import loudness
from appliance.levels import TRACK_HEADROOM_DB, level_to_db

from .conftest import write_config
from .sinks import Recorder
from .sound import RATE

@pytest.mark.sound
@pytest.mark.parametrize("sink", ["alsa"], indirect=True)  # the Pi's path: where rooms run
def test_calibrate_plays_pink_noise_at_the_reference_and_saves_the_reading(sink, tmp_path):
    config = write_config(tmp_path / "room", tmp_path, audio=sink.audio_config())
    with Recorder(sink) as recorder:
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "appliance", "calibrate", "--config",
                                 str(config), "--seconds", "3"], input="sixty\n62\n",
                                capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, **sink.env))
        time.sleep(0.3)
    assert result.returncode == 0, result.stderr
    assert "the reading must be a number of dB, not 'sixty'" in result.stderr  # asked again
    assert "level 60 is about 62 dB SPL in this room; the cap (80) about 72 dB SPL" \
        in result.stdout
    saved = json.loads((tmp_path / "room" / "state" / "calibration.json").read_text())
    assert saved == {"level": 60.0, "spl": 62.0}
    rec = recorder.take()
    loud = [t for t, db in rec.levels(started, rec.end, 0.01) if db > -70]
    assert loud, "the noise was never heard"
    steady = rec.slice(loud[0] + 0.7, loud[0] + 2.1)
    heard = tmp_path / "heard.wav"
    with wave.open(str(heard), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(steady, -1, 1) * 32767).astype("<i2").tobytes())
    lufs, _ = loudness(str(heard))
    expected = REFERENCE_LUFS + level_to_db(60) - TRACK_HEADROOM_DB
    assert lufs == pytest.approx(expected, abs=1.0), (lufs, expected)


@pytest.mark.slow
def test_calibrate_without_a_reading_changes_nothing(tmp_path):
    config = write_config(tmp_path / "room", tmp_path, audio={"output": "alsa",
                                                              "alsa_device": "null"})
    result = subprocess.run([sys.executable, "-m", "appliance", "calibrate", "--config",
                             str(config), "--seconds", "1.5"], input="\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "not calibrated: nothing changed" in result.stderr, \
        result.stderr
    assert not (tmp_path / "room" / "state" / "calibration.json").exists()
