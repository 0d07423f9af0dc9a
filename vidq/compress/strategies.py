"""Grid strategies: pure tensor functions over per-frame visual token grids.

Input ``grids: Tensor[T, H, W, D]`` are frame tokens after the vision tower and projector
(already in the LLM's embedding space), before the LLM.  ``T`` counts token grids: for
Qwen-VL one grid covers two frames.  Output is a ``CompressedVideo`` with one ``[n_i, D]``
group per kept grid, in time order, so a backend can interleave timestamp, frame tokens
and subtitle per frame.  Token counts equal ``vidq.compress.arithmetic.tokens_after``.

Strategies (defaults in ``CompressOptions``):

* ``none``: each grid flattened row-major, unchanged.
* ``slowfast`` (SlowFast-LLaVA, apple/ml-slowfast-llava ``prepare_slowfast``): slow path =
  ``int(linspace(0, T, 11))[:-1]`` (10 grids), each max-pooled by 2 along the row-major
  token axis (``MaxPool1d(2)``: 576 -> 288); fast path = every grid adaptive-avg-pooled to
  4x4.  The authors concatenate the slow block and then the fast block; to interleave per
  frame we instead give each grid its fast tokens, preceded by its slow tokens when it is a
  slow grid.  Same tokens, same count (50 x 24x24 -> 2880 + 800 = 3680).
* ``progressive`` (Visual Context Window Extension; the paper publishes no schedule, this
  one is ours): frames are ranked by novelty, the mean over positions of ``1 - cos`` between
  a token and the same position in the previous grid (the first grid ranks first).  The
  top ``full_fraction`` keep full resolution, the next ``half_fraction`` are avg-pooled by
  stride 2, the rest by stride 4 (LLaVA-NeXT's faster-video slow/fast strides).  Defaults
  1/4 full, 1/4 stride 2, 1/2 stride 4: 196 -> 64.75 tokens per frame on average for 14x14.
* ``prompt`` (PPLLaVA): relevance ``s = softmax over all T*H*W of (scale * cos(p, v_i))``;
  every (2, 3, 3) window (stride = kernel) becomes ``sum_i softmax(s_i / 0.01) * v_i``.
  Where T, H or W is not a multiple of the kernel the last window is partial (the authors'
  unfold drops the remainder; dropping the last frame of a video would lose its end).

``kv`` and ``videoxl`` compress inside the LLM prefill (see ``vidq.compress.kv``); here
they pass the grids through unchanged.  Knows nothing about models, files or the CLI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from vidq.compress.arithmetic import (
    fast_grid_for,
    pooled_side,
    progressive_tiers,
    slow_indices,
)
from vidq.compress.types import CompressedVideo, CompressOptions

CHUNK_GRIDS = 64  # grids processed at once in the novelty and relevance passes (bounds float32 copies)


def compress(
    grids: torch.Tensor,
    *,
    options: CompressOptions,
    times: Sequence[float] | None = None,
    prompt_embedding: torch.Tensor | None = None,
    token_relevance: torch.Tensor | None = None,
) -> CompressedVideo:
    """Compress per-frame visual token grids with ``options.strategy``.

    Parameters
    ----------
    grids : torch.Tensor, shape = (T, H, W, D)
        Visual tokens per frame (grid), in the LLM's embedding space.
    options : CompressOptions
        Strategy and knobs.
    times : sequence of float, length T, optional
        Time of each grid in seconds; copied per kept group into ``CompressedVideo.times``.
    prompt_embedding : torch.Tensor, shape = (D,), optional
        ``prompt`` only: the prompt in the same space as the tokens (e.g. the mean of the
        LLM's input embeddings of the prompt tokens).
    token_relevance : torch.Tensor, shape = (T, H, W), optional
        ``prompt`` only: precomputed relevance ``s`` (used as is, instead of ``prompt_embedding``).
    """
    if grids.ndim != 4:
        raise ValueError(f"grids must be [T, H, W, D], got shape {tuple(grids.shape)}")
    t, h, w, _ = grids.shape
    if times is not None and len(times) != t:
        raise ValueError(f"times has {len(times)} entries for {t} grids")
    strategy = options.strategy
    if t == 0:
        result = CompressedVideo(groups=[], frame_index=[])
    elif strategy in ("none", "kv", "videoxl"):
        result = CompressedVideo(groups=[g.reshape(h * w, -1) for g in grids], frame_index=list(range(t)))
        if strategy != "none":
            result.meta["deferred"] = "prefill"  # the backend compresses the KV cache while prefilling
    elif strategy == "slowfast":
        result = _slowfast(grids, options)
    elif strategy == "progressive":
        result = _progressive(grids, options)
    elif strategy == "prompt":
        if token_relevance is None:
            if prompt_embedding is None:
                raise ValueError("prompt compression needs prompt_embedding [D] or token_relevance [T, H, W]")
            token_relevance = prompt_relevance(grids, prompt_embedding, scale=options.prompt_scale)
        elif tuple(token_relevance.shape) != (t, h, w):
            raise ValueError(f"token_relevance must be [T, H, W] = {(t, h, w)}, got {tuple(token_relevance.shape)}")
        result = _prompt_pool(grids, token_relevance, options)
    else:  # CompressOptions validates the name; this guards new names added there only
        raise ValueError(f"unknown compression strategy {strategy!r}")
    result.meta.update({
        "strategy": strategy,
        "frames_in": t,
        "frames_out": len(result.groups),
        "tokens_in": t * h * w,
        "tokens_out": result.tokens,
        "grid": [h, w],
    })
    if times is not None:
        result.times = [float(times[i]) for i in result.frame_index]
    return result


def _slowfast(grids: torch.Tensor, options: CompressOptions) -> CompressedVideo:
    t, h, w, d = grids.shape
    slow = set(slow_indices(t, options.slow_frames))
    fh, fw = fast_grid_for((h, w), options)
    # fast: [T, H, W, D] -> [T, D, H, W] -> adaptive avg pool -> [T, fh*fw, D], CHUNK_GRIDS at a time
    fast = torch.cat([
        F.adaptive_avg_pool2d(grids[s:s + CHUNK_GRIDS].permute(0, 3, 1, 2).float(), (fh, fw))
        .flatten(2).transpose(1, 2).to(grids.dtype)
        for s in range(0, t, CHUNK_GRIDS)
    ])
    groups: list[torch.Tensor] = []
    slow_tokens = 0
    for i in range(t):
        if i in slow and h * w >= options.slow_pool:
            # MaxPool1d over the row-major token axis: [H*W, D] -> [D, H*W] -> [D, H*W // k] -> [H*W // k, D]
            tokens = grids[i].reshape(h * w, d).transpose(0, 1).unsqueeze(0)
            pooled = F.max_pool1d(tokens, kernel_size=options.slow_pool, stride=options.slow_pool)[0].transpose(0, 1)
            slow_tokens += int(pooled.shape[0])
            groups.append(torch.cat([pooled, fast[i]], dim=0))
        else:
            groups.append(fast[i])
    meta = {"slow_frames": sorted(slow), "slow_tokens": slow_tokens, "fast_tokens": t * fh * fw, "fast_grid": [fh, fw]}
    return CompressedVideo(groups=groups, frame_index=list(range(t)), meta=meta)


def frame_novelty(grids: torch.Tensor) -> torch.Tensor:
    """Novelty of each grid: mean over positions of ``1 - cos(v[t, p], v[t-1, p])``.

    grids: [T, H, W, D] -> [T]; the first grid gets +inf (it always ranks first).
    """
    t = grids.shape[0]
    flat = grids.reshape(t, -1, grids.shape[-1])  # [T, H*W, D]
    out = torch.empty(t, dtype=torch.float32)
    out[0] = math.inf
    for start in range(1, t, CHUNK_GRIDS):
        stop = min(t, start + CHUNK_GRIDS)
        cur = flat[start:stop].float()
        prev = flat[start - 1:stop - 1].float()
        out[start:stop] = (1.0 - F.cosine_similarity(cur, prev, dim=-1)).mean(dim=-1).cpu()
    return out


def progressive_strides(grids: torch.Tensor, options: CompressOptions) -> list[int]:
    """The pooling stride (1, 2 or 4) of every grid under the progressive schedule."""
    t = grids.shape[0]
    n_full, n_half, _ = progressive_tiers(t, options)
    order = torch.argsort(-frame_novelty(grids), stable=True).tolist()  # most novel first; ties: earlier first
    strides = [4] * t
    for rank, i in enumerate(order):
        strides[i] = 1 if rank < n_full else 2 if rank < n_full + n_half else 4
    return strides


def _progressive(grids: torch.Tensor, options: CompressOptions) -> CompressedVideo:
    t, h, w, d = grids.shape
    strides = progressive_strides(grids, options)
    groups: list[torch.Tensor] = []
    for i, s in enumerate(strides):
        if s == 1:
            groups.append(grids[i].reshape(h * w, d))
            continue
        x = grids[i].permute(2, 0, 1).float()  # [D, H, W]
        pooled = F.adaptive_avg_pool2d(x, (pooled_side(h, s), pooled_side(w, s)))
        groups.append(pooled.flatten(1).transpose(0, 1).to(grids.dtype))
    meta = {"strides": strides, "full": strides.count(1), "half": strides.count(2), "quarter": strides.count(4)}
    return CompressedVideo(groups=groups, frame_index=list(range(t)), meta=meta)


def prompt_relevance(grids: torch.Tensor, prompt_embedding: torch.Tensor, *, scale: float = 100.0) -> torch.Tensor:
    """PPLLaVA's relevance: softmax over all T*H*W tokens of ``scale * cos(prompt, v_i)``.

    grids: [T, H, W, D], prompt_embedding: [D] -> [T, H, W] (float32, sums to 1).
    """
    t, h, w, d = grids.shape
    if prompt_embedding.shape != (d,):
        raise ValueError(f"prompt_embedding must be [D] = [{d}], got {tuple(prompt_embedding.shape)}")
    p = F.normalize(prompt_embedding.float().to(grids.device), dim=0)
    logits = torch.empty(t, h, w, dtype=torch.float32, device=grids.device)
    for start in range(0, t, CHUNK_GRIDS):
        chunk = grids[start:start + CHUNK_GRIDS].float()
        logits[start:start + CHUNK_GRIDS] = scale * (F.normalize(chunk, dim=-1) @ p)
    return torch.softmax(logits.flatten(), dim=0).reshape(t, h, w)


def _prompt_pool(grids: torch.Tensor, relevance: torch.Tensor, options: CompressOptions) -> CompressedVideo:
    t, h, w, d = grids.shape
    kt, kh, kw = options.prompt_kernel
    nt, nh, nw = pooled_side(t, kt), pooled_side(h, kh), pooled_side(w, kw)
    rel = relevance.float().to(grids.device)
    # pad H and W once; positions outside the video get relevance -inf, hence weight 0
    pad_h, pad_w = nh * kh - h, nw * kw - w
    groups: list[torch.Tensor] = []
    for wt in range(nt):
        t0, t1 = wt * kt, min(t, (wt + 1) * kt)
        v = grids[t0:t1].float()  # [k, H, W, D], k <= kt
        s = rel[t0:t1]
        k = t1 - t0
        if pad_h or pad_w:
            v = F.pad(v, (0, 0, 0, pad_w, 0, pad_h))
            s = F.pad(s, (0, pad_w, 0, pad_h), value=-math.inf)
        # [k, nh*kh, nw*kw, D] -> [nh, nw, k*kh*kw, D]
        v = v.reshape(k, nh, kh, nw, kw, d).permute(1, 3, 0, 2, 4, 5).reshape(nh, nw, k * kh * kw, d)
        s = s.reshape(k, nh, kh, nw, kw).permute(1, 3, 0, 2, 4).reshape(nh, nw, k * kh * kw)
        weights = torch.softmax(s / options.prompt_temperature, dim=-1)  # [nh, nw, K]
        pooled = (weights.unsqueeze(-1) * v).sum(dim=-2)  # [nh, nw, D]
        groups.append(pooled.reshape(nh * nw, d).to(grids.dtype))
    meta = {"kernel": list(options.prompt_kernel), "windows": [nt, nh, nw]}
    return CompressedVideo(groups=groups, frame_index=[i * kt for i in range(nt)], meta=meta)
