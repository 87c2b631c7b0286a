"""Shared fixtures: the sinks the tests listen through, tone tracks, configs, a running room."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.control_client import request
from appliance.engine import AudioOutput

from .broker import Broker, Subscriber
from .sinks import PipeWireRig, PulseServer, Recorder, serving
from .sound import FORMATS, write_tone

# Hypothesis keeps its caches in ./.hypothesis unless told otherwise: not in the checkout
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      os.path.join(tempfile.gettempdir(), "appliance-tests-hypothesis"))

KINDS = ("fast", "slow", "sound", "broker", "browser", "install")
#: a test that uses one of these fixtures is of that kind (the heaviest wins)
NEEDS = (("browser_page", "browser"), ("mosquitto", "broker"), ("pulse", "sound"),
         ("pi_rig", "sound"), ("sink", "sound"), ("app", "install"))
REPO = Path(__file__).resolve().parent.parent


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups it is given here
def pytest_collection_modifyitems(config, items):
    """Every test carries a kind (its own marker, else its module's), and the right one for
    the fixtures it uses."""
    wrong = []
    for item in items:
        kinds = [m.name for m in item.iter_markers() if m.name in KINDS]  # closest first
        needed = next((kind for fixture, kind in NEEDS if fixture in item.fixturenames), "fast")
        # never lighter than its fixtures; heavier only where no fixture shows it (a test
        # that launches Chromium itself, or takes seconds: "slow")
        if not kinds or kinds[0] != needed and needed != "fast":
            wrong.append(f"{item.nodeid}: marked {kinds[:1] or 'nothing'}, needs {needed!r}")
            continue
        if len(set(kinds)) > 1:  # `-m fast` must mean it: one kind per test
            wrong.append(f"{item.nodeid}: marked {sorted(set(kinds))}: one kind only")
    if wrong:
        raise pytest.UsageError("test kinds are wrong:\n  " + "\n  ".join(wrong))
    for item in items:
        # pytest-xdist --dist loadgroup: the listening tests take turns on one worker (each
        # worker has its own sinks, but two rooms playing at once would load the cores twice);
        # the rest go file by file, so a module's fixtures and its tests' order hold
        sound = item.get_closest_marker("sound") is not None
        item.add_marker(pytest.mark.xdist_group("sound" if sound else item.path.name))


def pytest_collection_finish(session):
    """A pytest that ignores the groups (a newer one than pytest-xdist knows) would play two
    rooms at once and split a module's ordered tests: say so instead of running like that."""
    grouped = getattr(session.config.option, "loadgroup", False)  # set on xdist's workers
    if grouped and any("@" not in item.nodeid for item in session.items):
        raise pytest.UsageError("pytest-xdist did not apply the test groups (tests/conftest.py):"
                                " check the pytest / pytest-xdist versions in pyproject.toml")


def _run_lock(name: str):
    """A lock file shared by every worker of this run (xdist gives them one run id)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    path = Path(tempfile.gettempdir()) / f"appliance-tests-{run}.{name}"
    return open(path, "a+")


@pytest.fixture(autouse=True)
def _take_turns(request):
    """Tests marked `alone` (a listening test with both cores loaded on purpose) run with
    nothing else going on; the others share. The gate stops new tests from starting while an
    `alone` test waits for the running ones to finish."""
    alone = request.node.get_closest_marker("alone") is not None
    with _run_lock("gate") as gate, _run_lock("run") as run:
        fcntl.flock(gate, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        fcntl.flock(run, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(gate, fcntl.LOCK_UN)
        yield


def _checkout_files() -> dict:
    """Files in the checkout a test could write, with their size and time."""
    skip = {".git", ".venv", "__pycache__", "media"}  # media/: ./setup.sh makes the demo tracks
    found = {}
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
        for name in files:
            path = os.path.join(folder, name)
            st = os.stat(path)
            found[path] = (st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_the_checkout():
    before = _checkout_files()
    yield
    after = _checkout_files()
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"tests wrote into the checkout: {changed[:10]}"


# one pure tone per role, so a recording tells which track was heard
AMBIENT_HZ, WELCOME_HZ, RECEPTIVE_HZ = 330.0, 660.0, (440.0, 550.0, 770.0)
#: every role in another format, so a test on both paths hears every format the room plays.
#: Not the welcome in MP3: libVLC 3 plays an MP3's encoder priming (LAME header frame and
#: delay, ~47 ms of silence) that other decoders skip, so its first sound says nothing
#: about the appliance's latency (the level and fade tests play MP3 welcomes too)
MIXED_FORMATS = {"ambient": "mp3", "welcome": "ogg", "receptive": ("flac", "wav", "ogg")}


@pytest.fixture(scope="session")
def pulse(tmp_path_factory):
    """The PulseAudio null sink (libVLC --aout=pulse)."""
    with serving(PulseServer(tmp_path_factory.mktemp("pulse"))) as (server,):
        yield server


@pytest.fixture(scope="session")
def pi_rig(tmp_path_factory):
    """The Pi's path: --aout=alsa into a real-time ALSA PCM with a 32 ms buffer."""
    with serving(PipeWireRig(tmp_path_factory.mktemp("pi-rig"))) as (server,):
        yield server


@pytest.fixture
def sink(request, tones):
    """The sink a room plays into and the recorder listens to: PulseAudio unless a test is
    parametrised with `both_paths` (or `sink` given indirectly as "alsa")."""
    write_test_tones(tones)  # every format: a listening test may play any of them
    name = getattr(request, "param", "pulse")
    return request.getfixturevalue("pulse" if name == "pulse" else "pi_rig")


#: run a listening test on the PulseAudio path and on the Pi's ALSA path
both_paths = pytest.mark.parametrize("sink", ["pulse", "alsa"], indirect=True)


def write_test_tones(d: Path, formats=FORMATS) -> Path:
    """The tracks write_config's playlists name: one pure tone per role, in each format
    (files already there are kept)."""
    for ext in formats:
        for name, hz, seconds in [("ambient", AMBIENT_HZ, 30), ("welcome", WELCOME_HZ, 12),
                                  ("welcome-short", WELCOME_HZ, 1.5)] + [
                (f"receptive-{i}", hz, 5) for i, hz in enumerate(RECEPTIVE_HZ, start=1)]:
            if not (d / f"{name}.{ext}").exists():
                write_tone(d / f"{name}.{ext}", hz, seconds)
    return d


@pytest.fixture(scope="session")
def tones(tmp_path_factory):
    """The test tones: WAV at once (what a config names by default); the other formats, whose
    encoding takes seconds, only once a listening test needs them (`sink`)."""
    d = tmp_path_factory.mktemp("tones")
    write_test_tones(d, formats=("wav",))
    (d / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + os.urandom(4000))
    (d / "not-audio.ogg").write_text("this is a shopping list, not music\n" * 50)
    return d


def write_playlist(path: Path, entries):
    lines = ["#EXTM3U"]
    for entry in entries:
        title, file = entry if isinstance(entry, tuple) else (Path(entry).stem, entry)
        lines += [f"#EXTINF:-1,{title}", str(file)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_config(folder: Path, tones: Path, audio=None, receptive=None, playlists=None,
                 extra: str = "", fmt="wav", analysis: bool = False) -> Path:
    """A room's config and playlists; `fmt` is one format for every track, or "mixed"
    (MIXED_FORMATS). Track analysis and matched loudness are off unless asked for
    (`analysis=True`, `audio={"normalise": True}`): the tone tracks are full scale, and a
    test of levels means the levels it sets."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = MIXED_FORMATS if fmt == "mixed" else {"ambient": fmt, "welcome": fmt,
                                                "receptive": (fmt,) * 3}
    lists = {
        "ambient": [("Ambient tone", tones / f"ambient.{ext['ambient']}")],
        "welcome": [("Welcome tone", tones / f"welcome.{ext['welcome']}"),
                    ("Short hello", tones / f"welcome-short.{ext['welcome']}")],
        "receptive": [(f"Pad {i}", tones / f"receptive-{i}.{ext['receptive'][i - 1]}")
                      for i in (1, 2, 3)],
    }
    lists.update(playlists or {})
    for kind, entries in lists.items():
        write_playlist(folder / f"{kind}.m3u", entries)
    a = {"output": "pulse", "cap": 80, "volume": 70, "ambient_level": 40, "quiet_s": 1.5,
         "crossfade_s": 1.0, "fade_in_s": 0.3, "ambient_fade_in_s": 0.3, "normalise": False}
    a.update(audio or {})
    r = {"fade_out_s": 2, "min_minutes": 0.05}
    r.update(receptive or {})

    def table(d):
        return "\n".join(f"{k} = {v!r}" if isinstance(v, str) else
                         f"{k} = {str(v).lower() if isinstance(v, bool) else v}"
                         for k, v in d.items())
    text = f"""[room]
id = "test-room"
[audio]
{table(a)}
[playlists]
ambient = "ambient.m3u"
welcome = "welcome.m3u"
receptive = "receptive.m3u"
[receptive]
{table(r)}
[reflection]
minutes = 1
[control]
socket = "run/control.sock"
[state]
dir = "state"
[analysis]
background = {str(analysis).lower()}
{extra}
"""
    path = folder / "config.toml"
    path.write_text(text)
    return path


class Room:
    """A running appliance (real engine, libVLC, control socket) inside the test process."""

    def __init__(self, config_path: Path):
        from appliance.daemon import Daemon
        self.cfg = load_config(config_path)
        self.daemon = Daemon(self.cfg)

    def __enter__(self):
        self.daemon.start()
        return self

    def __exit__(self, *exc):
        self.daemon.stop()

    @property
    def engine(self):
        return self.daemon.engine

    @property
    def audio(self):
        return self.daemon.audio

    def send(self, verb: str, **args) -> float:
        """Send a verb over the control socket; returns when it was sent (monotonic)."""
        sent = time.monotonic()
        answer = request(self.cfg.socket_path, verb, args)
        assert answer["ok"], answer
        return sent

    def ask(self, verb: str, **args) -> dict:
        return request(self.cfg.socket_path, verb, args)

    def status(self) -> dict:
        return self.engine.status_dict()

    def wait_for(self, predicate, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if predicate(status):
                return status
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; status: {self.status()}")


@pytest.fixture
def room_factory(sink, tones, tmp_path):
    """make(audio=..., ...) -> a Room playing into `sink` (the test's `audio` wins)."""
    rooms = []

    def make(**kwargs):
        kwargs["audio"] = {**sink.audio_config(), **(kwargs.get("audio") or {})}
        path = write_config(tmp_path / f"room{len(rooms)}", tones, **kwargs)
        room = Room(path)
        rooms.append(room)
        return room
    yield make
    for room in rooms:
        room.daemon.stop()


@pytest.fixture
def recorder(sink):
    with Recorder(sink) as rec:
        yield rec


# --- the real daemon as systemd runs it: a process of its own ----------------------------

class DaemonProcess:
    def __init__(self, config, env, python=("-m", "appliance")):
        self.config = config
        self.env = env
        self.python = list(python)  # how the daemon is started: `python -m appliance run`
        self.proc = None
        self.ready_at = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [sys.executable, *self.python, "run", "--config", str(self.config)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        line = self.proc.stdout.readline()
        assert line.startswith("ready in"), line + self.proc.stderr.read()
        self.ready_at = time.monotonic()
        return self

    def cli(self, *args):
        return subprocess.run([sys.executable, "-m", "appliance", *args, "--config",
                               str(self.config)], capture_output=True, text=True,
                              env=self.env, timeout=30)

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def daemon(sink, tones, tmp_path):
    """make(**write_config args) -> a DaemonProcess playing into the test's sink."""
    env = dict(os.environ, **sink.env)

    def make(python=("-m", "appliance"), **kwargs):
        kwargs["audio"] = {**sink.audio_config(), **(kwargs.get("audio") or {})}
        return DaemonProcess(write_config(tmp_path / "room", tones, **kwargs), env, python)
    return make


# --- MQTT: Debian's mosquitto on a free loopback port, and a subscriber that records ------

@pytest.fixture
def mosquitto(tmp_path):
    """`mosquitto(users=..., persistence=...)` -> a running Broker; all stopped at the end."""
    brokers = []

    def make(**kwargs):
        broker = Broker(tmp_path / f"broker{len(brokers)}", **kwargs).start()
        brokers.append(broker)
        return broker
    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def subscriber_factory():
    subscribers = []

    def make(port, topics=("#",), persistent_id=None, login=None):
        sub = Subscriber(port, topics, persistent_id, login)
        subscribers.append(sub)
        return sub
    yield make
    for sub in subscribers:
        sub.close()

# --- the phone panel (tests/test_web*.py) ---------------------------------------------------

class SilentAudio(AudioOutput):
    """Stands in for libVLC where the sound is not what a test is about: records what the
    engine asked it to play. Built from the AudioOutput protocol (its methods and their
    signatures are checked against it and against VlcAudio in test_contracts.py)."""

    def __init__(self):
        self.played = []
        self.expected = None  # the welcome song it was told to keep ready

    def play(self, channel, track, level_db, fade_in_s, play_id, crossfade_s, now,
             join_fade=False, gain_db=0.0):
        self.played.append((channel, track.title))

    def expect(self, track, now):
        self.expected = track

    def fade(self, channel, level_db, seconds, now):
        pass

    def stop(self, channel):
        pass

    def track_over(self, channel, play_id):
        return None

    def tick(self, now):
        return None

    def snapshot(self, now):
        return {}

    def silence_now(self):
        pass


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


PANEL_PASSPHRASE = "correct horse battery"


def adapter_context(engine, name, config, folder: Path, settings=None, registry=None,
                    room_name="Room A", clients=None):
    """What the daemon hands an adapter (appliance.daemon.AdapterContext), for a test."""
    from appliance.daemon import AdapterContext, RoomInfo
    from appliance.session.model import Settings
    from appliance.verbs import Registry
    room = RoomInfo("test-room", room_name, settings or Settings(), folder / "run",
                    folder / "state")
    return AdapterContext(name, config, room, engine, registry or Registry(engine), clients)


@pytest.fixture(scope="session")
def hashed_passphrase(tmp_path_factory):
    """PANEL_PASSPHRASE's stored hash, made once (scrypt costs 50-100 ms a time here)."""
    from appliance.web.secrets_store import PASSPHRASE_FILE, set_passphrase
    folder = tmp_path_factory.mktemp("passphrase")
    set_passphrase(folder, PANEL_PASSPHRASE)
    return folder / PASSPHRASE_FILE


@pytest.fixture
def web_panel(tmp_path, hashed_passphrase):
    """make(adapters=None, **WebConfig fields) -> a panel app on a real engine whose audio is
    a SilentAudio, with PANEL_PASSPHRASE set; .client, .engine, .audio, .clock, .state_dir."""
    from types import SimpleNamespace

    from appliance.engine import Engine
    from appliance.session import new_state
    from appliance.session.model import Library, Settings, Track
    from appliance.web.app import create_app
    from appliance.web.config import WebConfig
    from appliance.web.secrets_store import Credentials

    engines = []
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    shutil.copy2(hashed_passphrase, state_dir / hashed_passphrase.name)  # as set_passphrase
    library = Library(ambient=(Track(str(tmp_path / "a.wav"), "Ambient tone"),),
                      welcome=(Track(str(tmp_path / "w.wav"), "Welcome tone"),
                               Track(str(tmp_path / "s.wav"), "Short hello")),
                      receptive=(Track(str(tmp_path / "r.wav"), "Pad 1"),))

    def make(offer=None, clients=False, library=library, **web):
        """`offer(context)` may start other real adapters and offer their verbs first;
        `clients`: the client profiles in state_dir, as the daemon offers them; `library`
        replaces the room's playlists (tracks with tempos, for the iso panel)."""
        audio, clock = SilentAudio(), FakeClock()
        settings = Settings(receptive_default_minutes=20)
        engine = Engine(new_state(settings, library), audio,
                        room={"id": "test-room", "name": "Room A"})
        engine.start()
        engines.append(engine)
        desk = None
        if clients:
            from appliance.profiles.desk import ClientDesk
            from appliance.profiles.rules import Room
            desk = ClientDesk(state_dir, Room(settings.cap, tmp_path, library.welcome))
        context = adapter_context(engine, "web", WebConfig(**web), tmp_path, settings,
                                  clients=desk)
        if desk is not None:
            context.verbs.offer_commands("clients", desk.commands())
        if offer is not None:
            offer(context)
        app = create_app(context, context.config, Credentials(state_dir), clock)
        return SimpleNamespace(app=app, client=app.test_client(), engine=engine, audio=audio,
                               clock=clock, state_dir=state_dir, context=context)
    yield make
    for engine in engines:
        engine.shutdown(fade_s=0)
