"""What has been analysed, per file, in the state folder (analysis.json).

An entry counts only while the file has the size and modification time it had when it was
measured: a file replaced or edited is measured again. The cache is written whole with
appliance/atomic.py, so a power cut leaves the old one or the new one; a cache that cannot be
read (corrupt, not ours) is set aside with a notice and rebuilt.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Optional

from ..atomic import write_atomic
from . import TrackAnalysis

CACHE_NAME = "analysis.json"
VERSION = 1


def file_key(path: str) -> Optional[list]:
    """[size, mtime_ns] of the file now, or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


class AnalysisCache:
    """Thread-safe: the daemon's analysis thread writes while the CLI or the engine reads."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / CACHE_NAME
        self.notice: Optional[str] = None  # set when the old cache had to be rebuilt
        self._lock = threading.Lock()
        self._entries: dict = self._load()

    def _load(self) -> dict:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self.notice = (f"{self.path}: cannot read the analysis cache ({exc.strerror}); "
                           "rebuilding it")
            return {}
        try:
            data = json.loads(raw)
            if data.get("version") != VERSION or not isinstance(data.get("files"), dict):
                raise ValueError("not an analysis cache of this version")
            return {path: entry for path, entry in data["files"].items()
                    if isinstance(entry, dict) and isinstance(entry.get("result"), dict)
                    and isinstance(entry.get("key"), list)}
        except (ValueError, AttributeError) as exc:
            self.notice = f"{self.path}: the analysis cache is corrupt ({exc}); rebuilding it"
            return {}

    def get(self, path: str) -> Optional[TrackAnalysis]:
        """What is known of the file as it is now (None: never analysed, or changed since)."""
        with self._lock:
            entry = self._entries.get(path)
        if entry is None or entry["key"] != file_key(path):
            return None
        return TrackAnalysis.from_dict(entry["result"])

    def put(self, path: str, key: Optional[list], analysis: TrackAnalysis):
        """`key`: the file's file_key() taken before it was measured (a file that changed
        while it was measured is measured again next time)."""
        if key is None:
            return
        with self._lock:
            self._entries[path] = {"key": key, "result": analysis.as_dict()}

    def save(self):
        """Raises OSError when the state folder refuses; the old cache stays whole."""
        with self._lock:
            data = {"version": VERSION, "files": dict(sorted(self._entries.items()))}
        write_atomic(self.path, json.dumps(data, indent=1).encode())
