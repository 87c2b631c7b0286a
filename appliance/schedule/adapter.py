"""The schedule inside the daemon: its thread, and the verbs it offers (list, add, remove, forget)."""
from __future__ import annotations

import logging

from ..errors import CommandError, InvalidArgument, Refused
from .plan import WEEKDAYS
from .scheduler import Scheduler

log = logging.getLogger(__name__)


class ScheduleAdapter:
    """The daemon's view of the schedule (Adapter protocol); `.scheduler` is the real work."""

    def __init__(self, scheduler: Scheduler):
        self.scheduler = scheduler

    def start(self):
        self.scheduler.start()

    def stop(self):
        self.scheduler.stop()

    def verbs(self) -> dict:
        """Arguments come checked by appliance.verbs' table; what the schedule itself cannot
        do (in the past, overlapping, too many) is its refusal."""
        return {"schedule list": self._list, "schedule add": self._add,
                "schedule remove": self._remove, "schedule forget": self._forget}

    def _list(self, args: dict) -> dict:
        """The next sessions, and the weekly slots as config.toml has them (the panel)."""
        return {"sessions": self.scheduler.upcoming(args.get("limit", 10)),
                "weekly": [{"id": s.id, "days": [WEEKDAYS[d] for d in sorted(s.days)],
                            "start": f"{s.at:%H:%M}", "minutes": s.minutes, "label": s.label}
                           for s in self.scheduler.config.slots]}

    def _add(self, args: dict) -> dict:
        try:
            return {"session": self.scheduler.add(args["start"], args["minutes"],
                                                  args.get("label"))}
        except CommandError:
            raise
        except ValueError as exc:
            raise Refused(f"schedule add: {exc}") from None

    def _forget(self, args: dict) -> dict:
        try:
            return {"removed": self.scheduler.forget(args["client"])}
        except ValueError as exc:
            raise Refused(f"schedule forget: {exc}") from None

    def _remove(self, args: dict) -> dict:
        slot_id = args["id"]
        try:
            removed = self.scheduler.remove(slot_id)
        except ValueError as exc:
            raise Refused(f"schedule remove: {exc}") from None
        if removed:
            return {"removed": slot_id}
        if slot_id in {s.id for s in self.scheduler.config.slots}:
            raise Refused(f"schedule remove: {slot_id} is a weekly slot; change [[sessions]] "
                          "in config.toml")
        raise InvalidArgument(f"schedule remove: no one-off session {slot_id!r}", "id")


def create(context, **clocks) -> ScheduleAdapter:
    """The schedule from [schedule] and [[sessions]] (the daemon's registry).

    `clocks` (wall=, mono=) lets a test run the real thing on a made-up time.
    """
    config = context.config
    for problem in config.track_problems:
        log.warning("schedule: ambient playlist: %s", problem)
    return ScheduleAdapter(Scheduler(config, context.engine, context.room.state_dir,
                                     clients=context.clients, **clocks))
