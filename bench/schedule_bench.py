"""Figures for the schedule, printed from one run: `python bench/schedule_bench.py`.

- plan(): cost of one wake's decision, and of the panel's list, on a busy schedule
- wakes: how often the thread wakes over a simulated week (30 s cap)
- precision: how late a real wake lands after the moment the plan named (real clocks)
- the 1970 -> now jump: cost of the first wake after it
- a one-off save (temp file, fsync, rename, fsync the folder, twice) on this disk
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.engine import Pending  # noqa: E402
from appliance.schedule.config import ScheduleConfig  # noqa: E402
from appliance.schedule.plan import UTC, Slot, Timing, plan, upcoming  # noqa: E402
from appliance.schedule.scheduler import Scheduler  # noqa: E402
from appliance.status import Status  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
TIMING = Timing(tz=BERLIN, quiet_hours=((clock_time(20), clock_time(7)),))


class Room:
    """Takes what the schedule submits and notes when (monotonic)."""

    def __init__(self):
        self.phase, self.submitted = "idle", []
        self.got = threading.Event()

    def submit(self, command, source=""):
        self.submitted.append((time.monotonic(), type(command).__name__))
        self.phase = "ambient" if type(command).__name__ == "Ambient" else "idle"
        self.got.set()
        pending = Pending(command, source)
        pending._finish(None)
        return pending

    def status(self):
        return Status(phase=self.phase)

    def subscribe_events(self, cb):
        pass

    def unsubscribe(self, cb):
        pass

    def report_fault(self, source, message):
        pass


def busy_schedule():
    weekly = tuple(Slot(id=f"w{i}", kind="weekly", minutes=45, days=frozenset({i % 5}),
                        at=clock_time(8 + i // 5 * 1, 0)) for i in range(20))
    start = datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN).astimezone(UTC)
    one_offs = tuple(Slot(id=f"o-{i:06x}", kind="one-off", minutes=45,
                          start=start + timedelta(days=i)) for i in range(200))
    return weekly, one_offs


def per_call_ms(fn, n):
    began = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - began) / n * 1000


def main():
    weekly, one_offs = busy_schedule()
    slots = weekly + one_offs
    now = datetime(2026, 11, 30, 9, 55, tzinfo=BERLIN)
    print(f"plan(), {len(weekly)} weekly + {len(one_offs)} one-off sessions: "
          f"{per_call_ms(lambda: plan(slots, TIMING, now), 200):.2f} ms per wake")
    print(f"upcoming(10) for the panel and `schedule list`: "
          f"{per_call_ms(lambda: upcoming(slots, TIMING, now, 10), 200):.2f} ms")

    with tempfile.TemporaryDirectory() as folder:
        room = Room()
        wall = [now.astimezone(UTC)]
        mono = [0.0]
        s = Scheduler(ScheduleConfig(TIMING, weekly, (), "always"), room, Path(folder),
                      wall=lambda: wall[0], mono=lambda: mono[0])
        wakes, end = 0, wall[0] + timedelta(days=7)
        while wall[0] < end:
            sleep = s.run_once()
            wall[0] += timedelta(seconds=sleep)
            mono[0] += sleep
            wakes += 1
        print(f"simulated week: {wakes} wakes ({wakes / 7 / 24:.0f} an hour), "
              f"{sum(1 for _, v in room.submitted if v == 'Ambient')} ambient starts, "
              f"{sum(1 for _, v in room.submitted if v == 'End')} no-show ends")

        wall = [datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC)]
        s = Scheduler(ScheduleConfig(TIMING, weekly, (), "always"), Room(), Path(folder),
                      wall=lambda: wall[0])
        s.run_once()
        wall[0] = now.astimezone(UTC)
        began = time.perf_counter()
        s.run_once()
        print(f"first wake after a 1970 -> 2026 jump: "
              f"{(time.perf_counter() - began) * 1000:.2f} ms, {s.jumps} jump seen")

        lateness = []
        ten = (Slot(id="w1", kind="weekly", minutes=45, days=frozenset({0}),
                    at=clock_time(10, 0)),)
        for run in range(10):
            room = Room()
            due_wall = datetime(2026, 11, 30, 9, 49, 59, 700000, tzinfo=BERLIN)
            t0 = time.monotonic()
            s = Scheduler(ScheduleConfig(TIMING, ten, (), "always"), room,
                          Path(folder) / f"run{run}",  # each run a fresh memory of what was done
                          wall=lambda: due_wall + timedelta(seconds=time.monotonic() - t0))
            s.start()
            room.got.wait(5)
            s.stop()
            lateness.append((room.submitted[0][0] - (t0 + 0.3)) * 1000)
        print(f"real wake precision (10 runs): median {statistics.median(lateness):.1f} ms, "
              f"max {max(lateness):.1f} ms after the planned moment")

        s = Scheduler(ScheduleConfig(TIMING, (), (), "always"), Room(), Path(folder) / "state",
                      wall=lambda: now.astimezone(UTC))
        s.load()
        began = time.perf_counter()
        for day in range(20):
            s.add(f"2026-12-{day + 2:02d}T11:00", 45)
        print(f"one-off add with two atomic, fsynced writes: "
              f"{(time.perf_counter() - began) / 20 * 1000:.1f} ms each")


if __name__ == "__main__":
    main()
