"""What every `appliance` verb that talks to the daemon shares: the socket's path, argument
types from the one validation table, and exit codes by the error's type.

Kept small: `appliance status` imports this, the control client and little else.
"""
from __future__ import annotations

import argparse
import sys
from .errors import Busy, EngineFailed, InvalidArgument, Refused, UnknownCommand, from_kind

EXIT_REFUSED = 1      # the room said no, or it was busy: the reason is printed
EXIT_CONFIG = 2       # bad input: a config problem, a wrong argument, an unknown command
EXIT_UNREACHABLE = 3  # no daemon, or its engine has failed
EXIT_CODE = {Busy: EXIT_REFUSED, Refused: EXIT_REFUSED, InvalidArgument: EXIT_CONFIG,
             UnknownCommand: EXIT_CONFIG, EngineFailed: EXIT_UNREACHABLE}


def socket_path(args) -> str:
    if args.socket:
        return args.socket
    from .paths import default_config_path, read_socket_path
    return read_socket_path(args.config or default_config_path())


def ask(args, verb: str, payload: dict | None = None, timeout: float | None = None):
    """(answer, None), or (None, the typed CommandError the daemon answered with)."""
    from .control_client import ANSWER_TIMEOUT_S, request
    answer = request(socket_path(args), verb, payload or {},
                     timeout=timeout or ANSWER_TIMEOUT_S + 2)
    if answer.get("ok"):
        return answer, None
    return None, from_kind(answer.get("kind"), str(answer.get("error")))


def refused(error) -> int:
    """Print why, and return the exit code for the error's type."""
    print(f"refused: {error.message}", file=sys.stderr)
    return EXIT_CODE.get(type(error), EXIT_REFUSED)


def arg_type(verb: str, name: str, flag: str | None = None):
    """An argparse type checked by the table: the same one line as every other input."""
    from .verbs import TABLE
    spec = TABLE[verb].arg(name)

    def parse(text):
        try:
            return spec.clean(verb, text)
        except InvalidArgument as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
    parse.__name__ = flag or name
    return parse


def verb_command(name: str, arg_names=()):
    """The CLI command of a verb the running daemon carries out: `ok: <phase> (message)`."""
    def run(args) -> int:
        payload = {arg: getattr(args, arg) for arg in arg_names
                   if getattr(args, arg) is not None}
        answer, error = ask(args, name, payload)
        if error:
            return refused(error)
        status = answer.get("status") or {}
        line = f"ok: {status.get('phase')}"
        if answer.get("message"):
            line += f" ({answer['message']})"
        print(line)
        return 0
    return run
