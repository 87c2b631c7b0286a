"""Starting and stopping the phone panel inside the daemon: waitress on one thread.

waitress reads every request whole on its one I/O thread before a worker sees it, so a
client that trickles bytes holds a socket, never a worker. On top of waitress's own idle
timeout (which a client sending one byte a second would dodge) the panel closes any
connection whose request has not arrived whole within `request_timeout_s`.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Optional

from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ThreadedTaskDispatcher

from .app import MAX_BODY, create_app
from .secrets_store import Credentials

log = logging.getLogger(__name__)

MAX_HEADER = 8 * 1024
CHECK_EVERY_S = 1  # how often waitress looks for stalled and idle connections


class WebPanel:
    """What the daemon keeps of the running panel (daemon.adapters["web"])."""

    def __init__(self, app, server, thread: threading.Thread):
        self.app = app
        self._server = server
        self._thread = thread
        first = _servers(server)[0]
        self.host, self.port = str(first.effective_host), int(first.effective_port)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def stop(self):
        if not self._thread.is_alive():
            return  # stopped already
        self.app.extensions["panel"].broadcast.close()  # live pages end: workers come free
        # workers first (they wake the loop when they finish), then the loop and its sockets
        self._server.task_dispatcher.shutdown(timeout=3.0)
        first = _servers(self._server)[0]
        closed = threading.Event()

        def close_everything():  # on waitress's loop thread: the map empties, run() returns
            wasyncore.close_all(first._map)
            closed.set()
        first.trigger.pull_trigger(close_everything)
        closed.wait(3.0)
        self._thread.join(3.0)
        if self._thread.is_alive():
            log.error("panel: the web server did not stop in time")


class PanelAdapter:
    """The daemon's view of the panel (Adapter protocol): it serves, it offers no verbs."""

    def __init__(self, panel: WebPanel):
        self.panel = panel
        self.url = panel.url

    def start(self):
        log.info("panel: %s (listening on %s:%d)", self.url, self.panel.host, self.panel.port)

    def stop(self):
        self.panel.stop()

    def verbs(self) -> dict:
        return {}


def create(context, clock=time.monotonic) -> Optional[PanelAdapter]:
    """The panel from [web] (the daemon's registry); None, with the reason in status, when
    it cannot run: no passphrase set, or the port is taken."""
    cfg = context.config
    credentials = Credentials(context.room.state_dir)
    problem = credentials.problem()
    if problem:
        log.error("panel not started: %s", problem)
        context.report_fault(f"panel not started: {problem}")
        return None
    panel = serve(context, cfg, credentials, clock)
    if panel is None:
        context.report_fault(f"panel not started: cannot listen on {cfg.host}:{cfg.port}")
        return None
    return PanelAdapter(panel)


def serve(room, cfg, credentials, clock=time.monotonic) -> Optional[WebPanel]:
    """`room`: the panel's AdapterContext."""
    app = create_app(room, cfg, credentials, clock)
    # our own socket map and workers, so a failed bind can be cleaned up completely
    sockets, workers = {}, ThreadedTaskDispatcher()
    workers.set_thread_count(cfg.threads)
    try:
        server = create_server(
            app, map=sockets, _dispatcher=workers, host=cfg.host, port=cfg.port,
            threads=cfg.threads, max_request_body_size=MAX_BODY,
            max_request_header_size=MAX_HEADER, channel_timeout=int(cfg.idle_timeout_s),
            cleanup_interval=CHECK_EVERY_S, connection_limit=100, ident="appliance",
            expose_tracebacks=False)
    except OSError as exc:
        log.error("panel not started: cannot listen on %s:%d (%s)", cfg.host, cfg.port,
                  exc.strerror or exc)
        wasyncore.close_all(sockets)
        workers.shutdown(timeout=3.0)
        app.extensions["panel"].broadcast.close()
        return None
    for each in _servers(server):
        _drop_stalled_requests(each, cfg.request_timeout_s)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    return WebPanel(app, server, thread)


def _servers(server) -> list:
    """The listening servers (one per address) behind what create_server returned."""
    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]


def _drop_stalled_requests(server, timeout_s: float):
    """Extend waitress's housekeeping: close a connection whose request is still incomplete
    `timeout_s` after its first byte (a slow-loris client), not only idle ones."""
    idle_check = server.maintenance

    def maintenance(now):
        idle_check(now)
        for channel in list(server.active_channels.values()):
            partial = channel.request
            if partial is None or channel.requests:
                channel._partial_since = None
                continue
            seen = getattr(channel, "_partial_since", None)
            if seen is None or seen[0] is not partial:
                channel._partial_since = (partial, now)
            elif now - seen[1] > timeout_s:
                channel.will_close = True
    server.maintenance = maintenance
