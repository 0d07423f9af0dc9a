"""The find/ads paths with models that see: tiny random VLMs and a tiny random CLIP, end to end.

Random weights give meaningless words; these tests check structure (every candidate went
through the model, the reason is the model's, scores are in range), never content.
"""

from __future__ import annotations

import json

import numpy as np
import pytest


def build_tiny_clip(directory) -> None:
    """A 2-layer CLIP from a real ``CLIPConfig`` with a word-level tokenizer, saved like a hub folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        PreTrainedTokenizerFast,
    )

    words = ["a", "the", "sign", "blue", "pelican", "red", "code", "secret", "gate", "closed", "soda", "ad", "cola", "fizz", "picture", "of"]
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "<s>", "</s>", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", model_max_length=16)
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 16, "eos_token_id": 3, "bos_token_id": 2,
                     "pad_token_id": 0},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=16)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(directory)
    fast.save_pretrained(directory)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(directory)


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "tiny-models" / "tiny-clip"
    if not (path / "config.json").exists():
        build_tiny_clip(path)
    return path


def test_find_with_a_tiny_vlm_verifies_every_top_candidate(cli, short_scenario, job_cache, tiny_vlm):
    needle = short_scenario.needles[0]
    r = cli("--cache-dir", job_cache, "find", needle.query, short_scenario.video, "--model", tiny_vlm(), "--json",
            "--threshold", "0", "--top", "20", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    name = doc["meta"]["model"]
    assert doc["meta"]["sees_images"] is True and "limits" not in doc["meta"]
    verified = [h for h in doc["hits"] if h["verified_by"] == name]
    assert verified, doc["hits"]
    for h in verified:
        assert h["reason"].startswith(f"{name}: ") and 0.0 <= h["score"] <= 1.0
        assert "\n" not in h["reason"]
    assert "verify" in doc["meta"]["files"][0]["timings"]


def test_find_with_a_tiny_clip_embeds_every_frame(short_scenario, job_cache, tiny_clip):
    from vidq.models.lite.backend import load_lite
    from vidq.store import Store
    from vidq.tasks.find import find
    from vidq.tasks.pipeline import JobOptions

    result = find("a sign reading blue pelican", [short_scenario.video], JobOptions(frames=40), embed_model=tiny_clip,
                  backend=load_lite(), store=Store(job_cache), threshold=0.0, top=50)
    meta = result.meta["files"][0]
    assert meta["frames_embedded"] == meta["frames"] == 40 and meta["embed_model"] == str(tiny_clip)
    visual = [c for c in result.candidates if c.source == "visual"]
    assert visual and all(c.verified_by == "image-text" and "lite cannot see" in c.reason for c in visual)
    assert all(0.0 <= c.score <= 0.6 for c in visual)  # lite cannot confirm a picture: capped
    # text needles still come first
    assert abs(result.hits[0].start - short_scenario.needles[1].start) <= 2.0


def test_image_text_model_vectors_are_unit_length(tiny_clip):
    from vidq.tasks.find import ImageTextModel

    m = ImageTextModel(tiny_clip)
    imgs = np.random.default_rng(0).integers(0, 255, (3, 90, 160, 3), dtype=np.uint8)
    v = m.encode_images(imgs)
    t = m.encode_text(["blue pelican", "a red soda ad"])
    assert v.shape == (3, 16) and t.shape == (2, 16)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)


def test_embed_model_that_is_not_a_model_is_exit_2(cli, short_scenario, job_cache, tmp_path):
    r = cli("--cache-dir", job_cache, "find", "code", short_scenario.video, "--embed-model", tmp_path)
    assert r.exit_code == 2 and "not a model folder" in r.stderr and r.stdout == ""


def test_ads_with_a_tiny_vlm_classifies_candidate_blocks(cli, short_scenario, job_cache, tiny_vlm):
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--model", tiny_vlm(), "--json", "--device", "cpu")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    name = doc["meta"]["model"]
    assert doc["meta"]["sees_images"] is True and "classify" in doc["meta"]["timings"]
    classified = [b for b in doc["blocks"] if f"; {name}: " in b["reason"]]
    assert classified  # the spots (high prior) were shown to the model
    for b in classified:
        assert 0.0 <= b["confidence"] <= 1.0
    assert all(s["verified_by"] == name for s in doc["segments"] if s["kind"] == "break")
