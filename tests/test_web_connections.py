"""The panel on a real waitress socket under the attacks of issue 11: silent sockets, clients
trickling a byte a second, one address opening many connections, guessing while a therapist
logs in. Loopback only (127.0.0.x as many "phones"). Also: the waitress internals that
appliance/web/waitress_glue.py relies on are still there."""
from __future__ import annotations

import http.client
import inspect
import json
import socket
import threading
import time

import pytest
import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from appliance.web import waitress_glue

from .conftest import PANEL_PASSPHRASE
from .test_web_server import served  # noqa: F401  (the fixture)



def _version() -> str:
    from importlib.metadata import version
    return version("waitress")


@pytest.mark.fast
def test_the_waitress_internals_waitress_glue_relies_on_are_still_there():
    where = (f"waitress {_version()} changed; appliance/web/waitress_glue.py relies on it "
             f"(read from waitress {waitress_glue.TESTED_WITH}): check it again")
    assert _version().startswith(waitress_glue.TESTED_WITH + "."), where
    assert "_dispatcher" in inspect.signature(create_server).parameters, where
    accept = inspect.getsource(BaseWSGIServer.handle_accept)
    assert "self.channel_class(self, conn, addr, self.adj, map=self._map)" in accept, where
    init = inspect.getsource(BaseWSGIServer.__init__)
    assert "self.active_channels = {}" in init and "self.trigger = " in init, where
    assert "self.effective_host, self.effective_port" in init, where
    assert "def maintenance(self, now)" in inspect.getsource(BaseWSGIServer), where
    assert "self.server.add_task(self)" in inspect.getsource(HTTPChannel.received), where
    assert "self.maintenance(now)" in inspect.getsource(BaseWSGIServer.readable), where
    channel = inspect.getsource(HTTPChannel.__init__)
    assert "self.creation_time = self.last_activity = time.time()" in channel, where
    assert "self.addr = addr" in channel and "self.requests = []" in channel, where
    for name in ("request", "will_close", "handle_close", "last_activity"):
        assert hasattr(HTTPChannel, name), f"{where}: HTTPChannel.{name}"
    assert "self.server.active_channels[self._fileno] = self" in inspect.getsource(
        HTTPChannel.add_channel), where
    assert callable(wasyncore.close_all), where


# --- silent and slow connections --------------------------------------------------------------

def _silent(panel, address):
    s = socket.socket()
    s.bind((address, 0))
    s.settimeout(10)
    s.connect((panel.host, panel.port))
    return s


def _timed_get(panel, address="127.0.0.250", path="/api/openapi.json"):
    started = time.monotonic()
    conn = http.client.HTTPConnection(panel.host, panel.port, timeout=10,
                                      source_address=(address, 0))
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        return answer.status, time.monotonic() - started
    finally:
        conn.close()


def _closed_by_server(s) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


class _Tricklers:
    """`count` clients sending a request one byte a second, from their own addresses."""

    def __init__(self, panel, addresses):
        self.sockets = [_silent(panel, a) for a in addresses]
        self.request = b"GET /api/status HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"a" * 100
        self.dropped = {}
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        while not self.stop.wait(1.0) and i < len(self.request):
            for s in self.sockets:
                if s in self.dropped:
                    continue
                try:
                    s.send(self.request[i:i + 1])
                    if _closed_by_server(s):
                        raise OSError("closed")
                except OSError:
                    self.dropped[s] = time.monotonic() - self.started
            i += 1

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for s in self.sockets:
            s.close()


@pytest.mark.slow
def test_silent_and_trickling_clients_cannot_keep_a_phone_out(served):  # noqa: F811
    panel = served()
    # 110 sockets that never send a byte, from 11 addresses (10 each, the per-client cap),
    # and 40 clients trickling a byte a second from 4 more: the attack of the issue
    silent = [_silent(panel, f"127.0.0.{10 + n // 10}") for n in range(110)]
    tricklers = _Tricklers(panel, [f"127.0.0.{30 + n // 10}" for n in range(40)])
    opened = time.monotonic()
    try:
        answers = []
        for _ in range(4):  # a phone asks now and again during the attack
            answers.append(_timed_get(panel))
            time.sleep(1.0)
        assert all(status == 200 and took < 2.0 for status, took in answers), answers
        # a connection that sends no request in 5 s is closed (checked once a second)
        deadline = opened + 8
        while time.monotonic() < deadline and not all(_closed_by_server(s) for s in silent):
            time.sleep(0.2)
        assert all(_closed_by_server(s) for s in silent), "silent sockets were not closed"
        assert time.monotonic() - opened >= waitress_glue.Limits().request_timeout_s - 0.5
        tricklers.thread.join(6)
        assert len(tricklers.dropped) == 40 and max(tricklers.dropped.values()) < 8
        assert _timed_get(panel)[0] == 200
    finally:
        tricklers.close()
        for s in silent:
            s.close()


@pytest.mark.slow
def test_more_sockets_than_the_server_holds_still_let_a_phone_in(served):  # noqa: F811
    panel = served(connections_total=60)
    silent = [_silent(panel, f"127.0.1.{n // 5}") for n in range(150)]  # 5 each from 30
    try:
        status, took = _timed_get(panel)
        assert status == 200 and took < 2.0
        assert panel.open_connections() <= 60
        # the oldest silent ones made room: the newest are still open
        assert all(_closed_by_server(s) for s in silent[:80])
    finally:
        for s in silent:
            s.close()


@pytest.mark.slow
def test_one_address_crowds_out_only_itself(served):  # noqa: F811
    panel = served(connections_per_client=4)
    mine = [_silent(panel, "127.0.2.1") for _ in range(12)]
    other = _silent(panel, "127.0.2.2")
    try:
        status, _ = _timed_get(panel, "127.0.2.1")  # the same address still gets answered
        assert status == 200
        time.sleep(0.2)
        assert [_closed_by_server(s) for s in mine] == [True] * 9 + [False] * 3
        assert not _closed_by_server(other)
    finally:
        for s in mine + [other]:
            s.close()


# --- guessing while the therapist logs in -------------------------------------------------------

def _post_login(panel, address, passphrase):
    conn = http.client.HTTPConnection(panel.host, panel.port, timeout=10,
                                      source_address=(address, 0))
    try:
        conn.request("POST", "/api/login", json.dumps({"passphrase": passphrase}),
                     {"Content-Type": "application/json"})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


@pytest.mark.slow
def test_the_right_passphrase_gets_in_within_seconds_while_guessing_runs(served):  # noqa: F811
    panel = served()
    stop = threading.Event()
    codes = []

    def guess(n):
        for i in range(1000):
            if stop.is_set():
                return
            codes.append(_post_login(panel, f"127.0.3.{n}", f"guess {n} {i}"))

    guessers = [threading.Thread(target=guess, args=(n,), daemon=True) for n in range(2, 22)]
    for t in guessers:
        t.start()
    try:
        deadline = time.monotonic() + 10
        while codes.count(401) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert codes.count(401) >= 40, "the attack did not get going"
        engine = panel.app.extensions["panel"].room.engine
        for n in range(3):  # three phones that were never used for guessing
            started = time.monotonic()
            assert _post_login(panel, f"127.0.4.{n}", PANEL_PASSPHRASE) == 200
            assert time.monotonic() - started < 3.0
        assert "many failed logins" in engine.status().faults.get("logins", "")
    finally:
        stop.set()
        for t in guessers:
            t.join(10)
    assert 429 in codes  # the guessers were held back
