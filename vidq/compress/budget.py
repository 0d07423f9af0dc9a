"""The budget planner: frames x tokens per frame x compression that fit a context and a GPU.

Arithmetic only (no torch, no weights).  ``plan_budget`` walks the compression ladder,
weakest first, and returns the first option that fits both the model's trained context
window and (when given) the GPU memory:

    none < progressive < slowfast < prompt < kv r=2,4,8,12,16 (or videoxl r=...) < fewer frames

Memory of an option = weights (per quantization) + KV cache + prefill activations +
visual features before compression + a fixed runtime overhead; every term is a field of
``Option`` so the CLI can show the arithmetic.  The model is described by any object with
the attributes of ``vidq.models.dims.ModelDims`` (``DimsLike``): this layer sits below the
models layer and does not import it.  Knows nothing about files or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from vidq.compress.arithmetic import kv_kept, tokens_after
from vidq.compress.types import KV_RATIOS, STRATEGIES, CompressOptions

GIB = 1 << 30
QUANTS: tuple[str, ...] = ("4bit", "8bit", "none")
DTYPE_BYTES = 2  # bf16 weights (unquantized parts), activations and KV cache
# bitsandbytes nf4 with double quantization: 4-bit weights, one 8-bit absmax per 64-weight
# block, one fp32 constant per 256 blocks: 0.5 + 1/64 + 4/16384 = 0.51587 bytes per parameter.
NF4_BLOCK = 64
NF4_BLOCKS_PER_CONSTANT = 256
RUNTIME_OVERHEAD_BYTES = 1 * GIB  # CUDA context, cuBLAS workspace, allocator fragmentation
CONTEXT_FILL = 0.75  # share of the trained window visual + prompt + answer tokens may fill;
# the rest is left for the timestamps and subtitle lines interleaved with every frame
PROMPT_TOKENS = 256  # system prompt + question + chat template, without per-frame text
ANSWER_TOKENS = 512  # generated tokens (GenerateOptions.max_new_tokens)


class DimsLike(Protocol):
    """The model attributes the planner reads (``vidq.models.dims.ModelDims`` has them)."""

    name: str
    params_total: int
    params_vision: int
    params_embed: int
    layers: int
    hidden: int
    kv_heads: int
    head_dim: int
    intermediate: int
    trained_context: int
    token_grid: tuple[int, int]
    temporal_merge: int
    compressions: tuple[str, ...]

    def grids_for(self, frames: int) -> int: ...

    def grid_at(self, resolution: int | None) -> tuple[int, int]: ...

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int: ...


def weight_bytes(dims: DimsLike, quant: str) -> int:
    """Bytes of the weights on the GPU under ``quant``.

    ``none``: every parameter in bf16.  ``8bit`` / ``4bit`` (bitsandbytes): the LLM's linear
    layers at 1 byte or nf4 + double-quant (0.516 bytes) per parameter; the embeddings, LM
    head and the vision tower + projector stay bf16.
    """
    if quant not in QUANTS:
        raise ValueError(f"unknown quantization {quant!r}; choose from {', '.join(QUANTS)}")
    if quant == "none":
        return dims.params_total * DTYPE_BYTES
    body = dims.params_total - dims.params_vision - dims.params_embed  # quantized linear weights
    kept_bf16 = (dims.params_embed + dims.params_vision) * DTYPE_BYTES
    if quant == "8bit":
        return body + kept_bf16
    blocks = -(-body // NF4_BLOCK)
    return -(-body // 2) + blocks + 4 * -(-blocks // NF4_BLOCKS_PER_CONSTANT) + kept_bf16


def activation_bytes_per_token(dims: DimsLike) -> int:
    """Peak prefill activations per token inside one decoder layer (bf16, SDPA/flash attention).

    The MLP holds gate, up and their product (3 x intermediate) next to the residual stream,
    the normed input, the attention output and the MLP output (4 x hidden).
    """
    return DTYPE_BYTES * (3 * dims.intermediate + 4 * dims.hidden)


@dataclass(frozen=True)
class Option:
    """One rung of the ladder, with the arithmetic behind its memory."""

    strategy: str  # none | progressive | slowfast | prompt | kv | videoxl
    ratio: int | None  # r for kv / videoxl, else None
    frames: int  # frames shown to the model
    grids: int  # token grids (frames / temporal merge)
    grid: tuple[int, int]  # (H, W) tokens per grid
    visual_tokens_in: int  # visual tokens before compression
    visual_tokens: int  # visual tokens (kv/videoxl: KV entries) after compression
    prefill_tokens: int  # tokens in one prefill pass (whole prompt, or one kv window + cache)
    context_tokens: int  # positions used: visual + prompt + answer (+ the kv window in flight)
    context_limit: int  # trained window x fill
    kv_bytes: int  # context_tokens x kv bytes per token
    activation_bytes: int  # prefill pass tokens x activation bytes per token
    feature_bytes: int  # visual features before compression (visual_tokens_in x hidden x 2)
    weight_bytes: int  # weights under the plan's quantization
    overhead_bytes: int  # fixed runtime overhead
    vram_bytes: int | None  # the GPU's memory, None when not given

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.kv_bytes + self.activation_bytes + self.feature_bytes + self.overhead_bytes

    @property
    def within_context(self) -> bool:
        return self.context_tokens <= self.context_limit

    @property
    def fits_memory(self) -> bool | None:
        return None if self.vram_bytes is None else self.total_bytes <= self.vram_bytes

    @property
    def fits(self) -> bool:
        return self.within_context and self.fits_memory is not False

    @property
    def label(self) -> str:
        return f"{self.strategy} r={self.ratio}" if self.ratio else self.strategy

    def why_not(self) -> str:
        """'' when it fits, else what is exceeded."""
        reasons = []
        if not self.within_context:
            reasons.append(f"context {self.context_tokens:,} > {self.context_limit:,}")
        if self.fits_memory is False:
            assert self.vram_bytes is not None
            reasons.append(f"memory {self.total_bytes / GIB:.1f} GiB > {self.vram_bytes / GIB:.0f} GiB")
        return "; ".join(reasons)


@dataclass(frozen=True)
class BudgetPlan:
    """What the planner chose, every option it tried, and why."""

    model: str  # the model's name
    frames_requested: int  # frames asked for
    quant: str  # 4bit | 8bit | none
    vram_bytes: int | None  # the GPU memory planned for (None: context only)
    trained_context: int  # the model's trained window
    context_limit: int  # trained window x CONTEXT_FILL
    tokens_per_frame: float  # visual tokens per frame before compression
    chosen: Option  # the weakest option that fits (or the strongest tried, if none fits)
    ladder: tuple[Option, ...] = field(default=())  # every option tried, in order
    fits: bool = False  # whether ``chosen`` fits
    reason: str = ""  # one line: what was chosen and why

    @property
    def strategy(self) -> str:
        return self.chosen.strategy

    @property
    def ratio(self) -> int | None:
        return self.chosen.ratio

    @property
    def frames(self) -> int:
        return self.chosen.frames

    @property
    def exceeds_context(self) -> bool:
        """Whether the chosen context is beyond the model's trained window."""
        return self.chosen.context_tokens > self.trained_context


def evaluate(dims: DimsLike, frames: int, strategy: str, ratio: int | None = None, *, quant: str = "4bit",
             vram_gb: float | None = None, resolution: int | None = None, prompt_tokens: int = PROMPT_TOKENS,
             answer_tokens: int = ANSWER_TOKENS, options: CompressOptions | None = None) -> Option:
    """The memory and context of one option (no choosing)."""
    options = replace(options or CompressOptions(), ratio=ratio)
    grid = dims.grid_at(resolution)
    grids = dims.grids_for(frames)
    tokens_in = grids * grid[0] * grid[1]
    text = prompt_tokens + answer_tokens
    windowed = strategy in ("kv", "videoxl")
    if windowed:
        if ratio is None:
            raise ValueError(f"{strategy} needs a ratio")
        kept = kv_kept(tokens_in, ratio, options.kv_window)
        window = min(options.kv_window, tokens_in)
        context = kept + window + text  # the cache holds the kept entries while a raw window is prefilled
        prefill = window
    else:
        kept = tokens_after(strategy, grids, grid, options)
        context = kept + text
        prefill = kept + prompt_tokens
    per_token = dims.kv_bytes_per_token(DTYPE_BYTES)
    return Option(
        strategy=strategy, ratio=ratio if windowed else None, frames=frames, grids=grids, grid=grid,
        visual_tokens_in=tokens_in, visual_tokens=kept, prefill_tokens=prefill, context_tokens=context,
        context_limit=int(dims.trained_context * CONTEXT_FILL), kv_bytes=context * per_token,
        activation_bytes=prefill * activation_bytes_per_token(dims),
        feature_bytes=tokens_in * dims.hidden * DTYPE_BYTES, weight_bytes=weight_bytes(dims, quant),
        overhead_bytes=RUNTIME_OVERHEAD_BYTES, vram_bytes=None if vram_gb is None else int(vram_gb * GIB),
    )


def ladder_steps(dims: DimsLike, strategies: tuple[str, ...] | None = None) -> list[tuple[str, int | None]]:
    """(strategy, ratio) pairs the planner tries, weakest first, for what the model supports."""
    allowed = strategies if strategies is not None else dims.compressions
    steps: list[tuple[str, int | None]] = []
    for name in STRATEGIES:
        if name not in allowed:
            continue
        if name in ("kv", "videoxl"):
            steps.extend((name, r) for r in KV_RATIOS)
        else:
            steps.append((name, None))
    return steps


def plan_budget(dims: DimsLike, frames: int, *, vram_gb: float | None = None, quant: str = "4bit",
                compress: str = "auto", ratio: int | None = None, prompt_tokens: int = PROMPT_TOKENS,
                answer_tokens: int = ANSWER_TOKENS, resolution: int | None = None,
                strategies: tuple[str, ...] | None = None, options: CompressOptions | None = None) -> BudgetPlan:
    """Choose the weakest compression that fits the trained context and ``vram_gb``.

    ``compress="auto"`` walks ``ladder_steps`` and, when even the strongest step does not
    fit, keeps it and lowers the frame count to the largest that fits.  A named strategy
    is evaluated as asked (for ``kv``/``videoxl`` without ``ratio``: the smallest ratio that
    fits).  ``strategies`` limits the ladder (default: what the model supports).
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if quant not in QUANTS:
        raise ValueError(f"unknown quantization {quant!r}; choose from {', '.join(QUANTS)}")
    if compress != "auto" and compress not in STRATEGIES:
        raise ValueError(f"unknown compression {compress!r}; choose from auto, {', '.join(STRATEGIES)}")

    def at(n: int, strategy: str, r: int | None) -> Option:
        return evaluate(dims, n, strategy, r, quant=quant, vram_gb=vram_gb, resolution=resolution,
                        prompt_tokens=prompt_tokens, answer_tokens=answer_tokens, options=options)

    if compress == "auto":
        steps = ladder_steps(dims, strategies)
    elif compress in ("kv", "videoxl"):
        steps = [(compress, ratio)] if ratio is not None else [(compress, r) for r in KV_RATIOS]
    else:
        steps = [(compress, None)]
    tried: list[Option] = []
    for strategy, r in steps:
        option = at(frames, strategy, r)
        tried.append(option)
        if option.fits:
            return _plan(dims, frames, quant, vram_gb, option, tried, _reason(option, tried, frames))
    strongest = tried[-1]
    if compress == "auto":
        fewer = _most_frames(lambda n: at(n, strongest.strategy, strongest.ratio), frames - 1)
        if fewer is not None:
            tried.append(fewer)
            return _plan(dims, frames, quant, vram_gb, fewer, tried, _reason(fewer, tried, frames))
    return _plan(dims, frames, quant, vram_gb, strongest, tried,
                 f"nothing fits: {strongest.label} at {strongest.frames} frames needs {strongest.why_not()}")


def _most_frames(at, upper: int) -> Option | None:
    """The largest frame count in 1..upper whose option fits (fit shrinks as frames grow)."""
    if upper < 1 or not at(1).fits:
        return None
    lo, hi = 1, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if at(mid).fits:
            lo = mid
        else:
            hi = mid - 1
    return at(lo)


def _reason(chosen: Option, tried: list[Option], frames: int) -> str:
    limits = "context" if chosen.vram_bytes is None else f"context and {chosen.vram_bytes / GIB:.0f} GiB"
    head = f"{chosen.label} at {chosen.frames} frames fits the {limits}"
    if chosen.frames < frames:
        head += f" (fewer frames: {frames} do not fit even with {chosen.label})"
    weaker = [o for o in tried if o is not chosen and not o.fits]
    if weaker and chosen.frames == frames:
        head += f"; {weaker[-1].label} does not ({weaker[-1].why_not()})"
    return head


def _plan(dims: DimsLike, frames: int, quant: str, vram_gb: float | None, chosen: Option,
          tried: list[Option], reason: str) -> BudgetPlan:
    return BudgetPlan(
        model=dims.name, frames_requested=frames, quant=quant,
        vram_bytes=None if vram_gb is None else int(vram_gb * GIB), trained_context=dims.trained_context,
        context_limit=chosen.context_limit, tokens_per_frame=chosen.grid[0] * chosen.grid[1] / dims.temporal_merge,
        chosen=chosen, ladder=tuple(tried), fits=chosen.fits, reason=reason,
    )
