"""Content-addressed cache of intermediate results (probe, transcripts, features).

Entries are keyed by the *content* of the input file (a BLAKE2b digest, memoised per
path/size/mtime/inode so a file is hashed once per version) plus a stage name and the
stage's parameters.  Every write goes to a temporary file in the same directory and is
renamed into place, so a run killed mid-way never leaves a partial entry; an entry that
fails to parse is treated as a miss and removed.

This module knows nothing about tasks or the CLI: callers pass plain JSON-able data or
NumPy arrays.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HASH_CHUNK = 4 * 1024 * 1024  # bytes read per update while hashing a file
LAYOUT_VERSION = 1  # bump when the on-disk layout changes; old trees are ignored


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/vidq``, or ``~/.cache/vidq``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vidq"


def params_digest(params: Mapping[str, Any]) -> str:
    """A short stable digest of stage parameters (canonical JSON, sorted keys)."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (temp file + fsync + rename)."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


@dataclass
class StoreInfo:
    """What ``vidq cache info`` reports."""

    root: str  # cache directory
    enabled: bool  # False under --no-cache
    files: int = 0  # number of cached entries
    bytes: int = 0  # their total size on disk
    stages: dict[str, int] = field(default_factory=dict)  # entries per stage name


class Store:
    """A cache rooted at ``root``; ``Store(None)`` is a disabled cache that stores nothing."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root is not None else None

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
        memo = self._memo_path(memo_id)
        if memo is not None:
            with contextlib.suppress(OSError, ValueError):
                value = memo.read_text().strip()
                if len(value) == 40 and all(c in "0123456789abcdef" for c in value):
                    return value
        digest = hashlib.blake2b(digest_size=20)
        digest.update(str(st.st_size).encode())
        with open(p, "rb") as fh:
            while chunk := fh.read(HASH_CHUNK):
                digest.update(chunk)
        key = digest.hexdigest()
        if memo is not None:
            with contextlib.suppress(OSError):
                atomic_write_bytes(memo, key.encode())
        return key

    def _memo_path(self, memo_id: str) -> Path | None:
        return None if self.root is None else self._base() / "index" / memo_id[:2] / memo_id

    def _base(self) -> Path:
        assert self.root is not None
        return self.root / f"v{LAYOUT_VERSION}"

    def entry_path(self, file_key: str, stage: str, params: Mapping[str, Any], ext: str) -> Path | None:
        """Where an entry lives (``None`` when the cache is disabled)."""
        if self.root is None:
            return None
        safe_stage = stage.replace("/", "@")
        return self._base() / "objects" / file_key[:2] / file_key / safe_stage / f"{params_digest(params)}.{ext}"

    # -- JSON entries ---------------------------------------------------------------------
    def get_json(self, file_key: str, stage: str, params: Mapping[str, Any]) -> Any | None:
        path = self.entry_path(file_key, stage, params, "json")
        if path is None or not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))["value"]
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def put_json(self, file_key: str, stage: str, params: Mapping[str, Any], value: Any) -> None:
        path = self.entry_path(file_key, stage, params, "json")
        if path is None:
            return
        blob = json.dumps({"stage": stage, "params": params, "value": value}, default=str)
        atomic_write_bytes(path, blob.encode("utf-8"))

    # -- array entries --------------------------------------------------------------------
    def get_arrays(self, file_key: str, stage: str, params: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
        path = self.entry_path(file_key, stage, params, "npz")
        if path is None or not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, KeyError, EOFError):
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def put_arrays(self, file_key: str, stage: str, params: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        path = self.entry_path(file_key, stage, params, "npz")
        if path is None:
            return
        buf = io.BytesIO()
        np.savez(buf, **dict(arrays))
        atomic_write_bytes(path, buf.getvalue())

    # -- maintenance ----------------------------------------------------------------------
    def info(self) -> StoreInfo:
        info = StoreInfo(root=str(self.root) if self.root else "", enabled=self.enabled)
        if self.root is None:
            return info
        objects = self._base() / "objects"
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
