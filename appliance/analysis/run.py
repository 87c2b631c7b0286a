"""Analysing files: one file (tags first, then the measuring tools), and a list of them with
the cache, as the CLI and the daemon's background thread both do."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from . import TrackAnalysis
from . import measure
from .cache import AnalysisCache, file_key
from .tags import tag_bpm


def analyse_file(path: str) -> TrackAnalysis:
    """Never raises for a bad file: its error is in the result, one line naming it."""
    try:
        lufs, seconds = measure.loudness(path)  # first: it also proves the file decodes
        bpm, note = tag_bpm(path)
        notes = (note,) if note else ()
        source = "tag" if bpm is not None else None
        if bpm is None:
            bpm = measure.tempo_of(measure.beats(path), measure.onsets(path), seconds)
            source = "measured" if bpm is not None else None
            if bpm is None:
                notes += ("no steady beat found; tempo unknown",)
    except measure.AnalysisFailed as exc:
        return TrackAnalysis(error=str(exc))
    if bpm is not None:
        bpm = round(bpm, 1)
    return TrackAnalysis(seconds=round(seconds, 2), bpm=bpm, bpm_source=source, lufs=lufs,
                         notes=notes)


def analyse_all(paths: Iterable[str], cache: AnalysisCache,
                progress: Optional[Callable[[str, TrackAnalysis, bool], None]] = None,
                stop: Optional[Callable[[], bool]] = None,
                measure_file: Callable[[str], TrackAnalysis] = analyse_file) -> dict:
    """path -> TrackAnalysis for each file, measuring only what the cache does not know (and
    saving the cache after each measured file: an interrupted run keeps what it did).
    `progress(path, analysis, measured)` after each file; `stop()` true: stop early."""
    results = {}
    for path in paths:
        if stop is not None and stop():
            break
        known = cache.get(path)
        measured = known is None
        if measured:
            key = file_key(path)
            known = measure_file(path)
            cache.put(path, key, known)
            cache.save()
        results[path] = known
        if progress is not None:
            progress(path, known, measured)
    return results
