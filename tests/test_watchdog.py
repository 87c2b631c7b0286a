"""systemd's notify protocol, spoken by the real daemon to a real NOTIFY_SOCKET.

The test stands where systemd stands: it binds the datagram socket, starts `appliance run`
with NOTIFY_SOCKET and WATCHDOG_USEC, and records every message with the time it came.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from appliance.control_client import request
from appliance.watchdog import STALE_S, Watchdog, watchdog_usec

from .conftest import WELCOME_HZ, write_config

WATCHDOG_S = 4.0


class NotifySocket:
    """systemd's side of sd_notify: (monotonic time, message) for every datagram."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="notify-")  # short: AF_UNIX paths are < 108 bytes
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self.changed = threading.Condition()
        self._open = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while self._open:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.changed:
                for line in data.decode().splitlines():
                    self.messages.append((time.monotonic(), line))
                self.changed.notify_all()

    def times(self, message: str, after: float = 0.0, before: float = float("inf")):
        with self.changed:
            return [t for t, m in self.messages if m == message and after <= t < before]

    def wait_for(self, message: str, after: float = 0.0, timeout: float = 15.0) -> float:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [t for t, m in self.messages if m == message and t >= after]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {message} within {timeout} s; got "
                                         f"{[m for _, m in self.messages][-10:]}")
                self.changed.wait(min(left, 0.1))

    def close(self):
        self._open = False
        self._thread.join(2)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


@pytest.fixture
def notify_socket():
    sock = NotifySocket()
    yield sock
    sock.close()


@pytest.fixture
def service(pulse, tones, tmp_path, notify_socket):
    """`appliance run` as systemd starts it: NOTIFY_SOCKET, WATCHDOG_USEC, PYTHONFAULTHANDLER."""
    config = write_config(tmp_path / "room", tones)
    env = dict(os.environ, **pulse.env, NOTIFY_SOCKET=notify_socket.path,
               WATCHDOG_USEC=str(int(WATCHDOG_S * 1e6)), PYTHONFAULTHANDLER="1",
               APPLIANCE_TEST_HOOKS="1")
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    proc.socket_path = config.parent / "run" / "control.sock"
    # read the log as it comes: an undrained pipe that fills would block the daemon's logging
    proc.log_lines = []
    proc.log_reader = threading.Thread(target=lambda: proc.log_lines.extend(proc.stderr),
                                       daemon=True)
    proc.log_reader.start()
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    proc.log_reader.join(5)
    proc.stderr.close()


def _gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


@pytest.mark.sound
def test_ready_after_audio_watchdog_while_the_engine_turns_and_stopping(
        service, notify_socket, recorder):
    ready = notify_socket.wait_for("READY=1")
    # READY means the room can play: a welcome sent at once is heard at once
    sent = time.monotonic()
    assert request(service.socket_path, "welcome")["ok"]
    time.sleep(2 * WATCHDOG_S)
    pings = notify_socket.times("WATCHDOG=1", after=ready)
    assert len(pings) >= 4, pings
    assert max(_gaps(pings) + [pings[0] - ready]) < WATCHDOG_S / 2, \
        "fewer than two pings per WATCHDOG_USEC"

    stalled = time.monotonic()
    answer = request(service.socket_path, "test-stall-engine", {"seconds": 2 * WATCHDOG_S})
    assert answer["ok"], answer
    resumed = notify_socket.wait_for("WATCHDOG=1", after=stalled + STALE_S + 1.0, timeout=20)
    last_before = max(notify_socket.times("WATCHDOG=1", before=stalled + STALE_S + 1.0))
    assert resumed - last_before > WATCHDOG_S, \
        "the pings went on while the engine thread was blocked: systemd would not notice"
    assert last_before < stalled + STALE_S + 0.5
    assert resumed >= stalled + 2 * WATCHDOG_S - 0.2, "pinged before the engine turned again"
    time.sleep(WATCHDOG_S / 2)
    after = notify_socket.times("WATCHDOG=1", after=resumed)
    assert len(after) >= 2 and max(_gaps([resumed] + after)) < WATCHDOG_S / 2

    stop = time.monotonic()
    service.send_signal(signal.SIGTERM)
    assert service.wait(6) == 0
    stopping = notify_socket.wait_for("STOPPING=1", after=stop, timeout=1)
    assert stopping < time.monotonic()
    assert notify_socket.times("READY=1") == [ready], "READY=1 exactly once"

    rec = recorder.take()
    onset = rec.onset(WELCOME_HZ, after=ready)
    assert onset is not None and onset - sent < 0.3, "READY=1 came before the audio was up"


@pytest.mark.sound
def test_a_watchdog_kill_logs_every_threads_traceback(service, notify_socket):
    ready = notify_socket.wait_for("READY=1")
    notify_socket.wait_for("WATCHDOG=1", after=ready)
    stalled = time.monotonic()
    assert request(service.socket_path, "test-stall-engine", {"seconds": 30})["ok"]
    time.sleep(STALE_S + 1.5)
    assert not notify_socket.times("WATCHDOG=1", after=stalled + STALE_S + 0.5)
    service.send_signal(signal.SIGABRT)  # what systemd sends (WatchdogSignal=SIGABRT)
    assert service.wait(10) == -signal.SIGABRT
    service.log_reader.join(5)
    log = "".join(service.log_lines)
    assert "the engine thread has not turned for" in log
    assert "Fatal Python error: Aborted" in log
    # main, engine, control socket: every Python thread's stack, the hung one included
    assert log.count("Thread 0x") + log.count("Current thread 0x") >= 3, log[-3000:]
    assert "in hang" in log and "in _publish" in log, "the engine thread's stack is missing"


# --- the decision itself, on a made-up clock ---------------------------------------------

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.fast
def test_pings_only_while_the_heartbeat_is_fresh():
    clock, sent = Clock(), []
    beat = {"at": clock.now}
    dog = Watchdog(lambda: beat["at"], 10_000_000, send=lambda m: sent.append(m) or True,
                   clock=clock)
    assert dog.interval_s == 1.0
    assert dog.tick() and sent == ["WATCHDOG=1"]
    clock.now += STALE_S + 0.1  # the engine has not turned since
    assert not dog.tick() and len(sent) == 1
    beat["at"] = clock.now
    assert dog.tick() and len(sent) == 2


@pytest.mark.fast
def test_no_watchdog_without_systemds_variables():
    assert watchdog_usec({}) is None
    assert watchdog_usec({"WATCHDOG_USEC": "abc"}) is None
    assert watchdog_usec({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_usec({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}) \
        == 2_000_000
    dog = Watchdog(lambda: 0.0, None, send=lambda m: pytest.fail("pinged without a watchdog"))
    assert dog.tick() is False
    assert Watchdog(lambda: 0.0, 2_000_000).interval_s == 0.5
