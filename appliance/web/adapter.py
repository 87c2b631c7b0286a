"""Starting and stopping the phone panel inside the daemon: waitress on one thread.

waitress reads every request whole on its one I/O thread before a worker sees it, so a
client that trickles bytes holds a socket, never a worker; waitress_glue adds the deadlines and
connection caps waitress lacks. The panel starts even before a passphrase is set: it then
refuses every login with the reason, shows it as a fault, and takes the passphrase the moment
`appliance set-passphrase` writes it (no restart).
"""
from __future__ import annotations

import logging
import time
from typing import Optional

from .app import MAX_BODY, create_app
from .secrets_store import Credentials
from .waitress_glue import Limits, Server

log = logging.getLogger(__name__)

MAX_HEADER = 8 * 1024
FAULT = "web"


class WebPanel:
    """What the daemon keeps of the running panel (daemon.adapters["web"])."""

    def __init__(self, app, server: Server):
        self.app = app
        self._server = server
        self.host, self.port = server.host, server.port

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def open_connections(self) -> int:
        return self._server.open_connections()

    def stop(self):
        if not self._server.running:
            return  # stopped already
        panel = self.app.extensions["panel"]
        panel.broadcast.close()  # live pages end: workers come free
        self._server.stop()


class _PassphraseWatch:
    """Shows "no passphrase set" as a fault until there is one (checked once a second)."""

    def __init__(self, engine, credentials: Credentials):
        self.engine = engine
        self.credentials = credentials
        self.shown: Optional[str] = None

    def check(self):
        problem = self.credentials.problem()
        text = f"panel: no login possible: {problem}" if problem else None
        if text == self.shown:
            return
        if problem:
            log.error("panel: no login possible: %s", problem)
        elif self.shown:
            log.info("panel: a passphrase is set now; phones can log in")
        self.shown = text
        self.engine.report_fault(FAULT, text)


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
    the port is taken. Without a passphrase it runs and says so (_PassphraseWatch)."""
    cfg = context.config
    panel = serve(context, cfg, Credentials(context.room.state_dir), clock)
    if panel is None:
        context.report_fault(f"panel not started: cannot listen on {cfg.host}:{cfg.port}")
        return None
    return PanelAdapter(panel)


def serve(room, cfg, credentials, clock=time.monotonic) -> Optional[WebPanel]:
    """`room`: the panel's AdapterContext."""
    app = create_app(room, cfg, credentials, clock)
    panel = app.extensions["panel"]
    watch = _PassphraseWatch(room.engine, credentials)
    watch.check()

    def housekeeping():
        watch.check()
        panel.housekeeping()
    limits = Limits(request_timeout_s=cfg.request_timeout_s, idle_timeout_s=cfg.idle_timeout_s,
                    per_client=cfg.connections_per_client, total=cfg.connections_total,
                    max_body=MAX_BODY, max_header=MAX_HEADER)
    # behind the proxy only the proxy's own connections may say who the client is
    proxy = None
    if cfg.behind_proxy:
        proxy = "::1" if ":" in cfg.host else "127.0.0.1"
    try:
        server = Server(app, cfg.host, cfg.port, cfg.threads, limits, trusted_proxy=proxy,
                        housekeeping=housekeeping)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or exc
        log.error("panel not started: cannot listen on %s:%d (%s)", cfg.host, cfg.port, why)
        panel.broadcast.close()
        return None
    server.start()
    return WebPanel(app, server)
