"""Model dimensions: the built-in table, config.json parsing, and name resolution."""

from __future__ import annotations

import json

import pytest

from vidq.errors import InputError
from vidq.models.dims import ALIASES, KNOWN_DIMS, dims_from_config, resolve_dims

REGISTRY_IDS = {
    "Qwen/Qwen2.5-VL-3B-Instruct", "Qwen/Qwen2.5-VL-7B-Instruct", "Qwen/Qwen3-VL-2B-Instruct",
    "Qwen/Qwen3-VL-8B-Instruct", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
    "llava-hf/llava-onevision-qwen2-7b-ov-hf", "llava-hf/LLaVA-Video-7B-Qwen2-hf",
    "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
    "HuggingFaceTB/SmolVLM2-2.2B-Instruct", "sy1998/Video_XL",
}

# Published parameter counts (model pages / checkpoint sizes) the config-based estimate must meet.
PUBLISHED = {
    "Qwen/Qwen2.5-VL-3B-Instruct": 3.75e9, "Qwen/Qwen2.5-VL-7B-Instruct": 8.29e9,
    "Qwen/Qwen3-VL-8B-Instruct": 8.77e9, "llava-hf/llava-onevision-qwen2-0.5b-ov-hf": 0.89e9,
    "llava-hf/llava-onevision-qwen2-7b-ov-hf": 8.03e9, "HuggingFaceTB/SmolVLM2-256M-Video-Instruct": 0.256e9,
    "HuggingFaceTB/SmolVLM2-2.2B-Instruct": 2.25e9,
}


def test_table_covers_the_registry_models():
    assert set(KNOWN_DIMS) == REGISTRY_IDS
    assert set(ALIASES.values()) == REGISTRY_IDS
    assert all(d.source for d in KNOWN_DIMS.values())


@pytest.mark.parametrize("hf_id", sorted(PUBLISHED))
def test_parameter_estimates_match_published_counts(hf_id):
    assert KNOWN_DIMS[hf_id].params_total == pytest.approx(PUBLISHED[hf_id], rel=0.015)


def test_qwen25_vl_7b_dims():
    d = resolve_dims("qwen2.5-vl-7b")
    assert (d.layers, d.hidden, d.heads, d.kv_heads, d.head_dim) == (28, 3584, 28, 4, 128)
    assert d.kv_bytes_per_token() == 2 * 28 * 4 * 128 * 2 == 57344
    assert (d.max_position, d.trained_context) == (128000, 32768)
    assert d.token_grid == (16, 16) and d.temporal_merge == 2 and d.tokens_per_frame == 128
    assert d.grids_for(2049) == 1025 and d.grid_at(896) == (32, 32)


def test_fixed_resolution_models():
    assert resolve_dims("llava-onevision-7b").tokens_per_frame == 196  # SigLIP 27x27 pooled to 14x14
    assert resolve_dims("smolvlm2-256m").tokens_per_frame == 64  # 512/16 = 32, pixel shuffle 4
    assert resolve_dims("smolvlm2-2.2b").tokens_per_frame == 81  # 384/14 = 27, pixel shuffle 3
    vx = resolve_dims("video-xl")
    assert vx.tokens_per_frame == 144 and vx.family == "videoxl" and vx.compressions == ("none", "videoxl")
    assert vx.grid_at(1000) == (12, 12)  # fixed-size encoders ignore the resolution


def test_names_resolve_case_insensitively():
    assert resolve_dims("Qwen2.5-VL-7B").name == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert resolve_dims("qwen/qwen3-vl-8b-instruct").name == "Qwen/Qwen3-VL-8B-Instruct"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(InputError, match="unknown model 'gpt-9'; known: .*qwen2.5-vl-7b.*sy1998/Video_XL"):
        resolve_dims("gpt-9")


def test_local_directory_with_a_config(tmp_path):
    config = {  # an older-style Qwen2.5-VL config: text fields at the top level
        "model_type": "qwen2_5_vl", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 4096,
        "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "out_hidden_size": 64},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    d = resolve_dims(str(tmp_path))
    assert d.family == "qwen2_5_vl" and d.name == str(tmp_path)
    assert (d.layers, d.kv_heads, d.head_dim, d.trained_context) == (2, 2, 16, 4096)
    # LLM: 2 x 1000 x 64 (untied) + 2 x (2 x 64 x 64 + 2 x 64 x 32 + 3 x 64 x 128)
    assert d.params_total - d.params_vision == 128000 + 2 * (8192 + 4096 + 24576)


def test_text_only_and_new_style_configs():
    llama = {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
             "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152,
             "max_position_embeddings": 8192, "tie_word_embeddings": True}
    d = dims_from_config(llama, "smollm2")
    assert d.family == "text" and not d.sees_images and d.compressions == ("none",)
    assert d.params_total == pytest.approx(134.5e6, rel=0.01)  # SmolLM2-135M


def test_bad_configs_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="model_type 'bert'"):
        dims_from_config({"model_type": "bert"})
    with pytest.raises(InputError, match="'num_hidden_layers'"):
        dims_from_config({"model_type": "qwen2", "hidden_size": 8, "num_attention_heads": 2})
    with pytest.raises(InputError, match="no config.json"):
        resolve_dims(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="not a readable JSON config"):
        resolve_dims(str(tmp_path))


def test_a_loaded_qwen25_config_gets_the_native_window():
    config = {"model_type": "qwen2_5_vl", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
              "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
              "max_position_embeddings": 128000, "vision_config": {"out_hidden_size": 3584}}
    d = dims_from_config(config, "qwen-local")
    assert (d.max_position, d.trained_context) == (128000, 32768)
    assert d.params_total == KNOWN_DIMS["Qwen/Qwen2.5-VL-7B-Instruct"].params_total
