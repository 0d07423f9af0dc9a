"""``verify(store, repair=...)``: read every cache entry back and report what is wrong.

What counts as a problem:

- ``unreadable``: an entry that ``Store.memo`` would reject (truncated, zero bytes, not
  JSON, a bad zip or CRC, another layout version, a header naming another stage or other
  parameters than its path), a file-key memo that is not a key, a file whose name is not
  an entry's;
- ``stale-temp``: a temporary file older than ``STALE_SECONDS`` (its writer was killed);
- ``orphaned-lock``: a lock file nobody holds, older than ``ORPHAN_LOCK_SECONDS``;
- ``old-layout``: a tree written by an older vidq (``v1`` ...), never read any more.

Fresh temporary files and held locks belong to running processes and are not problems.
With ``repair`` each problem is removed (a lock only while nobody holds it).  Entries of
kinds this module cannot read (spliced videos of ``vidq eval niah --into-file``) are
counted as unchecked.  Knows nothing about the CLI.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidq.store import (
    DAMAGE_ERRORS,
    EXTENSIONS,
    LAYOUT_VERSION,
    STALE_SECONDS,
    SWEEP_STAMP,
    Store,
    is_file_key,
    lock,
    read_entry,
)
from vidq.store.atomic import TEMP_SUFFIX

ORPHAN_LOCK_SECONDS = 60.0  # an unheld lock file younger than this may be one being created
DIGEST = re.compile(r"^[0-9a-f]{20}$")  # an entry's file name stem: its parameters digest
LAYOUT_DIR = re.compile(r"^v(\d+)$")  # a layout tree under the cache root
KINDS = {ext: kind for kind, ext in EXTENSIONS.items()}  # file extension -> entry kind


@dataclass
class Problem:
    """One thing wrong in the cache."""

    kind: str  # unreadable | stale-temp | orphaned-lock | old-layout
    path: str  # relative to the cache root
    reason: str  # one line
    bytes: int = 0  # size on disk (a whole tree for old-layout)
    repaired: bool = False  # removed by --repair


@dataclass
class VerifyReport:
    """What ``vidq cache verify`` prints."""

    root: str  # the cache directory
    checked: int = 0  # entries read back
    unchecked: int = 0  # entries of kinds verify cannot read
    in_use: int = 0  # temporary and lock files of running processes
    problems: list[Problem] = field(default_factory=list)
    repair: bool = False  # --repair was given

    @property
    def unrepaired(self) -> list[Problem]:
        return [p for p in self.problems if not p.repaired]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unrepaired"] = len(self.unrepaired)
        return d


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _check_entry(path: Path) -> str | None:
    """Why an entry file is unusable, or None when it is fine (or not checkable: "")."""
    stage = path.parent.name.replace("@", "/")
    kind = KINDS.get(path.suffix.lstrip("."))
    if not DIGEST.match(path.stem):
        return "not a cache entry name"
    if kind is None:
        return "empty file" if path.stat().st_size == 0 else ""
    try:
        read_entry(path, kind, stage, path.stem)  # type: ignore[arg-type]
    except DAMAGE_ERRORS as e:
        return f"{type(e).__name__}: {e}"
    return None


def _check_index(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="ascii").strip()
    except (OSError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    return None if is_file_key(value) else "not a file key"


def _repair(problem: Problem, path: Path) -> None:
    try:
        if problem.kind == "old-layout":
            shutil.rmtree(path)
            problem.repaired = True
        elif problem.kind == "orphaned-lock":
            problem.repaired = lock.remove_orphan(path) or not path.exists()
            if not problem.repaired:
                problem.reason += " (taken again meanwhile: left alone)"
        else:
            path.unlink()
            problem.repaired = True
    except FileNotFoundError:
        problem.repaired = True
    except OSError as e:
        problem.reason += f" (cannot remove: {e.strerror or e})"


def verify(store: Store, *, repair: bool = False) -> VerifyReport:
    """Check every file of the cache; with ``repair`` remove each problem found."""
    assert store.root is not None, "verify needs a cache directory"
    root = store.root
    report = VerifyReport(root=str(root), repair=repair)
    if not root.is_dir():
        return report
    now = time.time()
    found: list[tuple[Problem, Path]] = []

    def problem(kind: str, path: Path, reason: str) -> None:
        try:
            size = _size(path)
        except OSError:
            size = 0
        found.append((Problem(kind, str(path.relative_to(root)), reason, size), path))

    for tree in sorted(root.iterdir()):
        m = LAYOUT_DIR.match(tree.name)
        if m and tree.is_dir() and int(m.group(1)) < LAYOUT_VERSION:
            problem("old-layout", tree, f"layout version {m.group(1)} (this vidq reads {LAYOUT_VERSION})")
    if store.base.is_dir():
        for path in sorted(store.base.rglob("*")):
            if not path.is_file() or path.name == SWEEP_STAMP:
                continue
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:  # a running process renamed or removed it meanwhile
                continue
            rel = path.relative_to(store.base).parts
            if path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX):
                if age >= STALE_SECONDS:
                    problem("stale-temp", path, f"temporary file {age / 3600:.1f} h old")
                else:
                    report.in_use += 1
            elif path.name.startswith(".") and path.name.endswith(lock.LOCK_SUFFIX):
                if lock.is_held(path) or age < ORPHAN_LOCK_SECONDS:
                    report.in_use += 1
                else:
                    problem("orphaned-lock", path, "lock file nobody holds")
            elif rel[0] == "index":
                reason = _check_index(path)
                report.checked += 1
                if reason is not None:
                    problem("unreadable", path, reason)
            else:
                reason = _check_entry(path) if rel[0] == "objects" and len(rel) == 5 else "not a cache entry"
                if reason == "":
                    report.unchecked += 1
                    continue
                report.checked += 1
                if reason is not None:
                    problem("unreadable", path, reason)
    for p, path in found:
        if repair:
            _repair(p, path)
        report.problems.append(p)
    return report
