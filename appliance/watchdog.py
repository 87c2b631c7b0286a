"""systemd's notify protocol: READY=1, STOPPING=1, and WATCHDOG=1 only while the engine turns.

The engine thread builds a new status snapshot on every turn of its loop (`built_at`, on the
engine's monotonic clock), and the loop wakes at least once a second. The main thread pings
systemd's watchdog only while that snapshot is fresh: a hung engine thread (a deadlock, a stuck libVLC call) stops the
pings, systemd sends WatchdogSignal (SIGABRT), PYTHONFAULTHANDLER prints every thread's
traceback into the journal, and Restart= starts the room again.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable, Mapping, Optional

log = logging.getLogger(__name__)

STALE_S = 2.5          # the engine wakes at least once a second: older than this, it is hung
MAX_INTERVAL_S = 1.0   # the main loop also checks that the engine has not stopped
TEST_HOOKS_ENV = "APPLIANCE_TEST_HOOKS"


def notify(message: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send one sd_notify datagram; False when there is no NOTIFY_SOCKET or it failed."""
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        try:
            s.sendto(message.encode(), address)
            return True
        except OSError as exc:
            log.debug("sd_notify %s: %s", message, exc)
            return False


def watchdog_usec(env: Mapping[str, str] = os.environ) -> Optional[int]:
    """systemd's watchdog period for this process (None: no watchdog), as sd_watchdog_enabled
    reads it: WATCHDOG_USEC, and WATCHDOG_PID when set must be us."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec


class Watchdog:
    """Call tick() from the main loop every `interval_s`; it pings while the engine turns."""

    def __init__(self, heartbeat: Callable[[], float], usec: Optional[int],
                 send: Callable[[str], bool] = notify,
                 clock: Callable[[], float] = time.monotonic):
        self.heartbeat, self.usec, self.send, self.clock = heartbeat, usec, send, clock
        # a quarter of the period: at least twice per WATCHDOG_USEC even with a late wake
        self.interval_s = MAX_INTERVAL_S if usec is None else min(MAX_INTERVAL_S, usec / 4e6)
        self._stale_since: Optional[float] = None

    def tick(self) -> bool:
        """Ping if the engine's heartbeat is fresh; True when a ping was sent."""
        if self.usec is None:
            return False
        age = self.clock() - self.heartbeat()
        if age > STALE_S:
            if self._stale_since is None:
                self._stale_since = self.clock()
                log.error("the engine thread has not turned for %.1f s: no watchdog ping; "
                          "systemd restarts the appliance if this goes on", age)
            return False
        if self._stale_since is not None:
            log.warning("the engine thread turns again after %.1f s",
                        self.clock() - self._stale_since)
            self._stale_since = None
        return self.send("WATCHDOG=1")


def for_daemon(daemon, env: Mapping[str, str] = os.environ) -> Watchdog:
    """The watchdog for a started daemon (and, with APPLIANCE_TEST_HOOKS=1, the control verb
    `test-stall-engine {"seconds": N}` that blocks the engine thread, for the tests)."""
    if env.get(TEST_HOOKS_ENV) == "1":
        daemon.registry.offer("test", {"test-stall-engine":
                                       lambda args: stall_engine(daemon.engine, args)})
    # the snapshot's time is the engine's heartbeat (the same stamp its stuck check reads)
    return Watchdog(lambda: daemon.engine.status().built_at, watchdog_usec(env))


def stall_engine(engine, args: dict) -> dict:
    """Block the engine thread for args["seconds"] (checked by the verb table), as a hung
    status subscriber would."""
    seconds = args["seconds"]
    armed = threading.Event()
    armed.set()

    def hang(_status):  # runs on the engine thread, once
        if armed.is_set():
            armed.clear()
            engine.unsubscribe(hang)
            time.sleep(seconds)
            engine.report_fault("test", None)
    engine.subscribe(hang)
    engine.report_fault("test", "the engine thread is being stalled by a test")
    return {"ok": True, "message": f"engine thread blocked for {seconds:g} s"}
