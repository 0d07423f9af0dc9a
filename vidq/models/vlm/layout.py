"""The token layout of a video prompt: pieces, their positions, and the placeholder check.

A prompt is a list of *pieces*: text (token ids) or visual (rows of feature vectors laid
out as one or more 2-D blocks).  Each sampled frame contributes, MiniGPT4-Video style::

    [timestamp text] [open tokens] [visual rows] [close tokens] [subtitle text]

``pack`` turns pieces into the tensors the language model takes: ids (placeholder id at
visual rows), the visual mask, the feature rows, and position ids, either 1-D or Qwen's
3-D M-RoPE ``(t, h, w)``.  For M-RoPE a visual block of ``rows x cols`` starting at ``s``
gets ``t = s``, ``h = s + i``, ``w = s + j`` and the next piece starts at
``s + max(rows, cols)`` (transformers' ``get_rope_index`` for a one-frame grid), so the
positions follow the groups actually inserted, whatever compression did to their size.

Pure tensor code: knows nothing about tokenizers, models or files.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vidq.errors import ModelError

if TYPE_CHECKING:
    import torch

log = logging.getLogger("vidq.models")


@dataclass(frozen=True)
class Piece:
    """One run of the prompt: text ids, or visual rows with their 2-D layout."""

    ids: tuple[int, ...] = ()  # text token ids (empty for a visual piece)
    features: torch.Tensor | None = None  # [n, D] visual rows, in the LLM's embedding space
    blocks: tuple[tuple[int, int], ...] = ()  # (rows, cols) blocks, row-major; their areas sum to n
    deepstack: tuple[torch.Tensor, ...] | None = None  # Qwen3-VL: per level [n, D] rows added in early layers

    @property
    def visual(self) -> bool:
        return self.features is not None

    def __len__(self) -> int:
        return int(self.features.shape[0]) if self.features is not None else len(self.ids)


def text(ids: list[int] | tuple[int, ...]) -> Piece:
    return Piece(ids=tuple(int(i) for i in ids))


def visual(features: torch.Tensor, blocks: tuple[tuple[int, int], ...] | None = None,
           deepstack: tuple[torch.Tensor, ...] | None = None) -> Piece:
    """A visual piece; ``blocks`` defaults to one row of ``n`` tokens."""
    n = int(features.shape[0])
    blocks = blocks or ((1, n),)
    area = sum(r * c for r, c in blocks)
    if area != n:
        raise ModelError(f"visual layout covers {area} tokens but the group has {n} feature rows")
    if deepstack is not None and any(int(d.shape[0]) != n for d in deepstack):
        raise ModelError(f"deepstack rows {[int(d.shape[0]) for d in deepstack]} do not match {n} visual rows")
    return Piece(features=features, blocks=tuple(blocks), deepstack=deepstack)


@dataclass
class Packed:
    """Pieces turned into model inputs (one sequence, batch of 1)."""

    ids: torch.Tensor  # [L] int64; visual rows hold the placeholder id
    visual_mask: torch.Tensor  # [L] bool, True at visual rows
    features: torch.Tensor | None  # [n_visual, D] rows in sequence order (None: no visual rows)
    deepstack: list[torch.Tensor] | None  # per level [n_visual, D] (Qwen3-VL), else None
    positions: torch.Tensor  # [3, L] (M-RoPE) or [1, L] int64
    next_position: int  # position id of the token after this sequence
    meta: dict = field(default_factory=dict)  # counts for logs: text/visual tokens

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def block_positions(start: int, rows: int, cols: int) -> tuple[list[int], list[int], list[int], int]:
    """M-RoPE (t, h, w) of a ``rows x cols`` block at ``start``, and the next start.

    >>> block_positions(10, 2, 3)
    ([10, 10, 10, 10, 10, 10], [10, 10, 10, 11, 11, 11], [10, 11, 12, 10, 11, 12], 13)
    """
    t = [start] * (rows * cols)
    h = [start + i for i in range(rows) for _ in range(cols)]
    w = [start + j for _ in range(rows) for j in range(cols)]
    return t, h, w, start + max(rows, cols)


def positions_for(pieces: list[Piece], start: int, mrope: bool) -> tuple[list[list[int]], int]:
    """Position ids of ``pieces`` from ``start``: ``[[t...], [h...], [w...]]`` or ``[[p...]]``."""
    if not mrope:
        total = sum(len(p) for p in pieces)
        return [list(range(start, start + total))], start + total
    axes: list[list[int]] = [[], [], []]
    pos = start
    for piece in pieces:
        if not piece.visual:
            run = list(range(pos, pos + len(piece.ids)))
            for axis in axes:
                axis.extend(run)
            pos += len(piece.ids)
            continue
        for rows, cols in piece.blocks:
            t, h, w, pos = block_positions(pos, rows, cols)
            axes[0].extend(t)
            axes[1].extend(h)
            axes[2].extend(w)
    return axes, pos


def pack(pieces: list[Piece], *, placeholder_id: int, start: int, mrope: bool) -> Packed:
    """Concatenate pieces into ids, mask, features and positions; check the counts meet.

    The check mirrors transformers' ``get_placeholder_mask``: placeholder tokens in the
    ids must equal the feature rows, and text must not contain the placeholder id.
    """
    import torch

    ids: list[int] = []
    mask: list[bool] = []
    feats: list[torch.Tensor] = []
    levels: list[list[torch.Tensor]] | None = None
    for piece in pieces:
        if piece.visual:
            assert piece.features is not None
            n = int(piece.features.shape[0])
            ids.extend([placeholder_id] * n)
            mask.extend([True] * n)
            feats.append(piece.features)
            if piece.deepstack is not None:
                if levels is None:
                    levels = [[] for _ in piece.deepstack]
                for level, rows in zip(levels, piece.deepstack):
                    level.append(rows)
        else:
            ids.extend(piece.ids)
            mask.extend([False] * len(piece.ids))
    axes, next_pos = positions_for(pieces, start, mrope)
    ids_t = torch.tensor(ids, dtype=torch.long)
    mask_t = torch.tensor(mask, dtype=torch.bool)
    features = torch.cat(feats, dim=0) if feats else None
    n_rows = 0 if features is None else int(features.shape[0])
    n_placeholders = int((ids_t == placeholder_id).sum())
    if n_placeholders != n_rows:
        raise ModelError(
            f"visual placeholders and features do not match: tokens: {n_placeholders}, feature rows: {n_rows}"
            " (does the text contain the model's image token?)"
        )
    deepstack = [torch.cat(level, dim=0) for level in levels] if levels is not None else None
    return Packed(
        ids=ids_t, visual_mask=mask_t, features=features, deepstack=deepstack,
        positions=torch.tensor(axes, dtype=torch.long), next_position=next_pos,
        meta={"text_tokens": len(ids) - n_rows, "visual_tokens": n_rows},
    )


def split_packed(packed: Packed, size: int) -> list[Packed]:
    """Cut a packed sequence into consecutive chunks of at most ``size`` tokens (for chunked prefill)."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    out = []
    row = 0  # visual rows consumed so far
    for a in range(0, len(packed), size):
        b = min(len(packed), a + size)
        mask = packed.visual_mask[a:b]
        n = int(mask.sum())
        feats = packed.features[row:row + n] if packed.features is not None and n else None
        deep = [d[row:row + n] for d in packed.deepstack] if packed.deepstack is not None and n else None
        row += n
        out.append(Packed(ids=packed.ids[a:b], visual_mask=mask, features=feats, deepstack=deep,
                          positions=packed.positions[:, a:b], next_position=packed.next_position))
    return out


def frame_stamp(seconds: float, duration: float | None = None) -> str:
    """The timestamp text before a frame: ``[01:02.5]``, or ``[1:01:02.5]`` past an hour.

    Tenths of a second only; hours shown when the video (or the time) reaches one hour.
    """
    tenths = round(max(seconds, 0.0) * 10)
    total_s, tenth = divmod(tenths, 10)
    h, rem = divmod(total_s, 3600)
    m, s = divmod(rem, 60)
    if h or (duration is not None and duration >= 3600):
        return f"[{h}:{m:02d}:{s:02d}.{tenth}]"
    return f"[{m:02d}:{s:02d}.{tenth}]"


def square_blocks(n: int) -> tuple[tuple[int, int], ...]:
    """A layout for ``n`` rows of unknown shape: a square when ``n`` is one, else one row."""
    side = math.isqrt(n)
    return ((side, side),) if side * side == n and n > 0 else ((1, n),)


def group_blocks(strategy: str, meta: dict, index: int, grid: tuple[int, int], n: int,
                 options_slow_pool: int = 2) -> tuple[tuple[int, int], ...]:
    """The 2-D layout of compressed group ``index`` (``vidq.compress`` returns flat ``[n, D]`` rows).

    Derived from the strategy and its ``meta``: ``none``/``kv``/``videoxl`` keep the grid;
    ``progressive`` pools by its stride; ``slowfast`` is the slow rows (1-D pooled along each
    row) then the fast grid; ``prompt`` is its window grid.  Falls back to ``square_blocks``
    when the meta does not say, and always checks the layout covers exactly ``n`` rows.
    """
    h, w = grid
    blocks: tuple[tuple[int, int], ...]
    if strategy in ("none", "kv", "videoxl"):
        blocks = ((h, w),)
    elif strategy == "progressive" and "strides" in meta:
        s = int(meta["strides"][index])
        blocks = ((-(-h // s), -(-w // s)),)
    elif strategy == "slowfast" and "fast_grid" in meta:
        fh, fw = (int(x) for x in meta["fast_grid"])
        slow_n = n - fh * fw
        if slow_n == 0:
            blocks = ((fh, fw),)
        elif w % options_slow_pool == 0 and slow_n == h * (w // options_slow_pool):
            blocks = ((h, w // options_slow_pool), (fh, fw))
        else:
            blocks = ((1, slow_n), (fh, fw))
    elif strategy == "prompt" and "windows" in meta:
        _, nh, nw = (int(x) for x in meta["windows"])
        blocks = ((nh, nw),)
    else:
        blocks = square_blocks(n)
    if sum(r * c for r, c in blocks) != n:
        log.debug("%s group %d: layout %s does not cover %d rows; using %s", strategy, index, blocks, n, square_blocks(n))
        blocks = square_blocks(n)
    return blocks
