"""The library's SQLite database: connection settings, the schema and its migrations.

One file, ``library.db``, in WAL mode: readers never block the writer nor each other, and
a writer that is killed leaves the last committed state (SQLite rolls the rest back).
Writers serialise on SQLite's own write lock (``BEGIN IMMEDIATE``, waiting up to
``BUSY_TIMEOUT_MS``), so two ``vidq index`` runs on one library take turns per file.

The schema version is ``PRAGMA user_version``; :data:`MIGRATIONS` are append-only (llm's
pattern): migration *n* takes a database at version *n - 1* to *n*, in one transaction.
A database newer than this vidq is refused rather than guessed at.

Tables (``files`` owns the rest, which are deleted with it):

==============  =========================================================================
files           one row per recording (content digest ``key``): where it was last seen, its
                duration, the analysis options and timeline version it was indexed with,
                its rows ``[vec_lo, vec_hi)`` in the vector file, a JSON ``meta``
paths          every path known for a file, with the (size, mtime, inode) it had, so an
                unchanged file is recognised without reading it
failures       paths whose analysis failed: the reason, attempts, when
units          text evidence of every file (speech sentences and windows, screen lines),
                with word times (JSON) and the row of its vector (``vec``, NULL: none)
units_fts      FTS5 over the units' normalised tokens (BM25 candidates); rowid = units.id
terms          every token ever indexed (close spellings of a query term that no unit holds)
segments       ad breaks, their spots and sponsor reads (``parent``: a spot's break); a
                spot's ``vec`` is the row of its text read as one (NULL: rank by its units)
segment_units  which units belong to a spot or sponsor read (what ranking reads)
results        job results per file (``ads``: what the EDL is written from)
queries        query vectors already computed (a repeated query needs no model)
state          ``vec_rows`` (committed rows of the vector file), ``vec_file``, ``dim``
==============  =========================================================================

Knows nothing about timelines, jobs or the CLI.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from vidq.errors import InputError, VidqError

BUSY_TIMEOUT_MS = 120_000  # how long a writer waits for another writer's transaction
RETRY_SECONDS = 0.05  # pause between tries to set up a connection that met a locked database
DB_NAME = "library.db"

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    for statement in """
        CREATE TABLE files (
            id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, path TEXT NOT NULL, size INTEGER NOT NULL,
            duration REAL NOT NULL, options TEXT NOT NULL, timeline INTEGER NOT NULL,
            vec_lo INTEGER NOT NULL, vec_hi INTEGER NOT NULL, indexed_at REAL NOT NULL, meta TEXT NOT NULL);
        CREATE TABLE paths (
            path TEXT PRIMARY KEY, file_id INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
            ino INTEGER NOT NULL, seen_at REAL NOT NULL);
        CREATE INDEX paths_file ON paths(file_id);
        CREATE TABLE failures (
            path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
            failed_at REAL NOT NULL);
        CREATE TABLE units (
            id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
            source TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, words TEXT, frames INTEGER NOT NULL,
            confidence REAL, vec INTEGER);
        CREATE INDEX units_file ON units(file_id);
        CREATE INDEX units_vec ON units(vec);
        CREATE VIRTUAL TABLE units_fts USING fts5(tokens, source UNINDEXED, file_id UNINDEXED);
        CREATE TABLE terms (term TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE segments (
            id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, kind TEXT NOT NULL, parent INTEGER,
            start REAL NOT NULL, end REAL NOT NULL, confidence REAL NOT NULL, text TEXT NOT NULL,
            reason TEXT NOT NULL);
        CREATE INDEX segments_file ON segments(file_id);
        CREATE INDEX segments_kind ON segments(kind);
        CREATE TABLE segment_units (segment_id INTEGER NOT NULL, unit_id INTEGER NOT NULL);
        CREATE INDEX segment_units_segment ON segment_units(segment_id);
        CREATE TABLE results (
            file_id INTEGER NOT NULL, job TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (file_id, job));
        CREATE TABLE queries (model TEXT NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL,
            PRIMARY KEY (model, text));
        CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """.split(";"):
        if statement.strip():
            db.execute(statement)


@migration
def m002_segment_vectors(db: sqlite3.Connection) -> None:
    """A spot's own vector (its text read as one), in the vector file beside its file's units."""
    db.execute("ALTER TABLE segments ADD COLUMN vec INTEGER")


SCHEMA_VERSION = len(MIGRATIONS)  # what this vidq writes


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, with a busy timeout.

    ``readonly`` opens an existing database without creating it (``InputError`` when absent).
    Setting the connection up may meet "database is locked" without SQLite waiting (another
    process closing its last connection checkpoints and removes the WAL under an exclusive
    lock; the journal-mode pragma does not call the busy handler): it is tried again every
    ``RETRY_SECONDS`` until ``BUSY_TIMEOUT_MS`` has passed.
    """
    if readonly:
        if not path.is_file():
            raise InputError(f"no library at {path.parent} (index some recordings first: vidq index DIR)")
        uri = f"file:{path}?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                             check_same_thread=False)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not readonly:
                if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
            return db
        except sqlite3.OperationalError as e:
            if "locked" in str(e) and time.monotonic() < deadline:
                time.sleep(RETRY_SECONDS)
                continue
            db.close()
            raise VidqError(f"{path}: not a usable library database ({e})") from e
        except sqlite3.DatabaseError as e:
            db.close()
            raise VidqError(f"{path}: not a usable library database ({e})") from e


def version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION` (one transaction per step); returns the version."""
    current = version(db)
    if current > SCHEMA_VERSION:
        raise VidqError(f"this library has schema version {current}, newer than this vidq understands "
                        f"({SCHEMA_VERSION}); upgrade vidq")
    while current < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = version(db)  # another process may have migrated while this one waited
            if current < SCHEMA_VERSION:
                MIGRATIONS[current](db)
                current += 1
                db.execute(f"PRAGMA user_version = {current}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return current
