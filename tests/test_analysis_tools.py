"""`appliance analyse` on real files with the real tools (ffmpeg, aubio): click tracks at
known tempi, tempo tags good and absurd, a file that cannot be decoded, the cache."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.analysis.cache import AnalysisCache
from appliance.analysis.run import analyse_all
from appliance.config import load_config

from .conftest import write_config, write_playlist
from .sound import write_tone

pytestmark = pytest.mark.slow

RATE = 44100
CLICK_BPMS = (60, 90, 140)
CLICK_S = 20.0


def write_clicks(path: Path, bpm: float, seconds: float = CLICK_S, amplitude: float = 0.5):
    """A click track: a short kick and a noise tick on every beat over a quiet chord."""
    rng = np.random.default_rng(int(bpm))
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    x = 0.05 * np.sin(2 * np.pi * 220 * t) + 0.04 * np.sin(2 * np.pi * 277.2 * t)
    k = np.arange(int(0.12 * RATE)) / RATE
    kick = np.sin(2 * np.pi * (50 * k + (100 / 30) * (1 - np.exp(-30 * k)))) * np.exp(-k / 0.05)
    tick = rng.standard_normal(int(0.02 * RATE)) * np.exp(-np.arange(int(0.02 * RATE)) /
                                                          (0.004 * RATE))
    beat = 0.0
    while beat < seconds - 0.15:
        i = int(round(beat * RATE))
        x[i:i + len(kick)] += 0.6 * kick
        x[i:i + len(tick)] += 0.3 * tick
        beat += 60.0 / bpm
    x *= amplitude / np.max(np.abs(x))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


def tagged(path: Path, bpm_text: str) -> Path:
    """A short tone with a tempo tag (ID3 TBPM for MP3, BPM for Ogg Vorbis, tmpo for MP4)."""
    if path.suffix == ".m4a":
        wav = write_tone(path.with_suffix(".wav"), 440.0, 3.0, amplitude=0.3)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac",
                        str(path)], check=True)
        wav.unlink()
        from mutagen.mp4 import MP4
        mp4 = MP4(str(path))
        mp4["tmpo"] = [int(bpm_text)]
        mp4.save()
        return path
    write_tone(path, 440.0, 3.0, amplitude=0.3)
    if path.suffix == ".mp3":
        from mutagen.id3 import ID3, TBPM
        tags = ID3()
        tags.add(TBPM(encoding=3, text=[bpm_text]))
        tags.save(str(path))
    else:
        from mutagen.oggvorbis import OggVorbis
        ogg = OggVorbis(str(path))
        ogg["BPM"] = bpm_text
        ogg.save()
    return path


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    d = tmp_path_factory.mktemp("analysis-music")
    files = {f"clicks {bpm}": write_clicks(d / f"clicks-{bpm}.wav", bpm) for bpm in CLICK_BPMS}
    for name, text in (("tag 0", "0"), ("tag 999", "999"), ("tag text", "fast"),
                       ("tag decimal", "92.5")):
        files[name] = tagged(d / f"{name.replace(' ', '-')}.mp3", text)
    files["vorbis tag"] = tagged(d / "vorbis.ogg", "72")
    files["mp4 tag"] = tagged(d / "mp4.m4a", "104")
    (d / "broken.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + os.urandom(3000))
    files["broken"] = d / "broken.mp3"
    return files


def appliance(*args, env=None):
    return subprocess.run([sys.executable, "-m", "appliance", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_analyse_reports_tempo_loudness_and_energy_and_names_a_broken_file(music, tmp_path,
                                                                            tones):
    config = write_config(tmp_path, tones, playlists={"receptive": list(music.items())})
    result = appliance("analyse", "receptive", "--json", "--config", str(config))
    errors = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: {music['broken']}: cannot be decoded"), errors
    tracks = {t["title"]: t for t in json.loads(result.stdout)["tracks"]}
    assert set(tracks) == set(music)
    for bpm in CLICK_BPMS:
        found = tracks[f"clicks {bpm}"]
        assert found["bpm_source"] == "measured" and found["bpm"] == pytest.approx(bpm, abs=2)
        assert found["seconds"] == pytest.approx(CLICK_S, abs=0.1)
        assert -40 < found["lufs"] < -5
    assert tracks["clicks 60"]["energy"] < tracks["clicks 90"]["energy"] < \
        tracks["clicks 140"]["energy"]
    assert (tracks["tag decimal"]["bpm"], tracks["tag decimal"]["bpm_source"]) == (92.5, "tag")
    assert (tracks["vorbis tag"]["bpm"], tracks["vorbis tag"]["bpm_source"]) == (72, "tag")
    assert (tracks["mp4 tag"]["bpm"], tracks["mp4 tag"]["bpm_source"]) == (104, "tag")
    for name, text in (("tag 0", "0"), ("tag 999", "999"), ("tag text", "fast")):
        notes = tracks[name]["notes"]
        assert tracks[name]["bpm_source"] != "tag", name
        assert any(f"tempo tag {text!r}" in note for note in notes), notes
    # a stereo tone at 0.3 of full scale: -13.5 dBFS RMS a channel, R128 adds the two
    # channels' power (+3 dB) and weighs 440 Hz slightly down: about -11 LUFS
    assert tracks["tag 0"]["lufs"] == pytest.approx(-11.0, abs=1.0)
    assert tracks["broken"]["error"] and tracks["broken"]["bpm"] is None


def test_second_run_measures_nothing_and_a_changed_file_is_measured_again(music, tmp_path,
                                                                          tones):
    entries = [("slow", music["clicks 60"]), ("fast", music["clicks 140"])]
    config = write_config(tmp_path, tones, playlists={"receptive": entries})
    first = appliance("analyse", "receptive", "--config", str(config))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split()[:3] == ["playlist", "title", "length"]
    assert any(" slow " in line and "(measured)" in line and "LUFS" in line for line in lines)
    # the second run: no tool on the PATH at all, and the same answer from the cache
    again = appliance("analyse", "receptive", "--config", str(config),
                      env={**os.environ, "PATH": str(tmp_path / "no-tools")})
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    cfg = load_config(config)
    measured = []

    def count(path):
        measured.append(path)
        from appliance.analysis.run import analyse_file
        return analyse_file(path)
    paths = [t.path for t in cfg.library.receptive]
    assert analyse_all(paths, AnalysisCache(cfg.state_dir), measure_file=count) and not measured
    changed = tmp_path / "changed.wav"
    write_clicks(changed, 90)
    write_playlist(tmp_path / "receptive.m3u", [("changing", changed)])
    cfg = load_config(config)
    analyse_all([t.path for t in cfg.library.receptive], AnalysisCache(cfg.state_dir))
    write_clicks(changed, 120, seconds=15.0)
    results = analyse_all([t.path for t in cfg.library.receptive], AnalysisCache(cfg.state_dir),
                          measure_file=count)
    assert measured == [str(changed.resolve())]
    assert results[str(changed.resolve())].bpm == pytest.approx(120, abs=2)
