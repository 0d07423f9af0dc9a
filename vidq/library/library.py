"""The library: many files' timelines in one folder, searchable across files.

    lib = Library(root)                              # $XDG_DATA_HOME/vidq/library by default
    lib.add(tl, doc, arrays, params, path=p, stat=os.stat(p), options=digest)
    lib.files(); lib.failures(); lib.stats(); lib.verify()
    lib.remove(["/rec/old*"]); lib.prune()

The folder holds ``library.db`` (:mod:`vidq.library.schema`: files, paths, units with FTS5,
segments, job results), ``vectors/`` (:mod:`vidq.library.vectors`: one memory-mapped array
of unit vectors), ``timelines/`` (each file's whole Timeline in the cache's entry format,
so ``Store(cache, read_also=[timelines])`` finds it after the cache was cleared:
``vidq summarize|ads|ask`` on an indexed file never analyses it again) and ``locks/``
(one lock per file being indexed).

Every change is one SQLite transaction (``BEGIN IMMEDIATE``: one writer at a time, readers
never blocked); a file's timeline copy and vectors are written (atomically, synced) before
the transaction that makes them visible commits, so a process killed at any moment leaves
the last committed library, and leftovers that the next writer ignores or cuts off.

Knows nothing about the CLI.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidq.analysis import TIMELINE_STAGE, TIMELINE_VERSION, Timeline
from vidq.analysis.evidence import tokens
from vidq.errors import VidqError
from vidq.library import schema
from vidq.library.vectors import VectorFile
from vidq.store import Store, lock
from vidq.tasks.query import Intent, break_hit, segment_pool, spot_rows, spot_text, spot_vectors

log = logging.getLogger("vidq.library")

COMPACT_MIN_DEAD = 2000  # vector rows no file uses any more before an index run compacts the file ...
COMPACT_DEAD_SHARE = 0.3  # ... and their share of all rows
CATEGORY_PREFIX = "\x00category:"  # queries-table key of an ad category's vector


def default_library_dir() -> Path:
    """``$XDG_DATA_HOME/vidq/library``, or ``~/.local/share/vidq/library``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "vidq" / "library"


def timelines_dir(root: Path) -> Path:
    """Where a library at ``root`` keeps its timelines (a cache tree, read through by jobs)."""
    return root / "timelines"


@dataclass(frozen=True)
class FileStat:
    """What identifies a path's current content without reading it."""

    size: int
    mtime_ns: int
    ino: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class FileRecord:
    """One indexed recording."""

    id: int
    key: str  # content digest
    path: str  # where it was last seen
    size: int  # bytes
    duration: float  # seconds
    options: str  # digest of the analysis options it was indexed with
    timeline: int  # TIMELINE_VERSION it was indexed with
    indexed_at: float  # unix time
    meta: dict[str, Any] = field(default_factory=dict)  # transcript, units, breaks, sponsors
    paths: list[str] = field(default_factory=list)  # every path known for it

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "key": self.key, "size": self.size, "duration": round(self.duration, 3),
                "indexed_at": self.indexed_at, "timeline": self.timeline, "paths": self.paths, **self.meta}


def matches(pattern: str, path: str) -> bool:
    """Whether ``path`` matches a glob ``pattern`` (whole path, or file name for a pattern without '/')."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(os.path.basename(path), pattern)


class Library:
    """A library folder; see the module docstring.  Opening it creates nothing until a write."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()
        self.db_path = self.root / schema.DB_NAME
        self.timelines = Store(timelines_dir(self.root))
        self._db: sqlite3.Connection | None = None

    # -- connection -----------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.db_path.is_file()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection (the library is created, or migrated, on first use)."""
        if self._db is None:
            db = schema.connect(self.db_path)
            try:
                schema.migrate(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (waits for other writers); rolled back on any exception."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:  # the COMMIT included: a failed one must not leave the transaction open
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot, never blocking a writer (within one: that one)."""
        db = self.db
        if db.in_transaction:
            yield db
            return
        db.execute("BEGIN")
        try:
            yield db
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.execute("COMMIT")

    def _state(self, db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT name, value FROM state").fetchall())

    def vector_file(self, db: sqlite3.Connection) -> tuple[VectorFile, int]:
        """The current vector file and its committed row count (read inside a transaction)."""
        st = self._state(db)
        return (VectorFile(self.root / "vectors", int(st.get("dim", 0)), int(st.get("vec_file", 0))),
                int(st.get("vec_rows", 0)))

    def vectors(self, db: sqlite3.Connection) -> np.ndarray:
        """The committed vectors ``(rows, D)``, memory-mapped (inside a read transaction)."""
        vf, rows = self.vector_file(db)
        return vf.view(rows)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[tuple[sqlite3.Connection, np.ndarray]]:
        """A read transaction and the vectors it sees (retrying when a compaction replaced them)."""
        for attempt in range(5):
            with self.reading() as db:
                try:
                    vecs = self.vectors(db)
                except FileNotFoundError:
                    if attempt == 4:
                        raise
                    continue
                yield db, vecs
                return

    # -- identity -------------------------------------------------------------------------------
    def known_key(self, path: str, stat: FileStat) -> str | None:
        """The content key recorded for ``path`` if it still has the same size, mtime and inode."""
        row = self.db.execute("SELECT f.key FROM paths p JOIN files f ON f.id = p.file_id WHERE p.path = ? AND "
                              "p.size = ? AND p.mtime_ns = ? AND p.ino = ?",
                              (path, stat.size, stat.mtime_ns, stat.ino)).fetchone()
        return row[0] if row else None

    def record(self, key: str, db: sqlite3.Connection | None = None) -> FileRecord | None:
        db = db or self.db
        row = db.execute("SELECT id, key, path, size, duration, options, timeline, indexed_at, meta FROM files "
                         "WHERE key = ?", (key,)).fetchone()
        return _record(row) if row else None

    def current(self, key: str, options: str) -> FileRecord | None:
        """The record of ``key`` when it is indexed with these analysis options and this timeline version
        (and its spots with their own vectors: a file indexed before schema 2 is indexed again)."""
        rec = self.record(key)
        ok = rec is not None and rec.options == options and rec.timeline == TIMELINE_VERSION
        return rec if ok and rec.meta.get("spot_vectors") else None

    def lock_path(self, key: str) -> Path:
        return self.root / "locks" / f"{key}.lock"

    def claim(self, key: str) -> Callable[[], None] | None:
        """Take the file's indexing lock if no other process holds it: a function that releases
        it, or None (another run is indexing that file)."""
        path = self.lock_path(key)
        fd = lock.try_acquire(path)
        if fd is None:
            return None
        return lambda: lock.release(path, fd)

    # -- writing --------------------------------------------------------------------------------
    def add(self, tl: Timeline, doc: dict[str, Any], arrays: dict[str, np.ndarray], params: dict[str, Any], *,
            path: str, stat: FileStat, options: str) -> FileRecord:
        """Store a file's timeline (``doc``/``arrays``: its stored form, ``params``: its cache
        parameters) and make it searchable, replacing an older indexing of the same content."""
        key = tl.file_key
        if not key:
            raise ValueError("a timeline without a content key cannot be indexed")
        if not (self.timelines.put_arrays(key, TIMELINE_STAGE, params, arrays)
                and self.timelines.put_json(key, TIMELINE_STAGE, params, doc)):
            raise VidqError(f"cannot write the timeline of {path} into the library {self.root}")
        vectors, vec_of_unit = _unique_rows(tl.vectors)
        spots = _spot_vectors(tl)  # rows after the units' (None: a spot with no text)
        kept = [v for v in spots if v is not None]
        if kept and vectors.shape[1]:
            vectors = np.vstack([vectors, np.stack(kept)]).astype(np.float32)
        with self.writing() as db:
            old = self.record(key, db)
            if old is not None:
                _delete_file(db, old.id, keep_paths=True)
            vf, committed = self.vector_file(db)
            if vectors.shape[1] and vf.dim == 0:
                vf.dim = vectors.shape[1]
                db.execute("INSERT OR REPLACE INTO state VALUES ('dim', ?)", (str(vf.dim),))
            lo = hi = committed
            if vectors.shape[0] and vectors.shape[1]:
                lo, hi = vf.append(committed, vectors)
                db.execute("INSERT OR REPLACE INTO state VALUES ('vec_rows', ?)", (str(hi),))
            meta = _file_meta(tl)
            cur = db.execute("INSERT INTO files (id, key, path, size, duration, options, timeline, vec_lo, vec_hi, "
                             "indexed_at, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (old.id if old else None, key, path, stat.size, float(tl.info.duration), options,
                              TIMELINE_VERSION, lo, hi, time.time(), json.dumps(meta)))
            file_id = int(cur.lastrowid) if old is None else old.id
            unit_ids = _insert_units(db, file_id, tl, [None if v < 0 or lo == hi else lo + v for v in vec_of_unit])
            spot_rows_at = iter(range(hi - len(kept), hi))  # the spots' rows follow the units'
            _insert_segments(db, file_id, tl, unit_ids,
                             [None if v is None or lo == hi else next(spot_rows_at) for v in spots])
            db.execute("INSERT OR REPLACE INTO results VALUES (?, 'ads', ?)", (file_id, json.dumps(_ads_result(tl))))
            self._see(db, file_id, path, stat)
            return self.record(key, db)  # type: ignore[return-value]

    def see(self, key: str, path: str, stat: FileStat) -> tuple[FileRecord, str | None]:
        """Record that ``path`` holds the indexed content ``key``; returns the record and the path it
        was last seen at when that was another one (a moved or renamed file)."""
        with self.writing() as db:
            rec = self.record(key, db)
            if rec is None:
                raise KeyError(key)
            before = rec.path
            self._see(db, rec.id, path, stat)
            rec = self.record(key, db)
        assert rec is not None
        return rec, (before if before != path else None)

    def _see(self, db: sqlite3.Connection, file_id: int, path: str, stat: FileStat) -> None:
        db.execute("INSERT OR REPLACE INTO paths VALUES (?, ?, ?, ?, ?, ?)",
                   (path, file_id, stat.size, stat.mtime_ns, stat.ino, time.time()))
        db.execute("DELETE FROM failures WHERE path = ?", (path,))
        current = db.execute("SELECT path FROM files WHERE id = ?", (file_id,)).fetchone()[0]
        if current != path and not os.path.exists(current):
            db.execute("UPDATE files SET path = ? WHERE id = ?", (path, file_id))
            db.execute("DELETE FROM paths WHERE path = ?", (current,))

    def fail(self, path: str, stat: FileStat | None, reason: str) -> int:
        """Record that indexing ``path`` failed; returns how many times it has."""
        with self.writing() as db:
            row = db.execute("SELECT attempts FROM failures WHERE path = ?", (path,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
                       (path, stat.size if stat else None, stat.mtime_ns if stat else None, reason, attempts,
                        time.time()))
        return attempts

    def remove(self, patterns: Sequence[str]) -> list[FileRecord]:
        """Forget the files whose path (or any known path) matches one of ``patterns``; returns them."""
        gone = [r for r in self.files() if any(matches(p, q) for p in patterns for q in [r.path, *r.paths])]
        self._forget(gone)
        return gone

    def prune(self) -> dict[str, Any]:
        """Forget paths that no longer exist, files left with none, failures of vanished paths,
        timeline copies no file uses; compact the vectors."""
        with self.reading() as db:  # the paths are looked at (a slow NAS) outside the write transaction
            known = [p for (p,) in db.execute("SELECT path FROM paths").fetchall()]
            failing = [p for (p,) in db.execute("SELECT path FROM failures").fetchall()]
        missing = [p for p in known if not os.path.exists(p)]
        failed = [p for p in failing if not os.path.exists(p)]
        with self.writing() as db:
            db.executemany("DELETE FROM paths WHERE path = ?", [(p,) for p in missing])
            db.executemany("DELETE FROM failures WHERE path = ?", [(p,) for p in failed])
        orphans = [r for r in self.files() if not r.paths]
        self._forget(orphans)
        removed = self._sweep_timelines()
        self.compact()
        return {"files": [r.path for r in orphans], "paths": missing, "failures": failed, "timelines": removed}

    def _forget(self, records: Sequence[FileRecord]) -> None:
        if not records:
            return
        with self.writing() as db:
            for r in records:
                _delete_file(db, r.id, keep_paths=False)
        for r in records:
            self._drop_timeline(r.key)
        self.compact()  # their rows are dead from now on; the file is rewritten once enough are

    def _drop_timeline(self, key: str) -> None:
        import shutil

        folder = self.timelines.entry_path(key, TIMELINE_STAGE, {}, "json")
        if folder is not None and self.record(key) is None:
            shutil.rmtree(folder.parent.parent, ignore_errors=True)

    def _sweep_timelines(self) -> int:
        """Remove timeline copies of contents the library no longer holds (a killed add leaves one)."""
        objects = self.timelines.base / "objects"
        if not objects.is_dir():
            return 0
        keys = {k for (k,) in self.db.execute("SELECT key FROM files").fetchall()}
        removed = 0
        for folder in objects.glob("*/*"):
            if folder.name not in keys and not lock.is_held(self.lock_path(folder.name)):
                self._drop_timeline(folder.name)
                removed += 1
        return removed

    def compact(self, *, force: bool = False) -> int:
        """Rewrite the vector file without the rows no file uses (when there are enough of them,
        or any with ``force``); returns how many rows were dropped."""
        with self.writing() as db:
            vf, committed = self.vector_file(db)
            ranges = db.execute("SELECT id, vec_lo, vec_hi FROM files WHERE vec_hi > vec_lo ORDER BY vec_lo").fetchall()
            live = sum(hi - lo for _, lo, hi in ranges)
            dead = committed - live
            if dead <= 0 or (not force and (dead < COMPACT_MIN_DEAD or dead < COMPACT_DEAD_SHARE * committed)):
                return 0
            old = vf.view(committed)
            kept = np.concatenate([old[lo:hi] for _, lo, hi in ranges]) if ranges else np.zeros((0, vf.dim),
                                                                                                np.float32)
            new = vf.rewrite(kept)
            at = 0
            for fid, lo, hi in ranges:
                for table in ("units", "segments"):
                    db.execute(f"UPDATE {table} SET vec = vec - ? WHERE file_id = ? AND vec IS NOT NULL", (lo - at, fid))
                db.execute("UPDATE files SET vec_lo = ?, vec_hi = ? WHERE id = ?", (at, at + hi - lo, fid))
                at += hi - lo
            db.execute("INSERT OR REPLACE INTO state VALUES ('vec_file', ?)", (str(new.generation),))
            db.execute("INSERT OR REPLACE INTO state VALUES ('vec_rows', ?)", (str(at),))
            del old
        self.sweep_vector_files()
        return dead

    def sweep_vector_files(self) -> None:
        """Remove vector files of generations other than the current one (after a compaction)."""
        with self.reading() as db:
            vf, _ = self.vector_file(db)
        for p in (self.root / "vectors").glob("vectors-*.f32"):
            if p != vf.path:
                with contextlib.suppress(OSError):
                    p.unlink()

    # -- reading --------------------------------------------------------------------------------
    def files(self, within: str | None = None) -> list[FileRecord]:
        """Indexed files (those whose path matches the glob ``within``), by path."""
        with self.reading() as db:
            rows = db.execute("SELECT id, key, path, size, duration, options, timeline, indexed_at, meta FROM files "
                              "ORDER BY path").fetchall()
            paths: dict[int, list[str]] = {}
            for p, fid in db.execute("SELECT path, file_id FROM paths ORDER BY path"):
                paths.setdefault(fid, []).append(p)
        out = []
        for row in rows:
            rec = _record(row)
            rec.paths = paths.get(rec.id, [])
            if within is None or matches(within, rec.path):
                out.append(rec)
        return out

    def failures(self) -> list[dict[str, Any]]:
        return [{"path": p, "reason": r, "attempts": a, "failed_at": t}
                for p, r, a, t in self.db.execute("SELECT path, reason, attempts, failed_at FROM failures "
                                                  "ORDER BY path")]

    def ads_result(self, file_id: int) -> list[dict[str, Any]]:
        row = self.db.execute("SELECT value FROM results WHERE file_id = ? AND job = 'ads'", (file_id,)).fetchone()
        return json.loads(row[0]) if row else []

    def stats(self) -> dict[str, Any]:
        db = self.db
        with self.reading():
            vf, committed = self.vector_file(db)
            n_files, seconds, live = db.execute("SELECT COUNT(*), COALESCE(SUM(duration), 0), "
                                                "COALESCE(SUM(vec_hi - vec_lo), 0) FROM files").fetchone()
            units = dict(db.execute("SELECT source, COUNT(*) FROM units GROUP BY source").fetchall())
            segs = dict(db.execute("SELECT kind, COUNT(*) FROM segments GROUP BY kind").fetchall())
            failures = db.execute("SELECT COUNT(*) FROM failures").fetchone()[0]
        sizes = {"database": sum(_size(self.root / f"{schema.DB_NAME}{s}") for s in ("", "-wal", "-shm")),
                 "vectors": sum(_size(p) for p in (self.root / "vectors").glob("*.f32")),
                 "timelines": sum(_size(p) for p in timelines_dir(self.root).rglob("*") if p.is_file())}
        total = sum(sizes.values())
        hours = seconds / 3600
        return {"library": str(self.root), "schema": schema.version(db), "files": n_files,
                "hours": round(hours, 3), "units": units, "segments": segs, "failures": failures,
                "vectors": {"rows": committed, "live": live, "dim": vf.dim},
                "bytes": {**sizes, "total": total},
                "bytes_per_hour": round(total / hours) if hours else None}

    def verify(self) -> list[str]:
        """What is inconsistent in the library (empty: nothing)."""
        problems: list[str] = []
        with self.snapshot() as (db, vecs):
            if (ok := db.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                problems.append(f"database: {ok}")
            committed = vecs.shape[0]
            for fid, path, lo, hi in db.execute("SELECT id, path, vec_lo, vec_hi FROM files"):
                if not 0 <= lo <= hi <= committed:
                    problems.append(f"{path}: vector rows {lo}..{hi} outside the {committed} committed")
                for table in ("units", "segments"):
                    bad = db.execute(f"SELECT COUNT(*) FROM {table} WHERE file_id = ? AND vec IS NOT NULL AND "
                                     "(vec < ? OR vec >= ?)", (fid, lo, hi)).fetchone()[0]
                    if bad:
                        problems.append(f"{path}: {bad} {table} point outside its vector rows")
            for what, sql in (
                ("units of no file", "SELECT COUNT(*) FROM units WHERE file_id NOT IN (SELECT id FROM files)"),
                ("search rows of no unit", "SELECT COUNT(*) FROM units_fts WHERE rowid NOT IN (SELECT id FROM units)"),
                ("units missing from the text index",
                 "SELECT COUNT(*) FROM units WHERE id NOT IN (SELECT rowid FROM units_fts)"),
                ("segments of no file", "SELECT COUNT(*) FROM segments WHERE file_id NOT IN (SELECT id FROM files)"),
                ("segment links to nothing", "SELECT COUNT(*) FROM segment_units WHERE segment_id NOT IN "
                 "(SELECT id FROM segments) OR unit_id NOT IN (SELECT id FROM units)"),
                ("paths of no file", "SELECT COUNT(*) FROM paths WHERE file_id NOT IN (SELECT id FROM files)"),
                ("files with no path", "SELECT COUNT(*) FROM files WHERE id NOT IN (SELECT file_id FROM paths)"),
                ("files without results", "SELECT COUNT(*) FROM files WHERE id NOT IN (SELECT file_id FROM results)"),
            ):
                n = db.execute(sql).fetchone()[0]
                if n:
                    problems.append(f"{n} {what}")
            keys = db.execute("SELECT key, timeline FROM files").fetchall()
        for key, version in keys:
            entry = self.timelines.entry_path(key, f"timeline/{version}", {}, "json")
            assert entry is not None
            folder = entry.parent
            if not (folder.is_dir() and any(folder.glob("*.json")) and any(folder.glob("*.npz"))):
                problems.append(f"{key}: its timeline is missing from {timelines_dir(self.root)}")
        return problems


# -- helpers ----------------------------------------------------------------------------------
def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _record(row: tuple) -> FileRecord:
    fid, key, path, size, duration, options, tlv, at, meta = row
    return FileRecord(fid, key, path, size, duration, options, tlv, at, json.loads(meta))


def _unique_rows(vectors: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Distinct rows of ``vectors`` ``(N, D)`` and, per row, the index of its distinct row (-1: no vectors).

    A speech window carries its sentence's vector: the library stores it once.
    """
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        return np.zeros((0, 0), np.float32), [-1] * int(vectors.shape[0] if vectors.ndim else 0)
    seen: dict[bytes, int] = {}
    rows: list[int] = []
    for v in np.ascontiguousarray(vectors, np.float32):
        rows.append(seen.setdefault(v.tobytes(), len(seen)))
    unique = np.frombuffer(b"".join(seen), np.float32).reshape(len(seen), vectors.shape[1]) if seen else \
        np.zeros((0, vectors.shape[1]), np.float32)
    return unique, rows


def _insert_units(db: sqlite3.Connection, file_id: int, tl: Timeline, vec_rows: list[int | None]) -> list[int]:
    ids = []
    for u, vec in zip(tl.units, vec_rows):
        words = json.dumps([[w.start, w.end, w.text] for w in u.words]) if u.words else None
        cur = db.execute("INSERT INTO units (file_id, start, end, source, kind, text, words, frames, confidence, vec) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (file_id, u.start, u.end, u.source, u.kind, u.text, words, u.frames, u.confidence, vec))
        ids.append(int(cur.lastrowid))
    toks = [tokens(u.text) for u in tl.units]
    db.executemany("INSERT INTO units_fts (rowid, tokens, source, file_id) VALUES (?, ?, ?, ?)",
                   [(i, " ".join(t), u.source, file_id) for i, u, t in zip(ids, tl.units, toks)])
    db.executemany("INSERT OR IGNORE INTO terms VALUES (?)", [(t,) for t in {t for ts in toks for t in ts}])
    return ids


def _spot_vectors(tl: Timeline) -> list[np.ndarray | None]:
    """Each spot's vector, its text read as one (``vidq.tasks.query.spot_text``), in ``segment_pool``
    order; None for a spot with no text, and for all without a sentence encoder."""
    _, pool = segment_pool(tl, Intent("", "x", "ad"))
    rows = [spot_rows(tl, start, end) for start, end, _, _ in pool]
    index = tl.index()
    if index.encoder is None or not any(rows):
        return [None] * len(pool)
    vecs = iter(spot_vectors([spot_text(tl, r) for r in rows if r], index.encoder))
    return [next(vecs) if r else None for r in rows]


def _insert_segments(db: sqlite3.Connection, file_id: int, tl: Timeline, unit_ids: list[int],
                     spot_vecs: list[int | None]) -> None:
    """Breaks (as the break hits ``find "commercials"`` gives), their spots and the sponsor reads,
    each spot and read with the units that rank it (``vidq.tasks.query.spot_rows``) and each spot
    with the row of its own vector (``spot_vecs``, in ``segment_pool`` order)."""
    def insert(kind: str, parent: int | None, start: float, end: float, conf: float, text: str, reason: str,
               vec: int | None = None) -> int:
        cur = db.execute("INSERT INTO segments (file_id, kind, parent, start, end, confidence, text, reason, vec) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (file_id, kind, parent, start, end, conf, text, reason,
                                                               vec))
        return int(cur.lastrowid)

    def link(seg: int, start: float, end: float) -> None:
        db.executemany("INSERT INTO segment_units VALUES (?, ?)", [(seg, unit_ids[r]) for r in spot_rows(tl, start, end)])

    _, spots = segment_pool(tl, Intent("", "x", "ad"))
    items = iter(zip(spots, spot_vecs))
    for b in tl.segments.breaks:
        h = break_hit(b)
        parent = insert("break", None, h.start, h.end, h.score, h.text, h.reason)
        for s in b.spots:
            (start, end, text, why), vec = next(items)
            link(insert("spot", parent, start, end, s.confidence, text, why, vec), start, end)
    _, reads = segment_pool(tl, Intent("", "x", "sponsor"))
    for (start, end, text, why), a in zip(reads, tl.segments.sponsors):
        link(insert("sponsor", None, start, end, a.confidence, text, why), start, end)


def _delete_file(db: sqlite3.Connection, file_id: int, *, keep_paths: bool) -> None:
    db.execute("DELETE FROM units_fts WHERE rowid IN (SELECT id FROM units WHERE file_id = ?)", (file_id,))
    db.execute("DELETE FROM segment_units WHERE segment_id IN (SELECT id FROM segments WHERE file_id = ?)", (file_id,))
    for table in ("units", "segments", "results"):
        db.execute(f"DELETE FROM {table} WHERE file_id = ?", (file_id,))
    if not keep_paths:
        db.execute("DELETE FROM paths WHERE file_id = ?", (file_id,))
    db.execute("DELETE FROM files WHERE id = ?", (file_id,))


def _ads_result(tl: Timeline) -> list[dict[str, Any]]:
    """The ads job's segments as lite gives them (breaks and sponsor reads, in time order)."""
    segs = sorted(tl.segments.breaks + tl.segments.sponsors, key=lambda a: a.start)
    return [{"start": a.start, "end": a.end, "kind": a.kind, "confidence": a.confidence, "reason": a.reason}
            for a in segs]


def _file_meta(tl: Timeline) -> dict[str, Any]:
    return {"transcript": tl.transcript.source, "language": tl.transcript.language, "units": len(tl.units),
            "breaks": len(tl.segments.breaks), "sponsors": len(tl.segments.sponsors),
            "embeddings": tl.meta.get("embeddings"), "spot_vectors": True}
