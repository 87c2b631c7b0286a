"""The `appliance` command: run the daemon, check a config, or talk to a running daemon."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from . import watchdog
from .config import default_config_path, load_config, read_socket_path
from .errors import ApplianceError, ConfigError
from .gpio import cli as gpio_cli
from .mqtt import cli as mqtt_cli
from .schedule import cli as schedule_cli
from .web import cli as web_cli

log = logging.getLogger("appliance")

EXIT_REFUSED = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    started = time.monotonic()
    cfg = load_config(args.config)
    for problem in cfg.playlist_problems:
        log.warning("playlist: %s", problem)
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
        while not stop.wait(dog.interval_s):
            if daemon.engine.stopped.is_set():
                log.error("the engine stopped; exiting so systemd restarts the appliance")
                return 1
            dog.tick()
    finally:
        watchdog.notify("STOPPING=1")
        daemon.stop()
    return 0


def cmd_check_config(args) -> int:
    cfg = load_config(args.config)
    for problem in cfg.playlist_problems:
        print(f"warning: playlist: {problem}", file=sys.stderr)
    lib = cfg.library
    print(f"{cfg.path}: ok (room {cfg.room_id}; tracks: {len(lib.ambient)} ambient, "
          f"{len(lib.welcome)} welcome, {len(lib.receptive)} receptive)")
    return 0


def cmd_demo_media(args) -> int:
    from .demo_media import make_demo_media
    made = make_demo_media(Path(args.dir), overwrite=args.overwrite)
    print(f"{args.dir}: {len(made)} demo tracks written" if made
          else f"{args.dir}: demo tracks already there")
    return 0


# --- talking to the daemon ----------------------------------------------------------------

def _socket(args) -> Path:
    return Path(args.socket) if args.socket else read_socket_path(args.config
                                                                   or default_config_path())


def cmd_status(args) -> int:
    from .control import request
    answer = request(_socket(args), "status")
    status = answer.get("status", {})
    if args.json:
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
    for name, ch in (status.get("channels") or {}).items():
        level = ch.get("level_db")
        lines.append(f"  {name}: {ch.get('state')}"
                     + (f", {ch.get('track')}" if ch.get("track") else "")
                     + (f", {level:g} dB" if level is not None else ""))
    for notice in status.get("notices") or []:
        lines.append(f"note: {notice}")
    for source, fault in (status.get("faults") or {}).items():
        lines.append(f"FAULT {source}: {fault}")
    if status.get("fault"):
        lines.append(f"FAULT engine: {status['fault']}")
    return "\n".join(lines)


def _verb(name, arg_names=()):
    def run(args) -> int:
        from .control import request
        payload = {}
        for arg in arg_names:
            value = getattr(args, arg)
            if value is not None:
                payload[arg] = value
        answer = request(_socket(args), name, payload)
        if not answer.get("ok"):
            print(f"refused: {answer.get('error')}", file=sys.stderr)
            return EXIT_REFUSED
        status = answer.get("status") or {}
        line = f"ok: {status.get('phase')}"
        if answer.get("message"):
            line += f" ({answer['message']})"
        print(line)
        return 0
    return run


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="appliance", description="Therapy-room sound appliance")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=None,
                        help="config file (default: $APPLIANCE_CONFIG or ./config.toml)")
    common.add_argument("--socket", default=None, help="control socket (default: from config)")
    sub = p.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    s = sub.add_parser("run", parents=[common], help="run the appliance")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("check-config", parents=[common], help="check a config and exit")
    s.set_defaults(func=cmd_check_config)
    s = sub.add_parser("demo-media", help="write synthesised demo tracks into DIR")
    s.add_argument("dir")
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(func=cmd_demo_media)
    s = sub.add_parser("status", parents=[common], help="show what the room is doing")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    for name, helptext in (("ambient", "start the pre-session ambient bed"),
                           ("active", "therapist-led work: the room goes quiet"),
                           ("reflection", "start reflection with its countdown"),
                           ("quiet", "fade everything to silence now"),
                           ("end", "finish the session (always via reflection)"),
                           ("next", "move on to the next part of the session")):
        s = sub.add_parser(name, parents=[common], help=helptext)
        s.set_defaults(func=_verb(name))
    s = sub.add_parser("welcome", parents=[common], help="play the welcome song")
    s.add_argument("track", nargs="?", default=None, help="a track of the welcome playlist")
    s.set_defaults(func=_verb("welcome", ("track",)))
    s = sub.add_parser("receptive", parents=[common], help="a timed listening block")
    s.add_argument("minutes", type=_number_arg("minutes"))
    s.set_defaults(func=_verb("receptive", ("minutes",)))
    s = sub.add_parser("volume", parents=[common], help="set the level (0-100)")
    s.add_argument("level", type=_number_arg("level"))
    s.set_defaults(func=_verb("volume", ("level",)))
    for module in (gpio_cli, web_cli, schedule_cli, mqtt_cli):
        module.register(sub, common)
    return p


def _number_arg(name):
    def parse(text):
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {text!r}") from None
    parse.__name__ = name
    return parse


if __name__ == "__main__":
    sys.exit(main())
