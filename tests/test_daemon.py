"""The real daemon as systemd runs it: a process, its control socket, the CLI, SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import WELCOME_HZ, both_paths, write_config
from .sound import rms_db

SILENT_DB = -70.0


class DaemonProcess:
    def __init__(self, config, env):
        self.config = config
        self.env = env
        self.proc = None
        self.ready_at = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "run", "--config", str(self.config)],
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

    def make(**kwargs):
        kwargs["audio"] = {**sink.audio_config(), **(kwargs.get("audio") or {})}
        return DaemonProcess(write_config(tmp_path / "room", tones, **kwargs), env)
    return make


def test_cli_verbs_drive_the_room_and_refusals_exit_nonzero(daemon):
    with daemon() as d:
        ok = d.cli("welcome")
        assert ok.returncode == 0 and ok.stdout.startswith("ok: welcome")
        status = json.loads(d.cli("status", "--json").stdout)
        assert status["phase"] == "welcome" and status["now_playing"] == "Welcome tone"
        assert status["remaining_s"] is None and status["cap"] == 80 and status["volume"] == 70
        assert status["channels"]["foreground"]["state"] in ("starting", "playing")
        for args, reason in ((("receptive", "0"), "minutes must be between"),
                             (("volume", "150"), "level must be between 0 and 100"),
                             (("welcome",), "already playing"),
                             (("active",), ""),
                             (("welcome", "../../etc/passwd"), "no track called")):
            result = d.cli(*args)
            if not reason:
                assert result.returncode == 0
                continue
            assert result.returncode == 1 and reason in result.stderr, result
        bad = d.cli("volume", "loud")
        assert bad.returncode == 2 and "level must be a number, not 'loud'" in bad.stderr
        human = d.cli("status").stdout
        assert "phase: active" in human and "volume: 70 (cap 80)" in human


def test_garbage_on_the_socket_gets_an_error_and_disturbs_nothing(daemon, tmp_path):
    with daemon() as d:
        assert d.cli("welcome").returncode == 0
        sock_path = tmp_path / "room" / "run" / "control.sock"
        assert stat.S_IMODE(os.stat(sock_path).st_mode) == 0o660

        def raw(payload: bytes, read=True):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(str(sock_path))
                s.sendall(payload)
                if read:
                    return json.loads(s.makefile().readline())
        assert raw(b"\x00\xffnot json\n") == {"ok": False, "error": "request is not a JSON line"}
        assert raw(b'{"verb": "dance"}\n')["error"].startswith("unknown command 'dance'")
        assert raw(b'{"verb": "receptive", "args": {"minutes": "ten"}}\n')["error"] == \
            "receptive: minutes must be a number, not 'ten'"
        assert "longer than" in raw(b"x" * 20000 + b"\n")["error"]
        raw(b'{"verb": "quiet"', read=False)  # disconnects mid-command: nothing happens
        status = json.loads(d.cli("status", "--json").stdout)
        assert status["phase"] == "welcome"
        assert status["channels"]["foreground"]["state"] == "playing"


def test_a_second_daemon_on_the_same_socket_refuses_to_start(daemon):
    with daemon() as d:
        second = subprocess.run([sys.executable, "-m", "appliance", "run", "--config",
                                 str(d.config)], capture_output=True, text=True, env=d.env,
                                timeout=30)
        assert second.returncode == 3 and "already running" in second.stderr
        assert d.cli("welcome").returncode == 0


@both_paths
@pytest.mark.sound
def test_welcome_right_after_ready_is_heard_on_time_and_unbroken(daemon, recorder):
    with daemon() as d:
        sent = time.monotonic()
        assert d.cli("welcome").returncode == 0
        time.sleep(1.5)
    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=d.ready_at)
    assert onset is not None and onset - sent <= 0.150 + 0.3  # the CLI's own start-up counts
    levels = [db for _, db in rec.levels(onset + 0.01, onset + 1.2, width=0.01)]
    assert min(levels) > SILENT_DB, "the welcome song broke up after a fresh start"


@both_paths
@pytest.mark.sound
def test_sigterm_fades_out_and_exits_within_5_s(daemon, recorder):
    with daemon(fmt="mixed") as d:
        d.cli("welcome")
        time.sleep(1.2)
        stopped = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        d.proc.wait(6)
        gone = time.monotonic()
        assert d.proc.returncode == 0
        assert gone - stopped < 5.0
    rec = recorder.take()
    before = rms_db(rec.slice(stopped - 0.2, stopped))
    windows = rec.levels(stopped, gone, width=0.05)
    heard = [db for _, db in windows if db > SILENT_DB]
    assert before > -30 and heard, "nothing was playing when SIGTERM came"
    assert heard[-1] < before - 20, "the sound was cut, not faded"


def test_an_output_that_cannot_open_is_a_fault_not_a_pretence(room_factory):
    # no sound card on this machine: ALSA's default device cannot open
    room = room_factory(audio={"output": "alsa", "alsa_device": "hw:CARD=NoSuchCard,DEV=0"})
    with room:
        status = room.wait_for(lambda s: "audio" in s["faults"], timeout=5, what="fault")
        assert "therapy_room" in status["faults"]["audio"]
        from appliance.__main__ import format_status
        assert "FAULT audio: ALSA device 'therapy_room' cannot be opened" in format_status(status)
        assert room.ask("ambient")["ok"]  # the session logic goes on; the panel shows why


def test_many_stalled_socket_clients_are_bounded_and_the_cli_still_answers(daemon, tmp_path):
    with daemon() as d:
        sock_path = tmp_path / "room" / "run" / "control.sock"
        stalled = []
        try:
            for _ in range(40):  # connect and say nothing
                s = socket.socket(socket.AF_UNIX)
                s.connect(str(sock_path))
                stalled.append(s)
            time.sleep(0.2)
            pid = d.proc.pid
            status = Path(f"/proc/{pid}/status").read_text()
            threads = int(next(line.split()[1] for line in status.splitlines()
                               if line.startswith("Threads:")))
            assert threads < 40, f"{threads} threads for 40 silent clients"
        finally:
            for s in stalled:
                s.close()
        time.sleep(0.2)
        assert d.cli("welcome").returncode == 0
