"""The session record's file: sessions.db in the state directory, SQLite in WAL mode.

Opened with synchronous=FULL (a commit is on the disk when it returns: a power cut loses
only what was not committed yet), foreign keys (a session's rows go with it) and
secure_delete (deleted rows are overwritten with zeros, not left in free pages). The file is
created mode 0600; SQLite gives its -wal and -shm files the same mode.

A file that is not a readable record (not SQLite, or failing `PRAGMA quick_check`) is moved
aside to sessions.db.corrupt-<time> (its -wal beside it), and a new one is begun; the caller
reports the one line naming the file. Messages name files, never a client code.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Optional

FILE_NAME = "sessions.db"
VERSION = 1
BUSY_TIMEOUT_MS = 5000
WAL_LIMIT = 1 << 20  # after a checkpoint the -wal file is cut back to this

SCHEMA = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,      -- Unix time
    ended REAL,                 -- NULL while the session runs
    last_seen REAL NOT NULL,    -- written every second: the end of an interrupted session
    ended_how TEXT,             -- idle | stopped | interrupted
    client TEXT,                -- the chosen client's code, or NULL
    no_show INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_started ON sessions (started);
CREATE INDEX sessions_client ON sessions (client);
-- the writer updates a running phase or track by its id: an explicit INTEGER PRIMARY KEY,
-- since VACUUM (client forget) may renumber the implicit rowids of a table without one
CREATE TABLE phases (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    phase TEXT NOT NULL,
    started REAL NOT NULL,
    seconds REAL                -- NULL while it runs
);
CREATE INDEX phases_session ON phases (session);
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    title TEXT NOT NULL,
    started REAL NOT NULL,
    seconds REAL,               -- heard, its fade-out included; NULL while it plays
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tracks_session ON tracks (session);
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    verb TEXT NOT NULL,
    source TEXT NOT NULL,       -- cli | panel | mqtt | schedule | button:<name>
    accepted INTEGER NOT NULL,
    reason TEXT,
    level REAL                  -- volume verbs: the level afterwards
);
CREATE INDEX actions_session ON actions (session);
"""


class Corrupt(sqlite3.DatabaseError):
    """The file is there but is not a readable session record."""


_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
SQLITE_FULL = 13


def is_corrupt(exc: BaseException) -> bool:
    return isinstance(exc, Corrupt) or getattr(exc, "sqlite_errorcode", None) in _CORRUPT_CODES


def is_full(exc: BaseException) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL or "full" in str(exc)


def path_in(state_dir) -> Path:
    return Path(state_dir) / FILE_NAME


def connect(path: Path, create: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (the writer says BEGIN and COMMIT itself), checked;
    Corrupt when the file is not a readable record."""
    path = Path(path)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    elif not path.exists():
        raise FileNotFoundError(f"{path}: no session record yet")
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    try:
        if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
            raise Corrupt("cannot switch to WAL mode")
        for pragma in ("synchronous=FULL", "foreign_keys=ON", "secure_delete=ON",
                       "temp_store=MEMORY", f"journal_size_limit={WAL_LIMIT}"):
            conn.execute(f"PRAGMA {pragma}")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise Corrupt(f"quick_check: {check}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and create:
            conn.executescript(f"BEGIN; {SCHEMA} PRAGMA user_version={VERSION}; COMMIT;")
        elif version != VERSION:
            raise Corrupt(f"not a session record of version {VERSION} (user_version "
                          f"{version})")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corrupt(exc):
            raise Corrupt(str(exc)) from None
        raise
    return conn


def open_record(path: Path, wall: float) -> tuple[sqlite3.Connection, Optional[str]]:
    """The writer's connection, and a one-line problem when a corrupt file was moved aside
    (None: all was well). Raises sqlite3.Error / OSError when even a new file cannot be
    made (a full or read-only disk)."""
    try:
        return connect(path), None
    except Corrupt as exc:
        aside = move_aside(path, wall)
        problem = (f"{path}: not a readable session record ({exc}); moved aside to "
                   f"{aside.name}, a new record begun")
    return connect(path), problem


def move_aside(path: Path, wall: float) -> Path:
    """sessions.db -> sessions.db.corrupt-<time> (its -wal along, its -shm index dropped)."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(wall))
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, aside)
    wal = Path(f"{path}-wal")
    if wal.exists():
        os.replace(wal, Path(f"{aside}-wal"))
    Path(f"{path}-shm").unlink(missing_ok=True)
    return aside


def moved_aside(path: Path) -> list[Path]:
    """The corrupt files kept beside the record (they may hold old sessions)."""
    path = Path(path)
    return sorted(p for p in path.parent.glob(f"{path.name}.corrupt-*"))


def close_interrupted(conn: sqlite3.Connection) -> int:
    """Sessions a kill or a power cut left open end when they were last seen (start-up)."""
    conn.execute("BEGIN IMMEDIATE")
    for table in ("phases", "tracks"):
        conn.execute(f"UPDATE {table} SET seconds = max(0, (SELECT last_seen FROM sessions s "
                     f"WHERE s.id = {table}.session) - started) WHERE seconds IS NULL")
    n = conn.execute("UPDATE sessions SET ended = last_seen, ended_how = 'interrupted' "
                     "WHERE ended IS NULL").rowcount
    conn.execute("COMMIT")
    return n


def checkpoint(conn: sqlite3.Connection, attempts: int = 20) -> bool:
    """Everything in the -wal file into the database, and the -wal file cut to nothing
    (old frames could hold deleted rows). False when a reader kept it from finishing."""
    for _ in range(attempts):
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        time.sleep(0.05)
    return False


#: 2025-01-01: a session stamped before this was recorded on a clock that was not set (a Pi
#: that booted at 1970); retention leaves it alone rather than delete it as "old"
PLAUSIBLE_FROM = 1735689600.0


def prune(conn: sqlite3.Connection, before: float) -> int:
    """Delete every finished session that started before `before` (Unix time)."""
    n = conn.execute("DELETE FROM sessions WHERE started < ? AND started >= ? AND ended IS "
                     "NOT NULL", (before, PLAUSIBLE_FROM)).rowcount
    if n:
        checkpoint(conn)
    return n


def forget(path: Path, code: str) -> int:
    """Erase every session of `code`: deleted (zeroed), the file rebuilt (VACUUM) and the
    -wal file emptied, so nothing of theirs is left in either file. The number erased."""
    conn = connect(path, create=False)
    try:
        n = conn.execute("DELETE FROM sessions WHERE client = ?", (code,)).rowcount
        conn.execute("VACUUM")
        if not checkpoint(conn):
            raise sqlite3.OperationalError(f"{path}: a reader kept the -wal file open; "
                                           "run client forget again")
        return n
    finally:
        conn.close()
