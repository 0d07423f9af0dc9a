"""Visual-context compression: token-budget strategies over per-frame visual token grids.

Pure tensor code, testable without any model; knows nothing about the CLI, files or
model internals.  Light names (options, arithmetic, the budget planner) import without
torch; ``compress`` and ``select_kv`` import torch on first use.

    from vidq.compress import CompressOptions, compress, plan_budget
    out = compress(grids, options=CompressOptions(strategy="slowfast"))   # grids: [T, H, W, D]
"""

from __future__ import annotations

from typing import Any

from vidq.compress.arithmetic import kv_kept, kv_ratio_for_budget, tokens_after
from vidq.compress.budget import BudgetPlan, Option, plan_budget, weight_bytes
from vidq.compress.types import (
    GRID_STRATEGIES,
    KV_METHODS,
    KV_RATIOS,
    STRATEGIES,
    CompressedVideo,
    CompressOptions,
)

__all__ = [
    "GRID_STRATEGIES", "KV_METHODS", "KV_RATIOS", "STRATEGIES", "BudgetPlan", "CompressOptions",
    "CompressedVideo", "Option", "compress", "kv_kept", "kv_ratio_for_budget", "plan_budget",
    "select_kv", "tokens_after", "weight_bytes",
]

_TORCH_NAMES = {"compress": "vidq.compress.strategies", "select_kv": "vidq.compress.kv"}


def __getattr__(name: str) -> Any:
    """Import the torch-backed functions on first use, so ``vidq plan`` never loads torch."""
    if name in _TORCH_NAMES:
        import importlib

        return getattr(importlib.import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module 'vidq.compress' has no attribute {name!r}")
