"""Shared fixtures: the sinks the tests listen through, tone tracks, configs, a running room."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.control import request

from .sinks import PipeWireRig, PulseServer, Recorder
from .sound import FORMATS, write_tone

# one pure tone per role, so a recording tells which track was heard
AMBIENT_HZ, WELCOME_HZ, RECEPTIVE_HZ = 330.0, 660.0, (440.0, 550.0, 770.0)
#: every role in another format, so a test on both paths hears every format the room plays
MIXED_FORMATS = {"ambient": "flac", "welcome": "mp3", "receptive": ("ogg", "wav", "flac")}


def _serving(server):
    """Start a sink for the whole session with its client environment in this process
    (libVLC plays in the test process); stop it and restore the environment after."""
    server.start()
    saved = {k: os.environ.get(k) for k in server.env}
    os.environ.update(server.env)
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def pulse(tmp_path_factory):
    """The PulseAudio null sink (libVLC --aout=pulse)."""
    yield from _serving(PulseServer(tmp_path_factory.mktemp("pulse")))


@pytest.fixture(scope="session")
def pi_rig(tmp_path_factory):
    """The Pi's path: --aout=alsa into a real-time ALSA PCM with a 32 ms buffer."""
    yield from _serving(PipeWireRig(tmp_path_factory.mktemp("pi-rig")))


@pytest.fixture
def sink(request):
    """The sink a room plays into and the recorder listens to: PulseAudio unless a test is
    parametrised with `both_paths` (or `sink` given indirectly as "alsa")."""
    name = getattr(request, "param", "pulse")
    return request.getfixturevalue("pulse" if name == "pulse" else "pi_rig")


#: run a listening test on the PulseAudio path and on the Pi's ALSA path
both_paths = pytest.mark.parametrize("sink", ["pulse", "alsa"], indirect=True)


def write_test_tones(d: Path, formats=FORMATS) -> Path:
    """The tracks write_config's playlists name: one pure tone per role, in each format."""
    for ext in formats:
        write_tone(d / f"ambient.{ext}", AMBIENT_HZ, 30)
        write_tone(d / f"welcome.{ext}", WELCOME_HZ, 12)
        write_tone(d / f"welcome-short.{ext}", WELCOME_HZ, 1.5)
        for i, hz in enumerate(RECEPTIVE_HZ, start=1):
            write_tone(d / f"receptive-{i}.{ext}", hz, 5)
    return d


@pytest.fixture(scope="session")
def tones(tmp_path_factory):
    d = tmp_path_factory.mktemp("tones")
    write_test_tones(d)
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
                 extra: str = "", fmt="wav") -> Path:
    """A room's config and playlists; `fmt` is one format for every track, or "mixed"
    (MIXED_FORMATS)."""
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
         "crossfade_s": 1.0, "fade_in_s": 0.3, "ambient_fade_in_s": 0.3}
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
        return self.engine.status()

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


# --- MQTT: Debian's mosquitto on a free loopback port, and a subscriber that records ------

class Broker:
    """A private mosquitto: its own config, port and (optional) passwords; stop() and start()
    again on the same port to take the broker away mid-session."""

    def __init__(self, folder: Path, users=None, persistence=False, tls=False,
                 client_certs=False, acl=None):
        import socket
        import subprocess
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        import pwd
        # run as whoever runs the tests: as root mosquitto would become `mosquitto` and
        # could not read its files in pytest's private (0700) folders
        lines = [f"listener {self.port} 127.0.0.1", "log_dest stderr", "log_type error",
                 f"user {pwd.getpwuid(os.geteuid()).pw_name}"]
        if users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password],
                               check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
            if acl is not None:  # mosquitto's acl_file: who may read and write which topics
                (self.folder / "acl").write_text(acl)
                lines.append(f"acl_file {self.folder / 'acl'}")
        else:
            lines.append("allow_anonymous true")
        if persistence:
            lines += ["persistence true", f"persistence_location {self.folder}/"]
        self.tls_port = None
        if tls:  # a second listener with TLS; the plain one stays for test subscribers
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.tls_port = s.getsockname()[1]
            self.ca = make_test_ca(self.folder, "broker-ca")
            key, cert = make_server_cert(self.folder, self.ca)
            lines += [f"listener {self.tls_port} 127.0.0.1", f"cafile {self.ca[1]}",
                      f"certfile {cert}", f"keyfile {key}"]
            if client_certs:  # only clients with a certificate from the broker's CA
                lines.append("require_certificate true")
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        import shutil
        import socket
        import subprocess
        if not shutil.which("mosquitto"):
            raise RuntimeError("mosquitto is needed (./setup.sh test installs it)")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


def _openssl(*args, cwd):
    import subprocess
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_test_ca(folder: Path, name: str):
    """A throwaway certificate authority: (key, certificate) paths."""
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}", cwd=folder)
    return folder / f"{name}.key", folder / f"{name}.pem"


def make_server_cert(folder: Path, ca, name="server"):
    """A certificate for 127.0.0.1 / localhost signed by `ca`: (key, certificate) paths."""
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
             cwd=folder)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[1]), "-CAkey", str(ca[0]),
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext",
             cwd=folder)
    return folder / f"{name}.key", folder / f"{name}.pem"


class Subscriber:
    """Records every message on `topics` as (monotonic time, topic, text, retained)."""

    def __init__(self, port: int, topics=("#",), persistent_id=None, login=None):
        import threading

        import paho.mqtt.client as mqtt
        self.topics = topics
        self.messages = []
        self.changed = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=persistent_id or "",
                                  clean_session=persistent_id is None)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(1, 1)
        if login:
            self.client.username_pw_set(*login)
        self.connected = threading.Event()
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(10), "test subscriber could not connect"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        # again on every connect: retained messages come again
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.connected.set()  # subscribed: nothing published from now on is missed

    def _on_message(self, client, userdata, message):
        if message.dup:
            # the broker sends a QoS 1 message again when our ack did not reach it before it
            # went away: at-least-once delivery of what we already have, not a new publish
            return
        with self.changed:
            self.messages.append((time.monotonic(), message.topic,
                                  message.payload.decode("utf-8", "replace"), message.retain))
            self.changed.notify_all()

    def on(self, topic):
        with self.changed:
            return [(t, text) for t, top, text, _ in self.messages if top == topic]

    def wait_for(self, predicate, timeout=10.0, what="message"):
        """Wait until predicate(messages) is true; returns its value."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                value = predicate(list(self.messages))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; got "
                                         f"{[(m[1], m[2][:80]) for m in self.messages][-20:]}")
                self.changed.wait(min(left, 0.1))

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


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

class SilentAudio:
    """Stands in for libVLC where the sound is not what a web test is about: records what
    the engine asked it to play."""

    def __init__(self):
        self.played = []

    def play(self, channel, track, *rest):
        self.played.append((channel, track.title))

    def fade(self, *args):
        pass

    def stop(self, *args):
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


@pytest.fixture
def web_panel(tmp_path):
    """make(adapters=None, **WebConfig fields) -> a panel app on a real engine whose audio is
    a SilentAudio, with PANEL_PASSPHRASE set; .client, .engine, .audio, .clock, .state_dir."""
    from types import SimpleNamespace

    from appliance.engine import Engine
    from appliance.session import new_state
    from appliance.session.model import Library, Settings, Track
    from appliance.web.app import create_app
    from appliance.web.config import WebConfig
    from appliance.web.secrets_store import Credentials, set_passphrase

    engines = []
    state_dir = tmp_path / "state"
    set_passphrase(state_dir, PANEL_PASSPHRASE)
    library = Library(ambient=(Track(str(tmp_path / "a.wav"), "Ambient tone"),),
                      welcome=(Track(str(tmp_path / "w.wav"), "Welcome tone"),
                               Track(str(tmp_path / "s.wav"), "Short hello")),
                      receptive=(Track(str(tmp_path / "r.wav"), "Pad 1"),))

    def make(adapters=None, **web):
        audio, clock = SilentAudio(), FakeClock()
        engine = Engine(new_state(Settings(receptive_default_minutes=20), library), audio,
                        room={"id": "test-room", "name": "Room A"})
        engine.start()
        engines.append(engine)
        app = create_app(engine, WebConfig(**web), Credentials(state_dir), adapters, clock)
        return SimpleNamespace(app=app, client=app.test_client(), engine=engine, audio=audio,
                               clock=clock, state_dir=state_dir)
    yield make
    for engine in engines:
        engine.shutdown(fade_s=0)
