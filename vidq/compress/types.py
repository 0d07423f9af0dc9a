"""Options and results of visual-context compression (plain data, no torch at import time).

Knows nothing about models, files or the CLI: a strategy sees token grids and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Every --compress name, weakest first (the order the budget planner tries them in).
STRATEGIES: tuple[str, ...] = ("none", "progressive", "slowfast", "prompt", "kv", "videoxl")
# Strategies that are functions over token grids; `kv` and `videoxl` act inside the LLM prefill.
GRID_STRATEGIES: tuple[str, ...] = ("none", "progressive", "slowfast", "prompt")
# Compression ratios r for `kv` / `videoxl`: Video-XL's finetune_i.sh trains with 2 4 8 12 16,
# and each divides the 1440-token window.
KV_RATIOS: tuple[int, ...] = (2, 4, 8, 12, 16)
KV_METHODS: tuple[str, ...] = ("attention", "merge", "norm")


@dataclass(frozen=True)
class CompressOptions:
    """Knobs of every strategy; each default is the source paper's (or ours, where marked).

    Override with ``dataclasses.replace(options, strategy="slowfast")``.
    """

    strategy: str = "none"  # one of STRATEGIES
    # slowfast (SlowFast-LLaVA, "slowfast-slow_10frms_spatial_1d_max_pool-fast_4x4")
    slow_frames: int = 10  # frames on the slow path: int(linspace(0, T, slow_frames + 1))[:-1]
    slow_pool: int = 2  # slow path: 1-D max-pool, kernel = stride, over the row-major token axis
    fast_grid: tuple[int, int] = (4, 4)  # fast path: every frame adaptive-avg-pooled to this grid
    # progressive (ours; the paper, arXiv 2409.20018, publishes no schedule or code)
    full_fraction: float = 0.25  # most novel frames kept at full resolution
    half_fraction: float = 0.25  # next most novel frames avg-pooled by stride 2; the rest by stride 4
    # prompt (PPLLaVA, ppllava/models/utils.py weighted_adaptive_avg_pool3d_unfold)
    prompt_kernel: tuple[int, int, int] = (2, 3, 3)  # (time, height, width) window; stride = kernel
    prompt_scale: float = 100.0  # multiplies the cosine before the global softmax (CLIP's exp(logit_scale))
    prompt_temperature: float = 0.01  # softmax temperature of the relevance inside each window
    # kv / videoxl (Video-XL: beacon_window = stride = 1440, ratios 2..16)
    ratio: int | None = None  # keep 1/r of each window's KV entries; None: the planner decides
    kv_window: int = 1440  # visual tokens prefilled per window (10 frames of 144 tokens in Video-XL)
    kv_method: str = "attention"  # attention | merge | norm, see vidq.compress.kv.select_kv

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown compression strategy {self.strategy!r}; choose from {', '.join(STRATEGIES)}")
        if self.kv_method not in KV_METHODS:
            raise ValueError(f"unknown kv method {self.kv_method!r}; choose from {', '.join(KV_METHODS)}")
        if not (0.0 <= self.full_fraction and 0.0 <= self.half_fraction and self.full_fraction + self.half_fraction <= 1.0):
            raise ValueError("progressive: full_fraction and half_fraction must be >= 0 and sum to at most 1")
        if self.ratio is not None and self.ratio < 1:
            raise ValueError(f"ratio must be >= 1, got {self.ratio}")
        if self.slow_frames < 1 or self.slow_pool < 1 or min(self.fast_grid) < 1 or min(self.prompt_kernel) < 1:
            raise ValueError("slowfast/prompt sizes must be positive")
        if self.kv_window < 1:
            raise ValueError(f"kv_window must be positive, got {self.kv_window}")


@dataclass
class CompressedVideo:
    """Visual tokens after compression: one group per kept frame, in time order.

    The backend interleaves ``timestamp, groups[i], subtitle`` for each ``i``.
    """

    groups: list[torch.Tensor]  # [n_i, D] tokens of the i-th kept frame (n_i may differ per frame)
    frame_index: list[int]  # input frame (grid) each group belongs to; for windows, the window's first frame
    meta: dict[str, Any] = field(default_factory=dict)  # strategy, tokens_in, tokens_out, per-path counts
    times: list[float] | None = None  # time (s) of each group's frame, when times were given

    @property
    def tokens(self) -> int:
        """Total visual tokens left."""
        return sum(int(g.shape[0]) for g in self.groups)
