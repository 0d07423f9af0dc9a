"""The budget planner: exact arithmetic on a hand-computed toy model, and the published anchors."""

from __future__ import annotations

import pytest

from vidq.compress.budget import GIB, evaluate, ladder_steps, plan_budget, weight_bytes
from vidq.models.dims import ModelDims, resolve_dims

# A toy model small enough to compute by hand:
#   KV per token   = 2 x 2 layers x 1 kv head x 4 dims x 2 B = 32 B
#   activations    = 2 B x (3 x 16 + 4 x 8)                 = 160 B per prefill token
#   features       = hidden 8 x 2 B                          = 16 B per visual token
#   weights        body = 1000 - 200 vision - 100 embed = 700 quantized parameters
#                  none 2000; 8bit 700 + 300 x 2 = 1300; 4bit 350 + 11 blocks + 4 x 1 + 600 = 965
TOY = ModelDims(
    name="toy", family="text", params_total=1000, params_vision=200, params_embed=100, layers=2, hidden=8,
    heads=2, kv_heads=1, head_dim=4, intermediate=16, vocab=10, max_position=1000, trained_context=1000,
    token_grid=(8, 8),
)
TEXT = {"prompt_tokens": 10, "answer_tokens": 6}


def test_weight_bytes_per_quantization():
    assert weight_bytes(TOY, "none") == 2000
    assert weight_bytes(TOY, "8bit") == 1300
    assert weight_bytes(TOY, "4bit") == 965
    with pytest.raises(ValueError):
        weight_bytes(TOY, "2bit")


def test_one_option_by_hand():
    # progressive at 20 frames of 8x8: tiers 5 / 5 / 10 -> 5 x 64 + 5 x 16 + 10 x 4 = 440 tokens
    o = evaluate(TOY, 20, "progressive", **TEXT)
    assert (o.visual_tokens_in, o.visual_tokens) == (1280, 440)
    assert o.context_tokens == 440 + 16 and o.context_limit == 750  # 1000 x 0.75
    assert o.kv_bytes == 456 * 32 == 14592
    assert o.prefill_tokens == 450 and o.activation_bytes == 450 * 160 == 72000
    assert o.feature_bytes == 1280 * 16 == 20480
    assert o.total_bytes == GIB + 965 + 14592 + 72000 + 20480
    assert o.fits and o.fits_memory is None


def test_kv_option_holds_the_kept_entries_plus_one_raw_window():
    o = evaluate(TOY, 2, "kv", 16, **TEXT)
    # 2 frames x 64 = 128 tokens; kept ceil(128 / 16) = 8; window in flight 128; text 16
    assert (o.visual_tokens, o.context_tokens, o.prefill_tokens) == (8, 152, 128)
    assert o.total_bytes == GIB + 965 + 152 * 32 + 128 * 160 + 128 * 16


def test_without_vram_the_context_decides():
    plan = plan_budget(TOY, 20, **TEXT)
    assert [o.label for o in plan.ladder] == ["none", "progressive"]
    assert not plan.ladder[0].within_context  # 1280 + 16 > 750
    assert plan.strategy == "progressive" and plan.fits and plan.frames == 20
    assert "none does not (context 1,296 > 750)" in plan.reason


def test_memory_pushes_further_up_the_ladder():
    vram = (GIB + 100_000) / GIB
    plan = plan_budget(TOY, 20, vram_gb=vram, **TEXT)
    # progressive needs GIB + 108037; slowfast more; prompt: 10 x 3 x 3 = 90 tokens -> GIB + 40837
    assert [o.label for o in plan.ladder] == ["none", "progressive", "slowfast", "prompt"]
    assert plan.strategy == "prompt" and plan.chosen.visual_tokens == 90
    assert plan.chosen.total_bytes == GIB + 965 + 106 * 32 + 100 * 160 + 20480


def test_fewer_frames_when_no_compression_is_enough():
    vram = (GIB + 30_000) / GIB
    plan = plan_budget(TOY, 20, vram_gb=vram, **TEXT)
    # kv r=16 at n frames costs 1477 + 13440 n bytes over the overhead: n = 2 is the most that fits
    assert (plan.strategy, plan.ratio, plan.frames) == ("kv", 16, 2)
    assert plan.chosen.total_bytes == GIB + 28357
    assert plan.fits and "fewer frames" in plan.reason


def test_nothing_fits_when_the_weights_alone_do_not():
    plan = plan_budget(TOY, 20, vram_gb=0.5, **TEXT)
    assert not plan.fits and plan.reason.startswith("nothing fits")


def test_a_named_strategy_is_evaluated_as_asked():
    plan = plan_budget(TOY, 20, compress="none", **TEXT)
    assert plan.strategy == "none" and not plan.fits
    plan = plan_budget(TOY, 2, compress="kv", **TEXT)  # no ratio: the smallest that fits
    assert (plan.strategy, plan.ratio) == ("kv", 2)


def test_ladder_follows_what_the_model_supports():
    assert ladder_steps(TOY)[:4] == [("none", None), ("progressive", None), ("slowfast", None), ("prompt", None)]
    assert [s for s, _ in ladder_steps(resolve_dims("video-xl"))] == ["none"] + ["videoxl"] * 5


def test_qwen25_vl_7b_at_2048_frames_fits_24_gib():
    plan = plan_budget(resolve_dims("qwen2.5-vl-7b"), 2048, vram_gb=24)
    assert plan.fits and plan.frames == 2048
    assert plan.chosen.total_bytes <= 24 * GIB and plan.chosen.context_tokens <= 32768
    # 1024 grids x 16x16 -> slowfast: 10 x 128 + 1024 x 16
    assert (plan.strategy, plan.chosen.visual_tokens) == ("slowfast", 17664)


def test_video_xl_at_2048_frames_on_80_gib_is_the_published_setting():
    plan = plan_budget(resolve_dims("video-xl"), 2048, vram_gb=80)
    assert (plan.strategy, plan.ratio) == ("videoxl", 16)
    assert plan.chosen.visual_tokens_in == 294_912 and plan.chosen.visual_tokens == 18_432
    assert not plan.exceeds_context


def test_bad_arguments():
    with pytest.raises(ValueError):
        plan_budget(TOY, 0)
    with pytest.raises(ValueError):
        plan_budget(TOY, 10, quant="3bit")
    with pytest.raises(ValueError):
        plan_budget(TOY, 10, compress="zip")
