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

from .conftest import WELCOME_HZ, both_paths
from .sound import rms_db

pytestmark = pytest.mark.sound

SILENT_DB = -70.0


def test_cli_verbs_drive_the_room_and_refusals_exit_nonzero(daemon):
    with daemon() as d:
        ok = d.cli("welcome")
        assert ok.returncode == 0 and ok.stdout.startswith("ok: welcome")
        status = json.loads(d.cli("status", "--json").stdout)
        assert status["phase"] == "welcome" and status["now_playing"] == "Welcome tone"
        assert status["remaining_s"] is None and status["cap"] == 80 and status["volume"] == 70
        assert status["channels"]["foreground"]["state"] in ("starting", "playing")
        # refused by the room: 1; a bad argument (the one table): 2, as for a bad config
        for args, code, reason in ((("receptive", "0"), 1, "minutes must be between"),
                                   (("volume", "150"), 2, "level must be between 0 and 100"),
                                   (("welcome",), 1, "already playing"),
                                   (("active",), 0, ""),
                                   (("welcome", "Birthday song"), 1, "no track called"),
                                   (("welcome", "../../etc/passwd"), 2, "not a path")):
            result = d.cli(*args)
            assert result.returncode == code and reason in result.stderr, result
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
        assert raw(b"\x00\xffnot json\n") == {"ok": False, "kind": "invalid",
                                               "error": "request: not UTF-8 text"}
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
        from appliance.__main__ import format_status
        assert ("FAULT audio: audio.alsa_device 'hw:CARD=NoSuchCard,DEV=0' cannot be opened: "
                "No such device; the card has gone away") in format_status(status)
        assert room.ask("ambient")["ok"]  # the session logic goes on; the panel shows why
        assert room.status()["channels"]["ambient"]["state"] == "waiting"


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


# the real daemon, with one fault injected into the engine loop: libVLC's play() raises
INJECTED = """
import sys
from appliance.audio import vlc_output
real_play = vlc_output.VlcAudio.play

def play(self, channel, track, *args, **kwargs):
    if track.title == "Welcome tone":
        raise RuntimeError("injected: the sound card went away")
    return real_play(self, channel, track, *args, **kwargs)

vlc_output.VlcAudio.play = play
from appliance.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_dead_engine_answers_silences_the_room_and_exits_nonzero(daemon, recorder):
    with daemon(python=("-c", INJECTED)) as d:
        assert d.cli("ambient").returncode == 0
        time.sleep(1.5)
        failed_at = time.monotonic()
        welcome = d.cli("welcome")  # the engine fails while carrying this out
        assert welcome.returncode == 3, welcome
        assert welcome.stderr.strip() == (
            "refused: the engine failed (RuntimeError: injected: the sound card went away); "
            "the appliance restarts")
        d.proc.wait(5)
        gone = time.monotonic()
        assert d.proc.returncode == 1, "systemd restarts only a daemon that exits non-zero"
        assert "the engine failed" in d.proc.stderr.read()
    rec = recorder.take()
    assert rms_db(rec.slice(failed_at - 1.0, failed_at)) > -45, "the ambient bed was not heard"
    after = [db for _, db in rec.levels(failed_at + 0.5, gone, width=0.1)]
    assert after and max(after) < SILENT_DB, "the room was not silenced when the engine failed"
