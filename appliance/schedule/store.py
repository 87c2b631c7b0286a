"""One-off sessions kept in the state directory, safe across power cuts.

A save writes a temp file, fsyncs it, renames it over schedule.json and fsyncs the
directory (appliance.atomic); then the same content becomes schedule.json.bak the same way.
A power cut at any moment leaves either the old or the new schedule.json whole. A
schedule.json that cannot be read (a bad disk, a hand edit) is moved aside to
schedule.json.corrupt-<time>, reported, and the last good copy (schedule.json.bak) is used
instead; nothing else stops.

schedule-acted.json (ActedStore) remembers which session on which date the schedule has
already acted on, so a restart inside a pre-session window does not start the ambient again.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..atomic import write_atomic
from ..verbs import TABLE, check_label, number_problem
from .plan import UTC, Slot

log = logging.getLogger(__name__)

FILE_NAME = "schedule.json"
VERSION = 1
ID_PREFIX = "o-"


class StoreError(ValueError):
    """The schedule file cannot be read; the message names the file and what is wrong."""


def new_id(taken) -> str:
    while True:
        candidate = ID_PREFIX + secrets.token_hex(3)
        if candidate not in taken:
            return candidate


def to_json(slot: Slot) -> dict:
    return {"id": slot.id, "start": slot.start.isoformat(), "minutes": slot.minutes,
            "label": slot.label}


def from_json(entry, where: str) -> Slot:
    if not isinstance(entry, dict):
        raise StoreError(f"{where}: not an object")
    sid = entry.get("id")
    if not isinstance(sid, str) or not sid.startswith(ID_PREFIX) or not sid[2:].isalnum():
        raise StoreError(f"{where}.id: not a one-off id: {sid!r}")
    try:
        start = datetime.fromisoformat(entry.get("start"))
    except (TypeError, ValueError):
        start = None
    if start is None or start.tzinfo is None:
        raise StoreError(f"{where}.start: not a date and time with offset: "
                         f"{entry.get('start')!r}")
    minutes = entry.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or number_problem(
            TABLE["schedule add"].arg("minutes"), minutes):  # what `schedule add` accepts
        raise StoreError(f"{where}.minutes: not a length in minutes: {minutes!r}")
    label = entry.get("label")
    if label is not None and check_label(label):
        raise StoreError(f"{where}.label: {check_label(label)}")
    return Slot(id=sid, kind="one-off", minutes=float(minutes), label=label,
                start=start.astimezone(UTC))


class OneOffStore:
    def __init__(self, state_dir: Path):
        self.dir = Path(state_dir)
        self.path = self.dir / FILE_NAME
        self.backup = self.dir / (FILE_NAME + ".bak")

    def load(self) -> tuple[list[Slot], Optional[str]]:
        """The saved one-offs, and a one-line problem to report (None: all was well)."""
        self._remove_stray_temp_files()
        if not self.path.exists():
            return [], None
        try:
            return self._read(self.path), None
        except StoreError as exc:
            problem = str(exc)
        aside = self.path.with_name(f"{FILE_NAME}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            log.error("%s: cannot move aside (%s)", self.path, exc)
        if self.backup.exists():
            try:
                slots = self._read(self.backup)
                return slots, f"{problem}; kept as {aside.name}, using the last good copy " \
                              f"{self.backup.name} ({len(slots)} one-off sessions)"
            except StoreError as exc:
                problem += f"; {exc}"
        return [], f"{problem}; kept as {aside.name}, no good copy: no one-off sessions"

    def _read(self, path: Path) -> list[Slot]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise StoreError(f"{path}: cannot read ({exc.strerror or exc})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(
                data.get("sessions"), list):
            raise StoreError(f"{path}: not a schedule file (version {VERSION} with sessions)")
        slots = [from_json(entry, f"{path}: sessions[{i}]")
                 for i, entry in enumerate(data["sessions"])]
        if len({s.id for s in slots}) != len(slots):
            raise StoreError(f"{path}: the same id twice")
        return slots

    def save(self, slots: list[Slot]):
        """Write atomically (raises OSError when the disk refuses; the old file stays)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": VERSION, "sessions": [to_json(s) for s in slots]},
                          indent=1)
        for target in (self.path, self.backup):
            write_atomic(target, text.encode("utf-8"))

    def _remove_stray_temp_files(self):
        """Left by a power cut between write and rename: the real file is still whole."""
        for stray in self.dir.glob(".schedule*.tmp"):  # this file's and ACTED_FILE's
            log.info("removing %s, left by an interrupted save", stray)
            stray.unlink(missing_ok=True)


ACTED_FILE = "schedule-acted.json"


class ActedStore:
    """What the schedule has acted on, per session and date, kept across restarts so that
    any number of reboots inside one window start its ambient once. Written atomically like
    schedule.json; an unreadable file is reported and forgotten (at worst one more start)."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / ACTED_FILE

    def load(self) -> tuple[dict, Optional[str]]:
        """{occurrence key: (its end, why its ambient did not start or None)}, problem."""
        if not self.path.exists():
            return {}, None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            acted = {}
            for key, entry in data["acted"].items():
                note = entry.get("note")
                acted[str(key)] = (datetime.fromisoformat(entry["end"]).astimezone(UTC),
                                   note if isinstance(note, str) else None)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError,
                AttributeError) as exc:
            return {}, f"{self.path}: cannot read what the schedule already did ({exc}); " \
                       "starting afresh"
        return acted, None

    def save(self, acted: dict):
        """Raises OSError when the disk refuses; the old file stays whole."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(
            {"version": VERSION, "acted": {key: {"end": end.isoformat(), "note": note}
                                           for key, (end, note) in sorted(acted.items())}},
            indent=1).encode("utf-8"))
