"""Config sections read by this adapter; problems go into `problems` as 'section.key: message'."""
from __future__ import annotations

from pathlib import Path

from ..schema import Problems

SECTIONS = ("schedule", "sessions")


def parse(data: dict, problems: Problems, base: Path):
    """Return this adapter's config (None: not configured, the adapter stays off)."""
    return None
