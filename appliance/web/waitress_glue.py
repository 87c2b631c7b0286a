"""Everything the panel uses of waitress beyond its documented API, in this one module.

waitress 3.0 has a total `connection_limit` (past it, it stops accepting: 110 silent sockets
kept the panel unreachable) and a `channel_timeout` that ends idle connections, but no cap per
client address, no deadline for a connection that sends nothing, and no deadline for a request
that trickles in a byte a second. This module adds those three on waitress's own I/O thread:

- a new connection must deliver a whole request within `request_timeout_s` of opening, and so
  must each later request on a kept-alive connection, counted from its first byte;
- an address may hold `per_client` connections: its oldest one that is not being answered
  makes room for its newest (so a client only ever crowds out itself);
- at `total` connections the oldest connection in the whole server that is not being answered
  is closed for the new one, so a new phone is always let in.

The internals it touches (tests/test_waitress_glue.py checks each one, so an upgrade that
moves them fails there, naming this file): `create_server(_dispatcher=)`; on each
`BaseWSGIServer` `maintenance(now)`, `channel_class`, `add_task(channel)` (a request has
arrived whole), `active_channels`, `trigger`, `effective_host/port`; on each `HTTPChannel` `addr`, `request` (the request still arriving),
`requests` (those being answered), `creation_time`, `last_activity`, `will_close`,
`handle_close()`; and `wasyncore.close_all(map)`.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Callable, Optional

from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ThreadedTaskDispatcher

log = logging.getLogger(__name__)

TESTED_WITH = "3.0"  # waitress's major.minor these internals were read from
CHECK_EVERY_S = 1    # how often waitress runs its housekeeping (maintenance)
REPORT_EVERY_S = 60  # closed connections are summed up in the log at most this often


@dataclass(frozen=True)
class Limits:
    request_timeout_s: float = 5.0  # a (next) request must arrive whole within this
    idle_timeout_s: float = 30.0    # a kept-alive connection with nothing to do is closed
    per_client: int = 10            # open connections from one address
    total: int = 200                # open connections in all
    max_body: int = 16 * 1024
    max_header: int = 8 * 1024


class Server:
    """waitress on one thread, with the limits above. Raises OSError when it cannot listen."""

    def __init__(self, app, host: str, port: int, threads: int, limits: Limits,
                 trusted_proxy: Optional[str] = None,
                 housekeeping: Optional[Callable[[], None]] = None):
        self.limits = limits
        self._housekeeping = housekeeping
        self._partial_since: dict = {}   # channel -> (the partial request, first seen)
        self._answered = weakref.WeakSet()  # channels that have had a whole request
        self._closed = 0                  # connections this module closed since the last report
        self._reported_at = time.monotonic()
        self._map, self._workers = {}, ThreadedTaskDispatcher()
        self._workers.set_thread_count(threads)
        proxy = {}
        if trusted_proxy:
            # waitress's own, documented proxy support: X-Forwarded-For/-Proto are believed
            # only from this address, and dropped from everyone else
            proxy = dict(trusted_proxy=trusted_proxy, trusted_proxy_count=1,
                         trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
                         clear_untrusted_proxy_headers=True)
        self._exempt = {trusted_proxy} if trusted_proxy else set()
        try:
            server = create_server(
                app, map=self._map, _dispatcher=self._workers, host=host, port=port,
                threads=threads, max_request_body_size=limits.max_body,
                max_request_header_size=limits.max_header,
                channel_timeout=max(1, int(limits.idle_timeout_s)),
                cleanup_interval=CHECK_EVERY_S,
                # ours decides first; waitress's own limit (it stops accepting) never trips
                connection_limit=limits.total + 16, ident="appliance", expose_tracebacks=False,
                **proxy)
        except (OSError, ValueError):
            wasyncore.close_all(self._map)
            self._workers.shutdown(timeout=3.0)
            raise
        self._server = server
        self._listeners = _listeners(server, self._map)
        for each in self._listeners:
            self._wrap(each)
        first = self._listeners[0]
        self.host, self.port = str(first.effective_host), int(first.effective_port)
        self._thread = threading.Thread(target=server.run, name="web", daemon=True)

    def start(self):
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self):
        """Let the workers finish (their pages must end first), then close every socket from
        waitress's own loop thread, which makes run() return."""
        if not self._thread.is_alive():
            return
        self._workers.shutdown(timeout=3.0)
        closed = threading.Event()

        def close_everything():
            wasyncore.close_all(self._map)
            closed.set()
        try:
            self._listeners[0].trigger.pull_trigger(close_everything)
        except OSError as exc:
            # the loop's wake-up pipe was found closed once (EBADF, a clean-clone test run;
            # cause not found): close from here instead, and run() ends with an empty map
            log.warning("panel: the web server's wake-up pipe is gone (%s); closing its "
                        "sockets from here", exc)
            close_everything()
        closed.wait(3.0)
        self._thread.join(3.0)
        if self._thread.is_alive():
            log.error("panel: the web server did not stop in time")

    def open_connections(self) -> int:
        return sum(len(s.active_channels) for s in self._listeners)

    # --- on waitress's loop thread ----------------------------------------------------------

    def _wrap(self, listener):
        idle_check = listener.maintenance
        channel_class = type(listener).channel_class
        add_task = listener.add_task

        def maintenance(now):
            idle_check(now)  # waitress's own: idle kept-alive connections
            self._drop_late_requests(listener, now)
            if listener is self._listeners[0]:
                self._tick()

        def admit(server, conn, addr, adj, map=None):
            if not self._make_room(addr):
                conn.close()
                self._closed += 1
                return None
            return channel_class(server, conn, addr, adj, map=map)

        def request_arrived(channel):
            self._answered.add(channel)
            add_task(channel)

        listener.maintenance = maintenance
        listener.channel_class = admit
        listener.add_task = request_arrived

    def _channels(self) -> list:
        return [c for s in self._listeners for c in list(s.active_channels.values())]

    def _make_room(self, addr) -> bool:
        """Before a new connection from `addr` is set up: close the oldest idle connection of
        that address, or of everyone, when a limit is reached. False: no room, refuse it."""
        channels = [c for c in self._channels() if not c.will_close]  # those closing now
        client = addr[0] if isinstance(addr, tuple) else addr
        if client not in self._exempt:
            own = [c for c in channels if _client(c) == client]
            if len(own) >= self.limits.per_client:
                return self._close_oldest_idle(own)  # and that made room in the total too
        if len(channels) >= self.limits.total:
            return self._close_oldest_idle(channels)
        return True

    def _close_oldest_idle(self, channels) -> bool:
        idle = [c for c in channels if not c.requests]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.last_activity)
        oldest.handle_close()
        self._closed += 1
        return True

    def _drop_late_requests(self, listener, now):
        limit = self.limits.request_timeout_s
        seen = {}
        for channel in list(listener.active_channels.values()):
            if channel.requests or channel.will_close:
                continue  # being answered (a live page, a command): not ours to judge
            partial = channel.request
            if channel not in self._answered:
                # its first request, silent or trickling: counted from the connect
                late = now - channel.creation_time > limit
            elif partial is None:
                late = False  # between requests: waitress's idle timeout is for that
            else:
                since = self._partial_since.get(channel)
                since = since[1] if since and since[0] is partial else now
                seen[channel] = (partial, since)
                late = now - since > limit
            if late:
                channel.will_close = True
                self._closed += 1
        for channel in [c for c in self._partial_since if c.server is listener]:
            if channel not in seen:  # closed, or its request has arrived
                del self._partial_since[channel]
        self._partial_since.update(seen)

    def _tick(self):
        now = time.monotonic()
        if self._closed and now - self._reported_at >= REPORT_EVERY_S:
            log.warning("panel: closed %d connections in the last %d s (no request in time, "
                        "or over the per-client or total limit)", self._closed,
                        round(now - self._reported_at))
            self._closed, self._reported_at = 0, now
        elif not self._closed:
            self._reported_at = now
        if self._housekeeping is not None:
            try:
                self._housekeeping()
            except Exception:
                log.exception("panel: housekeeping failed")


def _client(channel) -> str:
    addr = channel.addr
    return addr[0] if isinstance(addr, tuple) else str(addr)


def _listeners(server, socket_map) -> list:
    """The listening servers (one per address) behind what create_server returned."""
    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in socket_map.values() if isinstance(s, BaseWSGIServer)]
