"""The local control socket: one JSON object per line in, one per line out.

Request:  {"verb": "receptive", "args": {"minutes": 20}}   or   {"verb": "status"}
Answer:   {"ok": true, "message": "...", "status": {...}}
    or    {"ok": false, "kind": "refused", "error": "..."}   (kind: see appliance.errors)

The socket is mode 0660: the appliance's user and group (the clinic's admins) may use it.
A client that sends garbage gets an error line; one that stalls or disconnects is dropped
after a few seconds. Neither touches the session.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import Optional


from .errors import CommandError, ControlError, InvalidInput
from .wire import parse_json

log = logging.getLogger(__name__)

MAX_REQUEST = 16 * 1024
MAX_CLIENTS = 16
CLIENT_TIMEOUT_S = 5.0


class _Handler(socketserver.StreamRequestHandler):
    timeout = CLIENT_TIMEOUT_S

    def handle(self):
        try:
            line = self.rfile.readline(MAX_REQUEST + 1)
        except (OSError, socket.timeout):
            return
        if not line:
            return
        answer = self.server.control.answer(line)
        try:
            self.wfile.write((json.dumps(answer) + "\n").encode())
        except OSError:
            pass  # the client went away: nothing to undo


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = False
    block_on_close = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a local script gone wild must not grow threads without bound: past the limit
        # a connection is closed at once (the CLI then says it could not get an answer)
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def error_answer(error: CommandError) -> dict:
    """The wire form of a command error: its kind travels, so the CLI maps the type."""
    return {"ok": False, "kind": error.kind, "error": error.message}


class ControlSocket:
    def __init__(self, registry, path: Path):
        self.registry = registry  # appliance.verbs.Registry: the engine's and adapters' verbs
        self.engine = registry.engine
        self.path = Path(path)
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    def answer(self, line: bytes) -> dict:
        try:
            request = parse_json(line, what="request", max_bytes=MAX_REQUEST)
        except InvalidInput as exc:
            return {"ok": False, "kind": "invalid", "error": str(exc)}
        if not isinstance(request, dict) or not isinstance(request.get("verb"), str):
            return {"ok": False, "kind": "invalid",
                    "error": "request: needs a 'verb' (a string) and optional 'args' (an object)"}
        verb, args = request["verb"], request.get("args")
        if verb == "status":
            return {"ok": True, "status": self.engine.status_dict()}
        try:
            return self.registry.call(verb, args, source="cli")
        except CommandError as exc:
            return error_answer(exc)

    def start(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if _alive(self.path):
                raise ControlError(f"{self.path}: another appliance is already running here")
            self.path.unlink()
        old_umask = os.umask(0o117)  # born 0660: no moment where others could connect
        try:
            self._server = _Server(str(self.path), _Handler)
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o660)
        self._server.control = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="control",
                                        kwargs={"poll_interval": 0.5}, daemon=True)
        self._thread.start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def _alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False
