"""The stock-transformers backends end to end on tiny random-weight models (real code paths,
meaningless words): every family x every --compress strategy x with/without subtitles,
on frames decoded from a generated video, loaded from a local folder with offline=True."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vidq.compress import CompressOptions, kv_kept, tokens_after
from vidq.errors import ModelError
from vidq.media.types import FrameBatch
from vidq.models.base import GenerateOptions, VideoInput
from vidq.models.loading import choose_load_plan
from vidq.models.registry import load_backend
from vidq.models.vlm import kvprefill, layout
from vidq.models.vlm.engine import (
    Choice,
    TransformersBackend,
    keep_positions,
    merge_bins,
)
from vidq.testing.tiny_models import FAMILIES, tiny_model_dir

STRATEGIES = ("none", "progressive", "slowfast", "prompt", "kv")
KV_WINDOW = 48  # small windows so the tiny runs cross several of them
N_FRAMES = 12


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def backends(tiny_root):
    """One loaded backend per family, through load_backend(local dir, offline=True)."""
    out = {}
    for family in FAMILIES:
        folder = tiny_model_dir(family, tiny_root)
        out[family] = load_backend(str(folder), device="cpu", offline=True)
    return out


@pytest.fixture(scope="session")
def decoded(tmp_path_factory):
    """12 frames (43x64) decoded from a generated 3-scene video, kept as FrameBatches."""
    from vidq.media import decode, plan_samples, probe
    from vidq.testing.video import make_video

    path = make_video(tmp_path_factory.mktemp("media") / "clip.mp4", duration=4.0, size=(96, 64), fps=8, n_scenes=3)
    info = probe(path)
    plan = plan_samples(info, frames=N_FRAMES)
    return list(decode(path, plan, info=info, size=64, batch_size=5)), list(plan.times), info.duration


def video_input(decoded, subtitles: bool) -> VideoInput:
    batches, times, duration = decoded
    subs = [f"the speaker says cat {i}" if i % 3 else "" for i in range(len(times))] if subtitles else None
    return VideoInput(batches=iter(batches), times=times, subtitles=subs, duration=duration)


def synthetic_video(n: int, size=(32, 32), seed: int = 0) -> VideoInput:
    rng = np.random.default_rng(seed)

    def batches():
        for s in range(0, n, 64):
            k = min(64, n - s)
            yield FrameBatch(images=rng.integers(0, 255, (k, size[0], size[1], 3), dtype=np.uint8),
                             pts=np.arange(s, s + k) * 1.0, indices=np.arange(s, s + k))

    return VideoInput(batches=batches(), times=[float(i) for i in range(n)], subtitles=None, duration=float(n))


@pytest.mark.parametrize("subtitles", [False, True], ids=["nosubs", "subs"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("family", FAMILIES)
def test_family_generates_with_every_strategy(backends, decoded, family, strategy, subtitles):
    backend: TransformersBackend = backends[family]
    backend.compress_options = CompressOptions(kv_window=KV_WINDOW)
    options = GenerateOptions(max_new_tokens=3, compress=strategy, ratio=4 if strategy == "kv" else None)
    result = backend.answer(video_input(decoded, subtitles), "What happens in the video?", options)

    assert isinstance(result.text, str)
    meta = result.meta
    assert meta["frames"] == N_FRAMES and meta["compression"] == strategy
    assert meta["generated_tokens"] <= 3
    merge = backend.adapter.temporal_merge
    grids = N_FRAMES // merge
    h, w = meta["token_grid"]
    assert meta["tokens_per_frame"] == h * w / merge
    assert meta["visual_tokens_in"] == grids * h * w
    if strategy == "kv":
        # the cache holds the sink, then ceil(len / r) of every window of the video part
        assert meta["kv_entries"] == meta["kv_sink"] + kv_kept(meta["kv_video_tokens"], 4, KV_WINDOW)
        assert meta["kv_windows"] == math.ceil(meta["kv_video_tokens"] / KV_WINDOW)
        assert meta["context_length"] > meta["kv_entries"]  # + the uncompressed question
    else:
        expected = tokens_after(strategy, grids, (h, w), CompressOptions())
        assert meta["visual_tokens"] == expected


def test_subtitles_reach_the_prompt(backends, decoded):
    backend = backends["smolvlm"]
    plain = backend.prepare(video_input(decoded, False), "Q?", GenerateOptions(compress="none"))
    with_subs = backend.prepare(video_input(decoded, True), "Q?", GenerateOptions(compress="none"))
    assert with_subs.meta["prompt_tokens"] > plain.meta["prompt_tokens"]
    text = backend.adapter.tokenizer.decode(with_subs.payload.packed.ids[~with_subs.payload.packed.visual_mask])
    assert "the speaker says cat 1" in text and "[00:00.1]" in text
    # every word lands in exactly one frame: each numbered line appears once
    for i in (1, 2, 4, 5, 7, 8, 10, 11):
        assert text.count(f"the speaker says cat {i}\n") == 1


def test_merge_bins_gives_dropped_words_to_the_next_kept_frame():
    bins = ["a", "b c", "", "d", "e", "f"]
    assert merge_bins(bins, {1, 3}) == ["a b c", "d e f"]  # the tail goes to the last kept frame
    assert merge_bins(bins, [5, 0, 2]) == ["a", "b c", "d e f"]  # any order, answered ascending
    assert merge_bins(bins, range(6)) == bins  # nothing dropped: unchanged
    assert merge_bins(bins, {0}) == ["a b c d e f"]
    assert merge_bins(["a", "b"], {1, 3}) == ["a b", ""]  # a kept position past the bins has no words
    assert merge_bins([], {0, 1}) == ["", ""] and merge_bins(bins, []) == []


def test_thinned_frames_keep_every_word(backends, decoded, monkeypatch):
    backend = backends["smolvlm"]
    monkeypatch.setattr(TransformersBackend, "choose", lambda self, frames, options: Choice("none", None, 4, "test: 4"))
    prepared = backend.prepare(video_input(decoded, True), "Q?", GenerateOptions(compress="none"))
    assert prepared.meta["frames"] == 4 and keep_positions(N_FRAMES, 4) == {0, 4, 7, 11}
    text = backend.adapter.tokenizer.decode(prepared.payload.packed.ids[~prepared.payload.packed.visual_mask])
    # frame 4 carries the words of 1, 2 (dropped) and its own; 7 those of 5, 6, 7; 11 those of 8..11
    for i in (1, 2, 4, 5, 7, 8, 10, 11):
        assert len(re.findall(rf"the speaker says cat {i}(?!\d)", text)) == 1
    assert "the speaker says cat 2 the speaker says cat 4\n" in text
    assert "the speaker says cat 10 the speaker says cat 11\n" in text


def test_text_only_prompt(backends):
    result = backends["qwen2_5_vl"].answer(None, "Summarize these summaries.", GenerateOptions(max_new_tokens=2))
    assert result.meta["frames"] == 0 and result.meta["visual_tokens"] == 0


def test_mrope_positions_follow_the_inserted_groups(backends, decoded):
    backend = backends["qwen2_5_vl"]
    prepared = backend.prepare(video_input(decoded, False), "Q?", GenerateOptions(compress="prompt"))
    packed = prepared.payload.packed
    pos, mask = packed.positions, packed.visual_mask
    assert pos.shape == (3, len(packed))
    # text: t == h == w and +1 per token; each visual group starts one after the text before it
    text_cols = (~mask).nonzero().flatten()
    assert torch.equal(pos[0, text_cols], pos[1, text_cols]) and torch.equal(pos[1, text_cols], pos[2, text_cols])
    runs = torch.nonzero(mask[1:].int() - mask[:-1].int()).flatten() + 1
    for start in runs[::2].tolist():  # first token of each visual run
        assert pos[0, start] == pos[0, start - 1] + 1
    assert packed.next_position == int(pos.max()) + 1


def test_positions_of_blocks_are_exact():
    f = torch.zeros(8, 4)
    pieces = [layout.text([1, 2]), layout.visual(f[:6], ((2, 3),)), layout.text([3]), layout.visual(f[6:], ((1, 2),))]
    packed = layout.pack(pieces, placeholder_id=99, start=5, mrope=True)
    assert packed.positions.tolist() == [
        [5, 6, 7, 7, 7, 7, 7, 7, 10, 11, 11],
        [5, 6, 7, 7, 7, 8, 8, 8, 10, 11, 11],
        [5, 6, 7, 8, 9, 7, 8, 9, 10, 11, 12],
    ]
    assert packed.next_position == 13
    flat = layout.pack(pieces, placeholder_id=99, start=5, mrope=False)
    assert flat.positions.tolist() == [list(range(5, 16))] and flat.next_position == 16


def test_placeholder_in_text_is_caught():
    pieces = [layout.text([1, 99]), layout.visual(torch.zeros(3, 4))]
    with pytest.raises(ModelError, match="tokens: 4, feature rows: 3"):
        layout.pack(pieces, placeholder_id=99, start=0, mrope=False)


def test_qwen_frame_pairs_match_the_image_path(backends):
    """Two copies of one frame packed as a video patch equal that frame encoded as an image."""
    adapter = backends["qwen2_5_vl"].adapter
    frame = np.random.default_rng(1).integers(0, 255, (56, 56, 3), dtype=np.uint8)
    grids, _ = adapter.encode(np.stack([frame, frame]))
    out = adapter.image_processor(images=[frame], return_tensors="pt")
    with torch.inference_mode():
        image = adapter.model.model.get_image_features(out["pixel_values"], out["image_grid_thw"])
    rows = image.pooler_output[0] if hasattr(image, "pooler_output") else image[0]
    assert torch.allclose(grids.reshape(-1, grids.shape[-1]), rows, atol=1e-5)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "smolvlm"])
def test_rerotate_moves_keys_between_positions(backends, family):
    adapter = backends[family].adapter
    axes = 3 if adapter.mrope else 1
    raw = torch.randn(1, 2, 5, 16)
    old = torch.tensor([[3, 9, 14, 20, 31]] * axes)
    if axes == 3:
        old[1] += torch.tensor([0, 1, 0, 1, 0])
    new = torch.arange(5).expand(axes, 5)
    cos_o, sin_o = adapter.rotary(raw, adapter.position_ids(old))
    cos_n, sin_n = adapter.rotary(raw, adapter.position_ids(new))
    at_old = kvprefill.apply_rotary(raw, cos_o, sin_o)
    moved = kvprefill.rerotate(at_old, old, new, adapter)
    assert torch.allclose(moved, kvprefill.apply_rotary(raw, cos_n, sin_n), atol=1e-5)


def test_attention_scores_equal_eager_attention(tiny_root):
    """Scores from the hooked queries equal the eager attention weights of the last queries."""
    from transformers import AutoModelForImageTextToText, AutoTokenizer

    from vidq.models.vlm.adapters import SmolVLMAdapter

    folder = tiny_model_dir("smolvlm", tiny_root)
    model = AutoModelForImageTextToText.from_pretrained(folder, attn_implementation="eager").eval()
    adapter = SmolVLMAdapter(model, AutoTokenizer.from_pretrained(folder), None)
    ids = torch.arange(10, 50).view(1, -1)
    embeds = adapter.embed_tokens(ids)
    positions = torch.arange(40).view(1, -1)
    cache = kvprefill.new_cache(adapter.language_model)
    adapter.lm_forward(embeds[:, :15], positions[:, :15], cache)  # earlier context
    tap = kvprefill.QueryTap(n_obs=6)
    tap.attach(adapter.layers)
    adapter.lm_forward(embeds[:, 15:], positions[:, 15:], cache)  # the window: 25 tokens
    tap.detach()
    with torch.inference_mode():
        full = adapter.language_model(inputs_embeds=embeds, position_ids=positions, output_attentions=True)
    for i, layer in enumerate(kvprefill.cache_layers(cache)):
        expected = full.attentions[i][0, :, -6:, 15:].sum(dim=(0, 1))
        got = kvprefill.attention_scores(tap.queries[i], layer.keys, 25, adapter.layers[i].self_attn.scaling)
        assert torch.allclose(got, expected, atol=1e-4)


def test_kv_windows_with_ratio_one_reproduce_the_full_prefill(backends):
    """Window-by-window prefill keeping everything (r = 1) gives the full prefill's logits."""
    adapter = backends["llava_onevision"].adapter
    ids = torch.arange(20, 90)
    features = torch.randn(16, adapter.embed_tokens.weight.shape[1])
    pieces = [layout.text(ids[:30].tolist()), layout.visual(features), layout.text(ids[30:].tolist())]
    packed = layout.pack(pieces, placeholder_id=adapter.placeholder_id, start=0, mrope=False)
    backend = backends["llava_onevision"]
    full_cache = kvprefill.new_cache(adapter.language_model)
    full = backend._forward(packed, full_cache)
    cache = kvprefill.new_cache(adapter.language_model)
    position = 0
    hidden = None
    for window in kvprefill.windows(layout.split_packed(packed, 7), 20):
        shift = position - int(window.positions.min())
        tap = kvprefill.QueryTap()
        tap.attach(adapter.layers)
        hidden = backend._forward(window, cache, shift)
        tap.detach()
        position += kvprefill.compress_window(cache, position, window.positions + shift, 1, "attention", tap, adapter)
    assert position == len(packed) == kvprefill.cache_length(cache)
    with torch.inference_mode():
        assert torch.allclose(adapter.lm_head(hidden), adapter.lm_head(full), atol=1e-4)


@pytest.mark.parametrize("method", ["attention", "norm", "merge"])
def test_kv_cache_stays_bounded(backends, method):
    backend = backends["qwen3_vl"]
    backend.compress_options = CompressOptions(kv_window=64, kv_method=method)
    result = backend.answer(synthetic_video(96), "Q?", GenerateOptions(max_new_tokens=2, compress="kv", ratio=8))
    meta = result.meta
    assert meta["kv_entries"] == meta["kv_sink"] + kv_kept(meta["kv_video_tokens"], 8, 64)
    assert meta["kv_entries"] < meta["kv_sink"] + meta["kv_video_tokens"] // 4


@pytest.mark.slow
def test_kv_keeps_2048_frames_bounded(backends):
    backend = backends["llava_onevision"]
    backend.compress_options = CompressOptions()  # Video-XL's 1440-token windows
    result = backend.answer(synthetic_video(2048), "Q?", GenerateOptions(max_new_tokens=2, compress="kv", ratio=16))
    meta = result.meta
    assert meta["frames"] == 2048 and meta["visual_tokens_in"] == 2048 * 4
    assert meta["kv_entries"] == meta["kv_sink"] + kv_kept(meta["kv_video_tokens"], 16, 1440)
    assert meta["context_length"] <= meta["kv_entries"] + 64  # + question


def test_planner_fills_auto(backends, caplog):
    caplog.set_level("INFO", logger="vidq")
    backend = backends["llava_onevision"]
    result = backend.answer(synthetic_video(8), "Q?", GenerateOptions(max_new_tokens=1))
    assert result.meta["compression"] == "none" and "fits the context" in result.meta["plan"]
    assert any("fits the context" in r.getMessage() for r in caplog.records)
    assert backend.suggest_frames(64, GenerateOptions()) == 64


def test_out_of_memory_retries_one_rung_stronger(backends, monkeypatch, caplog):
    backend = backends["smolvlm"]
    real = TransformersBackend.generate
    calls = []

    def flaky(self, prepared, options):
        calls.append(prepared.meta["compression"])
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, prepared, options)

    monkeypatch.setattr(TransformersBackend, "generate", flaky)
    caplog.set_level("WARNING", logger="vidq")
    result = backend.answer(synthetic_video(8), "Q?", GenerateOptions(max_new_tokens=1, compress="none"))
    assert calls == ["none", "progressive"]
    assert result.meta["compression"] == "progressive" and "none -> progressive" in result.meta["oom_retry"]
    assert any("out of memory" in r.getMessage() for r in caplog.records)


def test_out_of_memory_twice_is_one_clear_error(backends, monkeypatch):
    backend = backends["smolvlm"]

    def oom(self, prepared, options):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(TransformersBackend, "generate", oom)
    with pytest.raises(ModelError, match="out of memory again after retrying with --compress none -> progressive"):
        backend.answer(synthetic_video(8), "Q?", GenerateOptions(max_new_tokens=1, compress="none"))
    # kv streams its frames (nothing kept to retry from): one line saying what to change
    with pytest.raises(ModelError, match="rerun with fewer --frames or a stronger --compress"):
        backend.answer(synthetic_video(8), "Q?", GenerateOptions(max_new_tokens=1, compress="kv", ratio=16))


def test_unsupported_compression_is_an_input_error(backends):
    from vidq.errors import InputError

    with pytest.raises(InputError, match="videoxl needs Video-XL"):
        backends["smolvlm"].prepare(synthetic_video(2), "Q?", GenerateOptions(compress="videoxl"))
    with pytest.raises(InputError, match="--ratio 3"):
        backends["smolvlm"].prepare(synthetic_video(2), "Q?", GenerateOptions(compress="kv", ratio=3))


def test_generate_twice_on_a_kv_prepare_gives_the_same_answer(backends):
    backend = backends["llava_onevision"]
    backend.compress_options = replace(CompressOptions(), kv_window=32)
    options = GenerateOptions(max_new_tokens=4, compress="kv", ratio=4)
    prepared = backend.prepare(synthetic_video(6), "Q?", options)
    first = backend.generate(prepared, options).text
    assert backend.generate(prepared, options).text == first


@pytest.mark.parametrize("family", FAMILIES)
def test_quantization_leaves_every_vision_linear_unquantized(backends, family):
    """transformers' own skip rule, applied to the plan's patterns: the vision tower and projector
    stay in bf16 and every language-model linear is quantized (under transformers 5.x a bare
    "visual" matched nothing inside the tower, and a GPU run showed it all in 4-bit)."""
    utils = pytest.importorskip("transformers.quantizers.quantizers_utils")
    if not hasattr(utils, "should_convert_module"):
        pytest.skip("this transformers matches skip patterns as substrings (4.x): any form works there")
    should_convert_module = utils.should_convert_module
    plan = choose_load_plan("cuda:0", "4bit", family, have_bitsandbytes=True, have_flash_attn=False)
    vision = tuple(f"model.{part}." for part in plan.skip_modules if not part.startswith("model.") and part != "lm_head")
    linears = [n for n, m in backends[family].adapter.model.named_modules() if isinstance(m, torch.nn.Linear)]
    seen = [n for n in linears if n.startswith(vision)]
    text = [n for n in linears if not n.startswith(vision) and n != "lm_head"]
    assert seen and text, (vision, linears[:8])
    assert [n for n in seen if should_convert_module(n, list(plan.skip_modules))] == []
    assert all(should_convert_module(n, list(plan.skip_modules)) for n in text)
    assert not should_convert_module("lm_head", list(plan.skip_modules))
