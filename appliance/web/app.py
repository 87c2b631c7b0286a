"""create_app(room, ...): the panel's Flask app, with every security rule in one place.

Nothing lives in module globals: each app carries its sessions, rate limits and live-status
broadcast in `app.extensions["panel"]`, so tests make as many apps as they like.

Rules, in the order a request meets them:
- a Host that is not one of the box's own names or addresses (or `allowed_hosts`): 421,
  before any route runs, so a DNS-rebinding page cannot talk to the panel;
- bodies over 16 KB: 413 (waitress refuses them too, before they reach a thread);
- a state-changing request with an Origin header from another site: 403;
- API routes need a login cookie or `Authorization: Bearer <token>`: 401 otherwise;
- a state-changing request on a cookie also needs the X-CSRF-Token header matching the
  login's token (a cross-site page can neither read it nor set the header): 403 otherwise;
- wrong passphrases get a growing backoff per client, commands a rate limit: 429 with
  Retry-After.
"""
from __future__ import annotations

import functools
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import (Busy, CommandError, EngineFailed, InvalidArgument, InvalidInput, Refused,
                      UnknownCommand)
from ..wire import parse_json
from .config import WebConfig
from .events import StatusBroadcast
from .guard import RateLimit, Sessions, client_key as _key_of, csrf_ok
from .hosts import AllowedHosts, HostGuard
from .logins import LoginLimiter
from .secrets_store import Credentials

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
SESSION_COOKIE = "panel_session"
CSRF_COOKIE = "panel_csrf"
SECURE_PREFIX = "__Host-"  # the browser keeps such a cookie only from HTTPS, for this host:port
STATIC = Path(__file__).with_name("static")
# no inline script or style anywhere: the page's own files only
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


#: a command that was not carried out -> the panel's answer, by the error's type
HTTP_STATUS = {Busy: 503, Refused: 409, InvalidArgument: 400, UnknownCommand: 400,
               EngineFailed: 503}


class ApiError(Exception):
    """Answered as {"error": message, "kind": ...} with this HTTP status."""

    def __init__(self, status: int, message: str, retry_after: Optional[float] = None,
                 kind: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.kind = kind

    @classmethod
    def of(cls, error: CommandError) -> "ApiError":
        """The answer to a command error, from its type (never its text)."""
        status = next(code for kind, code in HTTP_STATUS.items() if isinstance(error, kind))
        return cls(status, error.message, 1 if isinstance(error, Busy) else None, error.kind)


@dataclass
class Panel:
    room: object             # appliance.daemon.AdapterContext: engine, verbs, room info
    cfg: WebConfig
    credentials: Credentials
    sessions: Sessions
    logins: LoginLimiter     # wrong passphrases: backoff per client, slow-down for all
    commands: RateLimit
    broadcast: StatusBroadcast
    hosts: AllowedHosts
    # one passphrase check at a time: scrypt takes 16 MiB each, and the rate limit is
    # counted exactly even when guesses arrive together
    login_lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, verb: str, args=None) -> dict:
        """A verb through the one table and the daemon's registry; ApiError by its type."""
        try:
            return self.room.verbs.call(verb, args, source="panel")
        except CommandError as exc:
            raise ApiError.of(exc) from None

    def offers(self, verb: str) -> bool:
        return self.room.verbs.offers(verb)

    @property
    def session_cookie(self) -> str:
        return (SECURE_PREFIX if self.cfg.secure_cookies else "") + SESSION_COOKIE

    @property
    def csrf_cookie(self) -> str:
        return (SECURE_PREFIX if self.cfg.secure_cookies else "") + CSRF_COOKIE

    def housekeeping(self):
        """Once a second from the server: the login notice ends when the attack is over."""
        self.logins.refresh()


def create_app(room, cfg: WebConfig, credentials: Credentials,
               clock: Callable[[], float] = time.monotonic) -> Flask:
    """`room` is the panel's AdapterContext (what every adapter gets from the daemon)."""
    app = Flask(__name__, static_folder=str(STATIC), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False
    hosts = AllowedHosts(cfg.allowed_hosts)
    panel = Panel(
        room=room, cfg=cfg, credentials=credentials,
        sessions=Sessions(cfg.session_hours * 3600.0, cfg.session_idle_minutes * 60.0, clock),
        logins=LoginLimiter(cfg.login_attempts, cfg.login_window_s, cfg.login_attempts_total,
                            cfg.login_backoff_max_s, clock,
                            notify=lambda text: room.engine.report_fault("logins", text)),
        commands=RateLimit(cfg.commands_per_minute, 60.0, clock),
        broadcast=StatusBroadcast(room.engine, cfg.event_streams),
        hosts=hosts)
    app.extensions["panel"] = panel
    app.wsgi_app = HostGuard(app.wsgi_app, hosts)  # before Flask sees anything

    @app.before_request
    def same_origin_only():
        origin = request.headers.get("Origin")
        if origin and request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                netloc = urlsplit(origin).netloc
            except ValueError:
                netloc = ""
            # the same host and port the request was sent to, and that one allowed
            if netloc.lower() != request.host.lower() or not hosts.allows(netloc):
                raise ApiError(403, "this request came from another site and was refused")

    @app.after_request
    def security_headers(response: Response):
        h = response.headers
        h["Content-Security-Policy"] = CSP
        h["X-Frame-Options"] = "DENY"
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "no-referrer"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.path.startswith("/api/"):
            h["Cache-Control"] = "no-store"
        location = h.get("Location")
        if location:  # a redirect stays on whatever name the phone used: never a Host echoed
            parts = urlsplit(location)
            path = "/" + parts.path.lstrip("/")  # "//x" would be another site again
            h["Location"] = path + (f"?{parts.query}" if parts.query else "")
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        response = jsonify(error=exc.message, kind=exc.kind) if exc.kind else \
            jsonify(error=exc.message)
        response.status_code = exc.status
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {
            404: "no such page or API route",
            405: f"{request.method} is not allowed here",
            413: f"the request body is larger than {MAX_BODY // 1024} KB",
        }
        response = jsonify(error=messages.get(exc.code, exc.description or exc.name))
        response.status_code = exc.code or 500
        return response

    from . import record_page, routes
    routes.register(app, panel)
    record_page.register(app, panel)
    return app


# --- helpers the routes use -----------------------------------------------------------------

def client_key() -> str:
    """Who is asking, for limits only (kept in memory, logged only as a keyed hash). Behind
    the proxy this is the address the proxy reported (see waitress_glue)."""
    return _key_of(request.remote_addr)


def json_body(allow_empty: bool = True) -> dict:
    """The request's JSON object; 400 for anything else, 415 for a form post."""
    raw = request.get_data(cache=True)  # 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "the request needs a JSON body")
    if request.mimetype != "application/json":
        raise ApiError(415, "send the body as JSON (Content-Type: application/json)")
    try:
        body = parse_json(raw, what="the request body", max_bytes=MAX_BODY)
    except InvalidInput as exc:
        raise ApiError(400, str(exc), kind="invalid") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def needs_login(view):
    """Cookie login or API token; state-changing cookie requests also need the CSRF header."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        panel = _panel()
        auth = request.headers.get("Authorization", "")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not panel.credentials.check_token(token.strip()):
                raise ApiError(401, "the API token is wrong or was revoked")
            g.login = None
            return view(*args, **kwargs)
        login = panel.sessions.find(request.cookies.get(panel.session_cookie),
                                    panel.credentials.version())
        if login is None:
            raise ApiError(401, "please log in (no login, or it has expired)")
        if request.method not in ("GET", "HEAD") and \
                not csrf_ok(login, request.headers.get("X-CSRF-Token")):
            raise ApiError(403, "the security token (X-CSRF-Token) is missing or wrong; "
                                "reload the page")
        g.login = login
        return view(*args, **kwargs)
    return checked


def _panel() -> Panel:
    return current_app.extensions["panel"]
