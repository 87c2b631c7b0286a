"""Reading the record: sessions as JSON-ready dicts, the CSV of them, a client's course.

Used by `appliance log` (on the file, with or without the daemon), the record adapter's
verbs (`GET /api/sessions` and the panel's page) and tests. Times are ISO 8601 in the box's
local time zone; a session still running reads up to the moment it was last written.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Optional

#: the CSV's columns, one row per session
CSV_COLUMNS = ("id", "start", "end", "minutes", "client", "no_show", "ended", "phases",
               "tracks", "volume_changes", "quiets", "button_presses", "sources")
#: a session counts as held with its client when it got past ambient and is over
HELD = ("s.ended IS NOT NULL AND s.no_show = 0 AND EXISTS (SELECT 1 FROM phases p "
        "WHERE p.session = s.id AND p.phase != 'ambient')")


def iso(wall: Optional[float]) -> Optional[str]:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall).astimezone().isoformat(timespec="seconds")


def sessions(conn, client: Optional[str] = None, since: Optional[float] = None,
             limit: Optional[int] = None) -> list[dict]:
    """The sessions (of `client`, started at or after `since`), oldest first; with `limit`
    the last that many."""
    where, args = [], []
    if client is not None:
        where.append("client = ?")
        args.append(client)
    if since is not None:
        where.append("started >= ?")
        args.append(since)
    sql = ("SELECT id, started, ended, last_seen, ended_how, client, no_show FROM sessions"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY started DESC, id DESC")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = conn.execute(sql, args).fetchall()[::-1]
    return [_session(conn, row) for row in rows]


def _session(conn, row) -> dict:
    sid, started, ended, last_seen, how, client, no_show = row
    until = ended if ended is not None else last_seen

    def seconds(start, value):
        return round(value if value is not None else max(0.0, until - start), 1)
    phases = [{"phase": p, "start": iso(t), "offset_s": round(t - started, 1),
               "seconds": seconds(t, s)}
              for p, t, s in conn.execute("SELECT phase, started, seconds FROM phases WHERE "
                                          "session = ? ORDER BY started, rowid", (sid,))]
    tracks = [{"channel": ch, "title": title, "start": iso(t), "seconds": seconds(t, s),
               "failed": bool(failed)}
              for ch, title, t, s, failed in conn.execute(
                  "SELECT channel, title, started, seconds, failed FROM tracks WHERE "
                  "session = ? ORDER BY started, rowid", (sid,))]
    actions = [{"at": iso(t), "verb": verb, "source": source, "accepted": bool(ok),
                "reason": reason, "level": level}
               for t, verb, source, ok, reason, level in conn.execute(
                   "SELECT at, verb, source, accepted, reason, level FROM actions WHERE "
                   "session = ? ORDER BY at, rowid", (sid,))]
    return {"id": sid, "start": iso(started), "end": iso(ended),
            "minutes": round((until - started) / 60.0, 2), "client": client,
            "no_show": bool(no_show), "ended": how, "phases": phases, "tracks": tracks,
            "actions": actions}


def source_kind(source: str) -> str:
    """"button:welcome" -> "button"; the others are their own kind."""
    return source.partition(":")[0]


def csv_row(session: dict) -> dict:
    done = [a for a in session["actions"] if a["accepted"]]
    kinds: dict[str, int] = {}
    for action in session["actions"]:
        kind = source_kind(action["source"])
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "id": session["id"], "start": session["start"], "end": session["end"] or "",
        "minutes": f"{session['minutes']:.1f}", "client": session["client"] or "",
        "no_show": "yes" if session["no_show"] else "no", "ended": session["ended"] or "running",
        "phases": "; ".join(f"{p['phase']} {p['seconds']:.0f} s" for p in session["phases"]),
        "tracks": "; ".join(f"{t['title']} {t['seconds']:.0f} s" + (" (failed)" if t["failed"]
                                                                   else "")
                            for t in session["tracks"]),
        "volume_changes": "; ".join(f"{a['level']:g}" for a in done
                                    if a["level"] is not None),
        "quiets": sum(1 for a in done if a["verb"] == "quiet"),
        "button_presses": sum(1 for a in session["actions"]
                              if source_kind(a["source"]) == "button"),
        "sources": "; ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
    }


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for session in rows:
        row = csv_row(session)
        # a spreadsheet must not run a title or a reason as a formula
        writer.writerow({k: f"'{v}" if isinstance(v, str) and v and v[0] in "=+-@\t\r" else v
                         for k, v in row.items()})
    return out.getvalue()


# --- courses ----------------------------------------------------------------------------------

def held(conn, client: str) -> int:
    return conn.execute(f"SELECT count(*) FROM sessions s WHERE s.client = ? AND {HELD}",
                        (client,)).fetchone()[0]


def course(conn, client: str, profile, default_every: int) -> dict:
    """Where `client` is in their course. `session` is the number of the session now in the
    room (or the next one, between sessions): the ones held before it, plus one."""
    count = held(conn, client)
    number = count + 1
    length = getattr(profile, "course", None)
    every = getattr(profile, "review_every", None) or default_every
    due = number % every == 0
    line = f"session {number}" + (f" of {length}" if length else "")
    if length and number > length:
        line = f"session {number} (the course of {length} is done)"
    return {"client": client, "held": count, "session": number, "course": length,
            "review_every": every, "review_due": due,
            "line": line + (" \u00b7 goal review due" if due else "")}


def clients(conn) -> list[dict]:
    """Per client code in the record: sessions held, no-shows, the last one's start."""
    rows = conn.execute(
        f"SELECT s.client, sum(CASE WHEN {HELD} THEN 1 ELSE 0 END), sum(s.no_show), "
        "max(s.started) FROM sessions s WHERE s.client IS NOT NULL GROUP BY s.client "
        "ORDER BY s.client").fetchall()
    return [{"client": c, "held": h, "no_shows": n, "last": iso(last)}
            for c, h, n, last in rows]
