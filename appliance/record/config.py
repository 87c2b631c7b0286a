"""The [record] section: the session record is on unless `enabled = false`; every session
older than `keep_days` is deleted at start and once a day."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..schema import Problems, Section, key

SECTIONS = ("record",)


@dataclass(frozen=True)
class RecordConfig:
    keep_days: int = key(365, 1, 3650, kind="whole")  # older sessions are deleted


def parse(data: dict, problems: Problems, base: Path, library=None) -> Optional[RecordConfig]:
    """The record's config (also without a [record] section); None when it is turned off."""
    s = Section("record", data.get("record"), problems)
    enabled = s.boolean("enabled", True)
    cfg = RecordConfig(**s.read(RecordConfig))
    s.finish()
    return cfg if enabled else None
