"""The daemon's track analysis: at start the library gets what the cache knows; a thread of
its own then measures the files not yet analysed, one at a time, in low-priority processes
(measure.py), and hands each new annotated library to the engine through its inbox
(LibraryAnalysed): the engine thread stays the only one that changes the room's state.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Optional

from ..errors import Busy
from ..session.commands import LibraryAnalysed
from ..session.model import Library
from . import annotate_library, library_paths
from .cache import AnalysisCache
from .measure import tools_missing
from .run import analyse_all

log = logging.getLogger(__name__)


def cached_library(library: Library, state_dir: Path) -> tuple[Library, AnalysisCache]:
    """The library as far as the cache knows it (cheap: a read and a stat per file)."""
    cache = AnalysisCache(state_dir)
    if cache.notice:
        log.warning("%s", cache.notice)
    return annotate_library(library, cache.get), cache


class BackgroundAnalysis:
    def __init__(self, library: Library, cache: AnalysisCache, submit: Callable,
                 measure_file: Optional[Callable] = None):
        self.library = library
        self.cache = cache
        self.submit = submit
        self._measure = {} if measure_file is None else {"measure_file": measure_file}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.finished = threading.Event()  # every file is known (tests wait on it)
        self._sent = None  # the Pending of the newest library handed to the engine

    def start(self):
        todo = [p for p in library_paths(self.library) if self.cache.get(p) is None]
        missing = tools_missing() if todo and not self._measure else []
        if not todo or missing:
            if missing:
                log.warning("track analysis: %s not installed; %d files not analysed",
                            ", ".join(missing), len(todo))
            self.finished.set()
            return
        log.info("track analysis: %d files to analyse in the background", len(todo))
        self._thread = threading.Thread(target=self._run, args=(todo,), name="analysis",
                                        daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)  # a tool still running is at most one file's worth

    def _run(self, todo):
        try:
            analyse_all(todo, self.cache, progress=self._one_done, stop=self._stop.is_set,
                        **self._measure)
            self._last_one_arrives()
        except OSError as exc:
            log.error("track analysis: %s: cannot write the cache (%s)", self.cache.path,
                      exc.strerror or exc)
        except Exception:
            log.exception("track analysis failed")
        finally:
            self.finished.set()

    def _one_done(self, path, analysis, measured):
        if analysis.error:
            log.warning("track analysis: %s", analysis.error)
        if measured and not self._stop.is_set():
            self._sent = self.submit(LibraryAnalysed(annotate_library(self.library,
                                                                      self.cache.get)))

    def _last_one_arrives(self):
        """Each library holds every file measured so far, so only the last one matters: a
        busy inbox (a flood of presses) must not keep it from the room."""
        for _ in range(10):
            sent = self._sent
            if sent is None or not sent.wait() or not isinstance(sent.error, Busy) \
                    or self._stop.wait(1.0):
                return
            self._sent = self.submit(sent.command)
