"""The control socket's client side: what the CLI verbs use, and nothing of the server."""
from __future__ import annotations

import json
import socket
from .errors import ControlError

ANSWER_TIMEOUT_S = 5.0  # how long the daemon waits for the engine before answering "busy"


def request(path, verb: str, args: dict | None = None,
            timeout: float = ANSWER_TIMEOUT_S + 2) -> dict:
    """Send one request to a running daemon (used by the CLI and tests)."""
    payload = json.dumps({"verb": verb, "args": args or {}}).encode() + b"\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
        except FileNotFoundError:
            raise ControlError(f"{path}: no appliance is running (socket not found)") from None
        except PermissionError:
            raise ControlError(f"{path}: permission denied (are you in the appliance's group?)"
                               ) from None
        except OSError as exc:
            raise ControlError(f"{path}: cannot connect ({exc.strerror or exc})") from None
        s.sendall(payload)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
    try:
        return json.loads(b"".join(chunks).decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ControlError(f"{path}: the daemon answered something unreadable") from None
