"""Config and playlists: every problem at once, named by section.key or file, nothing started."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.errors import ConfigError
from appliance.playlist import load_playlist

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parent.parent


def appliance(*args, cwd=None, input=None):
    return subprocess.run([sys.executable, "-m", "appliance", *args], capture_output=True,
                          text=True, cwd=cwd, input=input, timeout=60)


def test_the_shipped_demo_config_is_valid(tmp_path):
    # a copy, so the demo media it needs (`appliance demo-media`) are made outside the checkout
    import shutil

    from appliance.demo_media import make_demo_media
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    shutil.copytree(REPO / "playlists", tmp_path / "playlists")
    if (REPO / "media" / "demo").is_dir():  # ./setup.sh made them: read them where they are
        (tmp_path / "media").symlink_to(REPO / "media")
    else:
        make_demo_media(tmp_path / "media" / "demo")
    cfg = load_config(tmp_path / "config.toml")
    assert cfg.room_id == "room-1"
    assert cfg.library.welcome and cfg.library.receptive and cfg.library.ambient
    assert cfg.settings.cap == 80 and cfg.settings.quiet_s == 3.0
    assert cfg.settings.receptive_fade_out_s == 30 and cfg.settings.reflection_s == 600


def test_every_problem_is_reported_at_once_with_did_you_mean(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("""
[audio]
cap = 120
volum = 50
output = "alsaa"
quiet_s = "fast"
[receptive]
order = "random"
default_minutes = 500
max_minutes = 100
[playlists]
welcome = "nowhere.m3u"
[sesions]
""")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    problems = err.value.problems
    expected = [
        "audio.cap: must be between 1 and 100, not 120",
        "audio.volum: unknown key (did you mean 'volume'?)",
        "audio.output: must be one of auto, alsa, pulse, not 'alsaa' (did you mean 'alsa'?)",
        "audio.quiet_s: must be a number, not 'fast'",
        "receptive.order: must be one of order, shuffle, not 'random'",
        "receptive.default_minutes: 500 is longer than receptive.max_minutes (100)",
        "sesions: unknown key (did you mean 'sessions'?)",
    ]
    for line in expected:
        assert line in problems, f"missing {line!r} in {problems}"
    assert any(p.startswith("playlists.welcome:") and "nowhere.m3u" in p for p in problems)


def test_check_config_exits_2_and_names_each_problem(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[audio]\nvolume = 90\ncap = 60\n[room]\nid = "room 1"\n')
    result = appliance("check-config", "--config", str(cfg))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "config: audio.volume: 90 is above audio.cap (60); the cap always wins" in lines
    assert "config: room.id: use letters, digits, '-' and '_' only, not 'room 1'" in lines


def test_run_with_a_broken_config_starts_nothing(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text("[audio\n")
    result = appliance("run", "--config", str(cfg))
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr
    assert not (tmp_path / "run" / "control.sock").exists()


def test_missing_config_is_one_clear_line(tmp_path):
    result = appliance("check-config", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"config: {tmp_path / 'nope.toml'}: cannot read config " \
                                    "(No such file or directory)"


def test_playlist_keeps_titles_resolves_relative_paths_and_reports_bad_tracks(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    (media / "song.wav").write_bytes(b"RIFF....")
    (media / "empty.wav").write_bytes(b"")
    (media / "plain.ogg").write_bytes(b"OggS....")
    lists = tmp_path / "lists"
    lists.mkdir()
    pl = lists / "mix.m3u8"
    pl.write_text("\ufeff#EXTM3U\n#EXTINF:123,Hello – Ünïcode\n../media/song.wav\n"
                  "../media/missing.wav\n../media/empty.wav\nhttp://radio.example/stream\n"
                  "\n../media/plain.ogg\n", encoding="utf-8")
    loaded = load_playlist(pl)
    assert [(t.title, Path(t.path).name) for t in loaded.tracks] == [
        ("Hello – Ünïcode", "song.wav"), ("plain", "plain.ogg")]
    assert len(loaded.problems) == 3
    assert "missing.wav: file not found" in loaded.problems[0]
    assert "empty.wav: file is empty (0 bytes)" in loaded.problems[1]
    assert "only local files are played" in loaded.problems[2]


def test_an_empty_playlist_is_a_clear_refusal_not_a_crash(tmp_path):
    from appliance.session import commands as c
    from appliance.session import new_state, step
    (tmp_path / "playlists").mkdir()
    (tmp_path / "playlists" / "welcome.m3u").write_text("#EXTM3U\n")
    for kind in ("ambient", "receptive"):
        (tmp_path / "playlists" / f"{kind}.m3u").write_text("")
    (tmp_path / "config.toml").write_text("[room]\n")  # every key at its default
    cfg = load_config(tmp_path / "config.toml")
    state = new_state(cfg.settings, cfg.library)
    for cmd, reason in ((c.Welcome(), "welcome: the welcome playlist is empty"),
                        (c.Ambient(), "ambient: the ambient playlist is empty"),
                        (c.Receptive(10), "receptive: the receptive playlist is empty")):
        assert step(state, cmd, 0).refusal == reason


def _problems(tmp_path, text):
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.toml", check_media=False)
    return err.value.problems


@pytest.mark.parametrize("text, problem", [
    # accepted before although wrong: buttons, `next` and Home Assistant were then refused
    ("[receptive]\nmin_minutes = 30\nmax_minutes = 10\ndefault_minutes = 5\n",
     "receptive.min_minutes: 30 is longer than receptive.max_minutes (10)"),
    ("[receptive]\nmin_minutes = 30\n",
     "receptive.default_minutes: 20 is shorter than receptive.min_minutes (30)"),
    ("[receptive]\nmax_minutes = 15\n",
     "receptive.default_minutes: 20 is longer than receptive.max_minutes (15)"),
    # MQTT would have published to therapy-room//state
    ('[room]\nid = ""\n', "room.id: must not be empty: it names the room on MQTT and the panel"),
    ("[audio]\ncap = 50\nvolume = 60\n",
     "audio.volume: 60 is above audio.cap (50); the cap always wins"),
    ("[web]\nport = 80.5\n", "web.port: must be a whole number, not 80.5"),
    ("[web]\nthreads = 8\n", "web.threads: 8 is too few for web.event_streams = 20: each "
                               "live page holds a thread; use at least 24"),
])
def test_wrong_configs_are_refused_naming_the_key(tmp_path, text, problem):
    assert problem in _problems(tmp_path, text)


def test_right_configs_are_accepted(tmp_path):
    # only the cap written: the unwritten levels follow it down (was: "audio.volume: 70 is
    # above audio.cap" for a key nobody wrote)
    (tmp_path / "config.toml").write_text("[audio]\ncap = 50\n")
    settings = load_config(tmp_path / "config.toml", check_media=False).settings
    assert (settings.cap, settings.volume, settings.ambient_level) == (50, 50, 40)
    (tmp_path / "config.toml").write_text("[receptive]\nmin_minutes = 5\nmax_minutes = 60\n"
                                          "default_minutes = 5\n")
    settings = load_config(tmp_path / "config.toml", check_media=False).settings
    assert settings.receptive_default_minutes == 5


@pytest.mark.parametrize("content, line", [
    (b"", "the file is empty; a config needs at least one section"),
    (b"\n  \n", "the file is empty; a config needs at least one section"),
    (b'[room]\nname = "Raum f\xfcr Musik"\n', "not UTF-8 text (line 2); save it as UTF-8"),
])
@pytest.mark.parametrize("verb", ["check-config", "run"])
def test_an_empty_or_non_utf8_config_is_one_line_and_exit_2(tmp_path, content, line, verb):
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    result = appliance(verb, "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"config: {path}: {line}" + (
        " (see config.toml in the repository)" if "empty" in line else "")
    assert not (tmp_path / "run").exists()  # nothing started


def test_verbs_still_find_the_socket_in_a_broken_config(tmp_path):
    from appliance.paths import read_socket_path
    path = tmp_path / "config.toml"
    for content in (b"", b"\xff\xfe", b"[control\n", b'[control]\nsocket = 5\n'):
        path.write_bytes(content)
        assert Path(read_socket_path(path)) == tmp_path / "run" / "control.sock"


def test_a_verb_that_only_talks_to_the_socket_imports_nothing_of_the_daemon(tmp_path):
    """`appliance status` on a Pi: every import is time before the answer (bench/cli_start.py
    has the figures)."""
    path = tmp_path / "config.toml"
    path.write_text('[control]\nsocket = "run/control.sock"\n')
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "appliance", "status",
                             "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "no appliance is running" in result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    for heavy in ("vlc", "flask", "waitress", "paho", "gpiozero", "numpy", "socketserver",
                  "tomllib", "appliance.config", "appliance.engine", "appliance.daemon",
                  "appliance.session", "appliance.control", "appliance.schema",
                  "appliance.profiles"):
        assert heavy not in imported, f"`appliance status` imports {heavy}"


@pytest.mark.parametrize("text", [
    '[control]\nsocket = "run/x.sock"\n', '[room]\nid = "a"\n[control]\n# note\n'
    'socket = "/run/y.sock"  # systemd\n[state]\n', '[control]\nsocket = 5\n',
    'control = { socket = "z.sock" }\n', '[control]\n[state]\nsocket = "no"\n',
    '[room]\nname = "socket control"\n', '[control]\nsocket = "a\\"b"\n',
    '# the control socket\n[control]\nsocket = "q.sock"\n',
    '[control]\nsocket = "q.sock"\n[control]\nsocket = "r.sock"\n',
    (REPO / "config.toml").read_text()])
def test_the_socket_path_is_read_as_toml_reads_it(tmp_path, text):
    """The CLI reads the plain form without tomllib (its import is most of a verb's start);
    every form gives what tomllib gives."""
    import tomllib

    from appliance.paths import DEFAULT_SOCKET, read_socket_path
    path = tmp_path / "config.toml"
    path.write_text(text)
    try:
        want = tomllib.loads(text).get("control", {}).get("socket", DEFAULT_SOCKET)
    except tomllib.TOMLDecodeError:
        want = DEFAULT_SOCKET
    want = want if isinstance(want, str) else DEFAULT_SOCKET
    assert Path(read_socket_path(path)) == tmp_path / want
