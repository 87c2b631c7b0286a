"""Wrong passphrases: a growing backoff per client, a slow-down for all instead of a lockout,
a notice while it happens, and audit lines that never name an address.

A global refusal ("30 wrong passphrases a minute from anyone, then nobody may log in") let one
guest's phone lock every therapist out. Here nothing global ever refuses:
- each client (an IPv4 address or an IPv6 /64) may get `free` passphrases wrong; then it waits
  1, 2, 4 ... s (up to `backoff_max_s`) before each next try;
- when all clients together get `attack_threshold` wrong within `window_s`, the panel is
  "under attack" until `ATTACK_HOLD_S` after the last such failure: every client's backoff then
  starts at its first wrong passphrase (the slow-down), and the notice "many failed logins"
  shows in status, on the panel and over MQTT. A client with no wrong passphrase is never
  delayed, so the therapist's phone gets in at once.
Audit lines name a client by a keyed hash (HMAC with a key made at start and kept only in
memory): lines of one run can be matched up, but an address cannot be worked back from them.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Callable, Optional

log = logging.getLogger("appliance.web.audit")

ATTACK_HOLD_S = 600      # the slow-down and the notice last this long after an attack
FORGET_S = 900           # a client's wrong passphrases are forgotten after this quiet time
NOTICE_EVERY_S = 10      # the notice's counts are refreshed at most this often
MAX_CLIENTS = 4096       # clients remembered; the least recently failed go first
MAX_RECENT = 10000       # failures remembered for the window


@dataclass
class _Client:
    failures: int = 0
    last_failure: float = 0.0
    next_try: float = 0.0


@dataclass(frozen=True)
class Failure:
    failures: int            # this client's wrong passphrases so far
    backoff_s: float         # how long it must now wait (0: none)


class LoginLimiter:
    def __init__(self, free: int, window_s: float, attack_threshold: int, backoff_max_s: float,
                 clock: Callable[[], float],
                 notify: Optional[Callable[[Optional[str]], None]] = None):
        self.free = free
        self.window_s = window_s
        self.attack_threshold = attack_threshold
        self.backoff_max_s = backoff_max_s
        self.clock = clock
        self._notify = notify  # notify(text or None): the "many failed logins" notice
        self._lock = threading.Lock()
        self._clients: "collections.OrderedDict[str, _Client]" = collections.OrderedDict()
        self._recent: collections.deque = collections.deque()  # (time, client) in the window
        self._attack_until = 0.0
        self._notice: Optional[str] = None
        self._notice_at = -NOTICE_EVERY_S
        self._key = secrets.token_bytes(16)

    def tag(self, client: str) -> str:
        """How audit lines name a client: 8 hex digits of a keyed hash."""
        return hmac.new(self._key, client.encode(), hashlib.sha256).hexdigest()[:8]

    def wait(self, client: str) -> Optional[float]:
        """Seconds `client` must still wait before its passphrase is checked, or None."""
        now = self.clock()
        with self._lock:
            state = self._clients.get(client)
            if state is None or state.next_try <= now:
                return None
            return state.next_try - now

    def failed(self, client: str) -> Failure:
        now = self.clock()
        with self._lock:
            state = self._clients.pop(client, None) or _Client()
            if now - state.last_failure > FORGET_S:
                state = _Client()
            state.failures += 1
            state.last_failure = now
            self._clients[client] = state  # most recently failed last
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
            self._recent.append((now, client))
            self._trim(now)
            if len(self._recent) >= self.attack_threshold:
                self._attack_until = now + ATTACK_HOLD_S
            free = 1 if now < self._attack_until else self.free
            backoff = 0.0
            if state.failures >= free:
                backoff = min(self.backoff_max_s, 2.0 ** min(state.failures - free, 30))
                state.next_try = now + backoff
        result = Failure(state.failures, backoff)
        tag = self.tag(client)
        log.warning("panel login failed: client %s, wrong passphrase %d", tag, result.failures)
        if backoff:
            log.warning("panel login backoff: client %s waits %d s after %d wrong passphrases",
                        tag, round(backoff), result.failures)
        self.refresh()
        return result

    def succeeded(self, client: str):
        with self._lock:
            state = self._clients.pop(client, None)
        earlier = state.failures if state else 0
        log.info("panel login: client %s logged in%s", self.tag(client),
                 f" after {earlier} wrong passphrases" if earlier else "")

    def under_attack(self) -> bool:
        with self._lock:
            return self.clock() < self._attack_until

    def refresh(self):
        """Raise, update or clear the notice (also called once a second by the server)."""
        now = self.clock()
        with self._lock:
            self._trim(now)
            if now >= self._attack_until:
                text = None
            elif self._notice is not None and now - self._notice_at < NOTICE_EVERY_S:
                return
            else:
                count = len(self._recent)
                clients = len({c for _, c in self._recent})
                text = (f"many failed logins: {count} wrong passphrases in the last "
                        f"{self.window_s:g} s from {clients} "
                        f"{'client' if clients == 1 else 'clients'}; logins are slowed down")
                if self._notice is not None and count < self.attack_threshold:
                    text = (f"many failed logins: the last attack ended less than "
                            f"{ATTACK_HOLD_S // 60} minutes ago; logins are still slowed down")
            if text == self._notice:
                return
            started, self._notice, self._notice_at = self._notice is None, text, now
        if text and started:
            log.warning("panel: %s", text)
        elif text is None:
            log.info("panel: the failed logins have stopped; logins are no longer slowed down")
        if self._notify is not None:
            self._notify(text)

    def _trim(self, now: float):
        while self._recent and (self._recent[0][0] <= now - self.window_s
                                or len(self._recent) > MAX_RECENT):
            self._recent.popleft()
