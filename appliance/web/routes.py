"""The panel's routes: check, validate, submit, answer. See openapi.json for the contract."""
from __future__ import annotations

import math

from flask import Flask, Response, jsonify, request, send_from_directory

from ..errors import CommandError, InvalidArgument, UnknownCommand
from ..verbs import ROOM_VERBS
from .app import STATIC, ApiError, Panel, client_key, json_body, needs_login

MAX_NAME = 100


def register(app: Flask, panel: Panel):
    cfg, engine = panel.cfg, panel.room.engine

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
        return jsonify(engine.status_dict())

    @app.get("/api/panel")
    @needs_login
    def panel_info():
        s = panel.room.room.settings
        return jsonify(room_name=panel.room.room.name, cap=s.cap,
                       receptive={"min": s.receptive_min_minutes, "max": s.receptive_max_minutes,
                                  "default": s.receptive_default_minutes},
                       schedule=panel.offers("schedule list"),
                       record=panel.offers("record sessions"),
                       clients=panel.room.clients is not None,
                       buttons=_virtual_buttons(panel))

    @app.post("/api/commands/<name>")
    @needs_login
    def command(name: str):
        _rate_limit_commands(panel)
        args = json_body()
        if name not in ROOM_VERBS:  # the panel gives the room's own commands only
            raise ApiError.of(UnknownCommand(f"unknown command {name[:MAX_NAME]!r} "
                                             f"(known: {', '.join(ROOM_VERBS)})"))
        answer = panel.call(name, args)
        return jsonify(ok=True, message=answer["message"], status=answer["status"])

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
        _schedule(panel)
        answer = panel.call("schedule list", {"limit": request.args.get("limit", "10")})
        return jsonify(sessions=answer["sessions"], weekly=answer["weekly"])

    @app.post("/api/schedule")
    @needs_login
    def schedule_add():
        _rate_limit_commands(panel)
        body = json_body(allow_empty=False)
        _schedule(panel)
        return jsonify(panel.call("schedule add", body)["session"]), 201

    @app.delete("/api/schedule/<session_id>")
    @needs_login
    def schedule_remove(session_id: str):
        _rate_limit_commands(panel)
        _schedule(panel)
        try:
            panel.room.verbs.call("schedule remove", {"id": session_id}, source="panel")
        except InvalidArgument as exc:  # the id names no session: the resource is not there
            raise ApiError(404, exc.message, kind=exc.kind) from None
        except CommandError as exc:
            raise ApiError.of(exc) from None
        return jsonify(ok=True)

    # --- clients: the session's and their profiles (web/clients.py) -------------------------

    from . import clients
    clients.register(app, panel, lambda: _rate_limit_commands(panel))

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
        if "name" in body:
            raise ApiError.of(InvalidArgument("button: unexpected argument 'name'", "name"))
        answer = panel.call("button", dict(body, name=name))
        return jsonify(ok=True, message=answer["message"], status=answer["status"])


def _backoff(panel: Panel, key: str):
    wait = panel.logins.wait(key)
    if wait:
        raise ApiError(429, f"too many wrong passphrases: try again in {math.ceil(wait)} s", wait)


def _rate_limit_commands(panel: Panel):
    wait = panel.commands.hit(client_key())
    if wait:
        raise ApiError(429, f"too many commands at once: wait {math.ceil(wait)} s", wait)


def _still_allowed(panel: Panel):
    """For a live stream: is the login (or token) it was opened with still good?"""
    auth = request.headers.get("Authorization", "")
    if auth:
        token = auth.partition(" ")[2].strip()
        return lambda: panel.credentials.check_token(token)
    session_id = request.cookies.get(panel.session_cookie)
    return lambda: panel.sessions.find(session_id, panel.credentials.version()) is not None


def _schedule(panel: Panel):
    if not panel.offers("schedule list"):
        raise ApiError(404, "no schedule: add a [schedule] section to config.toml")


def _virtual_buttons(panel: Panel):
    """The mock buttons the page can press (None: GPIO is off)."""
    if not panel.offers("buttons"):
        return None
    return panel.call("buttons")["buttons"]
