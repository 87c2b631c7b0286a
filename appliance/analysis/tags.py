"""A track's tempo as its tags say: ID3 TBPM (MP3), Vorbis/FLAC BPM, MP4 tmpo.

Tags are strings written by people and programs ("120", "92.5", "0", "fast"): a value that is
not a plausible tempo is ignored with a note saying why, and the tempo is measured instead.
"""
from __future__ import annotations

from typing import Optional

TAG_BPM_RANGE = (30.0, 300.0)  # outside this a tag is a mistake, not a tempo


def tag_bpm(path: str) -> tuple[Optional[float], Optional[str]]:
    """(tempo from the tags or None, a note on a tag that was ignored or None)."""
    raw = _raw_tag(path)
    if raw is None:
        return None, None
    return parse_bpm_tag(raw)


def parse_bpm_tag(raw) -> tuple[Optional[float], Optional[str]]:
    text = str(raw).strip()
    try:
        bpm = float(text.replace(",", "."))
    except ValueError:
        return None, f"tempo tag {text!r} is not a number; measured instead"
    low, high = TAG_BPM_RANGE
    if not low <= bpm <= high:  # also NaN
        return None, (f"tempo tag {text!r} is not a plausible tempo ({low:g}-{high:g}); "
                      "measured instead")
    return bpm, None


def _raw_tag(path: str):
    import mutagen  # only when analysing: the daemon's other paths never need it
    try:
        media = mutagen.File(path)
    except Exception:  # mutagen raises its own errors, and some of the standard library's
        return None    # a file it cannot read: the measuring tools say what is wrong
    tags = getattr(media, "tags", None)
    if not tags:
        return None
    for name in ("TBPM", "BPM", "bpm", "tmpo"):
        try:
            value = tags.get(name)
        except (KeyError, ValueError, TypeError):
            continue
        if value is None:
            continue
        if hasattr(value, "text"):  # an ID3 frame
            value = value.text
        if isinstance(value, (list, tuple)):
            if not value:
                continue
            value = value[0]
        return value
    return None
