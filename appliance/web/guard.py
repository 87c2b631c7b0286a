"""Logins that expire, and rate limits per client. Both take the clock as an argument.

Sessions live only in memory (a restart logs every phone out, which is fine for a room).
Only a hash of each session id is kept, so even a memory dump does not hand out cookies.
A login ends `lifetime_s` after it was made, or sooner when nothing used it for `idle_s`.
Each client may hold a few logins; its own oldest makes room for its newest, so nobody can
push other phones out by logging in again and again. Client addresses are used as keys in
memory only.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import ipaddress
import secrets
import threading
from dataclasses import dataclass
from typing import Callable, Optional

LOGINS_PER_CLIENT = 4   # a phone, its second browser, a tablet on the same address ...
MAX_SESSIONS = 256      # in all; when full, new logins wait for old ones to end
MAX_CLIENTS = 1024      # rate-limit entries kept; the least recently seen go first


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()


def client_key(address: Optional[str]) -> str:
    """The unit a limit counts: an IPv4 address, or an IPv6 /64 (one device can make up
    any number of addresses inside its /64, but it gets only one network)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "?"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Login:
    csrf: str
    expires_at: float   # on the injected (monotonic) clock
    version: str        # the passphrase it was made with
    client: str


class Sessions:
    def __init__(self, lifetime_s: float, idle_s: float, clock: Callable[[], float]):
        self.lifetime_s = lifetime_s
        self.idle_s = idle_s
        self.clock = clock
        self._lock = threading.Lock()
        # digest -> [login, last used]; least recently used first
        self._logins: "collections.OrderedDict[str, list]" = collections.OrderedDict()

    def create(self, version: str, client: str) -> Optional[tuple[str, Login]]:
        """A new login for `client`, or None when the table is full of others' live logins."""
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        login = Login(secrets.token_urlsafe(32), now + self.lifetime_s, version, client)
        with self._lock:
            self._forget_ended(now)
            own = [k for k, (made, _) in self._logins.items() if made.client == client]
            for key in own[:max(0, len(own) - LOGINS_PER_CLIENT + 1)]:
                del self._logins[key]  # the client's own least recently used
            if len(self._logins) >= MAX_SESSIONS:
                return None
            self._logins[_digest(session_id)] = [login, now]
        return session_id, login

    def find(self, session_id: Optional[str], version: Optional[str]) -> Optional[Login]:
        """The login behind a cookie, if it has not ended and the passphrase is unchanged;
        using it counts as activity."""
        if not session_id or len(session_id) > 100:
            return None
        key, now = _digest(session_id), self.clock()
        with self._lock:
            entry = self._logins.get(key)
            if entry is None:
                return None
            login, used = entry
            if self._ended(login, used, now) or login.version != version:
                del self._logins[key]
                return None
            entry[1] = now
            self._logins.move_to_end(key)
            return login

    def end(self, session_id: Optional[str]):
        if session_id:
            with self._lock:
                self._logins.pop(_digest(session_id), None)

    def count(self) -> int:
        with self._lock:
            return len(self._logins)

    def _ended(self, login: Login, used: float, now: float) -> bool:
        return now >= login.expires_at or now - used >= self.idle_s

    def _forget_ended(self, now: float):
        for key in [k for k, (login, used) in self._logins.items()
                    if self._ended(login, used, now)]:
            del self._logins[key]


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
