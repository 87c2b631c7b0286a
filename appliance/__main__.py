"""The `appliance` command: run the daemon, check a config, or talk to a running daemon."""
from __future__ import annotations

import argparse
import importlib
import sys

from .adapters import ADAPTERS
from .cli_common import EXIT_CONFIG, EXIT_UNREACHABLE, arg_type, ask, refused, verb_command
from .errors import ApplianceError, ConfigError

# a verb that only talks to the socket imports no more than this: the daemon's own modules
# (libVLC, flask, paho, gpiozero, the config model) are imported by the commands that use them


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(argv[0] if argv else None).parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except ApplianceError as exc:
        print(f"appliance: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE


# --- the daemon ---------------------------------------------------------------------------

def cmd_run(args) -> int:
    import logging
    import signal
    import threading
    import time

    from . import watchdog
    from .config import load_config
    log = logging.getLogger("appliance")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    started = time.monotonic()
    cfg = load_config(args.config)
    for problem in cfg.playlist_problems:
        log.warning("playlist: %s", problem)
    for notice in cfg.notices:
        log.warning("config: %s", notice)
    from .daemon import Daemon  # libVLC is loaded only when the daemon really runs
    daemon = Daemon(cfg)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        daemon.start()
        ready_s = time.monotonic() - started
        print(f"ready in {ready_s:.2f} s: room {cfg.room_id}, control socket {cfg.socket_path}",
              flush=True)
        watchdog.notify("READY=1")
        dog = watchdog.for_daemon(daemon)  # WATCHDOG=1 only while the engine loop turns
        engine = daemon.engine
        while not stop.wait(dog.interval_s):
            if engine.stopped.is_set() or engine.stuck_s() > engine.stuck_after_s:
                log.error("%s; exiting so systemd restarts it",
                          engine.status().fault or "the engine stopped")
                import faulthandler
                faulthandler.dump_traceback(all_threads=True)  # where it hung, in the journal
                return 1
            dog.tick()
    finally:
        watchdog.notify("STOPPING=1")
        daemon.stop()
    return 0


def cmd_check_config(args) -> int:
    from .config import load_config
    cfg = load_config(args.config)
    for problem in cfg.playlist_problems:
        print(f"warning: playlist: {problem}", file=sys.stderr)
    for notice in cfg.notices:
        print(f"warning: config: {notice}", file=sys.stderr)
    lib = cfg.library
    print(f"{cfg.path}: ok (room {cfg.room_id}; tracks: {len(lib.ambient)} ambient, "
          f"{len(lib.welcome)} welcome, {len(lib.receptive)} receptive)")
    return 0


def cmd_demo_media(args) -> int:
    from .demo_media import make_demo_media
    from pathlib import Path
    made = make_demo_media(Path(args.dir), overwrite=args.overwrite)
    print(f"{args.dir}: {len(made)} demo tracks written" if made
          else f"{args.dir}: demo tracks already there")
    return 0


# --- talking to the daemon ----------------------------------------------------------------

def cmd_status(args) -> int:
    answer, error = ask(args, "status")
    if error:
        return refused(error)
    status = answer.get("status", {})
    if args.json:
        import json
        print(json.dumps(status, indent=2))
        return 0
    print(format_status(status))
    return 0


def format_status(status: dict) -> str:
    lines = [f"phase: {status.get('phase')}"]
    remaining = status.get("remaining_s")
    if remaining is not None:
        lines.append(f"time left: {int(remaining) // 60}:{int(remaining) % 60:02d}")
    lines.append(f"volume: {status.get('volume'):g} (cap {status.get('cap'):g})")
    lines.append(f"now playing: {status.get('now_playing') or '-'}")
    if status.get("client"):
        lines.append(f"client: {status['client']}")
    for name, ch in (status.get("channels") or {}).items():
        level = ch.get("level_db")
        lines.append(f"  {name}: {ch.get('state')}"
                     + (f", {ch.get('track')}" if ch.get("track") else "")
                     + (f", {level:g} dB" if level is not None else ""))
    lines += _block_lines(status.get("block"))
    for notice in status.get("notices") or []:
        lines.append(f"note: {notice}")
    for source, fault in (status.get("faults") or {}).items():
        lines.append(f"FAULT {source}: {fault}")
    if status.get("fault"):
        lines.append(f"FAULT engine: {status['fault']}")
    return "\n".join(lines)


def _block_lines(block) -> list:
    """The receptive block's plan, the piece playing marked, and whether it is held."""
    if not block:
        return []
    plan = block.get("plan") or []
    lines = [f"block: {block['kind']}" + (", held (hold again to release)"
                                          if block.get("held") else "")]
    for i, piece in enumerate(plan):
        mark = ">" if i == block.get("piece") else " "
        start = int(piece["starts_s"])
        lines.append(f"  {mark} {start // 60}:{start % 60:02d}  {piece['bpm']:g} BPM  "
                     f"level {piece['level']:g}  {piece['title']}")
    return lines


ROOM_VERBS = ("ambient", "welcome", "active", "receptive", "iso", "hold", "extend", "shorten",
              "skip", "step", "reflection", "quiet", "end", "next", "volume")
OWN = ("run", "check-config", "demo-media", "status") + ROOM_VERBS


def _parser(wanted=None) -> argparse.ArgumentParser:
    """The command line. When `wanted` is one of our own subcommands only that one is built
    (each costs about a millisecond, which a Pi multiplies); otherwise all of them, so help
    and mistakes show the full list."""
    def want(name):
        return wanted not in OWN or name == wanted

    p = argparse.ArgumentParser(prog="appliance", description="Therapy-room sound appliance")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=None,
                        help="config file (default: $APPLIANCE_CONFIG or ./config.toml)")
    common.add_argument("--socket", default=None, help="control socket (default: from config)")
    sub = p.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    if want("run"):
        s = sub.add_parser("run", parents=[common], help="run the appliance")
        s.set_defaults(func=cmd_run)
    if want("check-config"):
        s = sub.add_parser("check-config", parents=[common], help="check a config and exit")
        s.set_defaults(func=cmd_check_config)
    if want("demo-media"):
        s = sub.add_parser("demo-media", help="write synthesised demo tracks into DIR")
        s.add_argument("dir")
        s.add_argument("--overwrite", action="store_true")
        s.set_defaults(func=cmd_demo_media)
    if want("status"):
        s = sub.add_parser("status", parents=[common], help="show what the room is doing")
        s.add_argument("--json", action="store_true")
        s.set_defaults(func=cmd_status)
    if wanted in OWN and wanted not in ROOM_VERBS:
        return p

    # the room's verbs, with their arguments checked by the one table
    from .verbs import TABLE
    for name in filter(want, ROOM_VERBS):
        if name in ("iso", "step"):
            _live_parser(sub, common, name)
            continue
        s = sub.add_parser(name, parents=[common], help=TABLE[name].help)
        names = ()
        if name == "welcome":
            s.add_argument("track", nargs="?", default=None, type=arg_type("welcome", "track"),
                           help="a track of the welcome playlist")
            names = ("track",)
        elif name in ("receptive", "volume", "extend", "shorten"):
            names = ("level",) if name == "volume" else ("minutes",)
            s.add_argument(names[0], type=arg_type(name, names[0]))
        s.set_defaults(func=verb_command(name, names))
    if wanted in OWN:
        return p
    # the room's sound (cards, a test tone), client profiles, track analysis, then each
    # adapter's own subcommands (its cli.py)
    for name in ("audio", "profiles", "analysis") + ADAPTERS:
        importlib.import_module(f".{name}.cli", __package__).register(sub, common)
    return p


def _live_parser(sub, common, name):
    """`iso MINUTES [--from BPM | --energy E] [--to BPM] [--u]` and `step down|up`."""
    from .verbs import TABLE
    if name == "step":
        s = sub.add_parser("step", parents=[common],
                           help="crossfade into a piece one step slower (down) or faster (up)")
        s.add_argument("direction", choices=("down", "up"))

        def run(args):
            return verb_command(f"step_{args.direction}")(args)
        s.set_defaults(func=run)
        return
    s = sub.add_parser("iso", parents=[common], help=TABLE["iso"].help)
    s.add_argument("minutes", type=arg_type("iso", "minutes"))
    # not an argparse group: both given get the table's own line, as from every input
    s.add_argument("--from", dest="from_", metavar="BPM", type=arg_type("iso", "from"),
                       help="the client's tempo now (where the programme starts)")
    s.add_argument("--energy", type=arg_type("iso", "energy"),
                       help="high, medium or low: start at that part of the playlist")
    s.add_argument("--to", metavar="BPM", type=arg_type("iso", "to"),
                   help="where it leads (default: iso.drop_percent below the start)")
    s.add_argument("--u", action="store_true", default=None,
                   help="a U: down, rest, then gently back up before reflection")

    def run_iso(args):
        args.__dict__["from"] = args.from_
        return verb_command("iso", ("minutes", "from", "energy", "to", "u"))(args)
    s.set_defaults(func=run_iso)


if __name__ == "__main__":
    sys.exit(main())
