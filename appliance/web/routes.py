"""The panel's routes: check, validate, submit, answer. See openapi.json for the contract."""
from __future__ import annotations

import math
import re
from urllib.parse import unquote

from flask import Flask, Response, jsonify, request, send_from_directory

from ..verbs import BadRequest, parse_command
from .app import STATIC, ApiError, Panel, client_key, json_body, needs_login

ANSWER_TIMEOUT_S = 5.0
MAX_NAME = 100


def register(app: Flask, panel: Panel):
    cfg, engine = panel.cfg, panel.engine

    @app.get("/")
    def page():
        return send_from_directory(STATIC, "index.html", max_age=0)

    spec = (STATIC.parent / "openapi.json").read_bytes()

    @app.get("/api/openapi.json")
    def openapi():
        return Response(spec, mimetype="application/json")

    # --- logging in -----------------------------------------------------------------------

    @app.post("/api/login")
    def login():
        key = client_key()
        _backoff(panel, key)
        body = json_body(allow_empty=False)
        passphrase = body.get("passphrase")
        if not isinstance(passphrase, str) or not passphrase:
            raise ApiError(400, "login: give the passphrase as \"passphrase\"")
        problem = panel.credentials.problem()
        if problem:
            raise ApiError(503, problem)
        with panel.login_lock:
            _backoff(panel, key)  # again: other guesses from this client may have landed
            right = panel.credentials.check_passphrase(passphrase)
            if right:
                panel.logins.succeeded(key)
            else:
                failure = panel.logins.failed(key)
        if not right:
            if failure.backoff_s:
                raise ApiError(401, f"wrong passphrase; try again in "
                                    f"{math.ceil(failure.backoff_s)} s", failure.backoff_s)
            raise ApiError(401, "wrong passphrase")
        made = panel.sessions.create(panel.credentials.version(), key)
        if made is None:
            raise ApiError(503, "too many phones are logged in; log out on one, or wait for "
                                "an old login to end", 60)
        session_id, login = made
        lifetime = int(panel.sessions.lifetime_s)
        response = jsonify(csrf=login.csrf, expires_in_s=lifetime,
                           idle_timeout_s=int(panel.sessions.idle_s))
        response.set_cookie(panel.session_cookie, session_id, max_age=lifetime, path="/",
                            httponly=True, samesite="Lax", secure=cfg.secure_cookies)
        # readable by the page's script, so a reload keeps working (double submit)
        response.set_cookie(panel.csrf_cookie, login.csrf, max_age=lifetime, path="/",
                            httponly=False, samesite="Strict", secure=cfg.secure_cookies)
        return response

    @app.post("/api/logout")
    @needs_login
    def logout():
        panel.sessions.end(request.cookies.get(panel.session_cookie))
        response = jsonify(ok=True)
        for name in (panel.session_cookie, panel.csrf_cookie):
            response.delete_cookie(name, path="/", secure=cfg.secure_cookies)
        return response

    # --- the room -------------------------------------------------------------------------

    @app.get("/api/status")
    @needs_login
    def status():
        return jsonify(engine.status())

    @app.get("/api/panel")
    @needs_login
    def panel_info():
        s = engine.state.settings
        return jsonify(room_name=engine.room.get("name"), cap=s.cap,
                       receptive={"min": s.receptive_min_minutes, "max": s.receptive_max_minutes,
                                  "default": s.receptive_default_minutes},
                       schedule=panel.adapter("schedule") is not None,
                       buttons=_virtual_buttons(panel))

    @app.post("/api/commands/<name>")
    @needs_login
    def command(name: str):
        _rate_limit_commands(panel)
        args = json_body()
        _check_track_name(args)
        try:
            parsed = parse_command(name[:MAX_NAME], args)
        except BadRequest as exc:
            raise ApiError(400, str(exc)) from None
        pending = engine.submit(parsed, source="panel")
        if not pending.wait(ANSWER_TIMEOUT_S):
            raise ApiError(503, f"{name}: the room did not answer in time; try again")
        if pending.refusal:
            if pending.refusal.startswith("busy"):
                raise ApiError(503, pending.refusal, 1)
            raise ApiError(409, pending.refusal)
        return jsonify(ok=True, message=pending.message, status=engine.status())

    @app.get("/api/events")
    @needs_login
    def events():
        if not panel.broadcast.open():
            raise ApiError(503, "too many live pages are open; close one and reload")
        still_allowed = _still_allowed(panel)
        return Response(panel.broadcast.stream(still_allowed), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # --- the schedule (when the schedule adapter runs) --------------------------------------

    @app.get("/api/schedule")
    @needs_login
    def schedule_list():
        limit = request.args.get("limit", "10")
        if not limit.isdigit() or not 1 <= int(limit) <= 50:
            raise ApiError(400, "schedule: limit must be a whole number from 1 to 50")
        return jsonify(sessions=_schedule(panel).upcoming(limit=int(limit)))

    @app.post("/api/schedule")
    @needs_login
    def schedule_add():
        _rate_limit_commands(panel)
        body = json_body(allow_empty=False)
        unknown = sorted(set(body) - {"start", "minutes", "label"})
        if unknown:
            raise ApiError(400, f"schedule: unexpected field {unknown[0]!r}")
        start, minutes, label = body.get("start"), body.get("minutes"), body.get("label")
        if not isinstance(start, str) or not start or len(start) > 64:
            raise ApiError(400, "schedule: start must be a date and time like "
                                "2026-03-02T09:30")
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) \
                or not math.isfinite(minutes):
            raise ApiError(400, "schedule: minutes must be a number")
        if label is not None and (not isinstance(label, str) or len(label) > 80):
            raise ApiError(400, "schedule: label must be text of at most 80 characters")
        try:
            added = _schedule(panel).add(start, float(minutes), label)
        except ValueError as exc:
            raise ApiError(400, f"schedule: {exc}") from None
        return jsonify(added), 201

    @app.delete("/api/schedule/<session_id>")
    @needs_login
    def schedule_remove(session_id: str):
        _rate_limit_commands(panel)
        if len(session_id) > MAX_NAME:
            raise ApiError(400, "schedule: that is not a session id")
        try:
            removed = _schedule(panel).remove(session_id)
        except ValueError as exc:
            raise ApiError(400, f"schedule: {exc}") from None
        if not removed:
            raise ApiError(404, f"schedule: no upcoming session {session_id!r}")
        return jsonify(ok=True)

    # --- virtual buttons (GPIO in mock mode) -------------------------------------------------

    @app.get("/api/buttons")
    @needs_login
    def buttons():
        found = _virtual_buttons(panel)
        if found is None:
            raise ApiError(404, "no virtual buttons: GPIO is off or uses real buttons")
        return jsonify(buttons=found)

    @app.post("/api/buttons/<name>")
    @needs_login
    def press(name: str):
        _rate_limit_commands(panel)
        found = _virtual_buttons(panel)
        if found is None:
            raise ApiError(404, "no virtual buttons: GPIO is off or uses real buttons")
        if name not in {b.get("name") for b in found}:
            raise ApiError(404, f"no virtual button called {name[:MAX_NAME]!r}")
        body = json_body()
        unknown = sorted(set(body) - {"hold_s"})
        if unknown:
            raise ApiError(400, f"button: unexpected field {unknown[0]!r}")
        hold_s = body.get("hold_s")
        if hold_s is not None and (isinstance(hold_s, bool) or not isinstance(hold_s, (int, float))
                                   or not 0 <= hold_s <= 30):
            raise ApiError(400, "button: hold_s must be a number of seconds from 0 to 30")
        try:
            panel.adapter("gpio").press(name, hold_s=None if hold_s is None else float(hold_s))
        except ValueError as exc:
            raise ApiError(400, f"button: {exc}") from None
        return jsonify(ok=True, status=engine.status())


def _backoff(panel: Panel, key: str):
    wait = panel.logins.wait(key)
    if wait:
        raise ApiError(429, f"too many wrong passphrases: try again in {math.ceil(wait)} s", wait)


def _rate_limit_commands(panel: Panel):
    wait = panel.commands.hit(client_key())
    if wait:
        raise ApiError(429, f"too many commands at once: wait {math.ceil(wait)} s", wait)


def _check_track_name(args: dict):
    """A welcome track is named as the playlist names it, never as a path. The core only
    matches names against the loaded playlist; this refuses path-like names outright."""
    track = args.get("track")
    if isinstance(track, str) and (_path_like(track) or _path_like(unquote(track))):
        raise ApiError(400, "welcome: give a track's name from the welcome playlist, not a path")


def _path_like(name: str) -> bool:
    parts = re.split(r"[/\\]", name)
    return (name[:1] in ("/", "\\", "~")                      # absolute or home
            or ".." in parts or (len(parts) > 1 and "." in parts)  # relative walks
            or re.match(r"^[A-Za-z]:", name) is not None        # a drive letter
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in name))  # NUL, newlines


def _still_allowed(panel: Panel):
    """For a live stream: is the login (or token) it was opened with still good?"""
    auth = request.headers.get("Authorization", "")
    if auth:
        token = auth.partition(" ")[2].strip()
        return lambda: panel.credentials.check_token(token)
    session_id = request.cookies.get(panel.session_cookie)
    return lambda: panel.sessions.find(session_id, panel.credentials.version()) is not None


def _schedule(panel: Panel):
    schedule = panel.adapter("schedule")
    if schedule is None:
        raise ApiError(404, "no schedule: add a [schedule] section to config.toml")
    return schedule


def _virtual_buttons(panel: Panel):
    gpio = panel.adapter("gpio")
    if gpio is None or not hasattr(gpio, "virtual_buttons"):
        return None
    return list(gpio.virtual_buttons())
