"""Content-addressed cache of intermediate results (probe, transcripts, features).

Entries are keyed by the *content* of the input file (a BLAKE2b digest, memoised per
path/size/mtime/inode so a file is hashed once per version) plus a stage name and the
stage's parameters.  The rules every entry follows, carried by :meth:`Store.memo`:

- **atomic**: written to a temporary file beside it and renamed into place, so a run
  killed mid-way never leaves a partial entry (:mod:`vidq.store.atomic`);
- **self-healing**: an entry that cannot be read back (truncated, zero bytes, not JSON,
  not a zip, a bad checksum or CRC, another layout version, another stage or parameters
  than its path says, or a value the caller cannot decode) is a miss: it is removed and
  computed again, and never changes how a run ends;
- **best effort**: a write that fails (disk full, read-only or foreign cache directory)
  is one warning on stderr; the result is still returned;
- **locked per key**: while one process computes an entry, others asking for the same key
  wait for it and reuse it (:mod:`vidq.store.lock`); a killed holder frees the lock;
- **swept**: temporary files and lock files left by killed processes are removed once
  they are ``STALE_SECONDS`` old, at most once a day per cache, by the first process
  that writes to it (``vidq cache verify --repair`` does it on demand);
- **read-through**: ``Store(root, read_also=[other_root])`` also looks up entries a miss
  finds in other trees of the same layout (read only: never written, healed or swept
  there), e.g. the timelines a library keeps after the cache was cleared.

This module knows nothing about tasks or the CLI: callers pass plain JSON-able data or
NumPy arrays.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from vidq.store import lock
from vidq.store.atomic import TEMP_SUFFIX, atomic_path, atomic_write_bytes

__all__ = [
    "LAYOUT_VERSION", "DamagedEntry", "Store", "StoreInfo", "atomic_path", "atomic_write_bytes",
    "default_cache_dir", "params_digest",
]

log = logging.getLogger("vidq.store")

HASH_CHUNK = 4 * 1024 * 1024  # bytes read per update while hashing a file
LAYOUT_VERSION = 2  # bump when the on-disk layout changes; other trees are never read (2: entries carry a header)
HEADER = "__vidq__"  # name of the header member inside an .npz entry
STALE_SECONDS = 6 * 3600  # a temporary or unheld lock file this old belongs to a killed process
SWEEP_EVERY_SECONDS = 24 * 3600  # how often (at most) a writing process sweeps the whole cache
LOCK_TIMEOUT_SECONDS = 30 * 60  # longest wait for another process computing the same entry
SWEEP_STAMP = ".last-sweep"  # file under the layout tree whose mtime says when it was last swept

# What reading a damaged entry can raise: I/O, JSON and zip errors, a bad CRC or deflate
# stream, numpy's header parser on garbage, and an absurd declared array size.
DAMAGE_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, SyntaxError,
                 zipfile.BadZipFile, zlib.error, MemoryError)

Kind = Literal["json", "arrays"]
EXTENSIONS: dict[str, str] = {"json": "json", "arrays": "npz"}  # entry kind -> file extension
T = TypeVar("T")
_MISS = object()  # "no usable entry" (a cached value may itself be None)
_write_warned: set[tuple[str, int]] = set()  # (cache root, errno) already warned about in this process
_swept: set[str] = set()  # cache roots this process has considered sweeping


class DamagedEntry(ValueError):
    """An entry that exists but cannot be used; ``str()`` says why."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vidq``, or ``~/.cache/vidq``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vidq"


def params_digest(params: Mapping[str, Any]) -> str:
    """A short stable digest of stage parameters (canonical JSON, sorted keys)."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


# -- the on-disk form of an entry --------------------------------------------------------
# A JSON entry is one header line, then the value as JSON:
#     {"layout": 2, "stage": "transcript/2", "params": {...}, "sha256": "<of the value bytes>"}\n
#     <value>
# so a flipped byte that still parses as JSON is caught by the checksum.  An .npz entry
# carries the same header (with the parameters' digest and the array names) as a string
# member; zip CRCs cover the members, the names list catches a member lost from the index.
def encode_json(stage: str, params: Mapping[str, Any], value: Any) -> bytes:
    body = json.dumps(value, default=str).encode("utf-8")
    header = {"layout": LAYOUT_VERSION, "stage": stage, "params": params,
              "sha256": hashlib.sha256(body).hexdigest()}
    return json.dumps(header, default=str).encode("utf-8") + b"\n" + body


def encode_arrays(stage: str, params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    if HEADER in arrays:
        raise ValueError(f"{HEADER!r} is reserved in cached arrays")
    header = json.dumps({"layout": LAYOUT_VERSION, "stage": stage, "params": params_digest(params),
                         "arrays": sorted(arrays)})
    buf = io.BytesIO()
    np.savez(buf, **{HEADER: np.array(header)}, **dict(arrays))
    return buf.getvalue()


def _check_header(header: Any, want_stage: str, want_digest: str) -> dict[str, Any]:
    if not isinstance(header, dict):
        raise DamagedEntry("not a vidq cache entry")
    if header.get("layout") != LAYOUT_VERSION:
        raise DamagedEntry(f"layout version {header.get('layout')!r}, expected {LAYOUT_VERSION}")
    if header.get("stage") != want_stage:
        raise DamagedEntry(f"holds stage {header.get('stage')!r}, expected {want_stage!r}")
    params = header.get("params")
    if (params_digest(params) if isinstance(params, dict) else params) != want_digest:
        raise DamagedEntry("its parameters do not match its name")
    return header


def decode_json(blob: bytes, stage: str, digest: str) -> Any:
    """The value of a JSON entry; raises one of ``DAMAGE_ERRORS`` when it is not usable."""
    if not blob:
        raise DamagedEntry("empty file")
    first, sep, body = blob.partition(b"\n")
    if not sep:
        raise DamagedEntry("no header line")
    header = _check_header(json.loads(first.decode("utf-8")), stage, digest)
    if header.get("sha256") != hashlib.sha256(body).hexdigest():
        raise DamagedEntry("checksum mismatch (truncated or altered)")
    return json.loads(body.decode("utf-8"))


def decode_arrays(path: Path, stage: str, digest: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz entry (every member read, so CRCs are checked)."""
    if path.stat().st_size == 0:
        raise DamagedEntry("empty file")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    if HEADER not in arrays:
        raise DamagedEntry("no header")
    header = _check_header(json.loads(str(arrays.pop(HEADER))), stage, digest)
    if header.get("arrays") != sorted(arrays):
        raise DamagedEntry(f"holds arrays {sorted(arrays)}, its header lists {header.get('arrays')}")
    return arrays


def read_entry(path: Path, kind: Kind, stage: str, digest: str) -> Any:
    """Read and check one entry file; raises one of ``DAMAGE_ERRORS`` when it is not usable."""
    if kind == "json":
        return decode_json(path.read_bytes(), stage, digest)
    return decode_arrays(path, stage, digest)


@dataclass
class StoreInfo:
    """What ``vidq cache info`` reports."""

    root: str  # cache directory
    enabled: bool  # False under --no-cache
    files: int = 0  # number of cached entries
    bytes: int = 0  # their total size on disk
    stages: dict[str, int] = field(default_factory=dict)  # entries per stage name


class Store:
    """A cache rooted at ``root``; ``Store(None)`` is a disabled cache that stores nothing.

    ``lock_timeout``: how long (seconds) to wait for another process computing the same
    entry before computing it here too.  ``read_also``: roots of other stores whose
    entries a lookup that misses here may return (read only).
    """

    def __init__(self, root: str | os.PathLike | None, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS,
                 read_also: Sequence[str | os.PathLike] = ()):
        self.root = Path(root) if root is not None else None
        self.lock_timeout = lock_timeout
        self.read_also = tuple(Store(r) for r in read_also) if root is not None else ()

    @property
    def enabled(self) -> bool:
        return self.root is not None

    # -- keys ---------------------------------------------------------------------------
    def file_key(self, path: str | os.PathLike) -> str:
        """Content digest of a file, memoised by (real path, size, mtime, inode)."""
        p = Path(path)
        st = p.stat()
        memo_id = params_digest(
            {"path": str(p.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns, "ino": st.st_ino}
        )
        known = self._memo_path(memo_id)
        if known is not None:
            try:
                value = known.read_text(encoding="ascii").strip()
                if is_file_key(value):
                    return value
            except (OSError, ValueError):
                pass
        digest = hashlib.blake2b(digest_size=20)
        digest.update(str(st.st_size).encode())
        with open(p, "rb") as fh:
            while chunk := fh.read(HASH_CHUNK):
                digest.update(chunk)
        key = digest.hexdigest()
        if known is not None:
            self._write(known, key.encode())
        return key

    def key_for(self, path: str | os.PathLike) -> str | None:
        """The file's content key when the cache is on, else None (``memo`` then just computes)."""
        return self.file_key(path) if self.enabled else None

    def _memo_path(self, memo_id: str) -> Path | None:
        return None if self.root is None else self.base / "index" / memo_id[:2] / memo_id

    @property
    def base(self) -> Path:
        """The tree of the current layout version: ``<root>/v<LAYOUT_VERSION>``."""
        assert self.root is not None
        return self.root / f"v{LAYOUT_VERSION}"

    def entry_path(self, file_key: str, stage: str, params: Mapping[str, Any], ext: str) -> Path | None:
        """Where an entry lives (``None`` when the cache is disabled)."""
        if self.root is None:
            return None
        safe_stage = stage.replace("/", "@")
        return self.base / "objects" / file_key[:2] / file_key / safe_stage / f"{params_digest(params)}.{ext}"

    def lock_path(self, file_key: str, stage: str, params: Mapping[str, Any]) -> Path | None:
        """The lock file of a key (one per key, whatever the entry's kind)."""
        entry = self.entry_path(file_key, stage, params, "lock")
        return None if entry is None else entry.with_name(f".{entry.name}")

    # -- reading --------------------------------------------------------------------------
    def _read(self, file_key: str, stage: str, params: Mapping[str, Any], kind: Kind) -> Any:
        """The stored data of a key, or ``_MISS``; a damaged entry is removed."""
        path = self.entry_path(file_key, stage, params, EXTENSIONS[kind])
        if path is None:
            return _MISS
        try:
            return read_entry(path, kind, stage, params_digest(params))
        except FileNotFoundError:
            pass
        except DAMAGE_ERRORS as e:
            self.discard(path, e)
        for other in self.read_also:
            found = other.peek(file_key, stage, params, kind)
            if found is not _MISS:
                return found
        return _MISS

    def peek(self, file_key: str, stage: str, params: Mapping[str, Any], kind: Kind) -> Any:
        """The stored data of a key, or ``_MISS``; nothing is removed (a read-only lookup)."""
        path = self.entry_path(file_key, stage, params, EXTENSIONS[kind])
        if path is None:
            return _MISS
        try:
            return read_entry(path, kind, stage, params_digest(params))
        except DAMAGE_ERRORS:  # FileNotFoundError included
            return _MISS

    def discard(self, path: Path, why: BaseException | str) -> None:
        """Remove a damaged entry so the next run recomputes it."""
        log.debug("cache entry %s is damaged (%s): removed, computing it again", path, why)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as e:
            log.debug("cannot remove %s: %s", path, e.strerror or e)

    def get_json(self, file_key: str, stage: str, params: Mapping[str, Any]) -> Any | None:
        """The cached JSON value, or None (missing or damaged)."""
        found = self._read(file_key, stage, params, "json")
        return None if found is _MISS else found

    def get_arrays(self, file_key: str, stage: str, params: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
        """The cached arrays, or None (missing or damaged)."""
        found = self._read(file_key, stage, params, "arrays")
        return None if found is _MISS else found

    def _recall(self, file_key: str, stage: str, params: Mapping[str, Any], kind: Kind,
                load: Callable[[Any], T] | None) -> Any:
        found = self._read(file_key, stage, params, kind)
        if found is _MISS or load is None:
            return found
        try:
            return load(found)
        except DAMAGE_ERRORS as e:  # readable, but not what the caller stored under this stage
            path = self.entry_path(file_key, stage, params, EXTENSIONS[kind])
            assert path is not None
            self.discard(path, f"{type(e).__name__}: {e}")
            return _MISS

    def recall(self, file_key: str | None, stage: str, params: Mapping[str, Any], *, kind: Kind = "json",
               load: Callable[[Any], T] | None = None) -> T | None:
        """The cached value decoded by ``load``, or None: a lookup with ``memo``'s healing, no compute."""
        if file_key is None or self.root is None:
            return None
        found = self._recall(file_key, stage, params, kind, load)
        return None if found is _MISS else found

    # -- writing --------------------------------------------------------------------------
    def _write(self, path: Path, data: bytes) -> bool:
        """Write one file of the cache atomically; a failure is one warning, never an error."""
        try:
            atomic_write_bytes(path, data)
        except OSError as e:
            root = str(self.root)
            if (root, e.errno or 0) not in _write_warned:
                _write_warned.add((root, e.errno or 0))
                log.warning("cannot write to the cache %s (%s); results are not cached", root, e.strerror or e)
            return False
        self._maybe_sweep()
        return True

    def put_json(self, file_key: str, stage: str, params: Mapping[str, Any], value: Any) -> bool:
        """Store a JSON-able value; False when it could not be written (warned once)."""
        path = self.entry_path(file_key, stage, params, "json")
        return path is not None and self._write(path, encode_json(stage, params, value))

    def put_arrays(self, file_key: str, stage: str, params: Mapping[str, Any],
                   arrays: Mapping[str, np.ndarray]) -> bool:
        """Store named arrays; False when they could not be written (warned once)."""
        path = self.entry_path(file_key, stage, params, "npz")
        return path is not None and self._write(path, encode_arrays(stage, params, arrays))

    # -- the one way callers should use the cache ------------------------------------------
    @contextlib.contextmanager
    def locked(self, file_key: str | None, stage: str, params: Mapping[str, Any]) -> Iterator[bool]:
        """Hold the key's lock for the block (what :meth:`memo` takes around a compute), for
        callers that store one result as several entries; yields whether it is held.  With
        the cache off this holds nothing."""
        path = self.lock_path(file_key, stage, params) if file_key is not None and self.root is not None else None
        if path is None:
            yield False
            return
        with lock.key_lock(path, self.lock_timeout, what=stage) as held:
            yield held

    def memo(self, file_key: str | None, stage: str, params: Mapping[str, Any], compute: Callable[[], T], *,
             kind: Kind = "json", dump: Callable[[T], Any] | None = None,
             load: Callable[[Any], T] | None = None) -> T:
        """The value of ``compute()`` for this key, from the cache when it holds it.

        ``kind="json"`` stores ``dump(value)`` as JSON; ``kind="arrays"`` stores it as a
        mapping of NumPy arrays (.npz).  ``load`` turns the stored form back into a value
        (identity when None); if it raises, the entry counts as damaged.  With
        ``file_key=None`` (cache off) this is ``compute()``.

        A miss takes the key's lock first, so concurrent processes compute the entry once:
        the others wait (up to ``lock_timeout``) and read it.  A damaged entry is removed
        and recomputed; a failed write is a warning.  Neither changes the result.
        """
        if file_key is None or self.root is None:
            return compute()
        found = self._recall(file_key, stage, params, kind, load)
        if found is not _MISS:
            return found
        lock_file = self.lock_path(file_key, stage, params)
        assert lock_file is not None
        with lock.key_lock(lock_file, self.lock_timeout, what=stage):
            found = self._recall(file_key, stage, params, kind, load)
            if found is not _MISS:
                log.debug("reusing %s computed by another process", stage)
                return found
            log.debug("computing %s for %s", stage, file_key[:12])
            value = compute()
            stored = dump(value) if dump is not None else value
            if kind == "json":
                self.put_json(file_key, stage, params, stored)
            else:
                self.put_arrays(file_key, stage, params, stored)
        return value

    # -- maintenance ----------------------------------------------------------------------
    def _maybe_sweep(self) -> None:
        """Sweep leftovers of killed processes, at most once a day per cache (stamped on disk)."""
        if self.root is None or str(self.root) in _swept:
            return
        _swept.add(str(self.root))
        stamp = self.base / SWEEP_STAMP
        try:
            if time.time() - stamp.stat().st_mtime < SWEEP_EVERY_SECONDS:
                return
        except FileNotFoundError:
            pass
        except OSError:
            return
        try:
            stamp.touch()
        except OSError:
            return
        removed = self.sweep()
        if removed:
            log.debug("swept %d leftover temporary or lock files from %s", removed, self.base)

    def sweep(self, older_than: float = STALE_SECONDS) -> int:
        """Remove temporary files and unheld lock files older than ``older_than`` seconds."""
        removed = 0
        now = time.time()
        for path in self.leftovers():
            try:
                if now - path.stat().st_mtime < older_than:
                    continue
                if path.name.endswith(lock.LOCK_SUFFIX):
                    removed += lock.remove_orphan(path)
                else:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def leftovers(self) -> Iterator[Path]:
        """Temporary and lock files under the current layout tree (any age, held or not)."""
        if self.root is None or not self.base.is_dir():
            return
        for path in self.base.rglob(".*"):
            if path.name.endswith((TEMP_SUFFIX, lock.LOCK_SUFFIX)) and path.is_file():
                yield path

    def info(self) -> StoreInfo:
        info = StoreInfo(root=str(self.root) if self.root else "", enabled=self.enabled)
        if self.root is None:
            return info
        objects = self.base / "objects"
        if not objects.exists():
            return info
        for path in objects.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                info.files += 1
                info.bytes += path.stat().st_size
                stage = path.parent.name.replace("@", "/")
                info.stages[stage] = info.stages.get(stage, 0) + 1
        return info

    def clear(self) -> StoreInfo:
        """Remove every entry; returns what was removed."""
        before = self.info()
        if self.root is not None and self.root.exists():
            for child in self.root.iterdir():
                if child.is_dir() and child.name.startswith("v") and child.name[1:].isdigit():
                    shutil.rmtree(child, ignore_errors=True)
        return before


def is_file_key(value: str) -> bool:
    """Whether ``value`` looks like a content key (40 lowercase hex digits)."""
    return len(value) == 40 and all(c in "0123456789abcdef" for c in value)
