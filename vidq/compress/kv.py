"""Pure pieces of ``--compress kv``: choose which KV-cache entries of a window to keep.

A training-free take on Video-XL: the backend prefills visual tokens window by window
(``CompressOptions.kv_window``, 1440 by default) and after each window keeps ``1/r`` of
that window's KV entries, chosen here.  Kept entries stay in their original order.
The prefill loop, positions and the cache object belong to the backend; this module knows
nothing about models, layers or files.

Methods
-------
attention
    keep the ``keep`` entries with the highest ``scores`` (e.g. the attention the window's
    last queries paid to each key, summed over heads), as in H2O / SnapKV.
norm
    keep the entries whose keys have the smallest L2 norm (averaged over heads): low-norm
    keys draw the most attention (Devoto et al. 2024, "A Simple and Effective L2 Norm-Based
    Strategy for KV Cache Compression").  Needs no attention weights, so it works with
    flash attention.
merge
    choose the kept entries as ``attention`` does (or as ``norm`` without scores), then
    average each dropped entry into its most similar kept entry (cosine of the keys over all
    heads), so no entry's content is thrown away entirely.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidq.compress.types import KV_METHODS


def select_kv(
    keys: torch.Tensor,
    values: torch.Tensor,
    scores: torch.Tensor | None,
    keep: int,
    method: str = "attention",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep ``keep`` of the ``L`` KV entries, in their original order.

    Parameters
    ----------
    keys, values : torch.Tensor, shape = (heads, L, d)
        One layer's cache entries for a window (any leading dims work; the entry axis is -2).
    scores : torch.Tensor, shape = (L,), optional
        Importance of each entry (higher is kept first); required for ``attention``.
    keep : int
        Entries to keep (``>= 1``); ``keep >= L`` returns the inputs unchanged.
    method : str
        ``attention``, ``merge`` or ``norm`` (see the module docstring).

    Returns
    -------
    keys', values' : torch.Tensor, shape = (heads, keep, d)
    kept_index : torch.Tensor, shape = (keep,), int64, ascending
        Entry index (in ``0..L-1``) of each kept entry; ties in score keep the earlier entry.
    """
    if method not in KV_METHODS:
        raise ValueError(f"unknown kv method {method!r}; choose from {', '.join(KV_METHODS)}")
    if keys.ndim < 2 or keys.shape[:-1] != values.shape[:-1]:
        raise ValueError(f"keys {tuple(keys.shape)} and values {tuple(values.shape)} disagree on the entry axes")
    length = keys.shape[-2]
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    if scores is not None and scores.shape != (length,):
        raise ValueError(f"scores must be [L] = [{length}], got {tuple(scores.shape)}")
    if keep >= length:
        return keys, values, torch.arange(length, device=keys.device)
    if method == "attention" and scores is None:
        raise ValueError("kv method 'attention' needs scores [L]")
    if scores is None:
        # smallest key norm first: rank by the negated norm
        ranking = -keys.float().norm(dim=-1).reshape(-1, length).mean(dim=0)
    else:
        ranking = scores.float()
    kept = torch.sort(torch.argsort(-ranking, stable=True)[:keep]).values.to(keys.device)
    if method != "merge":
        return keys.index_select(-2, kept), values.index_select(-2, kept), kept
    return (*_merge(keys, values, kept), kept)


def _merge(keys: torch.Tensor, values: torch.Tensor, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Average every dropped entry into its most similar kept entry (cosine of keys over all heads)."""
    length = keys.shape[-2]
    dropped_mask = torch.ones(length, dtype=torch.bool, device=keys.device)
    dropped_mask[kept] = False
    dropped = torch.nonzero(dropped_mask).flatten()
    # [..., L, d] -> [L, ...*d]: one vector per entry across heads
    flat_k = keys.float().movedim(-2, 0).reshape(length, -1)
    flat_v = values.float().movedim(-2, 0).reshape(length, -1)
    sim = F.normalize(flat_k[dropped], dim=-1) @ F.normalize(flat_k[kept], dim=-1).T  # [n_dropped, keep]
    target = sim.argmax(dim=-1)  # first maximum on ties
    sum_k = flat_k[kept].index_add(0, target, flat_k[dropped])
    sum_v = flat_v[kept].index_add(0, target, flat_v[dropped])
    count = torch.ones(kept.shape[0], device=keys.device).index_add(0, target, torch.ones_like(target, dtype=torch.float32))
    n = kept.shape[0]
    new_k = (sum_k / count[:, None]).reshape((n,) + tuple(keys.movedim(-2, 0).shape[1:])).movedim(0, -2)
    new_v = (sum_v / count[:, None]).reshape((n,) + tuple(values.movedim(-2, 0).shape[1:])).movedim(0, -2)
    return new_k.to(keys.dtype), new_v.to(values.dtype)
