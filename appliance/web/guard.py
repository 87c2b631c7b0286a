"""Logins that expire, and rate limits per client. Both take the clock as an argument.

Sessions live only in memory (a restart logs every phone out, which is fine for a room).
Only a hash of each session id is kept, so even a memory dump does not hand out cookies.
Client addresses are used as rate-limit keys in memory and never logged or sent anywhere.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Callable, Optional

MAX_SESSIONS = 64     # phones logged in at once; the oldest login goes first
MAX_CLIENTS = 1024    # rate-limit entries kept; the least recently seen go first


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Login:
    csrf: str
    expires_at: float   # on the injected (monotonic) clock
    version: str        # the passphrase it was made with


class Sessions:
    def __init__(self, lifetime_s: float, clock: Callable[[], float]):
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._lock = threading.Lock()
        self._logins: "collections.OrderedDict[str, Login]" = collections.OrderedDict()

    def create(self, version: str) -> tuple[str, Login]:
        session_id = secrets.token_urlsafe(32)
        login = Login(secrets.token_urlsafe(32), self.clock() + self.lifetime_s, version)
        with self._lock:
            self._logins[_digest(session_id)] = login
            while len(self._logins) > MAX_SESSIONS:
                self._logins.popitem(last=False)
        return session_id, login

    def find(self, session_id: Optional[str], version: Optional[str]) -> Optional[Login]:
        """The login behind a cookie, if it has not expired and the passphrase is unchanged."""
        if not session_id or len(session_id) > 100:
            return None
        key = _digest(session_id)
        with self._lock:
            login = self._logins.get(key)
            if login is None:
                return None
            if self.clock() >= login.expires_at or login.version != version:
                del self._logins[key]
                return None
            return login

    def end(self, session_id: Optional[str]):
        if session_id:
            with self._lock:
                self._logins.pop(_digest(session_id), None)


def csrf_ok(login: Login, header: Optional[str]) -> bool:
    return bool(header) and hmac.compare_digest(login.csrf.encode(),
                                                header.encode("utf-8", "replace"))


class RateLimit:
    """At most `limit` events per `window_s` for each key (a sliding window)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._events: "collections.OrderedDict[str, collections.deque]" = \
            collections.OrderedDict()

    def retry_after(self, key: str) -> Optional[float]:
        """Seconds until `key` may try again, or None if it may now."""
        now = self.clock()
        with self._lock:
            events = self._events.get(key)
            if not events:
                return None
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) < self.limit:
                return None
            return max(0.1, events[0] + self.window_s - now)

    def note(self, key: str):
        now = self.clock()
        with self._lock:
            events = self._events.pop(key, None) or collections.deque()
            events.append(now)
            while len(events) > self.limit:
                events.popleft()
            self._events[key] = events  # most recently seen last
            while len(self._events) > MAX_CLIENTS:
                self._events.popitem(last=False)

    def hit(self, key: str) -> Optional[float]:
        """Note one event unless over the limit; returns the wait if it was refused."""
        wait = self.retry_after(key)
        if wait is None:
            self.note(key)
        return wait
