"""The session record inside the daemon: a thin adapter with one thread of its own.

The engine's callbacks (events, and the status's chosen client) only stamp the item with the
engine's clock and put it on a queue; the record's thread writes them. It commits after each
batch and, while a session runs, writes `last_seen` every second, so a kill -9 or a power
cut loses at most the last second. A corrupt file is moved aside, named in the fault line,
and a new one begun (the session in the room goes on being recorded from then); a full or
failing disk is a fault line while it lasts, the items wait (up to QUEUE_LIMIT) and the room
plays on. Retention: sessions older than [record] keep_days are deleted at start and daily.
"""
from __future__ import annotations

import copy
import logging
import queue
import sqlite3
import threading
import time
from typing import Callable, Optional

from ..profiles.rules import DEFAULT_REVIEW_EVERY
from . import db, reading
from .config import RecordConfig
from .writer import Recorder

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
PRUNE_EVERY_S = 24 * 3600.0
QUEUE_LIMIT = 10000   # a disk that hangs for hours: the oldest news is dropped, not memory
REPLAYS = 3           # an erased session, then a replaced file, then written
_STOP = object()


class RecordAdapter:
    def __init__(self, context, cfg: RecordConfig, wall: Callable[[], float] = time.time):
        self.context = context
        self.engine = context.engine
        self.mono = self.engine.clock
        self.wall = wall
        self.keep_days = cfg.keep_days
        self.path = db.path_in(context.room.state_dir)
        self._queue: queue.Queue = queue.Queue(QUEUE_LIMIT)
        self._thread: Optional[threading.Thread] = None
        self._client_seen: Optional[str] = None
        self._retry: list = []
        self._problems: dict[str, str] = {}
        self._dropped = 0
        self.recorder: Optional[Recorder] = None
        self._carry: Optional[tuple] = None  # (client, phase, mono, wall): a replaced file
        self._next_prune = 0.0

    # --- the engine's thread: stamp and hand on --------------------------------------------

    def _on_event(self, event: dict):
        self._put(("event", self.mono(), self.wall(), dict(event)))

    def _on_status(self, status):
        client = getattr(status, "client", None)
        if client != self._client_seen:
            self._client_seen = client
            self._put(("client", self.mono(), self.wall(), client))

    def _put(self, item):
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._dropped += 1

    # --- life cycle -------------------------------------------------------------------------

    def start(self):
        log.info("record: sessions are recorded in %s (kept %d days)", self.path,
                 self.keep_days)
        self._open()
        self.engine.subscribe_events(self._on_event)
        self.engine.subscribe(self._on_status)
        self._thread = threading.Thread(target=self._run, name="record", daemon=True)
        self._thread.start()

    def stop(self):
        self.engine.unsubscribe(self._on_event)
        self.engine.unsubscribe(self._on_status)
        if self._thread is not None:
            try:
                self._queue.put(_STOP, timeout=2)
            except queue.Full:
                log.error("record: still writing a backlog at stop; the rest is lost")
            self._thread.join(5)
        if self.recorder is not None:
            self.recorder.conn.close()

    def verbs(self) -> dict:
        return {"record sessions": self.sessions, "record course": self.course}

    # --- the record's thread ----------------------------------------------------------------

    def _open(self):
        wall = self.wall()
        self.recorder = None
        try:
            conn, problem = db.open_record(self.path, wall)
            interrupted = db.close_interrupted(conn)
        except (sqlite3.Error, OSError) as exc:
            self._problem("write", f"{self.path}: cannot open ({exc}); sessions are not "
                                   "recorded")
            return
        if problem:
            log.error("record: %s", problem)
            self._problem("file", problem)
        if interrupted:
            log.info("record: %d session(s) interrupted by a stop or power cut, closed at "
                     "their last second", interrupted)
        self.recorder = Recorder(conn)
        if self._carry is not None:  # the file was replaced: go on with the room as it is
            client, phase, mono, wall = self._carry
            self._carry = None
            self.recorder.client, self.recorder.phase = client, phase
            self.recorder.reopen(mono, wall)
        self._prune(wall)

    def _run(self):
        while True:
            try:
                items = [self._queue.get(timeout=HEARTBEAT_S)]
            except queue.Empty:
                items = []
            while True:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = _STOP in items
            items = [item for item in items if item is not _STOP]
            self._write(items, stopping)
            if stopping:
                return
            if self.wall() >= self._next_prune:
                self._prune(self.wall())

    def _write(self, items: list, stopping: bool = False):
        batch = self._retry + items
        # a batch that met an erased session or a replaced file is written again at once,
        # not with the next batch: at a stop there is none, and the next session would be
        # lost with it (each cause is met once: the session is gone, the file is new)
        for _ in range(REPLAYS):
            if not self._commit(batch, stopping):
                return
        self._keep(batch)

    def _commit(self, batch: list, stopping: bool) -> bool:
        """Write `batch` in one transaction; True when it is to be replayed now."""
        rec = self.recorder
        if rec is None:
            self._open()
            rec = self.recorder
            if rec is None:
                self._keep(batch)
                return False
        if not batch and rec.session is None and not stopping:
            return False
        saved = (copy.deepcopy(rec.session), rec.client, rec.phase, rec._opener, rec.erased)
        try:
            rec.conn.execute("BEGIN IMMEDIATE")
            for kind, mono, wall, payload in batch:
                if kind == "event":
                    rec.event(mono, wall, payload)
                else:
                    rec.client_chosen(payload)
            now = self.mono()
            rec.heartbeat(now)
            if stopping:
                rec.close(now, "stopped")
            rec.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._undo(saved)
            return self._failed(exc, batch)
        except Exception:  # a bug, not the disk: loud, and the rest is still recorded
            self._undo(saved)
            log.exception("record: %d item(s) could not be recorded and are left out",
                          len(batch))
            self._retry = []
            return False
        self._retry = []
        self._problem("write", None)
        if self._dropped:
            log.error("record: %d event(s) were dropped while the disk did not write",
                      self._dropped)
            self._dropped = 0
        return False

    def _undo(self, saved: tuple):
        rec = self.recorder
        try:
            if rec.conn.in_transaction:
                rec.conn.rollback()
        except sqlite3.Error:
            pass  # the file is gone bad: _failed replaces it
        rec.session, rec.client, rec.phase, rec._opener, rec.erased = saved

    def _failed(self, exc: sqlite3.Error, batch: list) -> bool:
        """True: replay the batch now (the erased session is skipped, or the file is new)."""
        rec = self.recorder
        if isinstance(exc, sqlite3.IntegrityError) and rec.session is not None:
            # the session was erased under us (appliance client forget): not recorded again;
            # the batch is replayed, since what came after that session's end (the next
            # session) is in it too
            log.info("record: the session in the room was erased; it is not recorded further")
            rec.session, rec.erased = None, True
            return True
        if db.is_corrupt(exc):
            # the new file starts with the room as it was before this batch, then the batch
            _, mono, wall, _ = batch[0] if batch else (None, self.mono(), self.wall(), None)
            self._carry, self.recorder = (rec.client, rec.phase, mono, wall), None
            self._retry = batch
            rec.conn.close()
            try:
                aside = db.move_aside(self.path, self.wall())
            except OSError as move_exc:
                self._problem("write", f"{self.path}: corrupt and cannot be moved aside "
                                       f"({move_exc.strerror}); sessions are not recorded")
                return False
            problem = (f"{self.path}: not a readable session record ({exc}); moved aside to "
                       f"{aside.name}, a new record begun")
            log.error("record: %s", problem)
            self._problem("file", problem)
            self._open()
            return self.recorder is not None
        why = "the disk is full" if db.is_full(exc) else str(exc)
        self._problem("write", f"{self.path}: cannot write ({why}); sessions are not "
                               "recorded until it can")
        self._keep(batch)
        return False

    def _keep(self, batch: list):
        self._dropped += max(0, len(batch) - QUEUE_LIMIT)
        self._retry = batch[-QUEUE_LIMIT:]

    def _prune(self, wall: float):
        self._next_prune = wall + PRUNE_EVERY_S
        if self.recorder is None:
            return
        try:
            n = db.prune(self.recorder.conn, wall - self.keep_days * 86400.0)
        except sqlite3.Error as exc:
            log.error("record: %s: cannot delete old sessions (%s)", self.path, exc)
            return
        if n:
            log.info("record: %d session(s) older than %d days deleted", n, self.keep_days)

    def _problem(self, key: str, message: Optional[str]):
        if self._problems.get(key) == message:
            return
        if message:
            if key == "write":
                log.error("record: %s", message)
            self._problems[key] = message
        else:
            self._problems.pop(key, None)
        self.context.report_fault("; ".join(self._problems.values()) or None)

    # --- verbs: on the caller's thread (the panel's), each with its own reading connection --

    def sessions(self, args: dict) -> dict:
        since = args.get("since")
        profiles = self._profiles()
        with _reader(self.path) as conn:
            rows = reading.sessions(conn, args.get("client"),
                                    None if since is None else _since(since),
                                    args.get("limit", 20))
            clients = [dict(entry, course=getattr(profiles.get(entry["client"]), "course",
                                                  None))
                       for entry in reading.clients(conn)]
        return {"sessions": rows, "clients": clients}

    def course(self, args: dict) -> dict:
        from ..errors import InvalidArgument
        code = args.get("client")
        if code is None:
            raise InvalidArgument("record course: missing client", "client")
        profile = self._profiles().get(code)
        with _reader(self.path) as conn:
            return {"course": reading.course(conn, code, profile, DEFAULT_REVIEW_EVERY)}

    def _profiles(self) -> dict:
        from ..profiles.store import ProfileStore
        store = ProfileStore(self.context.room.state_dir)
        with store.locked():
            return store.load()[0]


class _reader:
    """A short-lived connection for one read (closed after, so it holds no WAL snapshot)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        from ..errors import Refused
        try:
            self.conn = db.connect(self.path, create=False)
        except (sqlite3.Error, OSError) as exc:
            raise Refused(f"the session record cannot be read: {exc}") from None
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()


def _since(text: str) -> float:
    from datetime import datetime
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.astimezone()).timestamp()


def create(context, wall: Callable[[], float] = time.time) -> Optional[RecordAdapter]:
    return RecordAdapter(context, context.config, wall)
