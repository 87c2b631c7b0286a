"""The client profiles on disk: one JSON file in the state directory, mode 0600.

Every change is read-change-write under a lock (two `appliance client` commands at once do
not lose each other's change) and written atomically (appliance.atomic): a power cut or a
full disk leaves the old file whole, never a profile half-written. A file that cannot be read
as profiles is moved aside to clients.json.corrupt-<time> (kept for the IT person to look at), reported in one line naming the file, and a new, empty store is begun.

Problem lines name the file and an entry's position, never a client code: they may be logged.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Optional

from ..atomic import write_atomic
from .rules import ProfileError, from_json, to_json

FILE_NAME = "clients.json"
LOCK_NAME = ".clients.lock"
VERSION = 1


class ProfileStore:
    def __init__(self, state_dir: Path):
        self.dir = Path(state_dir)
        self.path = self.dir / FILE_NAME

    @contextlib.contextmanager
    def locked(self):
        """Held while a change reads, changes and writes the file."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self
        finally:
            os.close(fd)  # releases the lock

    def load(self) -> tuple[dict, Optional[str]]:
        """code -> Profile, and a one-line problem to report (None: all was well)."""
        try:
            raw = self.path.read_bytes()  # OSError: unreadable is not corrupt, it stays
        except FileNotFoundError:
            return {}, None
        try:
            return self._parse(raw), None
        except ProfileError as exc:
            problem = f"{self.path}: {exc}"
        aside = self.path.with_name(f"{FILE_NAME}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            return {}, f"{problem}; cannot move it aside ({exc.strerror}): no profiles"
        return {}, f"{problem}; moved aside to {aside.name}, starting with no profiles"

    def _parse(self, raw: bytes) -> dict:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProfileError("file", f"not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(
                data.get("clients"), list):
            raise ProfileError("file", f"not a profiles file (version {VERSION} with clients)")
        profiles = {}
        for i, entry in enumerate(data["clients"]):
            try:
                profile = from_json(entry)
            except ProfileError as exc:
                raise ProfileError(f"clients[{i}]", str(exc)) from None
            if profile.code in profiles:
                raise ProfileError(f"clients[{i}]", "the same code twice")
            profiles[profile.code] = profile
        return profiles

    def save(self, profiles: dict):
        """Raises OSError when the disk refuses; the old file stays whole."""
        data = {"version": VERSION,
                "clients": [to_json(p) for _, p in sorted(profiles.items())]}
        write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
