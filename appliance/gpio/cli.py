"""`appliance button NAME [--hold SECONDS]`: press a mock button of the running daemon."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .virtual import SETTLE_WAIT_S

EXIT_REFUSED = 1  # as the other verbs of `appliance`


def register(sub, common):
    s = sub.add_parser("button", parents=[common],
                       help="press a button (pin_factory = mock: the demo without a Pi)")
    s.add_argument("name", help="the button's name from [[buttons]], e.g. welcome")
    s.add_argument("--hold", type=_seconds, default=None, metavar="SECONDS",
                   help="keep it pressed this long (a hold); default: a short press")
    s.set_defaults(func=cmd_button)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hold must be a number of seconds, not {text!r}"
                                         ) from None
    if not 0 < value <= 30:
        raise argparse.ArgumentTypeError(f"--hold must be more than 0 and at most 30, "
                                         f"not {text}")
    return value


def cmd_button(args) -> int:
    from ..config import default_config_path, read_socket_path
    from ..control import request
    socket = Path(args.socket) if args.socket else read_socket_path(args.config
                                                                     or default_config_path())
    payload = {"name": args.name}
    if args.hold is not None:
        payload["hold_s"] = args.hold
    timeout = (args.hold or 0) + 2 * SETTLE_WAIT_S + 2
    answer = request(socket, "button", payload, timeout=timeout)
    if not answer.get("ok"):
        print(f"refused: {answer.get('error')}", file=sys.stderr)
        return EXIT_REFUSED
    phase = (answer.get("status") or {}).get("phase")
    print(f"ok: {phase} ({answer.get('message')})")
    return 0
