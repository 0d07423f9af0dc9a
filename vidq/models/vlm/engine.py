"""The stock-transformers video-LLM backend: encode -> compress -> interleave -> generate.

Stages (each checked where it meets the next):

1. **encode**: frames arrive streamed (``VideoInput.batches``), are re-batched into
   ``ENCODE_BATCH`` frames and run through the vision tower + projector (``Adapter.encode``)
   into token grids ``[T, H, W, D]``; raw frames are dropped batch by batch.  When the
   budget keeps only some frames (``keep_positions``), the subtitle words of a dropped
   frame go to the next kept one (``merge_bins``): no word is lost or shown twice.
2. **compress**: ``vidq.compress.compress`` on the grids (none | progressive | slowfast |
   prompt).  ``kv`` instead streams the grids straight into a windowed prefill that prunes
   the KV cache (``vidq.models.vlm.kvprefill``), so nothing grows with the frame count.
3. **interleave**: each kept group becomes ``[time] <open> rows <close> subtitle`` inside
   the model's chat template (``vidq.models.vlm.prompt``), packed with 1-D or M-RoPE
   positions that follow the groups actually inserted (``vidq.models.vlm.layout``).
4. **generate**: chunked prefill through the decoder, then greedy decoding (sampling when
   ``temperature > 0``) with a ``DynamicCache``.

The budget planner (``vidq.compress.plan_budget``) picks the strategy, ratio and frame
count when the options leave them open, and the choice is logged.  On a CUDA
out-of-memory error ``answer`` retries once one rung stronger (``stronger``).
Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import logging
import math
import resource
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vidq.compress.types import KV_RATIOS, STRATEGIES, CompressOptions
from vidq.errors import InputError, MissingDependency, ModelError, brief
from vidq.models.base import (
    Backend,
    Capabilities,
    GenerateOptions,
    Generation,
    Prepared,
    VideoInput,
)
from vidq.models.loading import LoadPlan
from vidq.models.vlm import kvprefill, layout
from vidq.models.vlm import prompt as chat
from vidq.models.vlm.adapters import ADAPTERS, Adapter
from vidq.models.vlm.layout import Packed, Piece
from vidq.progress import ProgressFn, no_progress

log = logging.getLogger("vidq.models")

ENCODE_BATCH = 16  # frames per vision-tower call (even, for Qwen's frame pairs)
PREFILL_CHUNK = 2048  # tokens per decoder forward while prefilling
GRID_STRATEGIES = ("none", "progressive", "slowfast", "prompt")


@dataclass(frozen=True)
class Choice:
    """What the engine runs with, after the planner filled the gaps."""

    strategy: str  # none | progressive | slowfast | prompt | kv
    ratio: int | None  # kv ratio r
    frames: int | None  # frames to keep (None: all that arrive)
    reason: str = ""  # the planner's one line, for the log and meta


@dataclass
class EncodedChunk:
    """Token grids of consecutive frames, with their times and subtitles."""

    grids: Any  # torch.Tensor [T, H, W, D]
    deepstack: list[Any] | None  # Qwen3-VL: per level [T, H, W, D]
    times: list[float]  # seconds, per grid (the first frame of a Qwen pair)
    subtitles: list[str] | None  # per grid (a pair's words joined), None without subtitles
    frames: int  # real frames in this chunk (padding excluded)


@dataclass
class Payload:
    """``Prepared.payload`` of this backend."""

    kind: str  # "full": a packed prompt to prefill; "kv": a pruned cache + the question
    packed: Packed | None = None  # full: the whole prompt; kv: the question part
    cache: Any = None  # kv: the DynamicCache after sink + video windows
    next_position: int = 0  # kv: position of the first question token
    choice: Choice | None = None
    encoded: EncodedChunk | None = None  # grids kept for an OOM retry (grid strategies only)
    prompt: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def stronger(strategy: str, ratio: int | None, frames: int, supported: Sequence[str]) -> tuple[str, int | None, int, str]:
    """One rung up the compression ladder after an out-of-memory error.

    none < progressive < slowfast < prompt < kv r=2..16 < half the frames.  Only rungs in
    ``supported`` count.  Returns ``(strategy, ratio, frames, what changed)``.
    """
    order = [s for s in STRATEGIES if s in supported and s != "videoxl"]
    if strategy in ("kv", "videoxl"):
        bigger = [r for r in KV_RATIOS if ratio is None or r > ratio]
        if bigger:
            return strategy, bigger[0], frames, f"--compress {strategy} ratio {ratio} -> {bigger[0]}"
    elif strategy in order and order.index(strategy) + 1 < len(order):
        nxt = order[order.index(strategy) + 1]
        r = KV_RATIOS[0] if nxt == "kv" else None
        return nxt, r, frames, f"--compress {strategy} -> {nxt}" + (f" (ratio {r})" if r else "")
    fewer = max(1, frames // 2)
    return strategy, ratio, fewer, f"frames {frames} -> {fewer}"


def is_oom(error: BaseException) -> bool:
    """A CUDA (or CPU allocator) out-of-memory error."""
    if "torch" in sys.modules:
        import torch

        if isinstance(error, torch.cuda.OutOfMemoryError):
            return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def keep_positions(total: int, keep: int) -> set[int]:
    """Plan positions to keep when only ``keep`` of ``total`` frames fit: evenly spread, ends included."""
    if keep >= total:
        return set(range(total))
    if keep <= 1:
        return {0}
    return {round(i * (total - 1) / (keep - 1)) for i in range(keep)}


def merge_bins(bins: Sequence[str], kept: Iterable[int]) -> list[str]:
    """The subtitle bin of each kept plan position (ascending) once the others are dropped.

    A kept frame takes the words of the dropped frames since the previous kept one, then
    its own; words after the last kept frame go to the last kept frame.  So every word of
    ``bins`` lands in exactly one returned bin, in order (empty bins add nothing; a kept
    position past the end of ``bins`` has none of its own).

    >>> merge_bins(["a", "b", "", "c", "d"], {1, 3})
    ['a b', 'c d']
    """
    positions = sorted(set(kept))
    merged: list[str] = []
    start = 0
    for n, pos in enumerate(positions):
        end = len(bins) if n == len(positions) - 1 else pos + 1
        merged.append(" ".join(s for s in bins[start:end] if s))
        start = max(start, end)
    return merged


def peak_memory_bytes(device: str) -> int:
    """Peak device memory (CUDA) or peak resident set size of this process (CPU)."""
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


class TransformersBackend(Backend):
    """A stock transformers video LLM (Qwen2.5-VL, Qwen3-VL, LLaVA-OneVision/Video, SmolVLM2)."""

    def __init__(self, adapter: Adapter, *, name: str, plan: LoadPlan, dims: Any, template: str,
                 defaults: dict[str, Any] | None = None):
        self.adapter = adapter  # family glue around the loaded model
        self.name = name  # registry name or the source given
        self.plan = plan  # device / dtype / quantization used
        self.dims = dims  # ModelDims for the planner (None: planner unavailable)
        self.template = template  # the model's chat template
        self.defaults = defaults or {}  # registry defaults: compression, ratio
        self.progress: ProgressFn = no_progress  # set by callers that show progress
        self.compress_options = CompressOptions()  # strategy knobs (kv window, method, ...)
        self.capabilities = Capabilities(
            sees_images=True,
            max_context=int(getattr(dims, "trained_context", 0) or 0) or 32768,
            compressions=("none", "progressive", "slowfast", "prompt", "kv"),
            kv_compression=True,
        )
        self.frame_size = int(getattr(dims, "default_resolution", 0) or 0) or None

    def suggest_frames(self, frames: int, options: GenerateOptions) -> int:
        """The planner's frame count for ``frames`` under ``options`` (fewer when nothing else fits)."""
        return self.choose(frames, options).frames or frames

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, source: str, *, family: str, name: str, plan: LoadPlan, offline: bool,
             defaults: dict[str, Any] | None = None) -> TransformersBackend:
        """``from_pretrained(source)`` for the model, tokenizer and image processor."""
        from vidq.models import loading

        loading.require_transformers(f"the {family} backend")
        import transformers

        from vidq.models.dims import dims_from_config

        kwargs = loading.from_pretrained_kwargs(plan)
        common = {"local_files_only": offline}
        log.info("loading %s on %s (%s)", name, plan.device, "; ".join(plan.notes))
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, **common)
            image_processor = transformers.AutoImageProcessor.from_pretrained(source, **common)
            model = transformers.AutoModelForImageTextToText.from_pretrained(source, **common, **kwargs)
        except ImportError as e:
            missing = getattr(e, "name", None) or "a required package"
            raise MissingDependency(str(missing), "gpu" if plan.quant else "llm", f"loading {name}") from e
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load {name} from {source}: {brief(e)}") from e
        model.eval()
        template = chat.load_template(tokenizer, lambda name: loading.model_file(source, name, offline=offline))
        try:
            dims = dims_from_config(model.config.to_dict(), name)
        except InputError as e:
            log.debug("planner unavailable for %s: %s", name, e)
            dims = None
        adapter = ADAPTERS[family](model, tokenizer, image_processor)
        return cls(adapter, name=name, plan=plan, dims=dims, template=template, defaults=defaults)

    def close(self) -> None:
        self.adapter.model = None
        if self.plan.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    # ------------------------------------------------------------------ planning
    def choose(self, frames: int | None, options: GenerateOptions) -> Choice:
        """Strategy, ratio and frame count for ``frames`` frames: the options, else the planner."""
        strategy = options.compress if options.compress != "auto" else self.defaults.get("compression", "auto")
        ratio = options.ratio if options.ratio is not None else self.defaults.get("ratio")
        if strategy != "auto" and strategy not in self.capabilities.compressions:
            if strategy == "videoxl":
                raise InputError("--compress videoxl needs Video-XL (e.g. --model video-xl-7b --trust-remote-code)")
            raise InputError(f"--compress {strategy}: not supported by {self.name} "
                             f"(choose from {', '.join(self.capabilities.compressions)})")
        if strategy == "kv" and ratio is not None and ratio not in KV_RATIOS:
            raise InputError(f"--ratio {ratio}: choose from {', '.join(map(str, KV_RATIOS))}")
        if self.dims is None or not frames:
            fixed = "none" if strategy == "auto" else strategy
            return Choice(fixed, ratio or (KV_RATIOS[-1] if fixed == "kv" else None), frames,
                          f"{fixed} (no planner for this model)")
        from vidq.compress import plan_budget

        quant = self.plan.quant or "none"
        budget = plan_budget(self.dims, frames, vram_gb=self._vram_gb(), quant=quant, compress=strategy,
                             ratio=ratio if strategy == "kv" else None,
                             strategies=self.capabilities.compressions)
        chosen = budget.chosen
        if not budget.fits:
            log.warning("%s", budget.reason)
        return Choice(chosen.strategy, chosen.ratio if chosen.strategy == "kv" else None,
                      chosen.frames, budget.reason)

    def _vram_gb(self) -> float | None:
        if not self.plan.device.startswith("cuda"):
            return None
        import torch

        return torch.cuda.get_device_properties(torch.device(self.plan.device)).total_memory / (1 << 30)

    # ------------------------------------------------------------------ encode
    def _frame_chunks(self, video: VideoInput, keep: set[int] | None) -> Iterator[tuple[np.ndarray, list[float], list[str] | None, int]]:
        """Re-batch the frame stream into ENCODE_BATCH frames (pairs padded for Qwen)."""
        merge = self.adapter.temporal_merge
        frames: list[np.ndarray] = []
        times: list[float] = []
        subs: list[str] = []
        has_subs = video.subtitles is not None
        words: dict[int, str] = {}  # plan position -> its bin, with the words of the dropped frames before it
        if has_subs:
            kept: Sequence[int] = sorted(keep) if keep is not None else range(len(video.times))
            words = dict(zip(kept, merge_bins([str(s) for s in video.subtitles], kept)))

        def flush(final: bool) -> Iterator[tuple[np.ndarray, list[float], list[str] | None, int]]:
            nonlocal frames, times, subs
            real = len(frames)
            while final and frames and len(frames) % merge:
                frames.append(frames[-1])  # pad with the last frame, as Qwen's processor does
                times.append(times[-1])
                subs.append("")
            if frames:
                yield np.stack(frames), times, subs if has_subs else None, real
            frames, times, subs = [], [], []

        for batch in video.batches:
            for img, pts, idx in zip(batch.images, batch.pts, batch.indices):
                i = int(idx)
                if keep is not None and i not in keep:
                    continue
                frames.append(img)
                times.append(float(pts))
                subs.append(words.get(i, ""))
                if len(frames) >= ENCODE_BATCH:
                    yield from flush(False)
        yield from flush(True)

    def encode(self, video: VideoInput, keep: set[int] | None) -> Iterator[EncodedChunk]:
        """Stream token grids of the kept frames, one ENCODE_BATCH at a time."""
        merge = self.adapter.temporal_merge
        done = 0
        total = len(keep) if keep is not None else len(video.times)
        for frames, times, subs, real in self._frame_chunks(video, keep):
            grids, deep = self.adapter.encode(frames)
            if grids.shape[0] * merge != len(frames):
                raise ModelError(f"encode: {len(frames)} frames gave {grids.shape[0]} token grids "
                                 f"(expected {len(frames) // merge})")
            grid_times = times[::merge]
            grid_subs = [" ".join(s for s in subs[i:i + merge] if s) for i in range(0, len(subs), merge)] \
                if subs is not None else None
            done += real
            self.progress("encode", done, total)
            yield EncodedChunk(grids, deep, grid_times, grid_subs, real)

    @staticmethod
    def _join(chunks: list[EncodedChunk]) -> EncodedChunk:
        import torch

        if not chunks:
            raise InputError("no frames to show the model (the video yielded none)")
        deep = None
        if chunks[0].deepstack is not None:
            deep = [torch.cat([c.deepstack[i] for c in chunks], dim=0) for i in range(len(chunks[0].deepstack))]
        subs = None if chunks[0].subtitles is None else [s for c in chunks for s in c.subtitles]
        return EncodedChunk(torch.cat([c.grids for c in chunks], dim=0), deep, [t for c in chunks for t in c.times],
                            subs, sum(c.frames for c in chunks))

    # ------------------------------------------------------------------ compress + interleave
    def _question_embedding(self, question: Sequence[int]) -> Any:
        import torch

        ids = torch.tensor(list(question) or [0], dtype=torch.long, device=self.adapter.device)
        with torch.inference_mode():
            return self.adapter.embed_tokens(ids).float().mean(dim=0)

    def _compress(self, encoded: EncodedChunk, choice: Choice, question: Sequence[int]) -> tuple[Any, list[Any] | None]:
        """Run ``vidq.compress.compress``; Qwen3-VL's DeepStack levels are compressed alongside
        (concatenated on the feature axis, so every level keeps the same tokens)."""
        import torch

        from vidq.compress import compress
        from vidq.compress.strategies import prompt_relevance

        options = replace(self.compress_options, strategy=choice.strategy, ratio=choice.ratio)
        grids = encoded.grids
        d = grids.shape[-1]
        extra: dict[str, Any] = {}
        if choice.strategy == "prompt":
            relevance = prompt_relevance(grids, self._question_embedding(question).to(grids.device),
                                         scale=options.prompt_scale)
            extra["token_relevance"] = relevance
        stacked = torch.cat([grids] + list(encoded.deepstack), dim=-1) if encoded.deepstack else grids
        result = compress(stacked, options=options, times=encoded.times, **extra)
        if not encoded.deepstack:
            return result, None
        levels = []
        for i in range(1 + len(encoded.deepstack)):
            levels.append([g[:, i * d:(i + 1) * d] for g in result.groups])
        result.groups = levels[0]
        return result, levels[1:]

    def _group_pieces(self, result: Any, deep: list[Any] | None, encoded: EncodedChunk, duration: float | None) -> list[Piece]:
        """Interleave: ``[time] <open> group <close> words`` for every compressed group."""
        grid = (int(encoded.grids.shape[1]), int(encoded.grids.shape[2]))
        starts = list(result.frame_index) + [int(encoded.grids.shape[0])]
        pieces: list[Piece] = []
        tok = self.adapter.tokenizer
        open_ids, close_ids = self.adapter.frame_open_ids(), self.adapter.frame_close_ids()
        for i, rows in enumerate(result.groups):
            first, end = starts[i], max(starts[i + 1], starts[i] + 1)
            words = None
            if encoded.subtitles is not None:  # every word lands with exactly one group
                words = " ".join(s for s in encoded.subtitles[first:end] if s)
            blocks = layout.group_blocks(result.meta.get("strategy", "none"), result.meta, i, grid,
                                         int(rows.shape[0]), self.compress_options.slow_pool)
            ds = tuple(level[i] for level in deep) if deep else None
            pieces += chat.frame_pieces(tok, layout.frame_stamp(encoded.times[first], duration), rows, blocks,
                                        words, open_ids, close_ids, ds)
        return pieces

    # ------------------------------------------------------------------ model passes
    def _forward(self, packed: Packed, cache: Any, shift: int = 0) -> Any:
        """Prefill ``packed`` (positions + ``shift``) into ``cache``; last hidden state [1, D]."""
        import torch

        a = self.adapter
        ids = packed.ids.to(a.device)
        embeds = a.embed_tokens(ids).unsqueeze(0)  # [1, L, D]
        if packed.features is not None:
            mask = packed.visual_mask.to(a.device)
            embeds[0, mask] = packed.features.to(a.device, embeds.dtype)
        deep = None if packed.deepstack is None else [d.to(a.device, embeds.dtype) for d in packed.deepstack]
        positions = packed.positions + shift if shift else packed.positions
        with torch.inference_mode():
            hidden = a.lm_forward(embeds, positions, cache, packed.visual_mask, deep)
        return hidden[:, -1]

    def _prefill(self, packed: Packed, cache: Any, shift: int = 0) -> Any:
        hidden = None
        chunks = layout.split_packed(packed, PREFILL_CHUNK)
        for i, chunk in enumerate(chunks):
            hidden = self._forward(chunk, cache, shift)
            self.progress("prefill", i + 1, len(chunks))
        return hidden

    def _decode(self, hidden: Any, cache: Any, position: int, options: GenerateOptions) -> list[int]:
        """Greedy (or seeded sampling) decoding from the last prefill hidden state."""
        import torch

        a = self.adapter
        eos = self._eos_ids()
        generator = torch.Generator(device="cpu").manual_seed(options.seed)
        out: list[int] = []
        axes = 3 if a.mrope else 1
        with torch.inference_mode():
            for step in range(options.max_new_tokens):
                logits = a.lm_head(hidden).float()[0]  # [V]
                if options.temperature > 0:
                    probs = torch.softmax(logits / options.temperature, dim=-1).cpu()
                    token = int(torch.multinomial(probs, 1, generator=generator))
                else:
                    token = int(torch.argmax(logits))
                if token in eos:
                    break
                out.append(token)
                embeds = a.embed_tokens(torch.tensor([[token]], device=a.device))
                pos = torch.full((axes, 1), position, dtype=torch.long)
                hidden = a.lm_forward(embeds, pos, cache)[:, -1]
                position += 1
                self.progress("generate", step + 1, options.max_new_tokens)
        return out

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (getattr(self.adapter.model, "generation_config", None), self.adapter.config):
            value = getattr(source, "eos_token_id", None) if source is not None else None
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, (list, tuple)):
                ids.update(int(v) for v in value)
        if self.adapter.tokenizer.eos_token_id is not None:
            ids.add(int(self.adapter.tokenizer.eos_token_id))
        return ids

    # ------------------------------------------------------------------ the contract
    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        import torch

        if self.plan.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(self.plan.device)
        a = self.adapter
        parts = chat.render_chat(a.tokenizer, self.template, prompt, options.system)
        frames = len(video.times) if video is not None else 0
        choice = self.choose(frames, options) if video is not None else Choice("none", None, None, "text only")
        if video is not None:
            log.info("%s: %s", self.name, choice.reason)
        keep = keep_positions(frames, choice.frames) if choice.frames and choice.frames < frames else None
        if keep is not None:
            log.info("%s: showing %d of %d frames", self.name, len(keep), frames)
        timings: dict[str, float] = {}
        meta: dict[str, Any] = {"model": self.name, "device": self.plan.device, "quant": self.plan.quant or self.plan.dtype,
                                "attention": self.plan.attn, "compression": choice.strategy, "ratio": choice.ratio,
                                "plan": choice.reason}
        sink = [layout.text(parts.prefix)]
        question = [layout.text(list(parts.question) + list(parts.suffix))]
        if video is None:
            packed = layout.pack(sink + question, placeholder_id=a.placeholder_id, start=0, mrope=a.mrope)
            meta.update(frames=0, visual_tokens=0)
            return Prepared(self.name, Payload("full", packed=packed, choice=choice, prompt=prompt, timings=timings), meta)
        header = chat.header_text(len(keep) if keep is not None else frames, video.duration, video.subtitles is not None,
                                  video.span)
        sink.append(layout.text(chat.encode_text(a.tokenizer, header)))
        if choice.strategy == "kv":
            return self._prepare_kv(self.encode(video, keep), video.duration, choice, sink, question, meta, timings,
                                    prompt)
        t0 = time.perf_counter()
        encoded = self._join(list(self.encode(video, keep)))
        timings["encode_s"] = time.perf_counter() - t0
        return self._assemble(encoded, choice, parts.question, sink, question, video.duration, meta, timings, prompt)

    def _assemble(self, encoded: EncodedChunk, choice: Choice, question_ids: Sequence[int], sink: list[Piece],
                  question: list[Piece], duration: float | None, meta: dict[str, Any], timings: dict[str, float],
                  prompt: str) -> Prepared:
        """compress + interleave for the grid strategies."""
        t0 = time.perf_counter()
        result, deep = self._compress(encoded, choice, question_ids)
        timings["compress_s"] = time.perf_counter() - t0
        pieces = sink + self._group_pieces(result, deep, encoded, duration) + question
        packed = layout.pack(pieces, placeholder_id=self.adapter.placeholder_id, start=0, mrope=self.adapter.mrope)
        grid = encoded.grids.shape[1] * encoded.grids.shape[2]
        meta.update(frames=encoded.frames, tokens_per_frame=grid / self.adapter.temporal_merge,
                    token_grid=[int(encoded.grids.shape[1]), int(encoded.grids.shape[2])],
                    visual_tokens_in=int(encoded.grids.shape[0] * grid), visual_tokens=packed.meta["visual_tokens"],
                    prompt_tokens=len(packed))
        log.info("%s: %d frames -> %d visual tokens (%s), %d tokens in all", self.name, encoded.frames,
                 packed.meta["visual_tokens"], choice.strategy, len(packed))
        payload = Payload("full", packed=packed, choice=choice, encoded=encoded, prompt=prompt, timings=timings)
        return Prepared(self.name, payload, meta)

    def _prepare_kv(self, chunks: Iterable[EncodedChunk], duration: float | None, choice: Choice, sink: list[Piece],
                    question: list[Piece], meta: dict[str, Any], timings: dict[str, float], prompt: str) -> Prepared:
        """Stream encoded grids through the windowed, pruned prefill (see ``kvprefill``)."""
        a = self.adapter
        ratio = choice.ratio or KV_RATIOS[-1]
        options = replace(self.compress_options, strategy="kv", ratio=ratio)
        cache = kvprefill.new_cache(a.language_model)
        sink_packed = layout.pack(sink, placeholder_id=a.placeholder_id, start=0, mrope=a.mrope)
        t0 = time.perf_counter()
        self._prefill(sink_packed, cache)
        position = kvprefill.cache_length(cache)
        stats = {"frames": 0, "grid": 0, "visual": 0, "video_tokens": 0}
        open_ids, close_ids = a.frame_open_ids(), a.frame_close_ids()

        def segments() -> Iterator[Packed]:
            virtual = 0
            for chunk in chunks:
                stats["frames"] += chunk.frames
                _, h, w, _ = chunk.grids.shape
                stats["grid"] = h * w
                stats["shape"] = [int(h), int(w)]
                for i in range(chunk.grids.shape[0]):
                    rows = chunk.grids[i].reshape(h * w, -1)
                    ds = tuple(level[i].reshape(h * w, -1) for level in chunk.deepstack) if chunk.deepstack else None
                    words = chunk.subtitles[i] if chunk.subtitles is not None else None
                    pieces = chat.frame_pieces(a.tokenizer, layout.frame_stamp(chunk.times[i], duration), rows,
                                               ((h, w),), words, open_ids, close_ids, ds)
                    packed = layout.pack(pieces, placeholder_id=a.placeholder_id, start=virtual, mrope=a.mrope)
                    virtual = packed.next_position
                    stats["visual"] += h * w
                    yield packed

        tap = None if options.kv_method == "norm" else kvprefill.QueryTap()
        kept_total = 0
        windows = 0
        for window in kvprefill.windows(segments(), options.kv_window):
            stats["video_tokens"] += len(window)
            shift = position - int(window.positions.min())
            if tap is not None:
                tap.attach(a.layers)
            try:
                self._forward(window, cache, shift)
            finally:
                if tap is not None:
                    tap.detach()
            kept = kvprefill.compress_window(cache, position, window.positions + shift, ratio, options.kv_method, tap, a)
            position += kept
            kept_total += kept
            windows += 1
            if kvprefill.cache_length(cache) != position:
                raise ModelError(f"kv prefill: cache holds {kvprefill.cache_length(cache)} entries, expected {position}")
        if stats["frames"] == 0:
            raise InputError("no frames to show the model (the video yielded none)")
        timings["prefill_video_s"] = time.perf_counter() - t0
        q_packed = layout.pack(question, placeholder_id=a.placeholder_id, start=0, mrope=a.mrope)
        meta.update(frames=stats["frames"], tokens_per_frame=stats["grid"] / a.temporal_merge, token_grid=stats.get("shape"),
                    visual_tokens_in=stats["visual"], visual_tokens=kept_total, kv_window=options.kv_window,
                    kv_windows=windows, kv_video_tokens=stats["video_tokens"], kv_sink=len(sink_packed),
                    kv_entries=position, ratio=ratio)
        log.info("%s: kv r=%d: %d frames, %d video tokens in %d windows -> %d cache entries", self.name, ratio,
                 stats["frames"], stats["video_tokens"], windows, position)
        payload = Payload("kv", packed=q_packed, cache=cache, next_position=position, choice=choice,
                          prompt=prompt, timings=timings)
        return Prepared(self.name, payload, meta)

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        payload: Payload = prepared.payload
        a = self.adapter
        t0 = time.perf_counter()
        if payload.kind == "kv":
            cache = payload.cache
            base = kvprefill.cache_length(cache)
            hidden = self._prefill(payload.packed, cache, shift=payload.next_position)
            position = payload.next_position + payload.packed.next_position
        else:
            cache = kvprefill.new_cache(a.language_model)
            base = 0
            hidden = self._prefill(payload.packed, cache)
            position = payload.packed.next_position
        context = kvprefill.cache_length(cache)
        t1 = time.perf_counter()
        tokens = self._decode(hidden, cache, position, options)
        t2 = time.perf_counter()
        if payload.kind == "kv":
            kvprefill.truncate(cache, base)  # leave the prepared cache as it was, so generate can run again
        text = a.tokenizer.decode(tokens, skip_special_tokens=True).strip()
        timings = {**payload.timings, "prefill_s": t1 - t0, "decode_s": t2 - t1}
        meta = {"context_length": context, "generated_tokens": len(tokens),
                "peak_memory_bytes": peak_memory_bytes(self.plan.device), "timings": timings}
        return Generation(text=text, meta=meta)

    def answer(self, video: VideoInput | None, prompt: str, options: GenerateOptions | None = None) -> Generation:
        """``prepare`` + ``generate``; on out-of-memory, one retry a rung stronger (logged)."""
        options = options or GenerateOptions()
        prepared: Prepared | None = None
        try:
            prepared = self.prepare(video, prompt, options)
            result = self.generate(prepared, options)
        except Exception as e:  # only OOM is handled; everything else propagates unchanged
            if not is_oom(e):
                raise
            return self._retry_after_oom(e, video, prompt, options, prepared)
        result.meta = {**prepared.meta, **result.meta}
        return result

    def _retry_after_oom(self, error: BaseException, video: VideoInput | None, prompt: str,
                         options: GenerateOptions, prepared: Prepared | None) -> Generation:
        self._free_memory()
        payload = prepared.payload if prepared is not None else None
        choice = payload.choice if payload is not None else None
        if video is None or payload is None or payload.encoded is None or choice is None:
            raise ModelError("out of memory (" + str(error).splitlines()[0][:120] + "); rerun with fewer --frames "
                             "or a stronger --compress (e.g. kv --ratio 16)") from error
        encoded = payload.encoded
        strategy, ratio, frames, change = stronger(choice.strategy, choice.ratio, encoded.frames,
                                                   self.capabilities.compressions)
        log.warning("%s: out of memory; retrying once with %s", self.name, change)
        if frames < encoded.frames:
            step = max(1, math.ceil(encoded.grids.shape[0] / max(1, frames // self.adapter.temporal_merge)))
            encoded = EncodedChunk(encoded.grids[::step], [d[::step] for d in encoded.deepstack] if encoded.deepstack else None,
                                   encoded.times[::step], None if encoded.subtitles is None else
                                   [" ".join(encoded.subtitles[i:i + step]) for i in range(0, len(encoded.subtitles), step)],
                                   frames)
        new_choice = Choice(strategy, ratio, None, f"{change} after out of memory")
        parts = chat.render_chat(self.adapter.tokenizer, self.template, prompt, options.system)
        sink = [layout.text(parts.prefix),
                layout.text(chat.encode_text(self.adapter.tokenizer,
                                             chat.header_text(encoded.frames, video.duration, video.subtitles is not None,
                                                              video.span)))]
        question = [layout.text(list(parts.question) + list(parts.suffix))]
        meta = dict(prepared.meta, compression=strategy, ratio=ratio, oom_retry=change)
        try:
            if strategy == "kv":
                retry = self._prepare_kv([encoded], video.duration, new_choice, sink, question, meta, {}, prompt)
            else:
                retry = self._assemble(encoded, new_choice, parts.question, sink, question, video.duration, meta,
                                       {}, prompt)
            result = self.generate(retry, options)
        except Exception as e:
            if is_oom(e):
                self._free_memory()
                raise ModelError(f"out of memory again after retrying with {change}; rerun with fewer --frames "
                                 "or a stronger --compress") from e
            raise
        result.meta = {**retry.meta, **result.meta}
        return result

    def _free_memory(self) -> None:
        import gc

        gc.collect()
        if self.plan.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
