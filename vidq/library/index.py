"""``vidq index``: bring the library up to date with some files and folders, once or watching.

    indexer = Indexer(Library(root), IndexOptions(settle=60), runner=make_runner(jobs=2), cache_dir=cache)
    summary = indexer.run(["/recordings"])      # one pass; summary.to_dict() is the JSON summary

One pass:

1. **discover**: the files given, the files under the folders given (recursively; hidden
   files and folders skipped; a folder's file is taken when its name matches an
   ``include`` pattern, by default a video extension, and no ``exclude`` pattern), and
   the matches of glob patterns (``**`` included);
2. **settle**: a file whose content or metadata changed less than ``settle`` seconds ago
   (mtime or ctime: a recording in progress, a copy not finished, a ``cp -p`` that just set
   the times) is skipped and taken by a later pass;
3. **identify**: a path seen before with the same size, mtime and inode has the content key
   it had; any other is hashed (the cache's content digest).  Content already indexed with
   these analysis options and this timeline version is *unchanged* (or *moved*, when it
   was last seen at another path); the rest is analysed;
4. **analyse** through the runner (this process, ``-j N`` worker processes, or Ray tasks),
   each file under the library's per-file lock: a file another run is indexing is skipped
   (that run indexes it), so two runs at once analyse each file once;
5. **write**: the driver adds each timeline to the library (one transaction per file),
   then ``on_indexed`` (the CLI writes the EDL there); a failure is recorded with its reason
   and retried by the next pass.

Knows nothing about the CLI.
"""

from __future__ import annotations

import glob
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidq.analysis import AnalysisOptions
from vidq.analysis.timeline import timeline_from_json
from vidq.errors import InputError, VidqError
from vidq.library.library import FileRecord, FileStat, Library
from vidq.library.runners import LocalRunner, Task
from vidq.store import Store, params_digest

log = logging.getLogger("vidq.library")

SCHEMA = "vidq.index/1"  # JSON schema name of an index summary
DEFAULT_SETTLE = 60.0  # seconds a file must stay unchanged before it is indexed
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".webm", ".mov", ".avi", ".ts", ".m2ts", ".mts", ".mpg", ".mpeg",
                    ".wmv", ".flv", ".3gp", ".ogv", ".vob", ".mxf", ".wtv", ".divx")
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class IndexOptions:
    """What one index run does besides analysing."""

    include: tuple[str, ...] = ()  # name patterns a folder's file must match ((): VIDEO_EXTENSIONS)
    exclude: tuple[str, ...] = ()  # name or path patterns never taken
    settle: float = DEFAULT_SETTLE  # seconds a file must be unchanged
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)  # what decides each timeline

    def validate(self) -> IndexOptions:
        if not self.settle >= 0:
            raise InputError(f"--settle must be a number of seconds >= 0, not {self.settle}")
        if self.analysis.start is not None or self.analysis.end is not None:
            raise InputError("the library indexes whole files; --start/--end do not apply")
        return self

    @property
    def digest(self) -> str:
        """The analysis options a file was indexed with, as the library records them."""
        return params_digest({k: v for k, v in self.analysis.key((0.0, 0.0)).items() if k != "span"})


@dataclass
class Summary:
    """What a run did (``to_dict()``: the JSON summary)."""

    library: str
    indexed: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    interrupted: bool = False

    def merge(self, other: Summary) -> None:
        """Add a later pass (watch mode): its lists, its unchanged count, not its skips (the
        latest pass's skips are what is still pending)."""
        self.indexed += other.indexed
        self.moved += other.moved
        self.failed += other.failed
        self.unchanged = other.unchanged
        self.skipped = other.skipped

    @property
    def settling_until(self) -> float | None:
        """When the earliest settling file may be taken (time.time() seconds), None if none."""
        due = [s["due"] for s in self.skipped if "due" in s]
        return min(due) if due else None

    def to_dict(self) -> dict[str, Any]:
        video = sum(i["duration"] for i in self.indexed)
        return {"schema": SCHEMA, "library": self.library,
                "counts": {"indexed": len(self.indexed), "moved": len(self.moved), "unchanged": self.unchanged,
                           "skipped": len(self.skipped), "failed": len(self.failed)},
                "indexed": self.indexed, "moved": self.moved,
                "skipped": [{k: v for k, v in s.items() if k != "due"} for s in self.skipped],
                "failed": self.failed, "seconds": round(time.perf_counter() - self.started, 3),
                "video_seconds": round(video, 3), "interrupted": self.interrupted}


def discover(paths: Sequence[str | os.PathLike], include: Sequence[str] = (),
             exclude: Sequence[str] = ()) -> list[str]:
    """Absolute paths of the files ``paths`` name (see the module docstring), sorted, each once.

    Raises ``InputError`` for a path that names nothing (and matches nothing as a glob).
    """
    found: dict[str, None] = {}
    for given in paths:
        text = os.fspath(given)
        if os.path.exists(text):
            targets = [text]
        elif GLOB_CHARS & set(text):
            targets = sorted(glob.glob(os.path.expanduser(text), recursive=True))
        else:
            raise InputError(f"{text}: no such file or folder")
        for target in targets:
            if os.path.isdir(target):
                for p in _walk(target):
                    if _wanted(p, target, include, exclude):
                        found[p] = None
            elif os.path.isfile(target) and not _excluded(os.path.abspath(target), exclude):
                found[os.path.abspath(target)] = None
    return sorted(found)


def _walk(folder: str) -> Iterator[str]:
    for root, dirs, files in os.walk(os.path.abspath(folder)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)


def _excluded(path: str, exclude: Sequence[str]) -> bool:
    from vidq.library.library import matches

    return any(matches(p, path) for p in exclude)


def _wanted(path: str, folder: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    from vidq.library.library import matches

    if _excluded(path, exclude):
        return False
    if include:
        rel = os.path.relpath(path, os.path.abspath(folder))
        return any(matches(p, path) or matches(p, rel) for p in include)
    return path.lower().endswith(VIDEO_EXTENSIONS)


OnIndexed = Callable[[str, FileRecord, bool], None]  # (path, record, fresh): fresh False for an unchanged file


class Indexer:
    """Index runs over one library; see the module docstring."""

    def __init__(self, lib: Library, options: IndexOptions, *, runner: Any = None, cache_dir: str | None = None,
                 on_indexed: OnIndexed | None = None, clock: Callable[[], float] = time.time):
        self.lib = lib
        self.options = options.validate()
        self.runner = runner or LocalRunner()
        self.cache_dir = cache_dir
        self.hasher = Store(cache_dir)  # the cache's content digests (memoised there)
        self.on_indexed = on_indexed
        self.clock = clock
        self.summary: Summary | None = None  # the pass in progress (read after an interruption)

    def run(self, paths: Sequence[str | os.PathLike]) -> Summary:
        """One pass over ``paths``."""
        summary = Summary(str(self.lib.root))
        self.summary = summary
        files = discover(paths, self.options.include, self.options.exclude)
        todo: list[tuple[str, str, FileStat]] = []
        for path in files:
            item = self._identify(path, summary)
            if item is not None:
                todo.append(item)
        if todo:
            log.info("%d of %d files to index", len(todo), len(files))
        total = len(todo)
        claimed: dict[str, Any] = {}

        def tasks() -> Iterator[Task]:
            for path, key, stat in todo:
                release = self.lib.claim(key)
                if release is None:
                    summary.skipped.append({"file": path, "reason": "being indexed by another vidq process"})
                    continue
                if self.lib.current(key, self.options.digest) is not None:  # another run finished it meanwhile
                    release()
                    self._seen(path, key, stat, summary)
                    continue
                claimed[path] = (release, key, stat)
                yield Task(path, self.options.analysis, self.cache_dir)

        try:
            for done, (task, result) in enumerate(self.runner.map(tasks()), 1):
                release, key, stat = claimed.pop(task.path)
                try:
                    self._write(task.path, key, stat, result, summary, f"[{done}/{total}]")
                finally:
                    release()
        finally:
            for release, _, _ in claimed.values():
                release()
        if summary.indexed:
            self.lib.compact()
        summary.seconds = time.perf_counter() - summary.started
        return summary

    # -- steps ----------------------------------------------------------------------------------
    def _settling(self, path: str, st: os.stat_result, summary: Summary) -> bool:
        changed = max(st.st_mtime, st.st_ctime)
        age = self.clock() - changed
        if age < self.options.settle:
            summary.skipped.append({"file": path, "reason": f"changed {max(0.0, age):.0f} s ago (settling for "
                                    f"{self.options.settle:g} s)", "due": changed + self.options.settle})
            return True
        return False

    def _identify(self, path: str, summary: Summary) -> tuple[str, str, FileStat] | None:
        """``(path, key, stat)`` when the file needs analysing; otherwise records what it is."""
        try:
            st = os.stat(path)
        except OSError as e:
            summary.skipped.append({"file": path, "reason": f"cannot stat ({e.strerror or e})"})
            return None
        if self._settling(path, st, summary):
            return None
        stat = FileStat.of(st)
        key = self.lib.known_key(path, stat)
        known = key is not None
        if key is None:
            try:
                key = self.hasher.file_key(path)
                after = os.stat(path)
            except OSError as e:
                self._failed(path, stat, f"cannot read ({e.strerror or e})", summary)
                return None
            if FileStat.of(after) != stat:
                summary.skipped.append({"file": path, "reason": "changed while being read",
                                        "due": self.clock() + self.options.settle})
                return None
        rec = self.lib.current(key, self.options.digest)
        if rec is not None:
            if known and rec.path == path:  # nothing to record: no write transaction for an unchanged file
                summary.unchanged += 1
                if self.on_indexed is not None:
                    self.on_indexed(path, rec, False)
            else:
                self._seen(path, key, stat, summary)
            return None
        return path, key, stat

    def _seen(self, path: str, key: str, stat: FileStat, summary: Summary) -> None:
        rec, before = self.lib.see(key, path, stat)
        if before is not None:
            summary.moved.append({"file": path, "from": before})
            log.info("%s: already indexed as %s", path, before)
        else:
            summary.unchanged += 1
        if self.on_indexed is not None:
            self.on_indexed(path, rec, False)

    def _write(self, path: str, key: str, stat: FileStat, result: dict[str, Any], summary: Summary,
               tag: str) -> None:
        if "error" in result:
            self._failed(path, stat, result["error"], summary)
            return
        try:
            now = FileStat.of(os.stat(path))
        except OSError as e:
            self._failed(path, stat, f"vanished while being analysed ({e.strerror or e})", summary)
            return
        if now != stat:
            summary.skipped.append({"file": path, "reason": "changed while being analysed",
                                    "due": self.clock() + self.options.settle})
            return
        doc = dict(result["doc"], file_key=key)
        try:
            tl = timeline_from_json(doc, result["arrays"])
            rec = self.lib.add(tl, doc, result["arrays"], result["params"], path=path, stat=stat,
                               options=self.options.digest)
        except (VidqError, ValueError, KeyError, sqlite3.Error) as e:  # recorded and retried, the run goes on
            self._failed(path, stat, f"cannot store its analysis ({e})", summary)
            return
        entry = {"file": path, "key": key, "duration": round(rec.duration, 3), "analysed": bool(result["analysed"]),
                 "seconds": round(float(result["seconds"]), 3), "breaks": rec.meta.get("breaks", 0)}
        summary.indexed.append(entry)
        log.info("%s indexed %s (%s of video, %s in %.1f s)", tag, path, _minutes(rec.duration),
                 "analysed" if result["analysed"] else "from the cache", result["seconds"])
        if self.on_indexed is not None:
            self.on_indexed(path, rec, True)

    def _failed(self, path: str, stat: FileStat | None, reason: str, summary: Summary) -> None:
        attempts = self.lib.fail(path, stat, reason)
        summary.failed.append({"file": path, "reason": reason, "attempts": attempts})
        log.warning("%s: %s (recorded; retried by the next run)", path, reason)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"

