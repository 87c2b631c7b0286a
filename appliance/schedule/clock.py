"""Can the schedule trust the wall clock? The kernel knows.

A Raspberry Pi has no battery clock: Raspberry Pi OS restores the last saved time at boot
(fake-hwclock), which is stale but plausible, and the real time arrives only when NTP syncs.
systemd-timesyncd and chrony both clear the kernel's STA_UNSYNC flag once they have set the
clock, so `adjtimex()` (read only: modes 0, no privilege needed) tells a clock that was really
set from one that was merely restored. timesyncd also touches
/run/systemd/timesync/synchronized, which is read where it exists.

`schedule.trust_clock = "always"` is for rooms with a real-time clock or no network at all.
"""
from __future__ import annotations

import ctypes
import logging
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger(__name__)

TRUST_CHOICES = ("synced", "always")
STA_UNSYNC = 0x0040
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")


class _Timex(ctypes.Structure):
    """The head of struct timex up to `status`; the kernel fills the rest of the buffer."""
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long),
                ("status", ctypes.c_int), ("_rest", ctypes.c_byte * 512)]


def kernel_synced() -> Optional[bool]:
    """True/False from adjtimex's STA_UNSYNC; None when the kernel cannot be asked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        timex = _Timex()  # modes = 0: only read
        if libc.adjtimex(ctypes.byref(timex)) == -1:
            return None
    except (OSError, AttributeError):
        return None
    return not timex.status & STA_UNSYNC


def system_clock_synced(flag: Path = TIMESYNC_FLAG) -> bool:
    """The clock has been set by a time server since boot."""
    return bool(kernel_synced()) or flag.exists()


def sync_probe(trust: str) -> Callable[[], bool]:
    """The schedule's question "may I act on the wall clock now?" for schedule.trust_clock."""
    if trust == "always":
        return lambda: True
    return system_clock_synced


WAITING = ("waiting for the clock: not synchronised with a time server yet; sessions start "
           "once it is (a room with a battery clock or no network: schedule.trust_clock = "
           "\"always\")")
