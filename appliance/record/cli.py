"""`appliance log`: the session record, read from its file (with or without the daemon).

Plain text by default (one block per session), `--csv` (one row per session, the columns of
reading.CSV_COLUMNS) or `--json` (every session with its whole timeline).
"""
from __future__ import annotations

import sys

from ..cli_common import EXIT_CONFIG, EXIT_REFUSED


def register(sub, common):
    s = sub.add_parser("log", parents=[common], help="the session record: sessions held, "
                                                     "their phases, tracks and commands")
    s.add_argument("--client", metavar="CODE", help="only this client's sessions")
    s.add_argument("--since", metavar="DATE", help="only sessions from this day (or time) "
                                                   "on, e.g. 2026-12-01")
    form = s.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="one row per session, for a "
                                                        "spreadsheet")
    form.add_argument("--json", action="store_true", help="every session with its timeline")
    s.set_defaults(func=cmd_log)


def _say(line: str, code: int) -> int:
    print(line, file=sys.stderr)
    return code


def cmd_log(args) -> int:
    import sqlite3

    from ..config import load_config
    from ..errors import InvalidArgument
    from ..paths import default_config_path
    from ..verbs import validate
    from . import db, reading
    from .adapter import _since
    try:
        clean = validate("record sessions", {"client": args.client, "since": args.since})
    except InvalidArgument as exc:
        return _say(f"log: {exc.message.partition(': ')[2]}", EXIT_CONFIG)
    cfg = load_config(args.config or default_config_path(), check_media=False)
    path = db.path_in(cfg.state_dir)
    if not path.exists():
        rows = []
    else:
        try:
            conn = db.connect(path, create=False)
        except (sqlite3.Error, OSError) as exc:
            return _say(f"log: cannot read {path} ({exc})", EXIT_REFUSED)
        try:
            rows = reading.sessions(conn, clean.get("client"),
                                    _since(clean["since"]) if "since" in clean else None)
        finally:
            conn.close()
    if args.json:
        import json
        print(json.dumps(rows, indent=1))
    elif args.csv:
        sys.stdout.write(reading.to_csv(rows))
    elif not rows:
        print("no sessions recorded" + (" for that client" if args.client else "")
              + (" since then" if args.since else ""))
    else:
        print("\n".join(text(session) for session in rows))
    return 0


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def text(session: dict) -> str:
    """One session as a person reads it."""
    start = session["start"].replace("T", " ")[:16]
    end = (session["end"] or "").partition("T")[2][:5] or session["ended"] or "running"
    head = f"{start}-{end}  {session['minutes']:.0f} min  {session['client'] or '(no client)'}"
    if session["no_show"]:
        head += "  no-show"
    if session["ended"] in ("interrupted", "stopped"):
        head += f"  ({session['ended']})"
    lines = [head, "  " + ", ".join(f"{p['phase']} {_clock(p['seconds'])}"
                                    for p in session["phases"])]
    if session["tracks"]:
        lines.append("  tracks: " + ", ".join(
            f"{t['title']} ({_clock(t['seconds'])}{', failed' if t['failed'] else ''})"
            for t in session["tracks"]))
    from .reading import csv_row
    summary = csv_row(session)  # the same counts as the CSV
    extra = [f"volume {summary['volume_changes']}" if summary["volume_changes"] else "",
             f"{summary['quiets']} quiet" if summary["quiets"] else "",
             f"{summary['button_presses']} button presses" if summary["button_presses"] else "",
             f"sources: {summary['sources']}" if summary["sources"] else ""]
    if any(extra):
        lines.append("  " + "; ".join(e for e in extra if e))
    return "\n".join(lines)
