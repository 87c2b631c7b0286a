"""`appliance client add|set|list|show|remove`: client profiles in the state directory.

They read and write the file themselves (like `appliance set-passphrase`), so they work with
or without the daemon running. Every field is checked by profiles.rules, the one place; a bad
field is one line and exit 2, a refusal (an unknown code, a disk that says no) exit 1, and in
both cases nothing stored changes.
"""
from __future__ import annotations

import sys

from ..cli_common import EXIT_CONFIG, EXIT_REFUSED, arg_type, verb_command
from ..verbs import TABLE

#: (option, metavar, help): the issue's names; each is a field of rules.Profile
OPTIONS = (
    ("welcome", "TITLE", "this client's welcome song: a track of the welcome playlist"),
    ("cap", "N", "a lower ceiling for this client (1-100, never above the room's audio.cap)"),
    ("volume", "N", "the level of the welcome song and receptive music (0-100)"),
    ("ambient-level", "N", "the level of the ambient bed (0-100)"),
    ("fade-in", "S", "seconds every new track takes to come in"),
    ("quiet", "S", "seconds `quiet` takes to reach silence"),
    ("receptive-playlist", "PATH", "an .m3u playlist inside the config's folder"),
    ("reflection-minutes", "N", "the reflection countdown"),
    ("course", "N", "sessions in this client's course (1-52)"),
    ("review-every", "N", "a goal review is due every N sessions (1-52, default 4)"),
)
CODE_HELP = "the client's code: 1-32 letters, digits, '.', '-' or '_' (never a name)"


def register(sub, common):
    s = sub.add_parser("client", help="client profiles by code (never a name): add, set, "
                                      "list, show, remove")
    verbs = s.add_subparsers(dest="client_verb", required=True, metavar="ACTION")
    for name, text in (("add", "a new client profile"), ("set", "change a client profile")):
        v = verbs.add_parser(name, parents=[common], help=text)
        v.add_argument("code", help=CODE_HELP)
        for option, metavar, help_text in OPTIONS:
            v.add_argument(f"--{option}", metavar=metavar, help=help_text)
        if name == "set":
            v.add_argument("--unset", action="append", default=[], metavar="FIELD",
                           choices=[o for o, _, _ in OPTIONS],
                           help="back to the room's setting (repeatable), e.g. --unset cap")
        v.set_defaults(func=cmd_change)
    v = verbs.add_parser("list", parents=[common], help="every client profile")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_list)
    v = verbs.add_parser("show", parents=[common], help="one profile, and what the room adds")
    v.add_argument("code", help=CODE_HELP)
    v.set_defaults(func=cmd_show)
    v = verbs.add_parser("remove", parents=[common], help="delete a client profile")
    v.add_argument("code", help=CODE_HELP)
    v.set_defaults(func=cmd_remove)
    v = verbs.add_parser("forget", parents=[common], help="erase a client: the profile and "
                                                          "every session record of them")
    v.add_argument("code", help=CODE_HELP)
    v.add_argument("--yes", action="store_true", help="no question (for scripts)")
    v.set_defaults(func=cmd_forget)
    # these two ask the running appliance (its control socket), like the room's verbs
    v = verbs.add_parser("use", parents=[common], help=TABLE["client use"].help)
    v.add_argument("code", type=arg_type("client use", "code"), help=CODE_HELP)
    v.set_defaults(func=verb_command("client use", ("code",)))
    v = verbs.add_parser("clear", parents=[common], help=TABLE["client clear"].help)
    v.set_defaults(func=verb_command("client clear"))


def _say(line: str, code: int) -> int:
    print(line, file=sys.stderr)
    return code


def _room(args, media: bool):
    from ..config import load_config
    from ..paths import default_config_path
    from .rules import Room
    cfg = load_config(args.config or default_config_path(), check_media=media)
    return cfg, Room.of(cfg, media)


def _report(line: str):
    print(line, file=sys.stderr)


def _open(verb: str, cfg):
    """The store, its profiles (a corrupt file reported and moved aside), or an exit code."""
    from .desk import ClientRefused, load
    from .store import ProfileStore
    store = ProfileStore(cfg.state_dir)
    try:
        return store, load(store, report=_report), None
    except ClientRefused as exc:
        return store, None, _say(f"{verb}: {exc}", EXIT_REFUSED)


def _bad_code(verb: str, code) -> int | None:
    """Exit 2 and the code rule's line when `code` cannot be a client code (a path ...)."""
    from .rules import ProfileError, check_code
    try:
        check_code(code)
    except ProfileError as exc:
        return _say(f"{verb}: {exc}", EXIT_CONFIG)
    return None


def cmd_change(args) -> int:
    """client add / client set: check every field, then change the stored file at once."""
    from .desk import ClientRefused, change
    from .rules import ProfileError, check_code
    from .store import ProfileStore
    verb, adding = f"client {args.client_verb}", args.client_verb == "add"
    given = {o: getattr(args, o.replace("-", "_")) for o, _, _ in OPTIONS
             if getattr(args, o.replace("-", "_")) is not None}
    try:
        check_code(args.code)
        cfg, room = _room(args, media="welcome" in given)
        profile = change(ProfileStore(cfg.state_dir), room, args.code, given,
                         getattr(args, "unset", []), adding, report=_report)
    except ProfileError as exc:
        return _say(f"{verb}: {exc}", EXIT_CONFIG)
    except ClientRefused as exc:
        return _say(f"{verb}: {exc}", EXIT_REFUSED)
    print(f"{'added' if adding else 'changed'}: {summary(profile)}")
    return 0


def cmd_list(args) -> int:
    cfg, _ = _room(args, media=False)
    from .store import ProfileStore
    with ProfileStore(cfg.state_dir).locked():
        _, profiles, failed = _open("client list", cfg)
    if failed is not None:
        return failed
    if args.json:
        import json

        from .rules import to_json
        print(json.dumps([to_json(p) for _, p in sorted(profiles.items())], indent=2))
    elif not profiles:
        print("no client profiles (add one with appliance client add CODE)")
    else:
        print("\n".join(summary(p) for _, p in sorted(profiles.items())))
    return 0


def cmd_show(args) -> int:
    from .rules import ProfileError, check
    if _bad_code("client show", args.code) is not None:
        return EXIT_CONFIG
    cfg, room = _room(args, media=False)
    from .store import ProfileStore
    with ProfileStore(cfg.state_dir).locked():
        _, profiles, failed = _open("client show", cfg)
    if failed is not None:
        return failed
    profile = profiles.get(args.code)
    if profile is None:
        from .desk import unknown
        return _say(f"client show: {unknown(args.code)}", EXIT_REFUSED)
    print(details(profile, cfg.settings))
    try:
        check(profile, room)  # the room's config may have changed since
    except ProfileError as exc:
        print(f"warning: {exc}; the profile needs a change (appliance client set)")
    return 0


def cmd_remove(args) -> int:
    from .desk import ClientRefused, remove
    from .store import ProfileStore
    if _bad_code("client remove", args.code) is not None:
        return EXIT_CONFIG
    cfg, _ = _room(args, media=False)
    try:
        remove(ProfileStore(cfg.state_dir), args.code, report=_report)
    except ClientRefused as exc:
        return _say(f"client remove: {exc}", EXIT_REFUSED)
    print(f"removed the profile of {args.code}")
    return 0


def cmd_forget(args) -> int:
    """The right to erasure: the profile and every session of the code, asked first (type
    the code again) unless --yes. Nothing of theirs stays in the record's files."""
    import sqlite3

    from ..record import db
    if _bad_code("client forget", args.code) is not None:
        return EXIT_CONFIG
    code = args.code
    if not args.yes:
        if not sys.stdin.isatty():
            return _say("client forget: confirm by typing the code at a terminal, or give "
                        "--yes", EXIT_REFUSED)
        typed = input(f"This erases the profile and every session record of {code}; it "
                      "cannot be undone. Type the code again to go on: ").strip()
        if typed != code:
            return _say("client forget: the code typed was not the same; nothing erased",
                        EXIT_REFUSED)
    cfg, _ = _room(args, media=False)
    from .store import ProfileStore
    path = db.path_in(cfg.state_dir)
    try:
        with ProfileStore(cfg.state_dir).locked():
            store, profiles, failed = _open("client forget", cfg)
            if failed is not None:
                return failed
            erased = db.forget(path, code) if path.exists() else 0
            had = code in profiles
            if had:
                store.save({c: p for c, p in profiles.items() if c != code})
    except (OSError, sqlite3.Error) as exc:
        return _say(f"client forget: {getattr(exc, 'strerror', None) or exc}; run it again",
                    EXIT_REFUSED)
    from ..errors import CommandError, ControlError
    from ..schedule.forget import forget_bookings
    try:
        booked, notes = forget_bookings(args, cfg, code)
    except (CommandError, ControlError, OSError) as exc:
        why = getattr(exc, "message", None) or getattr(exc, "strerror", None) or exc
        return _say(f"client forget: the profile and the record are erased, but not the "
                    f"bookings ({why}); run it again", EXIT_REFUSED)
    print(f"forgotten: {'the profile and ' if had else 'no profile; '}{erased} session(s), "
          f"{booked} booking(s)")
    for note in notes:
        print(f"note: {note}")
    for aside in db.moved_aside(path):
        print(f"note: {aside} was moved aside as corrupt and may hold older sessions; "
              "delete it if nothing there is needed")
    return 0


# --- what a person reads ----------------------------------------------------------------------

def _value(field: str, value) -> str:
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value} s" if field in ("fade_in_s", "quiet_s") else str(value)


def summary(profile) -> str:
    from .rules import OPTION
    given = profile.given()
    return profile.code + (": " + ", ".join(f"{OPTION[f]} {_value(f, v)}"
                                            for f, v in given.items()) if given
                           else ": as the room is set")


def details(profile, settings) -> str:
    """Every field, and for those the profile leaves alone what the room does instead."""
    from .rules import DEFAULT_REVIEW_EVERY, OPTION
    room = {"welcome": "the first track of the welcome playlist",
            "receptive_playlist": "the room's receptive playlist",
            "course": "none (no course length)",
            "review_every": f"{DEFAULT_REVIEW_EVERY} (the default)"}
    lines = [f"code: {profile.code}"]
    for field, option in OPTION.items():
        value = getattr(profile, field)
        if value is not None:
            lines.append(f"{option}: {_value(field, value)}")
        elif field in room:
            lines.append(f"{option}: {room[field]}")
        else:
            lines.append(f"{option}: as the room ({_value(field, getattr(settings, field))})")
    return "\n".join(lines)
