"""KV-entry selection for `--compress kv` and the ratio arithmetic, with exact values."""

from __future__ import annotations

import pytest
import torch

from vidq.compress import kv_kept, kv_ratio_for_budget, select_kv


def entries(*rows: list[float]) -> torch.Tensor:
    """[1 head, L, d] from L rows."""
    return torch.tensor(rows, dtype=torch.float32).unsqueeze(0)


def test_attention_keeps_the_highest_scores_in_original_order():
    keys = entries([1, 0], [2, 0], [3, 0], [4, 0], [5, 0])
    values = entries([10], [20], [30], [40], [50])
    k, v, idx = select_kv(keys, values, torch.tensor([0.1, 0.5, 0.3, 0.5, 0.0]), keep=3)
    assert idx.tolist() == [1, 2, 3]
    assert k[0, :, 0].tolist() == [2, 3, 4] and v[0, :, 0].tolist() == [20, 30, 40]


def test_ties_keep_the_earlier_entry():
    keys = entries([1], [1], [1], [1])
    _, _, idx = select_kv(keys, keys.clone(), torch.ones(4), keep=2)
    assert idx.tolist() == [0, 1]


def test_norm_keeps_the_smallest_keys():
    keys = entries([3, 0], [1, 0], [0, 2], [0.5, 0])
    k, _, idx = select_kv(keys, keys.clone(), None, keep=2, method="norm")
    assert idx.tolist() == [1, 3]
    assert k[0].tolist() == [[1, 0], [0.5, 0]]


def test_merge_averages_each_dropped_entry_into_its_nearest_kept_entry():
    keys = entries([1, 0], [0, 1], [0.9, 0.1], [0.1, 0.9])
    values = entries([10], [20], [30], [40])
    k, v, idx = select_kv(keys, values, torch.tensor([1.0, 1.0, 0.0, 0.0]), keep=2, method="merge")
    assert idx.tolist() == [0, 1]
    assert torch.allclose(k[0], torch.tensor([[0.95, 0.05], [0.05, 0.95]]))
    assert v[0, :, 0].tolist() == pytest.approx([20.0, 30.0])


def test_heads_share_one_selection():
    torch.manual_seed(0)
    keys, values = torch.randn(4, 32, 8), torch.randn(4, 32, 16)
    scores = torch.randn(32)
    k, v, idx = select_kv(keys, values, scores, keep=8)
    assert k.shape == (4, 8, 8) and v.shape == (4, 8, 16)
    assert torch.equal(k, keys[:, idx]) and torch.equal(v, values[:, idx])
    assert idx.tolist() == sorted(torch.topk(scores, 8).indices.tolist())
    k, v, _ = select_kv(keys, values, scores, keep=8, method="merge")
    assert k.shape == (4, 8, 8) and v.shape == (4, 8, 16)


def test_keep_all_returns_the_inputs():
    keys = torch.randn(2, 5, 4)
    k, _v, idx = select_kv(keys, keys, None, keep=9, method="norm")
    assert k is keys and idx.tolist() == [0, 1, 2, 3, 4]


def test_contract_violations_are_refused():
    keys = torch.randn(1, 4, 2)
    with pytest.raises(ValueError, match="needs scores"):
        select_kv(keys, keys, None, keep=2)
    with pytest.raises(ValueError, match="keep"):
        select_kv(keys, keys, torch.ones(4), keep=0)
    with pytest.raises(ValueError, match="unknown kv method"):
        select_kv(keys, keys, torch.ones(4), keep=2, method="random")
    with pytest.raises(ValueError, match="scores"):
        select_kv(keys, keys, torch.ones(3), keep=2)


def test_kv_kept_counts_per_window():
    assert kv_kept(294_912, 16) == 18_432  # Video-XL: 2048 frames x 144 tokens at r = 16
    assert kv_kept(294_912, 12) == 24_576
    assert kv_kept(1441, 2) == 720 + 1
    assert kv_kept(100, 3, window=10) == 10 * 4  # ceil(10 / 3) per window
    assert kv_kept(0, 4) == 0


def test_kv_ratio_for_budget():
    assert kv_ratio_for_budget(294_912, 18_432) == 16
    assert kv_ratio_for_budget(294_912, 20_000) == 16
    assert kv_ratio_for_budget(294_912, 24_576) == 12
    assert kv_ratio_for_budget(294_912, 40_000) == 8
    assert kv_ratio_for_budget(1000, 1000) == 1  # already fits
    assert kv_ratio_for_budget(294_912, 1000) is None
    assert kv_ratio_for_budget(90, 30, allowed=(3, 2)) == 3
