"""`appliance button NAME [--hold SECONDS]`: press a mock button of the running daemon."""
from __future__ import annotations

SETTLE_WAIT_S = 3.0  # as virtual.SETTLE_WAIT_S: debounce and the engine's answer


def register(sub, common):
    from ..cli_common import arg_type
    s = sub.add_parser("button", parents=[common],
                       help="press a button (pin_factory = mock: the demo without a Pi)")
    s.add_argument("name", help="the button's name from [[buttons]], e.g. welcome")
    s.add_argument("--hold", type=arg_type("button", "hold_s", "--hold"), default=None,
                   metavar="SECONDS",
                   help="keep it pressed this long (a hold); default: a short press")
    s.set_defaults(func=cmd_button)


def cmd_button(args) -> int:
    from ..cli_common import ask, refused
    payload = {"name": args.name}
    if args.hold is not None:
        payload["hold_s"] = args.hold
    answer, error = ask(args, "button", payload, timeout=(args.hold or 0) + 2 * SETTLE_WAIT_S + 2)
    if error:
        return refused(error)
    phase = (answer.get("status") or {}).get("phase")
    print(f"ok: {phase} ({answer.get('message')})")
    return 0
