"""Grid strategies: exact token counts from the papers' arithmetic and exact pooled values."""

from __future__ import annotations

import math

import pytest
import torch

from vidq.compress import CompressOptions, compress, tokens_after
from vidq.compress.arithmetic import progressive_tiers, slow_indices
from vidq.compress.strategies import (
    frame_novelty,
    progressive_strides,
    prompt_relevance,
)


def opts(strategy: str, **kw) -> CompressOptions:
    return CompressOptions(strategy=strategy, **kw)


# --- token arithmetic ------------------------------------------------------------------------

def test_slowfast_matches_the_paper_for_50_frames_of_24x24():
    assert tokens_after("slowfast", 50, (24, 24)) == 2880 + 800 == 3680
    out = compress(torch.randn(50, 24, 24, 8), options=opts("slowfast"))
    assert out.tokens == 3680
    assert out.meta["slow_tokens"] == 2880 and out.meta["fast_tokens"] == 800
    assert out.meta["slow_frames"] == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    sizes = [g.shape[0] for g in out.groups]
    assert sizes == [288 + 16 if i % 5 == 0 else 16 for i in range(50)]


def test_prompt_pooling_matches_ppllava_for_32_frames_of_24x24():
    assert tokens_after("prompt", 32, (24, 24)) == 16 * 8 * 8 == 1024
    out = compress(torch.randn(32, 24, 24, 8), options=opts("prompt"), prompt_embedding=torch.randn(8))
    assert out.tokens == 1024
    assert len(out.groups) == 16 and out.frame_index == list(range(0, 32, 2))
    # the Qwen/SigLIP variant: 27x27 -> 9x9
    assert tokens_after("prompt", 32, (27, 27)) == 16 * 9 * 9 == 1296


def test_slow_indices_truncate_linspace_like_the_authors():
    assert slow_indices(50, 10) == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45]
    assert slow_indices(25, 10) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]  # int(linspace(0, 25, 11))[:-1]
    assert slow_indices(5, 10) == [0, 1, 2, 3, 4]  # fewer grids than slow frames: every grid is slow


def test_progressive_tiers_and_counts():
    assert progressive_tiers(256, CompressOptions()) == (64, 64, 128)
    assert progressive_tiers(1, CompressOptions()) == (1, 0, 0)
    assert progressive_tiers(5, CompressOptions()) == (2, 1, 2)  # ceil(1.25) = 2, ceil(2.5) = 3
    # LLaVA-OneVision at 256 frames: 64 x 196 + 64 x 49 + 128 x 16
    assert tokens_after("progressive", 256, (14, 14)) == 12544 + 3136 + 2048 == 17728
    out = compress(torch.randn(256, 14, 14, 4), options=opts("progressive"))
    assert out.tokens == 17728
    assert (out.meta["full"], out.meta["half"], out.meta["quarter"]) == (64, 64, 128)


@pytest.mark.parametrize("strategy", ["none", "slowfast", "progressive", "prompt"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (7, 14, 14), (11, 27, 27), (4, 2, 9)])
def test_compress_produces_exactly_tokens_after(strategy, shape):
    t, h, w = shape
    grids = torch.randn(t, h, w, 6)
    out = compress(grids, options=opts(strategy), prompt_embedding=torch.randn(6))
    assert out.tokens == tokens_after(strategy, t, (h, w)) == out.meta["tokens_out"]
    assert out.meta["tokens_in"] == t * h * w
    assert out.frame_index == sorted(out.frame_index)
    assert all(g.ndim == 2 and g.shape[1] == 6 and g.dtype == grids.dtype for g in out.groups)


def test_kv_needs_a_ratio_for_its_arithmetic():
    assert tokens_after("kv", 2048, (12, 12), CompressOptions(ratio=16)) == 18432
    with pytest.raises(ValueError, match="ratio"):
        tokens_after("kv", 10, (12, 12))


# --- exact values on hand-made tensors ---------------------------------------------------------

def test_none_is_the_row_major_grid():
    grids = torch.arange(2 * 2 * 3 * 1, dtype=torch.float32).reshape(2, 2, 3, 1)
    out = compress(grids, options=opts("none"), times=[0.0, 2.0])
    assert [g.flatten().tolist() for g in out.groups] == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    assert out.times == [0.0, 2.0] and out.frame_index == [0, 1]


def test_slowfast_values_slow_max_pool_then_fast_avg_pool():
    grid = torch.arange(16, dtype=torch.float32).reshape(1, 4, 4, 1)
    out = compress(grid, options=opts("slowfast", fast_grid=(2, 2)))
    slow = [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0]  # MaxPool1d(2) over 0..15
    fast = [2.5, 4.5, 10.5, 12.5]  # 2x2 block means
    assert out.groups[0].flatten().tolist() == slow + fast


def test_progressive_ranks_by_novelty_and_pools_by_tier():
    torch.manual_seed(0)
    base = torch.randn(4, 4, 2)
    grids = torch.stack([base, base.clone(), -base, base + 0.1 * torch.randn(4, 4, 2)])
    novelty = frame_novelty(grids)
    assert math.isinf(novelty[0]) and novelty[1].item() == pytest.approx(0.0, abs=1e-6)
    assert novelty[2] > novelty[3] > novelty[1]
    assert progressive_strides(grids, CompressOptions()) == [1, 4, 2, 4]
    out = compress(grids, options=opts("progressive"))
    assert [g.shape[0] for g in out.groups] == [16, 1, 4, 1]
    assert torch.allclose(out.groups[0], grids[0].reshape(16, 2))
    assert torch.allclose(out.groups[1], grids[1].reshape(16, 2).mean(0, keepdim=True))
    expect_half = grids[2].reshape(2, 2, 2, 2, 2).mean(dim=(1, 3)).reshape(4, 2)  # 2x2 block means
    assert torch.allclose(out.groups[2], expect_half, atol=1e-6)


def test_prompt_window_is_a_softmax_weighted_sum():
    values = torch.arange(18, dtype=torch.float32).reshape(2, 3, 3, 1)
    uniform = torch.zeros(2, 3, 3)
    out = compress(values, options=opts("prompt"), token_relevance=uniform)
    assert out.groups[0].flatten().tolist() == pytest.approx([8.5])  # plain mean of 0..17
    boosted = uniform.clone()
    boosted[0, 0, 0] = 0.01 * math.log(3.0)  # softmax(s / 0.01): weight 3 for token 0, 1 for the others
    out = compress(values, options=opts("prompt"), token_relevance=boosted)
    assert out.groups[0].flatten().tolist() == pytest.approx([(0 * 3 + sum(range(1, 18))) / 20])


def test_prompt_partial_windows_keep_the_end_of_the_video():
    values = torch.arange(3 * 4 * 4, dtype=torch.float32).reshape(3, 4, 4, 1)
    out = compress(values, options=opts("prompt"), token_relevance=torch.zeros(3, 4, 4), times=[0.0, 1.0, 2.0])
    assert out.frame_index == [0, 2] and out.times == [0.0, 2.0]
    assert out.groups[1].flatten().tolist()[-1] == values[2, 3, 3, 0].item()  # a 1x1x1 corner window


def test_prompt_relevance_is_a_global_softmax_of_scaled_cosines():
    grids = torch.zeros(1, 1, 2, 2)
    grids[0, 0, 0] = torch.tensor([1.0, 0.0])  # cos 1 with the prompt
    grids[0, 0, 1] = torch.tensor([0.0, 1.0])  # cos 0
    rel = prompt_relevance(grids, torch.tensor([2.0, 0.0]), scale=1.0)
    e = math.e
    assert rel.flatten().tolist() == pytest.approx([e / (e + 1), 1 / (e + 1)])


def test_kv_and_videoxl_pass_grids_through():
    grids = torch.randn(3, 2, 2, 4)
    out = compress(grids, options=opts("kv", ratio=4))
    assert out.tokens == 12 and out.meta["deferred"] == "prefill"


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"\[T, H, W, D\]"):
        compress(torch.randn(3, 4, 4), options=opts("none"))
    with pytest.raises(ValueError, match="prompt_embedding"):
        compress(torch.randn(2, 3, 3, 4), options=opts("prompt"))
    with pytest.raises(ValueError, match="times"):
        compress(torch.randn(2, 3, 3, 4), options=opts("none"), times=[0.0])
    with pytest.raises(ValueError, match="unknown compression"):
        CompressOptions(strategy="zip")
    with pytest.raises(ValueError, match="progressive"):
        CompressOptions(full_fraction=0.8, half_fraction=0.5)
