"""The library's sentence vectors: one append-only file of float32 rows, searched exactly.

    vf = VectorFile(root / "vectors", dim=384)
    rows = vf.view(committed)                   # (committed, 384) float32, memory-mapped, read only
    lo, hi = vf.append(committed, array)        # a writer, inside its SQLite write transaction
    top = top_rows(rows @ q, k=200)             # exact cosine search (rows are unit length)

Why a memory-mapped array and an exact search (``benchmarks/library.py`` measures it): a
query in a fresh process has to pay for opening the store, and at 100 hours of recordings
(about 1.2e5 vectors of 384 floats, 180 MB) NumPy's matrix product over a memory-mapped
file answered in 0.22 s with the imports and 38 ms warm, against 0.39 s / 0.15 s for
sqlite-vec's exact ``vec0`` scan (which also needs an SQLite build that loads extensions:
the CPython of many distributions and pyenv has none) and 1.7-2.1 s for LanceDB (pyarrow's
import alone; 7 ms warm with an IVF-PQ index that took 3.5 min to build, 0.32 s flat).
Exact search also means no recall to tune.

Crash safety: the number of committed rows lives in the database (``state.vec_rows``), in
the same transaction as the units that point at them.  A writer appends its rows past that
count, syncs them, and only then commits; rows past the count are the leftovers of a
writer that died before its commit and the next writer cuts them off.  Readers map only
the committed prefix, so neither an append nor that cut ever touches what they read.
Compaction writes a new generation (``vectors-<n>.f32``) and switches to it in the same
transaction that renumbers the units; a reader still holding the old file keeps a valid
mapping of it (POSIX unlink semantics).

Knows nothing about SQLite, timelines or the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DTYPE = np.float32
ITEM = np.dtype(DTYPE).itemsize


class VectorFile:
    """Rows of ``dim`` float32 in ``<folder>/vectors-<generation>.f32``."""

    def __init__(self, folder: Path, dim: int, generation: int = 0):
        self.folder = folder
        self.dim = dim
        self.generation = generation

    @property
    def path(self) -> Path:
        return self.folder / f"vectors-{self.generation}.f32"

    def rows_on_disk(self) -> int:
        try:
            return self.path.stat().st_size // (ITEM * self.dim) if self.dim else 0
        except FileNotFoundError:
            return 0

    def view(self, rows: int) -> np.ndarray:
        """The first ``rows`` rows, memory-mapped read only: ``(rows, dim)`` float32.

        Raises ``FileNotFoundError`` when this generation was replaced meanwhile (read the
        state again) and ``ValueError`` when the file is shorter than ``rows`` (damaged).
        """
        if rows == 0 or self.dim == 0:
            return np.zeros((0, self.dim), DTYPE)
        have = self.rows_on_disk()
        if have < rows:
            if not self.path.exists():
                raise FileNotFoundError(self.path)
            raise ValueError(f"{self.path} holds {have} vectors but the library committed {rows}")
        return np.memmap(self.path, dtype=DTYPE, mode="r", shape=(rows, self.dim))

    def append(self, committed: int, array: np.ndarray) -> tuple[int, int]:
        """Append ``array`` ``(n, dim)`` after the first ``committed`` rows (cutting off any rows a
        killed writer left past them) and sync it; returns the new rows ``(lo, hi)``.

        Call it inside the write transaction that then records ``hi`` as committed.
        """
        array = np.ascontiguousarray(array, DTYPE)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise ValueError(f"vectors of shape {array.shape}, the library holds {self.dim}-d vectors")
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.ftruncate(fd, committed * ITEM * self.dim)
            os.lseek(fd, 0, os.SEEK_END)
            data = memoryview(array.tobytes())
            while data:
                written = os.write(fd, data)
                data = data[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        return committed, committed + array.shape[0]

    def rewrite(self, array: np.ndarray) -> VectorFile:
        """A new generation holding exactly ``array`` (synced); the caller switches to it on commit."""
        new = VectorFile(self.folder, self.dim, self.generation + 1)
        if new.path.exists():
            new.path.unlink()
        new.append(0, array)
        return new


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest ``scores``, best first (ties: lower index first)."""
    n = scores.shape[0]
    if n == 0 or k <= 0:
        return np.zeros(0, np.int64)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(n)
    return part[np.lexsort((part, -scores[part]))]
