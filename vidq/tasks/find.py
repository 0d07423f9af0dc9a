"""``find``: needle search in one or more videos — cheap retrieval, then verification.

    result = find("secret code", ["talk.mp4"], JobOptions(), store=store)
    result.hits          # list[FindHit] above the threshold, best first (at most ``top``)
    result.matched       # True when at least one hit passed (the CLI exits 0, else 1)

Per file, on the file's timeline (:mod:`vidq.analysis`: built once, then read from the cache):

1. **What is asked** (:mod:`vidq.tasks.query`): "ad for X", "sponsor", "commercials" are
   answered by the timeline's ad spots and sponsor reads ranked by meaning within them
   ("ad for soda" finds the cola ad that never says soda), scored against the rest of the
   video so an absent product fails; "where they talk about X" searches the speech only,
   "the sign that says X" / "when X appears on screen" the on-screen text only.
2. **Candidates** for everything else: the transcript (sentences and 8-word windows) and
   the on-screen lines (read by OCR in the analysis, each with the span it stayed visible)
   ranked by MiniLM cosine + BM25; and, when an image-text model is given (``embed_model``:
   a local CLIP or SigLIP folder), the frames whose image embedding is closest to the
   query's text embedding.
3. **Verification** of the best candidates, which sets each one's final score (0..1) and a
   one-line reason:

   * a backend that sees images (a VLM, tiny or real) gets a short window around the
     candidate (:func:`vidq.tasks.look.look`: frames with the words spoken in them) and
     the question "does this show or say X?"; its yes/no sets most of the score, the
     retrieval evidence the rest;
   * a text model (writes but cannot see) reads the text around each of the best text
     candidates (:func:`vidq.tasks.write.read`) and says whether it says or shows the
     query; its yes/no and the term match weigh alike (``TEXT_VERIFY_WEIGHT``);
   * ``lite`` (cannot see) checks the evidence text itself: the fraction of the query's
     terms the unit contains (exactly, or by close spelling; numbers must match exactly),
     plus a little of the MiniLM similarity; the reason quotes the text.  A visual
     candidate cannot be verified by ``lite`` and keeps a low score.

Hits of one file that overlap in time are reduced to the best one.  Times are seconds on
the file timeline.  This module knows nothing about Typer or rendering.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vidq.analysis import Timeline
from vidq.analysis.evidence import Hit, match_terms, tokens
from vidq.errors import InputError, MissingDependency, ModelError
from vidq.media.types import FrameBatch
from vidq.progress import ProgressFn, StageClock, no_progress
from vidq.store import Store, params_digest
from vidq.tasks.look import look
from vidq.tasks.pipeline import (
    JobOptions,
    VideoContext,
    base_meta,
    frame_batches,
    frames_context,
    job_path,
    load_job_backend,
    open_timeline,
)
from vidq.tasks.query import Intent, parse_intent, segment_hits

log = logging.getLogger("vidq.tasks")

MAX_FRAMES = 2048  # default frame cap: retrieval looks at up to this many sampled frames per file
SECONDS_PER_FRAME = 1.0  # default sampling density below the cap
MIN_FRAMES = 16  # default floor for very short files
DEFAULT_TOP = 5  # hits shown
DEFAULT_THRESHOLD = 0.5  # a hit must score at least this (0..1)
CANDIDATES = 20  # text candidates retrieved per file
VISUAL_CANDIDATES = 5  # frames retrieved per file by image-text similarity
VERIFY_WINDOW = 8.0  # seconds around a candidate shown to a VLM
VERIFY_WEIGHT = 0.7  # share of a VLM's verdict in the final score (the rest: retrieval evidence)
VLM_VERIFIED = 8  # candidates per file a VLM (or a text model) verifies (the best by retrieval)
TEXT_VERIFY_WEIGHT = 0.5  # share of a text model's yes/no in the final score: it reads the same text the
# term match did, so its judgement of meaning and the exact match weigh alike
TERM_WEIGHT = 0.85  # lite: weight of query-term coverage in a text candidate's score
COSINE_WEIGHT = 0.15  # lite: weight of MiniLM similarity
SEMANTIC_WEIGHT = 0.9  # lite: a unit scores at least this times its MiniLM similarity (paraphrases)
VISUAL_LOW, VISUAL_HIGH = 0.15, 0.35  # image-text cosine mapped linearly to a 0..1 prior between these
VISUAL_UNVERIFIED = 0.6  # lite: a visual candidate's score is at most this times its prior
CLIP_STAGE = "clip/1"  # cache stage of per-frame image embeddings
CLIP_BATCH = 32  # frames per image-encoder call
MERGE_SLACK = 1.0  # seconds: hits closer than this count as overlapping
# Words that say *how* something appears rather than *what* it is ("a sign reading blue pelican");
# dropped from the query's terms when other terms remain.
QUERY_META = frozenset({"sign", "signs", "reading", "reads", "read", "saying", "says", "say", "written", "writing",
                        "text", "caption", "screen", "banner", "poster", "someone", "somebody", "mention",
                        "mentions", "mentioned", "spoken", "word", "words", "where", "when", "moment", "part",
                        "scene", "clip", "video", "find", "look", "show", "shown", "shows", "display", "displayed"})


@dataclass(frozen=True)
class FindHit:
    """A place in a video that matches the query."""

    file: str  # the file as given
    start: float  # seconds
    end: float  # seconds, >= start
    score: float  # 0..1 after verification
    reason: str  # one line: why this is a hit (quoted text, or the model's reason)
    source: str  # "speech", "screen", "visual", or a segment: "ad", "break", "sponsor"
    text: str  # the evidence text ("" for a visual candidate)
    retrieval: float  # prior from retrieval alone, 0..1 (term coverage / similarity)
    verified_by: str  # "text-match" (lite), "segments" (an ad/sponsor query), or the verifying model's name


@dataclass
class FindResult:
    """What ``find`` returns."""

    query: str  # as given
    top: int  # hits shown at most
    threshold: float  # minimum score of a hit
    hits: list[FindHit]  # passing hits, best first, at most ``top``
    candidates: list[FindHit]  # every verified candidate of every file, best first
    model: str  # the verifying backend's name
    sees_images: bool  # False for lite
    meta: dict[str, Any] = field(default_factory=dict)  # per-file base meta, evidence counts, timings
    intent: str = ""  # what the query was understood to ask for
    thumbs: dict[str, list[tuple[float, bytes]]] = field(default_factory=dict, repr=False)  # per file: its stills

    @property
    def matched(self) -> bool:
        return bool(self.hits)


def default_frames(duration: float) -> int:
    """One frame per ``SECONDS_PER_FRAME``, between ``MIN_FRAMES`` and ``MAX_FRAMES``."""
    return int(min(MAX_FRAMES, max(MIN_FRAMES, math.ceil(duration / SECONDS_PER_FRAME))))


# -- image-text embeddings (CLIP / SigLIP from a local folder) --------------------------------
class ImageTextModel:
    """A CLIP-style model (``get_image_features`` / ``get_text_features``) from a local folder."""

    def __init__(self, path: str | os.PathLike, *, device: str = "cpu"):
        self.path = Path(path).expanduser()
        if not (self.path / "config.json").is_file():
            raise InputError(f"--embed-model {path}: not a model folder (no config.json)")
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModel, AutoTokenizer
        except ImportError as e:
            raise MissingDependency("transformers", "vlm", "image-text embeddings") from e
        try:
            self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True).to(device).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self.processor = AutoImageProcessor.from_pretrained(str(self.path), local_files_only=True)
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load the image-text model in {self.path} ({e})") from e
        if not (hasattr(self.model, "get_image_features") and hasattr(self.model, "get_text_features")):
            raise InputError(f"--embed-model {path}: {type(self.model).__name__} is not an image-text model "
                             "(CLIP or SigLIP)")
        self.torch = torch
        self.device = device
        digest = hashlib.sha256((self.path / "config.json").read_bytes())
        weights = sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin"))
        for w in weights:
            st = w.stat()
            digest.update(f"{w.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        self.identity = f"{self.path.name}:{digest.hexdigest()[:16]}"  # cache key of its embeddings

    @staticmethod
    def _features(out: Any) -> Any:
        return out if hasattr(out, "shape") else out.pooler_output

    def _normalise(self, x: Any) -> np.ndarray:
        v = self._features(x).float().cpu().numpy()
        return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)).astype(np.float32)

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        """``(B, H, W, 3)`` uint8 RGB -> ``(B, D)`` float32 unit rows."""
        with self.torch.inference_mode():
            px = self.processor(images=list(images), return_tensors="pt")
            return self._normalise(self.model.get_image_features(pixel_values=px["pixel_values"].to(self.device)))

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> ``(N, D)`` float32 unit rows."""
        with self.torch.inference_mode():
            kw = {"padding": "max_length"} if "siglip" in type(self.model).__name__.lower() else {"padding": True}
            t = self.tokenizer(list(texts), truncation=True, return_tensors="pt", **kw)
            t = {k: v.to(self.device) for k, v in t.items() if k in ("input_ids", "attention_mask")}
            return self._normalise(self.model.get_text_features(**t))


class _ImageTap:
    """Collects image embeddings of every decoded batch (used as ``read_screen``'s tap)."""

    def __init__(self, model: ImageTextModel):
        self.model = model
        self.times: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []

    def __call__(self, batch: FrameBatch) -> None:
        for lo in range(0, len(batch), CLIP_BATCH):
            self.vectors.append(self.model.encode_images(batch.images[lo:lo + CLIP_BATCH]))
        self.times.append(np.asarray(batch.pts, np.float64))


def _image_embeddings(ctx: VideoContext, model: ImageTextModel, store: Store | None,
                      progress: ProgressFn) -> tuple[np.ndarray, np.ndarray]:
    """``(times (N,), vectors (N, D))`` for the plan's frames, cached as ``CLIP_STAGE``."""
    key = store.file_key(ctx.path) if store is not None and store.enabled else None
    params = {"model": model.identity, "times": params_digest({"t": [round(t, 6) for t in ctx.plan.times]}),
              "accuracy": ctx.plan.accuracy}
    hit = store.get_arrays(key, CLIP_STAGE, params) if key is not None else None
    if hit is not None:
        return hit["times"], hit["vectors"]
    tap = _ImageTap(model)
    side = min(448, max(ctx.info.video.display_size)) if ctx.info.video is not None else 448
    for batch in frame_batches(ctx, size=side, progress=progress):
        tap(batch)
    times = np.concatenate(tap.times) if tap.times else np.zeros(0)
    vectors = np.concatenate(tap.vectors) if tap.vectors else np.zeros((0, 1), np.float32)
    if key is not None:
        store.put_arrays(key, CLIP_STAGE, params, {"times": times, "vectors": vectors})
    return times, vectors


def visual_candidates(times: np.ndarray, vectors: np.ndarray, query_vec: np.ndarray, *, k: int,
                      step: float, min_separation: float = VERIFY_WINDOW) -> list[tuple[float, float, float]]:
    """The ``k`` frames most similar to the query, at least ``min_separation`` s apart.

    Returns ``(start, end, cosine)`` with start/end half a sampling step either side.
    """
    if times.size == 0:
        return []
    sims = vectors @ np.asarray(query_vec, np.float32).reshape(-1)  # (N,)
    out: list[tuple[float, float, float]] = []
    for i in np.argsort(-sims, kind="stable"):
        t = float(times[i])
        if all(abs(t - (s + e) / 2) >= min_separation for s, e, _ in out):
            out.append((max(0.0, t - step / 2), t + step / 2, float(sims[i])))
        if len(out) >= k:
            break
    return out


def visual_prior(cosine: float) -> float:
    """Image-text cosine mapped to 0..1 (``VISUAL_LOW`` -> 0, ``VISUAL_HIGH`` -> 1)."""
    return float(min(1.0, max(0.0, (cosine - VISUAL_LOW) / (VISUAL_HIGH - VISUAL_LOW))))


def needle_terms(query: str) -> str:
    """The query without words in ``QUERY_META`` (unless nothing else is left), for term matching."""
    words = query.split()
    kept = [w for w in words if w.lower().strip(".,:;!?\"'") not in QUERY_META]
    return " ".join(kept) if tokens(" ".join(kept)) else query


# -- verification -----------------------------------------------------------------------------
def lite_verify(query: str, hit: Hit, file: str) -> FindHit:
    """Score a text candidate by the query terms it contains (see the module docstring)."""
    unit = hit.unit
    m = match_terms(query, unit)
    cos = max(0.0, hit.dense)
    prior = round(max(TERM_WEIGHT * m.coverage + COSINE_WEIGHT * cos, SEMANTIC_WEIGHT * cos), 4)
    label = "said" if unit.source == "speech" else "on screen"
    if m.terms:
        found = ", ".join(m.terms)
        total = len(dict.fromkeys(tokens(query)))
        reason = f'{label}: "{m.quote}" ({len(m.terms)} of {total} query terms: {found})'
    else:
        reason = f'{label}: "{m.quote}" (no query term; meaning similarity {cos:.2f})'
    return FindHit(file, m.start, m.end, prior, reason, unit.source, m.quote, prior, "text-match")


def vlm_verify(query: str, tl: Timeline, backend: Any, candidate: FindHit, *, accuracy: str,
               store: Store | None) -> FindHit:
    """Ask a backend that sees images whether a short window around ``candidate`` shows/says the query."""
    mid = (candidate.start + candidate.end) / 2
    half = max(VERIFY_WINDOW, candidate.end - candidate.start) / 2
    prompt = f'Does this clip show or say "{query}"? Answer "yes" or "no" first, then give a one-line reason.'
    verdict, reason = look(tl, backend, mid - half, mid + half, prompt, accuracy=accuracy, store=store)
    score = round(VERIFY_WEIGHT * verdict + (1 - VERIFY_WEIGHT) * candidate.retrieval, 4)
    return replace(candidate, score=score, reason=f"{backend.name}: {reason}", verified_by=backend.name)


def text_model_verify(query: str, tl: Timeline, backend: Any, candidates: list[FindHit], *,
                      store: Store | None) -> list[FindHit]:
    """A text model reads the text around the best text candidates and says whether it says
    or shows the query; its yes/no weighs ``TEXT_VERIFY_WEIGHT``, the term match the rest.
    Visual candidates (it cannot see them) and the rest keep their retrieval scores."""
    from vidq.tasks.write import read

    prompt = (f'Is "{query}" said or written on screen in these lines? Answer "yes" or "no" first, then give a '
              "one-line reason.")
    text = sorted((c for c in candidates if c.source != "visual"), key=lambda c: -c.retrieval)
    checked = {id(c) for c in text[:VLM_VERIFIED]}
    out = []
    for c in candidates:
        if id(c) not in checked:
            out.append(c)
            continue
        verdict, reason = read(tl, backend, c.start, c.end, prompt, store=store)
        score = round(TEXT_VERIFY_WEIGHT * verdict + (1 - TEXT_VERIFY_WEIGHT) * c.retrieval, 4)
        out.append(replace(c, score=score, reason=f"{c.reason}; {backend.name} (text only): {reason}",
                           verified_by=backend.name))
    return out


def _dedupe(hits: list[FindHit]) -> list[FindHit]:
    """Best first; drop a hit overlapping a better one of the same file."""
    kept: list[FindHit] = []
    for h in sorted(hits, key=lambda h: (-h.score, -h.retrieval, h.start)):
        if any(k.file == h.file and h.start <= k.end + MERGE_SLACK and k.start <= h.end + MERGE_SLACK for k in kept):
            continue
        kept.append(h)
    return kept


# -- the job ----------------------------------------------------------------------------------
def segment_candidates(intent: Intent, tl: Timeline, file: str) -> list[FindHit]:
    """Ad spots, breaks or sponsor reads answering a segment query, as hits."""
    return [FindHit(file, h.start, h.end, h.score, h.reason, h.kind, h.text, h.relevance, "segments")
            for h in segment_hits(tl, intent)]


def text_candidates(intent: Intent, tl: Timeline, file: str) -> list[FindHit]:
    """The best text units for the query (restricted to the intent's sources), verified by their words."""
    index = tl.index()
    terms = needle_terms(intent.subject)
    hits = index.search(terms, CANDIDATES, sources=intent.sources)
    return [lite_verify(terms, h, file) for h in hits]


def find_in_file(
    query: str,
    path: str | os.PathLike,
    options: JobOptions,
    *,
    backend: Any,
    image_model: ImageTextModel | None = None,
    store: Store | None = None,
    progress: ProgressFn | None = None,
) -> tuple[list[FindHit], dict[str, Any]]:
    """Verified candidates in one file (best first, overlapping ones merged) and its meta."""
    report = progress or no_progress
    clock = StageClock()
    way = job_path(backend)
    sees = way == "see"
    tl = open_timeline(path, options, store=store, clock=clock, progress=report,
                       frames=None if sees else options.frames)
    intent = parse_intent(query)
    if not tl.units and intent.segment is None:
        log.info("%s: no speech and no on-screen text found%s", tl.path.name,
                 "" if image_model is not None or sees else "; lite cannot see pictures, so there is nothing to search")
    with clock.stage("retrieve"):
        if intent.segment is not None:
            candidates = segment_candidates(intent, tl, str(path))
        else:
            candidates = text_candidates(intent, tl, str(path))
    visual_meta: dict[str, Any] = {}
    if image_model is not None and intent.segment is None:
        with clock.stage("visual"):
            ctx = frames_context(tl, options, frames=options.frames or default_frames(tl.end - tl.start))
            times, vectors = _image_embeddings(ctx, image_model, store, report)
            step = (ctx.end - ctx.start) / max(1, len(ctx.plan.times))
            qvec = image_model.encode_text([query])[0]
            for s, e, cos in visual_candidates(times, vectors, qvec, k=VISUAL_CANDIDATES, step=step):
                prior = round(visual_prior(cos), 4)
                score = prior if sees else round(VISUAL_UNVERIFIED * prior, 4)
                reason = f"picture resembles the query (image-text similarity {cos:.2f}; {image_model.path.name})"
                if not sees:
                    reason += f"; not verified: {backend.name} cannot see pictures"
                candidates.append(FindHit(str(path), s, e, score, reason, "visual", "", prior, "image-text"))
        visual_meta = {"embed_model": str(image_model.path), "frames_embedded": int(times.size)}
    if sees and intent.segment is None:
        with clock.stage("verify"):
            ranked = sorted(candidates, key=lambda c: -c.retrieval)
            verified = [vlm_verify(query, tl, backend, c, accuracy=options.accuracy, store=store)
                        for c in ranked[:VLM_VERIFIED]]
            candidates = verified + [replace(c, score=round((1 - VERIFY_WEIGHT) * c.retrieval, 4))
                                     for c in ranked[VLM_VERIFIED:]]
    elif way == "write" and intent.segment is None:
        with clock.stage("verify"):
            candidates = text_model_verify(query, tl, backend, candidates, store=store)
    hits = _dedupe(candidates)
    meta = base_meta(tl, clock, intent=intent.label, units=len(tl.units), candidates=len(candidates), **visual_meta)
    meta["thumbs"] = tl.thumbs  # taken out again by find(): not part of the JSON
    return hits, meta


def find(
    query: str,
    paths: Sequence[str | os.PathLike],
    options: JobOptions,
    *,
    top: int = DEFAULT_TOP,
    threshold: float = DEFAULT_THRESHOLD,
    embed_model: str | os.PathLike | None = None,
    backend: Any = None,
    store: Store | None = None,
    progress: ProgressFn | None = None,
) -> FindResult:
    """Search every file in ``paths`` for ``query``; see the module docstring.

    ``backend`` defaults to ``load_job_backend(options)``.  Raises ``InputError``
    (exit 2) for an empty query, bad ``top``/``threshold`` or a missing file (checked for
    all files before any work); ``ModelError`` (exit 3) when a model fails.
    """
    if not query.strip():
        raise InputError("the query is empty; say what to look for, e.g. vidq find \"secret code\" video.mp4")
    if top < 1:
        raise InputError(f"--top must be at least 1, not {top}")
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold must be between 0 and 1, not {threshold:g}")
    if not paths:
        raise InputError("no video file given")
    for p in paths:
        if not Path(p).is_file():
            raise InputError(f"{p}: no such file" if not Path(p).exists() else f"{p}: is not a file")
    if backend is None:
        backend = load_job_backend(options, store=store)
    image_model = ImageTextModel(embed_model, device=_torch_device(options.device)) if embed_model else None
    candidates: list[FindHit] = []
    files: list[dict[str, Any]] = []
    thumbs: dict[str, list[tuple[float, bytes]]] = {}
    for p in paths:
        hits, meta = find_in_file(query, p, options, backend=backend, image_model=image_model, store=store,
                                  progress=progress)
        candidates.extend(hits)
        thumbs[str(p)] = meta.pop("thumbs", [])
        files.append(meta)
    candidates.sort(key=lambda h: (-h.score, -h.retrieval, h.file, h.start))
    passing = [h for h in candidates if h.score >= threshold][:top]
    sees = bool(backend.capabilities.sees_images)
    intent = parse_intent(query)
    meta: dict[str, Any] = {"model": backend.name, "sees_images": sees, "intent": intent.label, "files": files}
    if job_path(backend) == "write":
        from vidq.tasks.write import TEXT_ONLY_NOTE

        meta.update(text_only=True, limits=TEXT_ONLY_NOTE)
    elif not sees:
        meta["limits"] = ("lite reads speech and on-screen text and verifies hits by the query's words in that "
                          "text; it cannot see objects, people or actions")
    return FindResult(query, top, threshold, passing, candidates, backend.name, sees, meta, intent.label, thumbs)


def _torch_device(device: str) -> str:
    if device in ("auto", "cuda") or device.startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return "cuda" if device == "auto" else device
        except ImportError:
            pass
        return "cpu"
    return device
