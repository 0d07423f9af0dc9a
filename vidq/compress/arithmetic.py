"""Token arithmetic of every strategy: how many visual tokens (or KV entries) remain.

Pure integer arithmetic, no torch, so the budget planner and ``vidq plan`` stay light.
The tensor code in ``vidq.compress.strategies`` produces exactly these counts (tested).
Knows nothing about models or files.
"""

from __future__ import annotations

import math

from vidq.compress.types import KV_RATIOS, CompressOptions

_EPS = 1e-9  # guards ceil() against float fuzz, e.g. 256 * 0.25


def pooled_side(n: int, stride: int) -> int:
    """Tokens along one side after avg-pooling ``n`` tokens by ``stride`` (partial windows kept)."""
    return -(-n // stride)


def progressive_tiers(frames: int, options: CompressOptions) -> tuple[int, int, int]:
    """Frames at full resolution, at stride 2 and at stride 4: ``(n_full, n_half, n_quarter)``.

    ``n_full = ceil(T * full_fraction)``, ``n_full + n_half = ceil(T * (full + half))``; with
    the defaults (1/4, 1/4) 256 frames split 64 / 64 / 128.  The first frame is always full.
    """
    if frames <= 0:
        return (0, 0, 0)
    n_full = max(1, math.ceil(frames * options.full_fraction - _EPS))
    upto_half = max(n_full, math.ceil(frames * (options.full_fraction + options.half_fraction) - _EPS))
    upto_half = min(upto_half, frames)
    n_full = min(n_full, frames)
    return (n_full, upto_half - n_full, frames - upto_half)


def slow_indices(frames: int, slow_frames: int) -> list[int]:
    """SlowFast-LLaVA's slow-path frames: ``int(linspace(0, T, n + 1))[:-1]`` with n = min(slow_frames, T).

    The authors truncate the float positions (``.to(torch.int32)``); with T < n that would repeat
    frames, so n is capped at T and every frame becomes a slow frame.
    """
    n = min(slow_frames, frames)
    if n <= 0:
        return []
    return [int(i * frames / n + _EPS) for i in range(n)]


def fast_grid_for(grid: tuple[int, int], options: CompressOptions) -> tuple[int, int]:
    """The fast path's output grid: ``fast_grid``, capped at the input grid (pooling never adds tokens)."""
    return (min(options.fast_grid[0], grid[0]), min(options.fast_grid[1], grid[1]))


def kv_kept(tokens: int, ratio: int, window: int = 1440) -> int:
    """KV entries kept when each ``window`` of ``tokens`` keeps ``ceil(len / ratio)`` entries.

    ``kv_kept(294_912, 16) == 18_432`` (Video-XL: 2048 frames x 144 tokens at r = 16).
    """
    if ratio < 1 or window < 1:
        raise ValueError(f"ratio and window must be positive (got {ratio}, {window})")
    full, rest = divmod(max(tokens, 0), window)
    return full * -(-window // ratio) + -(-rest // ratio)


def kv_ratio_for_budget(tokens: int, budget: int, allowed: tuple[int, ...] = KV_RATIOS, window: int = 1440) -> int | None:
    """The smallest ratio r from ``allowed`` whose kept KV entries fit ``budget``.

    Returns 1 when ``tokens`` already fit (no compression needed) and None when even the
    largest allowed ratio does not fit.
    """
    if tokens <= budget:
        return 1
    for r in sorted(allowed):
        if kv_kept(tokens, r, window) <= budget:
            return r
    return None


def tokens_after(strategy: str, frames: int, grid: tuple[int, int], options: CompressOptions | None = None) -> int:
    """Visual tokens left after ``strategy`` on ``frames`` token grids of ``grid = (H, W)``.

    For ``kv`` and ``videoxl`` this is the number of visual KV entries kept after the prefill
    (``options.ratio`` is required).  Examples with the default options::

        tokens_after("slowfast", 50, (24, 24))  == 10 * 288 + 50 * 16 == 3680
        tokens_after("prompt", 32, (24, 24))    == 16 * 8 * 8 == 1024
    """
    options = options or CompressOptions()
    h, w = grid
    if frames <= 0 or h <= 0 or w <= 0:
        return 0
    if strategy == "none":
        return frames * h * w
    if strategy == "slowfast":
        slow = len(slow_indices(frames, options.slow_frames)) * ((h * w) // options.slow_pool)
        fh, fw = fast_grid_for(grid, options)
        return slow + frames * fh * fw
    if strategy == "progressive":
        n_full, n_half, n_quarter = progressive_tiers(frames, options)
        return (n_full * h * w + n_half * pooled_side(h, 2) * pooled_side(w, 2)
                + n_quarter * pooled_side(h, 4) * pooled_side(w, 4))
    if strategy == "prompt":
        kt, kh, kw = options.prompt_kernel
        return pooled_side(frames, kt) * pooled_side(h, kh) * pooled_side(w, kw)
    if strategy in ("kv", "videoxl"):
        if options.ratio is None:
            raise ValueError(f"{strategy}: the token count depends on the ratio; set CompressOptions.ratio")
        return kv_kept(frames * h * w, options.ratio, options.kv_window)
    raise ValueError(f"unknown compression strategy {strategy!r}")
