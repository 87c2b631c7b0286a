"""The panel's client routes: choose the client before the welcome, and edit the profiles.

Choosing goes through the verb table like every room command (`client use`, `client clear`);
the profiles are changed by profiles.desk, the function the CLI uses, so every field is checked
by profiles.rules with the same one line. A code in a URL is checked by the code rule before
anything else and is never a path. See openapi.json.
"""
from __future__ import annotations

from flask import Flask, jsonify

from ..profiles.desk import ClientRefused
from ..profiles.rules import ProfileError, to_json
from .app import ApiError, Panel, json_body, needs_login


def register(app: Flask, panel: Panel, rate_limit):
    """`rate_limit()`: the commands' rate limit (routes.py), for every change."""

    def desk():
        if panel.room.clients is None:
            raise ApiError(404, "no client profiles here (the appliance's daemon keeps them)")
        return panel.room.clients

    def edit(verb: str, work):
        try:
            return work()
        except ProfileError as exc:
            raise ApiError(400, f"{verb}: {exc}", kind="invalid") from None
        except ClientRefused as exc:
            raise ApiError(409, f"{verb}: {exc}", kind="refused") from None

    @app.get("/api/clients")
    @needs_login
    def clients_list():
        profiles = edit("client list", lambda: desk().profiles())
        return jsonify(clients=[to_json(p) for _, p in sorted(profiles.items())],
                       welcome=[t.title for t in desk().room.welcome or ()])

    @app.post("/api/clients")
    @needs_login
    def client_add():
        rate_limit()
        body = json_body(allow_empty=False)
        fields = {k: v for k, v in body.items() if k != "code"}
        profile = edit("client add", lambda: desk().change(body.get("code"), fields,
                                                           adding=True))
        return jsonify(to_json(profile)), 201

    @app.patch("/api/clients/<code>")
    @needs_login
    def client_set(code: str):
        rate_limit()
        body = json_body(allow_empty=False)
        unset = body.pop("unset", [])
        if not isinstance(unset, list):
            raise ApiError(400, "client set: unset: must be a list of field names",
                           kind="invalid")
        profile = edit("client set", lambda: desk().change(code, body, unset))
        return jsonify(to_json(profile))

    @app.delete("/api/clients/<code>")
    @needs_login
    def client_remove(code: str):
        rate_limit()
        edit("client remove", lambda: desk().remove(code))
        return jsonify(ok=True)

    # --- the client of the session now -----------------------------------------------------

    @app.put("/api/client")
    @needs_login
    def client_use():
        rate_limit()
        answer = panel.call("client use", json_body(allow_empty=False))
        return jsonify(ok=True, message=answer["message"], status=answer["status"])

    @app.delete("/api/client")
    @needs_login
    def client_clear():
        rate_limit()
        answer = panel.call("client clear")
        return jsonify(ok=True, message=answer["message"], status=answer["status"])
