"""``LiteBackend``: the ``lite`` model — reads speech and on-screen text, cannot see pictures.

    backend = load_lite()                                   # cheap; models load on first use
    gen = backend.answer(VideoInput(batches, times, subtitles), "What is the secret code?")
    gen.text, gen.meta["sees"], gen.meta["context_tokens"]

``prepare`` turns the frames it is given into text: each plan position's subtitle text
(what was said since the previous frame) and the lines RapidOCR reads on the frames
(a line is listed once, at the time it appears), each prefixed with its time
``[HH:MM:SS]``.  That context is held to a hard token budget: when it is longer, the
lines most similar to the prompt (MiniLM cosine) are kept, in time order, and the meta
says how many were dropped.  ``generate`` runs SmolLM2-135M-Instruct on it (greedy unless
``temperature > 0``).

SmolLM2 has 8192 positions, but its answers degrade long before that:
``benchmarks/lite.py`` puts "The secret code is 7 4 1." at 10%, 50% and 90% of a
transcript and asks for it; the written answer was right 3/3 times at 1024 and 2048
tokens and 1/3 at 4096 (scoring the four candidate codes stayed 3/3 up to 4096).  So
the default budget is :data:`CONTEXT_BUDGET` = 2048 tokens, and
``capabilities.max_context`` reports it, so jobs split long videos into pieces that fit.

Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidq.models.base import (
    Backend,
    Capabilities,
    GenerateOptions,
    Generation,
    Prepared,
    VideoInput,
)
from vidq.models.lite.ocr import MODEL_LABEL as OCR_LABEL
from vidq.models.lite.ocr import OcrEngine, OcrOptions, ocr_frames, ocr_spans
from vidq.progress import ProgressFn, no_progress

log = logging.getLogger("vidq.models")

NAME = "lite"  # registry name
CONTEXT_BUDGET = 2048  # tokens of video text per prompt; see benchmarks/lite.py for why
SEES = "reads speech and on-screen text; cannot see objects, people, actions or scenes"
CONTEXT_HEADER = "Transcript and on-screen text of a video{duration}; each line starts with its time."


@dataclass(frozen=True)
class ContextLine:
    """One line of the text a lite prompt is built from."""

    time: float  # seconds
    kind: str  # "speech" or "screen"
    text: str  # what was said / shown

    def render(self) -> str:
        total = max(0, int(self.time))
        stamp = f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
        label = "said" if self.kind == "speech" else "on screen"
        return f"[{stamp}] ({label}) {self.text}"


@dataclass
class LitePayload:
    """What ``prepare`` hands to ``generate``."""

    user: str  # the complete user message (context + prompt)
    lines: list[ContextLine] = field(default_factory=list)  # the context lines kept, time order
    system: str | None = None  # system prompt (None: the model's default)


class LiteBackend(Backend):
    """The embedded offline backend; see the module docstring."""

    name = NAME
    capabilities = Capabilities(sees_images=False, max_context=CONTEXT_BUDGET, compressions=("none",))

    def __init__(self, *, ocr: bool = True, context_budget: int = CONTEXT_BUDGET,
                 ocr_options: OcrOptions | None = None, cache_dir: str | None = None,
                 progress: ProgressFn | None = None):
        self.ocr = ocr  # read on-screen text from the frames given to prepare
        self.context_budget = int(context_budget)  # hard cap on context tokens
        self.ocr_engine = OcrEngine(ocr_options)
        self.cache_dir = cache_dir  # where SmolLM2's converted copy lives (None: default)
        self.progress = progress or no_progress
        self.capabilities = Capabilities(sees_images=False, max_context=self.context_budget, compressions=("none",))

    # -- the language model is loaded on first use ----------------------------------------
    @property
    def lm(self):
        from vidq.models.lite.lm import load_lm

        return load_lm(self.cache_dir)

    def context_lines(self, video: VideoInput) -> tuple[list[ContextLine], dict[str, Any]]:
        """The time-stamped speech and on-screen text of ``video`` (consumes its batches)."""
        lines: list[ContextLine] = []
        subtitles = list(video.subtitles) if video.subtitles is not None else []
        times = list(video.times)
        for i, text in enumerate(subtitles):
            if text and text.strip():
                # the words of bin i were spoken since the previous frame: stamp them at its time
                t = times[i - 1] if i > 0 and i - 1 < len(times) else (times[0] if times else 0.0)
                lines.append(ContextLine(float(t), "speech", text.strip()))
        meta: dict[str, Any] = {"frames": len(times)}
        if self.ocr:
            t0 = time.perf_counter()
            texts = ocr_frames(video.batches, engine=self.ocr_engine, total=len(times), progress=self.progress)
            spans = ocr_spans(texts)
            lines.extend(ContextLine(s.start, "screen", s.text) for s in spans)
            meta.update(ocr_model=OCR_LABEL, ocr_frames=len(texts), ocr_read=sum(not t.reused for t in texts),
                        ocr_lines=len(spans), ocr_seconds=round(time.perf_counter() - t0, 3))
        lines.sort(key=lambda ln: (ln.time, ln.kind != "speech"))
        return lines, meta

    def fit_budget(self, lines: Sequence[ContextLine], prompt: str, budget: int) -> tuple[list[ContextLine], int]:
        """Keep the lines most relevant to ``prompt`` within ``budget`` tokens, in time order.

        Returns (kept lines, their token count).  With everything fitting, nothing is dropped.
        """
        lm = self.lm
        costs = [lm.count_tokens(ln.render()) + 1 for ln in lines]
        if sum(costs) <= budget:
            return list(lines), sum(costs)
        from vidq.models.lite.embed import load_embedder

        emb = load_embedder()
        vecs = emb.encode([ln.text for ln in lines])
        query = emb.encode([prompt])[0]
        order = np.argsort(-(vecs @ query), kind="stable")
        kept, used = [], 0
        for i in order:
            if used + costs[i] <= budget:
                kept.append(int(i))
                used += costs[i]
        return [lines[i] for i in sorted(kept)], used

    # -- Backend contract -------------------------------------------------------------------
    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        t0 = time.perf_counter()
        meta: dict[str, Any] = {"sees": SEES, "context_budget": self.context_budget}
        lines: list[ContextLine] = []
        if video is not None:
            found, more = self.context_lines(video)
            meta.update(more)
            lines, used = self.fit_budget(found, prompt, self.context_budget)
            meta.update(context_lines=len(lines), context_lines_dropped=len(found) - len(lines), context_tokens=used)
        if video is not None:
            duration = f" ({video.duration:.0f} s long)" if video.duration else ""
            body = "\n".join(ln.render() for ln in lines) or "(no speech or on-screen text was found)"
            user = f"{CONTEXT_HEADER.format(duration=duration)}\n\n{body}\n\n{prompt}"
        else:
            user = self.lm.clip_tokens(prompt, self.context_budget + 512, keep_end=True)
        meta["timings"] = {"prepare": round(time.perf_counter() - t0, 3)}
        return Prepared(backend=self.name, payload=LitePayload(user=user, lines=lines, system=options.system), meta=meta)

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        payload: LitePayload = prepared.payload
        from vidq.models.lite.lm import MODEL_LABEL

        lm = self.lm
        reply = lm.chat(payload.user, system=payload.system, max_new_tokens=options.max_new_tokens,
                        temperature=options.temperature, seed=options.seed)
        timings = dict(prepared.meta.get("timings", {}))
        timings["generate"] = round(reply.seconds, 3)
        meta = {
            "model": MODEL_LABEL, "device": "cpu", "quant": "q4_1 gguf, run as float32",
            "sees": SEES, "prompt_tokens": reply.prompt_tokens, "new_tokens": reply.new_tokens,
            "tokens_per_second": round(reply.tokens_per_second, 2), "hit_token_limit": reply.hit_limit,
            "context_length": self.context_budget, "timings": timings,
        }
        return Generation(text=reply.text, meta=meta)

    def close(self) -> None:
        """Nothing to free per backend: the models are shared by the whole process."""


def load_lite(**kw: Any) -> LiteBackend:
    """Build the ``lite`` backend (models load lazily); keyword arguments go to ``LiteBackend``."""
    return LiteBackend(**kw)
