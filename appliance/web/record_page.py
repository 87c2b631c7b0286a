"""The session record on the panel: `GET /api/sessions` (JSON, or CSV with ?format=csv) and
the page /sessions, drawn on the server: the last sessions, each a small timeline bar
coloured by phase (SVG: no inline style or script, as the CSP wants), and per client the
course so far. Both need the panel's login; the data comes from the record adapter's verbs,
so with the record off they say so (404)."""
from __future__ import annotations

from flask import Flask, Response, jsonify, redirect, render_template, request

from .app import ApiError, Panel, needs_login

BAR_WIDTH = 1000  # the SVG's own units: a bar is scaled to the page's width
PHASE_NAMES = {"ambient": "Ambient", "welcome": "Welcome", "active": "Active",
               "receptive": "Receptive", "reflection": "Reflection"}


def register(app: Flask, panel: Panel):
    engine = panel.room.engine

    def read(args) -> dict:
        if not panel.offers("record sessions"):
            raise ApiError(404, "the session record is off ([record] enabled = false)")
        answer = panel.call("record sessions", args)
        code = getattr(engine.status(), "client", None)
        answer["chosen"] = panel.call("record course", {"client": code})["course"] \
            if code else None
        return answer

    @app.get("/api/sessions")
    @needs_login
    def sessions():
        form = request.args.get("format", "json")
        if form not in ("json", "csv"):
            raise ApiError(400, f"format: must be json or csv, not {form[:20]!r}",
                           kind="invalid")
        answer = read({k: request.args[k] for k in ("client", "since", "limit")
                       if k in request.args})
        if form == "csv":
            from ..record.reading import to_csv
            return Response(to_csv(answer["sessions"]), mimetype="text/csv",
                            headers={"Content-Disposition":
                                     'attachment; filename="sessions.csv"'})
        return jsonify(sessions=answer["sessions"], clients=answer["clients"],
                       chosen=answer["chosen"])

    @app.get("/sessions")
    def sessions_page():
        login = panel.sessions.find(request.cookies.get(panel.session_cookie),
                                    panel.credentials.version())
        if login is None:
            return redirect("/")  # the panel's own page asks for the passphrase
        try:
            answer = read({"limit": 20})
        except ApiError as exc:
            return render_template("sessions.html", room=panel.room.room.name,
                                   problem=exc.message), exc.status
        return render_template("sessions.html", room=panel.room.room.name, problem=None,
                               sessions=[_drawn(s) for s in reversed(answer["sessions"])],
                               clients=answer["clients"], chosen=answer["chosen"],
                               phases=PHASE_NAMES)


def _drawn(session: dict) -> dict:
    """The session with its bar: one rectangle per phase, placed on the session's length."""
    total = max(1.0, session["minutes"] * 60.0)
    bars = [{"phase": p["phase"], "x": round(p["offset_s"] / total * BAR_WIDTH, 1),
             "width": max(1.0, round(p["seconds"] / total * BAR_WIDTH, 1)),
             "label": f"{PHASE_NAMES.get(p['phase'], p['phase'])} "
                      f"{round(p['seconds'] / 60)} min"}
            for p in session["phases"]]
    return dict(session, bars=bars, when=session["start"].replace("T", " ")[:16])
