"""Live status for the page: Server-Sent Events fed by the engine's status callback.

The engine thread only swaps in the newest status and wakes the listeners (no I/O there).
Each open page is one waitress worker thread waiting on a condition; a listener that falls
behind simply gets the newest status, never a backlog. A comment line every few seconds
lets waitress notice a phone that went away, and the stream ends when the login expires
or the panel stops, so no thread is held for ever.
"""
from __future__ import annotations

import json
import threading
from typing import Callable, Iterator, Optional

KEEPALIVE_S = 15.0
RETRY_MS = 2000  # how soon the browser reconnects after a dropped stream


class StatusBroadcast:
    def __init__(self, engine, max_streams: int):
        self.engine = engine
        self.max_streams = max_streams
        self._cond = threading.Condition()
        self._version = 0
        self._status: Optional[dict] = None
        self._streams = 0
        self._closed = False
        engine.subscribe(self._on_status)

    def _on_status(self, status):  # engine thread: swap and wake only (a Status snapshot)
        with self._cond:
            self._status = status
            self._version += 1
            self._cond.notify_all()

    def close(self):
        """End every stream (the panel stops)."""
        self.engine.unsubscribe(self._on_status)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def open(self) -> bool:
        """Reserve a stream slot; False when too many pages are open."""
        with self._cond:
            if self._closed or self._streams >= self.max_streams:
                return False
            self._streams += 1
            return True

    def stream(self, still_allowed: Callable[[], bool],
               keepalive_s: float = KEEPALIVE_S) -> "_Stream":
        """The SSE body for one page (after open() said yes); closing it frees the slot."""
        return _Stream(self, self._body(still_allowed, keepalive_s))

    def _release(self):
        with self._cond:
            self._streams -= 1

    def _body(self, still_allowed, keepalive_s) -> Iterator[bytes]:
        with self._cond:
            seen = self._version
        yield f"retry: {RETRY_MS}\n".encode() + _event(self.engine.status_dict())
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._version != seen,
                                    timeout=keepalive_s)
                closed, changed = self._closed, self._version != seen
                seen, status = self._version, self._status
            if closed:
                return
            if not still_allowed():
                yield b"event: expired\ndata: {}\n\n"
                return
            if changed and status:
                yield _event(status.as_dict(self.engine.clock()))  # counted down to now
            else:
                yield b": keepalive\n\n"

    @property
    def open_streams(self) -> int:
        with self._cond:
            return self._streams


def _event(status: dict) -> bytes:
    return f"data: {json.dumps(status, separators=(',', ':'))}\n\n".encode()


class _Stream:
    """An iterable response body whose close() (called by the WSGI server, even when the
    body was never read) gives the stream slot back exactly once."""

    def __init__(self, broadcast: StatusBroadcast, body: Iterator[bytes]):
        self._broadcast = broadcast
        self._body = body
        self._open = True

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._body)

    def close(self):
        if self._open:
            self._open = False
            self._body.close()
            self._broadcast._release()
