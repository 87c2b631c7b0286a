"""`appliance mqtt`: is the running appliance connected to its broker, and where are its topics."""
from __future__ import annotations

import sys


def register(sub, common):
    """Add subparsers to `sub` (argparse); `common` carries --config/--socket."""
    s = sub.add_parser("mqtt", parents=[common],
                       help="show the MQTT connection and topics of the running appliance")
    s.set_defaults(func=cmd_mqtt)


def cmd_mqtt(args) -> int:
    from ..__main__ import EXIT_REFUSED, _socket
    from ..control import request
    answer = request(_socket(args), "mqtt")
    if not answer.get("ok"):
        if "unknown command 'mqtt'" in str(answer.get("error")):
            print("MQTT is off (no [mqtt] section, or enabled = false)")
            return 0
        print(f"refused: {answer.get('error')}", file=sys.stderr)
        return EXIT_REFUSED
    state = "connected" if answer.get("connected") else "not connected"
    print(f"broker: {answer.get('broker')} ({state})")
    print(f"topics: {answer.get('topics')}  (availability, state, event, cmd/<action>, "
          "cmd_result)")
    if answer.get("fault"):
        print(f"problem: {answer['fault']}")
    return 0
