"""The two places the tests listen: a PulseAudio null sink and a Pi-like real-time ALSA sink.

- `PulseServer`: a private PulseAudio with a null sink, recorded with `parec` from its monitor.
  libVLC plays with `--aout=pulse`: the path of a desktop or the demo.
- `PipeWireRig`: the path a Raspberry Pi service uses, without a sound card: libVLC plays with
  `--aout=alsa` through the appliance's own ALSA cap stage into the ALSA PCM `pi_rig`, which is
  PipeWire's ALSA plugin with a Pi-sized buffer (S16_LE, 48 kHz, period 512 frames, buffer 1536
  frames = 32 ms, like the appliance's own dmix on a Pi's card). Behind it a private PipeWire
  (own runtime dir and core name, a null sink that drives the graph in real time, quantum 256)
  and WirePlumber with its device monitors off, under `dbus-run-session`; `pw-record` records
  the sink. ALSA's `pcm.null` is not paced in real time and jackd's dummy driver cannot bound
  libVLC's buffer, so neither can show how late a fade is heard.

Both record raw S16_LE stereo at 48 kHz from a child's stdout; every chunk is stamped with the
monotonic clock on arrival, so a moment in the test (a command sent) can be found in it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from .sound import RATE, Recording

PULSE_SINK = "room"
RIG_PCM = "pi_rig"
RIG_SINK = "rig_sink"
# where ./setup.sh test puts PipeWire's ALSA plugin, taken out of Debian's pipewire-alsa
# package without installing it (that package conflicts with pulseaudio and takes over
# ALSA's default)
RIG_PLUGIN = Path(sys.prefix) / "lib" / "alsa-pipewire" / "libasound_module_pcm_pipewire.so"
#: the Pi-like buffers the rig offers as ALSA PCMs `pi_rig` (the default) and `pi_rig_<frames>`
RIG_PERIOD_FRAMES = 512
RIG_BUFFERS = (1024, 1536, 2048, 3072)


def _stop(*procs):
    for proc in procs:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class PulseServer:
    name = "pulse"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runtime = self.root / "run"
        self.proc = None
        self.keeper = None

    @property
    def env(self) -> dict:
        return {"XDG_RUNTIME_DIR": str(self.runtime), "PULSE_RUNTIME_PATH": str(self.runtime),
                "HOME": str(self.root), "PULSE_SERVER": f"unix:{self.runtime}/native"}

    def audio_config(self) -> dict:
        return {"output": "pulse"}

    def record_command(self) -> list[str]:
        return ["parec", "-d", f"{PULSE_SINK}.monitor", "--raw", "--format=s16le",
                f"--rate={RATE}", "--channels=2", "--latency-msec=10"]

    def start(self):
        if not shutil.which("pulseaudio") or not shutil.which("parec"):
            raise RuntimeError("pulseaudio and parec are needed (./setup.sh test installs them)")
        self.runtime.mkdir(parents=True, exist_ok=True)
        script = self.root / "room.pa"
        script.write_text(
            f"load-module module-null-sink sink_name={PULSE_SINK} rate={RATE} channels=2 "
            "norewinds=1\n"
            f"set-default-sink {PULSE_SINK}\n"
            "load-module module-native-protocol-unix\n")
        env = dict(os.environ, **self.env)
        self.proc = subprocess.Popen(
            ["pulseaudio", "-n", "-F", str(script), "--daemonize=no", "--exit-idle-time=-1",
             "--disallow-exit", "--system=no", "--log-target=stderr", "--log-level=error"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("PulseAudio did not start")
        # An idle null sink renders in 2 s blocks, so whatever connects first hears its first
        # two seconds late and broken up: a quiet stream keeps the sink in low-latency mode.
        self.keeper = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={RATE}", "--channels=2",
             "--latency-msec=20", "--stream-name=keeper"],
            stdin=subprocess.PIPE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        threading.Thread(target=self._feed_silence, daemon=True).start()
        return self

    def _feed_silence(self):
        zeros = bytes(RATE // 50 * 4)  # 20 ms
        try:
            while self.keeper.poll() is None:
                self.keeper.stdin.write(zeros)
                self.keeper.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def stop(self):
        _stop(self.keeper, self.proc)
        if self.keeper and self.keeper.stdin:
            try:
                self.keeper.stdin.close()
            except OSError:
                pass


_PIPEWIRE_CONF = """\
context.properties = {{
    core.daemon = true
    core.name = {core}
    default.clock.rate = {rate}
    default.clock.allowed-rates = [ {rate} ]
    default.clock.quantum = 256
    default.clock.min-quantum = 256
    default.clock.max-quantum = 256
    link.max-buffers = 16
}}
context.spa-libs = {{
    audio.convert.* = audioconvert/libspa-audioconvert
    support.*       = support/libspa-support
}}
context.modules = [
    {{ name = libpipewire-module-protocol-native }}
    {{ name = libpipewire-module-metadata }}
    {{ name = libpipewire-module-spa-node-factory }}
    {{ name = libpipewire-module-client-node }}
    {{ name = libpipewire-module-access args = {{ }} }}
    {{ name = libpipewire-module-adapter }}
    {{ name = libpipewire-module-link-factory }}
]
context.objects = [
    {{ factory = spa-node-factory
        args = {{ factory.name = support.node.driver node.name = Dummy-Driver
                  node.group = pipewire.dummy priority.driver = 20000 }} }}
    {{ factory = adapter
        args = {{ factory.name = support.null-audio-sink node.name = {sink}
                  node.description = "Pi-like sink" media.class = Audio/Sink
                  audio.rate = {rate} audio.channels = 2 audio.position = [ FL FR ]
                  node.driver = true priority.driver = 30000 }} }}
]
"""

# WirePlumber links each new stream to the sink; no device monitors (there is no card, and
# the rig must not pick up a real one), no suspending of the idle sink
_WIREPLUMBER_MAIN = """\
load_module("metadata")
default_access.enable()
device_defaults.enable()
stream_defaults.enable()
load_script("intended-roles.lua")
"""


def _rig_alsa_conf(core: str) -> str:
    lines = [f'pcm_type.pipewire {{ lib "{RIG_PLUGIN}" }}']
    for frames in RIG_BUFFERS:
        name = RIG_PCM if frames == 1536 else f"{RIG_PCM}_{frames}"
        lines.append(f"""pcm.{name} {{
    type pipewire
    server "{core}"
    playback_node "-1"
    capture_node "-1"
    rate {RATE}
    format S16_LE
    channels 2
    period_bytes {RIG_PERIOD_FRAMES * 4}
    buffer_bytes {frames * 4}
}}""")
    return "\n".join(lines) + "\n"


class PipeWireRig:
    name = "alsa"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.runtime = self.root / "run"
        self.core = f"rig-{os.getpid()}"
        self.alsa_conf = self.root / "rig-alsa.conf"
        self.proc = None

    @property
    def env(self) -> dict:
        """For clients: this process's libVLC (through the ALSA plugin) and pw-record."""
        return {"PIPEWIRE_RUNTIME_DIR": str(self.runtime), "PIPEWIRE_REMOTE": self.core,
                "ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{self.alsa_conf}"}

    def audio_config(self, buffer_frames: int = 1536) -> dict:
        device = RIG_PCM if buffer_frames == 1536 else f"{RIG_PCM}_{buffer_frames}"
        return {"output": "alsa", "alsa_device": device}

    def record_command(self) -> list[str]:
        return ["pw-record", "--target", RIG_SINK, "-P", "{ stream.capture.sink = true }",
                "--latency", "256", f"--rate={RATE}", "--channels=2", "--format=s16", "-"]

    def start(self):
        for tool in ("pipewire", "wireplumber", "wpctl", "pw-record", "dbus-run-session", "aplay"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is needed for the Pi-like sink "
                                   "(./setup.sh test installs it)")
        if not RIG_PLUGIN.exists():
            raise RuntimeError(f"{RIG_PLUGIN} is missing (./setup.sh test extracts it)")
        for sub in ("run", "home", "state", "config/wireplumber/main.lua.d",
                    "config/wireplumber/bluetooth.lua.d"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.runtime.chmod(0o700)
        conf = self.root / "pipewire.conf"
        conf.write_text(_PIPEWIRE_CONF.format(core=self.core, rate=RATE, sink=RIG_SINK))
        wp = self.root / "config" / "wireplumber"
        (wp / "main.lua.d" / "90-enable-all.lua").write_text(_WIREPLUMBER_MAIN)
        (wp / "bluetooth.lua.d" / "51-rig.lua").write_text("bluez_monitor.enabled = false\n")
        self.alsa_conf.write_text(_rig_alsa_conf(self.core))
        env = dict(os.environ, **self.env, XDG_RUNTIME_DIR=str(self.runtime),
                   HOME=str(self.root / "home"), XDG_CONFIG_HOME=str(self.root / "config"),
                   XDG_STATE_HOME=str(self.root / "state"))
        script = (f'pipewire -c "{conf}" & sleep 0.3; wireplumber & '
                  "trap 'kill $(jobs -p) 2>/dev/null' TERM; wait")
        log = open(self.root / "rig.log", "wb")
        self.proc = subprocess.Popen(["dbus-run-session", "--", "sh", "-c", script], env=env,
                                     stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # up, and WirePlumber links streams to the sink
            if self._linked_probe(env):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the PipeWire rig did not start; see {self.root / 'rig.log'}")

    def _linked_probe(self, env) -> bool:
        """WirePlumber is up and a short stream through the ALSA PCM plays to its end."""
        status = subprocess.run(["wpctl", "status"], env=env, capture_output=True, text=True)
        if status.returncode != 0 or "Pi-like sink" not in status.stdout:
            return False
        try:
            play = subprocess.run(["aplay", "-q", "-D", RIG_PCM, "-t", "raw", "-f", "S16_LE",
                                   "-r", str(RATE), "-c", "2"], input=bytes(RATE // 10 * 4),
                                  env=env, capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return play.returncode == 0

    def remove_sink(self):
        """Take the sink away as an unplugged USB card would be: the server stops."""
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.proc = None


class Recorder:
    """Records a sink while it runs; times in the recording are monotonic seconds."""

    def __init__(self, sink):
        self.sink = sink
        self.proc = None
        self._chunks: list[bytes] = []
        self._stamps: list[tuple[float, int]] = []  # (arrival time, frames up to its end)
        self._frames = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def __enter__(self):
        env = dict(os.environ, **self.sink.env)
        self.proc = subprocess.Popen(self.sink.record_command(), env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # recording, and past the recorder's own start-up
            with self._lock:
                if self._frames > RATE // 5:
                    break
            time.sleep(0.01)
        else:
            self.__exit__()
            raise RuntimeError(f"recorder got no sound data from the {self.sink.name} sink")
        return self

    def _read(self):
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                return
            now = time.monotonic()
            with self._lock:
                self._chunks.append(data)
                self._bytes += len(data)
                self._frames = self._bytes // 4
                self._stamps.append((now, self._frames))

    def __exit__(self, *exc):
        time.sleep(0.05)
        _stop(self.proc)
        self._reader.join(5)  # it ends on the closed pipe; then nobody reads the file
        self.proc.stdout.close()

    def take(self) -> Recording:
        with self._lock:
            raw = b"".join(self._chunks)
            stamps = list(self._stamps)
        frames = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<i2").reshape(-1, 2)
        left = frames[:, 0].astype(np.float64) / 32768.0
        # a chunk arrives as the sink mixes it, so frame 0 was mixed about (arrival - frames
        # up to the chunk's end) ago; the earliest such value places the windows used for
        # levels. Onsets use each chunk's own arrival (Recording.heard_by).
        t0 = min(t - end / RATE for t, end in stamps)
        return Recording(left, t0, stamps)
