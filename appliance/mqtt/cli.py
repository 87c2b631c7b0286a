"""`appliance mqtt`: is the running appliance connected to its broker, and where are its topics."""
from __future__ import annotations


def register(sub, common):
    """Add subparsers to `sub` (argparse); `common` carries --config/--socket."""
    s = sub.add_parser("mqtt", parents=[common],
                       help="show the MQTT connection and topics of the running appliance")
    s.set_defaults(func=cmd_mqtt)


def cmd_mqtt(args) -> int:
    from ..cli_common import ask, refused
    from ..errors import UnknownCommand
    answer, error = ask(args, "mqtt")
    if isinstance(error, UnknownCommand):  # the adapter is off: that is an answer too
        print("MQTT is off (no [mqtt] section, or enabled = false)")
        return 0
    if error:
        return refused(error)
    state = "connected" if answer.get("connected") else "not connected"
    print(f"broker: {answer.get('broker')} ({state})")
    print(f"topics: {answer.get('topics')}  (availability, state, event, cmd/<action>, "
          "cmd_result)")
    if answer.get("fault"):
        print(f"problem: {answer['fault']}")
    return 0
