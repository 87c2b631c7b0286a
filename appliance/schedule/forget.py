"""Erasing a client from the schedule (`appliance client forget`): the one-off sessions
booked with their code go, from the running daemon's schedule or, with no daemon, from
schedule.json and its .bak directly; weekly slots naming the code live in config.toml, which
the appliance never rewrites, so they are named for a person to remove.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from .store import OneOffStore


def without_code(slots, code: str) -> list:
    return [slot for slot in slots if slot.label != code]


def forget_in_store(state_dir: Path, code: str) -> int:
    """Remove the code's one-offs from the files (no daemon running); both copies rewritten."""
    store = OneOffStore(state_dir)
    slots, _ = store.load()
    kept = without_code(slots, code)
    if len(kept) != len(slots) or (store.backup.exists() and not store.path.exists()):
        store.save(kept)
    return len(slots) - len(kept)


def weekly_naming(config_path: Path, code: str) -> list[str]:
    """'[[sessions]] #2 (mon, thu 10:00)' for each weekly slot of config.toml with the code."""
    try:
        data = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []  # the config was read a moment ago: nothing new to say here
    found = []
    for number, entry in enumerate(data.get("sessions") or [], start=1):
        if isinstance(entry, dict) and entry.get("label") == code:
            days = entry.get("days")
            when = " ".join(filter(None, (", ".join(map(str, days)) if isinstance(days, list)
                                          else None, str(entry.get("start") or "") or None)))
            found.append(f"[[sessions]] #{number}" + (f" ({when})" if when else ""))
    return found


def forget_bookings(args, cfg, code: str) -> tuple[int, list[str]]:
    """(one-offs removed, lines a person must act on). Raises CommandError / ControlError
    / OSError when the bookings could not be erased (the caller says: run it again)."""
    from ..cli_common import ask, socket_path
    from ..errors import UnknownCommand
    notes = [f"{cfg.path}: {where} still books this code every week; remove it there"
             for where in weekly_naming(cfg.path, code)]
    if not Path(socket_path(args)).exists():  # no daemon: the files are ours
        return forget_in_store(cfg.state_dir, code), notes
    answer, error = ask(args, "schedule forget", {"client": code})
    if isinstance(error, UnknownCommand):  # the daemon runs without a schedule
        return forget_in_store(cfg.state_dir, code), notes
    if error is not None:
        raise error
    return int(answer.get("removed", 0)), notes
