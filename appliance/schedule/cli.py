"""`appliance schedule add|remove|list`: talks to the running daemon's control socket."""
from __future__ import annotations

from datetime import datetime


def register(sub, common):
    """Add subparsers to `sub` (argparse); `common` carries --config/--socket."""
    s = sub.add_parser("schedule", help="booked sessions: list, add or remove one-offs")
    verbs = s.add_subparsers(dest="schedule_verb", required=True, metavar="ACTION")
    v = verbs.add_parser("list", parents=[common],
                         help="the next sessions and when their ambient starts")
    v.add_argument("--json", action="store_true")
    v.add_argument("--limit", type=int, default=10)
    v.set_defaults(func=cmd_list)
    v = verbs.add_parser("add", parents=[common], help="book a one-off session")
    v.add_argument("start", help="local date and time, e.g. 2026-12-01T10:00")
    v.add_argument("minutes", help="length in minutes")
    v.add_argument("--label", default=None, help="a client code (never a name)")
    v.set_defaults(func=cmd_add)
    v = verbs.add_parser("remove", parents=[common], help="cancel a one-off session")
    v.add_argument("id")
    v.set_defaults(func=cmd_remove)


def _ask(args, payload: dict):
    """(answer, None) or (None, exit code); the reason is printed (an adapter that is off
    says so: appliance.verbs.OFF)."""
    from ..cli_common import ask, refused
    answer, error = ask(args, "schedule", payload)
    return (answer, None) if error is None else (None, refused(error))


def cmd_list(args) -> int:
    answer, code = _ask(args, {"action": "list", "limit": args.limit})
    if answer is None:
        return code
    if args.json:
        import json
        print(json.dumps(answer["sessions"], indent=2))
    else:
        print(format_sessions(answer["sessions"]))
    return 0


def cmd_add(args) -> int:
    answer, code = _ask(args, {"action": "add", "start": args.start, "minutes": args.minutes,
                               "label": args.label})
    if answer is None:
        return code
    print("added: " + format_sessions([answer["session"]], header=False))
    return 0


def cmd_remove(args) -> int:
    answer, code = _ask(args, {"action": "remove", "id": args.id})
    if answer is None:
        return code
    print(f"removed: {answer['removed']}")
    return 0


def format_sessions(sessions: list, header: bool = True) -> str:
    if not sessions:
        return "no sessions booked"
    lines = [f"{'ID':<9} {'KIND':<8} {'START':<22} {'MIN':>4}  {'LABEL':<10} AMBIENT"] \
        if header else []
    for s in sessions:
        start = datetime.fromisoformat(s["start"])
        if s.get("why_not"):
            ambient = f"none: {s['why_not']}"
        else:
            ambient = f"from {datetime.fromisoformat(s['ambient_at']):%H:%M}"
        lines.append(f"{s['id']:<9} {s['kind']:<8} {start:%a %Y-%m-%d %H:%M}   "
                     f"{s['minutes']:>4g}  {s.get('label') or '-':<10} {ambient}")
    return "\n".join(lines)
