"""``--compress kv``: prefill the video window by window and prune each window's KV cache.

A training-free take on Video-XL's visual summarization: the system prompt (the *sink*)
is prefilled and kept whole; then the interleaved video part (timestamps, frame tokens,
subtitles) goes through the model in windows of ``kv_window`` tokens.  After each window
every layer keeps ``ceil(len / r)`` of that window's entries, chosen by
``vidq.compress.select_kv``: scored by the attention the window's last ``n_obs`` queries
give them (queries recomputed from each attention module's input through a forward
hook, since SDPA and flash attention return no weights), by key norm, or merged.  The
kept keys are re-rotated so that entry ``i`` of the cache sits at position ``i``
(rotary embeddings compose: rotating a key by ``new - old`` moves it), so every later
window and the question start at the compressed length and positions stay inside the
trained window however many frames come.  The question is prefilled whole.

The cache is a stock ``DynamicCache``; its layers' ``keys``/``values`` are replaced in
place.  Knows nothing about prompts, tasks or the CLI.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vidq.errors import ModelError
from vidq.models.vlm.layout import Packed

if TYPE_CHECKING:
    import torch

    from vidq.models.vlm.adapters import Adapter

N_OBS = 16  # queries at the end of each window whose attention scores its entries (SnapKV uses 16-64)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    import torch

    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` [B, H, L, d] by cos/sin [B, L, d] (the transformers convention)."""
    return x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1)


def new_cache(language_model: Any) -> Any:
    """An empty ``DynamicCache`` for ``language_model``."""
    from transformers import DynamicCache

    if "config" in inspect.signature(DynamicCache.__init__).parameters:
        return DynamicCache(config=language_model.config)
    return DynamicCache()


def cache_layers(cache: Any) -> list[Any]:
    """The cache's per-layer objects with ``keys``/``values`` tensors [B, H, L, d]."""
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise ModelError("this transformers version's DynamicCache has no per-layer storage; kv compression needs >= 4.56")
    for layer in layers:
        if getattr(layer, "is_sliding", False):
            raise ModelError("--compress kv does not support sliding-window attention layers")
    return list(layers)


def cache_length(cache: Any) -> int:
    return int(cache.get_seq_length())


def truncate(cache: Any, length: int) -> None:
    """Drop every entry after the first ``length`` (e.g. the question and answer of a generate)."""
    for layer in cache_layers(cache):
        layer.keys = layer.keys[..., :length, :]
        layer.values = layer.values[..., :length, :]


def concat(parts: list[Packed]) -> Packed:
    """Concatenate packed segments (positions kept as they are)."""
    import torch

    if len(parts) == 1:
        return parts[0]
    feats = [p.features for p in parts if p.features is not None]
    deep = None
    if any(p.deepstack is not None for p in parts):
        levels = len(next(p.deepstack for p in parts if p.deepstack is not None))
        deep = [torch.cat([p.deepstack[i] for p in parts if p.deepstack is not None], dim=0) for i in range(levels)]
    return Packed(
        ids=torch.cat([p.ids for p in parts]), visual_mask=torch.cat([p.visual_mask for p in parts]),
        features=torch.cat(feats, dim=0) if feats else None, deepstack=deep,
        positions=torch.cat([p.positions for p in parts], dim=1), next_position=parts[-1].next_position,
    )


def cut(packed: Packed, n: int) -> tuple[Packed, Packed]:
    """Split ``packed`` after its first ``n`` tokens."""
    rows = int(packed.visual_mask[:n].sum())

    def part(a: int, b: int, ra: int, rb: int) -> Packed:
        has = rb > ra
        return Packed(
            ids=packed.ids[a:b], visual_mask=packed.visual_mask[a:b],
            features=packed.features[ra:rb] if has and packed.features is not None else None,
            deepstack=[d[ra:rb] for d in packed.deepstack] if has and packed.deepstack is not None else None,
            positions=packed.positions[:, a:b], next_position=packed.next_position,
        )

    total_rows = 0 if packed.features is None else int(packed.features.shape[0])
    return part(0, n, 0, rows), part(n, len(packed), rows, total_rows)


def windows(segments: Iterable[Packed], size: int) -> Iterator[Packed]:
    """Regroup a stream of packed segments into consecutive windows of exactly ``size`` tokens
    (the last one shorter), holding at most one window plus one segment in memory."""
    pending: list[Packed] = []
    held = 0
    for seg in segments:
        if len(seg) == 0:
            continue
        pending.append(seg)
        held += len(seg)
        while held >= size:
            joined = concat(pending)
            head, tail = cut(joined, size)
            yield head
            pending = [tail] if len(tail) else []
            held = len(tail)
    if held:
        yield concat(pending)


@dataclass
class QueryTap:
    """Forward hooks that keep each attention layer's last ``n_obs`` rotated queries."""

    n_obs: int = N_OBS
    queries: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> [B, Hq, n_obs, d]
    handles: list[Any] = field(default_factory=list)

    def attach(self, layers: Any) -> None:
        for index, layer in enumerate(layers):
            attn = layer.self_attn
            self.handles.append(attn.register_forward_hook(self._hook(index, attn), with_kwargs=True))

    def detach(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def _hook(self, index: int, attn: Any):
        signature = inspect.signature(attn.forward)

        def hook(module: Any, args: tuple, kwargs: dict, output: Any) -> None:
            bound = signature.bind_partial(*args, **kwargs).arguments
            hidden = bound.get("hidden_states")
            cos_sin = bound.get("position_embeddings") or kwargs.get("position_embeddings")
            if hidden is None or cos_sin is None:
                raise ModelError(f"{type(module).__name__}: cannot read hidden_states/position_embeddings for kv scoring")
            n = min(self.n_obs, hidden.shape[1])
            h = hidden[:, -n:]
            q = module.q_proj(h).view(h.shape[0], n, -1, module.head_dim)
            if hasattr(module, "q_norm"):
                q = module.q_norm(q)
            q = q.transpose(1, 2)  # [B, Hq, n, d]
            cos, sin = cos_sin
            self.queries[index] = apply_rotary(q.float(), cos[:, -n:].float(), sin[:, -n:].float())

        return hook


def attention_scores(query: torch.Tensor, keys: torch.Tensor, window: int, scaling: float) -> torch.Tensor:
    """Attention the last queries pay to the window's entries, summed over queries and heads.

    query: [B, Hq, n, d] (the last n tokens of the window); keys: [B, Hkv, L, d] (the whole
    cache, window last).  Causal: query j sees keys up to its own position.  -> [window].
    """
    import torch

    hq, n = query.shape[1], query.shape[2]
    hkv, length = keys.shape[1], keys.shape[2]
    k = keys.float().repeat_interleave(hq // hkv, dim=1)  # [B, Hq, L, d]
    logits = torch.matmul(query, k.transpose(-1, -2)) * scaling  # [B, Hq, n, L]
    key_pos = torch.arange(length, device=keys.device)
    query_pos = torch.arange(length - n, length, device=keys.device)
    logits = logits.masked_fill(key_pos[None, :] > query_pos[:, None], float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return probs[..., length - window:].sum(dim=(0, 1, 2))  # [window]


def rerotate(keys: torch.Tensor, old: torch.Tensor, new: torch.Tensor, adapter: Adapter) -> torch.Tensor:
    """Move post-RoPE ``keys`` [B, H, n, d] from positions ``old`` [A, n] to ``new`` [A, n]."""
    k = keys.float()
    cos, sin = adapter.rotary(k, adapter.position_ids(new - old))  # float32, [B, n, d]
    scale = float(getattr(adapter.rotary, "attention_scaling", 1.0) or 1.0)  # a pure rotation: undo RoPE scaling
    return apply_rotary(k, cos / scale, sin / scale).to(keys.dtype)


def compress_window(cache: Any, start: int, positions: torch.Tensor, ratio: int, method: str,
                    tap: QueryTap | None, adapter: Adapter) -> int:
    """Keep ``ceil(len / ratio)`` of the window's entries in every layer; returns that count.

    The window is the last ``positions.shape[1]`` entries of the cache; its kept entries
    are re-rotated to positions ``start, start + 1, ...``.
    """
    import torch

    from vidq.compress import select_kv

    window = int(positions.shape[1])
    keep = max(1, math.ceil(window / ratio))
    new_pos = torch.arange(start, start + keep, dtype=torch.long).expand(positions.shape[0], keep)
    for index, layer in enumerate(cache_layers(cache)):
        keys, values = layer.keys, layer.values  # [B, H, L, d]
        head_k, win_k = keys[..., :-window, :], keys[..., -window:, :]
        head_v, win_v = values[..., :-window, :], values[..., -window:, :]
        scores = None
        if tap is not None and method != "norm":
            attn = adapter.layers[index].self_attn
            scores = attention_scores(tap.queries[index], keys, window, float(attn.scaling))
        kept_k, kept_v, kept = select_kv(win_k[0], win_v[0], scores, keep, method)
        old_pos = positions[:, kept.cpu()]
        kept_k = rerotate(kept_k.unsqueeze(0), old_pos, new_pos, adapter)
        layer.keys = torch.cat([head_k, kept_k], dim=-2)
        layer.values = torch.cat([head_v, kept_v.unsqueeze(0)], dim=-2)
    return keep
