"""Starting and stopping the schedule inside the daemon, and its control-socket verb."""
from __future__ import annotations

import logging

from .scheduler import Scheduler

log = logging.getLogger(__name__)


def start(daemon, **clocks):
    """Start the schedule from daemon.cfg; return its stop function, or None when it is off.

    `clocks` (wall=, mono=) lets a test run the real thing on a made-up time.
    """
    config = daemon.cfg.adapters.get("schedule")
    if config is None:
        return None
    for problem in config.track_problems:
        log.warning("schedule: ambient playlist: %s", problem)
    scheduler = Scheduler(config, daemon.engine, daemon.cfg.state_dir, **clocks)
    scheduler.start()
    daemon.adapters["schedule"] = scheduler
    daemon.control.extra_verbs["schedule"] = lambda args: control_verb(scheduler, args)
    return scheduler.stop


def control_verb(scheduler: Scheduler, args: dict) -> dict:
    """{"action": "list"|"add"|"remove", ...} -> an answer line (ValueError: a refusal)."""
    if not isinstance(args, dict):
        raise ValueError("schedule: arguments must be an object")
    action = args.get("action", "list")
    if action == "list":
        limit = args.get("limit", 10)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise ValueError(f"schedule list: limit must be a whole number from 1 to 100, "
                             f"not {limit!r}")
        return {"ok": True, "sessions": scheduler.upcoming(limit)}
    if action == "add":
        session = scheduler.add(args.get("start"), args.get("minutes"), args.get("label"))
        return {"ok": True, "session": session}
    if action == "remove":
        slot_id = args.get("id")
        if not isinstance(slot_id, str) or not slot_id:
            raise ValueError("schedule remove: missing id")
        if scheduler.remove(slot_id):
            return {"ok": True, "removed": slot_id}
        if slot_id in {s.id for s in scheduler.config.slots}:
            return {"ok": False, "error": f"schedule remove: {slot_id} is a weekly slot; "
                                          "change [[sessions]] in config.toml"}
        return {"ok": False, "error": f"schedule remove: no one-off session {slot_id!r}"}
    raise ValueError(f"schedule: unknown action {action!r} (list, add, remove)")
