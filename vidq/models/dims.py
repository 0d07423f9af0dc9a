"""Model dimensions for the budget planner, read from a transformers ``config.json``.

No weights, no network, no transformers import: ``dims_from_config`` reads the JSON
fields of the supported families (Qwen2.5-VL, Qwen3-VL, LLaVA-OneVision / LLaVA-Video,
SmolVLM2, Video-XL / LLaVA-Qwen, plain LLaMA / Qwen2 / Qwen3 text models) and estimates
parameter counts from the architecture.  ``KNOWN_DIMS`` holds the models the registry
lists, built from excerpts of their public ``config.json`` files (sources next to each).
Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidq.errors import InputError

# Strategies a stock-transformers backend can run (grid strategies + windowed KV prefill).
STOCK_COMPRESSIONS: tuple[str, ...] = ("none", "progressive", "slowfast", "prompt", "kv")
# Video-XL runs through its own remote code: its beacons are the compression.
VIDEOXL_COMPRESSIONS: tuple[str, ...] = ("none", "videoxl")
QWEN25_NATIVE_CONTEXT = 32768  # Qwen2.5-VL's window without YaRN, whatever max_position_embeddings says


@dataclass(frozen=True)
class ModelDims:
    """What the budget planner needs to know about a model; all counts, no weights."""

    name: str  # Hugging Face id or local directory
    family: str  # qwen2_5_vl | qwen3_vl | llava_onevision | smolvlm | videoxl | text
    params_total: int  # every parameter: LLM + vision tower + projector
    params_vision: int  # vision tower + projector (kept in bf16 when the LLM is quantized)
    params_embed: int  # input embeddings + LM head (bitsandbytes leaves them unquantized); once if tied
    layers: int  # decoder layers of the LLM
    hidden: int  # LLM hidden size
    heads: int  # attention (query) heads
    kv_heads: int  # key/value heads (GQA)
    head_dim: int  # per-head size
    intermediate: int  # MLP intermediate size
    vocab: int  # vocabulary size
    max_position: int  # max_position_embeddings in the config
    trained_context: int  # context the model was trained / validated for (<= max_position)
    token_grid: tuple[int, int]  # (H, W) visual tokens per grid at the default resolution, after the model's merge/pool
    temporal_merge: int = 1  # frames folded into one grid (Qwen-VL: 2)
    pixels_per_token: int | None = None  # pixels along one side per token (dynamic resolution); None: fixed-size encoder
    default_resolution: int = 0  # frame side in pixels that token_grid corresponds to
    dtype: str = "bfloat16"  # weight dtype of the published checkpoint
    compressions: tuple[str, ...] = STOCK_COMPRESSIONS  # --compress strategies its backend can run
    source: str = ""  # where the numbers come from

    @property
    def sees_images(self) -> bool:
        return self.token_grid[0] > 0 and self.token_grid[1] > 0

    @property
    def tokens_per_grid(self) -> int:
        return self.token_grid[0] * self.token_grid[1]

    @property
    def tokens_per_frame(self) -> float:
        """Visual tokens one frame costs at the default resolution (Qwen: a grid per 2 frames)."""
        return self.tokens_per_grid / self.temporal_merge

    def grids_for(self, frames: int) -> int:
        """Token grids for ``frames`` frames (Qwen-VL pads an odd count to even)."""
        return -(-max(frames, 0) // self.temporal_merge)

    def grid_at(self, resolution: int | None) -> tuple[int, int]:
        """Token grid for square frames of ``resolution`` px; fixed-size encoders ignore it."""
        if resolution is None or self.pixels_per_token is None:
            return self.token_grid
        side = max(1, round(resolution / self.pixels_per_token))
        return (side, side)

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """KV cache bytes per token: 2 (K and V) x layers x kv_heads x head_dim x bytes."""
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


# --- parameter estimates from the architecture --------------------------------------------

def llm_params(hidden: int, layers: int, heads: int, kv_heads: int, head_dim: int, intermediate: int,
               vocab: int, tied: bool, gated: bool = True) -> tuple[int, int]:
    """(all LLM parameters, embedding + head parameters); biases and norms are left out (<0.1%)."""
    embed = vocab * hidden * (1 if tied else 2)
    attn = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim  # q, o + k, v
    mlp = (3 if gated else 2) * hidden * intermediate
    return embed + layers * (attn + mlp), embed


def vit_params(layers: int, hidden: int, intermediate: int, gated: bool = False) -> int:
    """A ViT's blocks: 4 h^2 attention + 2 (3 if gated) h x intermediate MLP per layer."""
    return layers * (4 * hidden * hidden + (3 if gated else 2) * hidden * intermediate)


def _need(cfg: dict[str, Any], key: str, where: str) -> Any:
    if key not in cfg or cfg[key] is None:
        raise InputError(f"config.json: {where} has no {key!r}; cannot plan for this model")
    return cfg[key]


def _text_dims(text: dict[str, Any], where: str) -> dict[str, int]:
    hidden = int(_need(text, "hidden_size", where))
    heads = int(_need(text, "num_attention_heads", where))
    return {
        "hidden": hidden,
        "layers": int(_need(text, "num_hidden_layers", where)),
        "heads": heads,
        "kv_heads": int(text.get("num_key_value_heads") or heads),
        "head_dim": int(text.get("head_dim") or hidden // heads),
        "intermediate": int(_need(text, "intermediate_size", where)),
        "vocab": int(_need(text, "vocab_size", where)),
        "max_position": int(_need(text, "max_position_embeddings", where)),
    }


def _text_config(config: dict[str, Any]) -> dict[str, Any]:
    """Qwen-VL configs saved by older transformers keep the text fields at the top level."""
    text = config.get("text_config")
    return {**config, **text} if isinstance(text, dict) else config


def _tied(config: dict[str, Any], text: dict[str, Any], default: bool) -> bool:
    value = config.get("tie_word_embeddings", text.get("tie_word_embeddings"))
    return default if value is None else bool(value)


# CLIP / SigLIP towers named by LLaVA-style configs (mm_vision_tower): (layers, hidden, intermediate, image, patch)
# openai/clip-vit-large-patch14-336 and google/siglip-so400m-patch14-384 config.json.
_NAMED_TOWERS: dict[str, tuple[int, int, int, int, int]] = {
    "clip-vit-large-patch14-336": (24, 1024, 4096, 336, 14),
    "siglip-so400m-patch14-384": (27, 1152, 4304, 384, 14),
}


def dims_from_config(config: dict[str, Any], name: str = "custom", *, trained_context: int | None = None) -> ModelDims:
    """Read a transformers ``config.json`` (as a dict) into ``ModelDims``.

    Raises ``InputError`` for a family it does not know or a config missing a needed field.
    """
    model_type = str(config.get("model_type", ""))
    is_videoxl = any(k.startswith("beacon") for k in config) or "Video_XL" in name or "Video-XL" in name
    if model_type in ("qwen2_5_vl", "qwen2_vl"):
        return _qwen_vl(config, name, model_type, trained_context)
    if model_type == "qwen3_vl":
        return _qwen_vl(config, name, model_type, trained_context)
    if model_type in ("llava_onevision", "llava_next_video", "llava"):
        return _llava_hf(config, name, trained_context)
    if model_type in ("smolvlm", "idefics3"):
        return _smolvlm(config, name, trained_context)
    if model_type in ("llava_qwen", "qwen2") and (is_videoxl or "mm_vision_tower" in config):
        return _llava_qwen(config, name, is_videoxl, trained_context)
    if model_type in ("llama", "qwen2", "qwen3", "mistral"):
        t = _text_dims(config, "config")
        total, embed = llm_params(**{k: t[k] for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "intermediate", "vocab")},
                                  tied=_tied(config, config, False))
        return ModelDims(name=name, family="text", params_total=total, params_vision=0, params_embed=embed,
                         trained_context=trained_context or t["max_position"], token_grid=(0, 0),
                         compressions=("none",), source="config.json", **t)
    raise InputError(f"config.json: model_type {model_type!r} is not a family vidq can plan for "
                     "(qwen2_5_vl, qwen3_vl, llava_onevision, smolvlm, llava_qwen, llama, qwen2, qwen3)")


def _qwen_vl(config: dict[str, Any], name: str, model_type: str, trained_context: int | None) -> ModelDims:
    text = _text_config(config)
    t = _text_dims(text, "config")
    vis = dict(config.get("vision_config") or {})
    qwen3 = model_type == "qwen3_vl"
    # class defaults (Qwen2_5_VLVisionConfig / Qwen3VLVisionConfig) for fields a config omits
    depth = int(vis.get("depth", 27 if qwen3 else 32))
    v_hidden = int(vis.get("hidden_size", 1152 if qwen3 else 1280))
    if model_type == "qwen2_vl":
        v_hidden = int(vis.get("embed_dim", 1280))
    v_inter = int(vis.get("intermediate_size", 4304 if qwen3 else 3420 if model_type == "qwen2_5_vl" else 4 * v_hidden))
    patch = int(vis.get("patch_size", vis.get("spatial_patch_size", 16 if qwen3 else 14)))
    merge = int(vis.get("spatial_merge_size", 2))
    temporal = int(vis.get("temporal_patch_size", 2))
    out_hidden = int(vis.get("out_hidden_size", t["hidden"]))
    merged = v_hidden * merge * merge
    merger = merged * merged + merged * out_hidden
    mergers = 1 + len(vis.get("deepstack_visual_indexes", [])) if qwen3 else 1
    vision = (vit_params(depth, v_hidden, v_inter, gated=model_type == "qwen2_5_vl")
              + mergers * merger + 3 * temporal * patch * patch * v_hidden
              + (int(vis.get("num_position_embeddings", 2304)) * v_hidden if qwen3 else 0))
    total, embed = llm_params(**{k: t[k] for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "intermediate", "vocab")},
                              tied=_tied(config, text, False))
    if model_type == "qwen2_5_vl" and trained_context is None:
        # the Qwen2.5-VL model cards: config.json is set for 32,768 tokens; beyond that needs YaRN
        trained_context = min(t["max_position"], QWEN25_NATIVE_CONTEXT)
    px = patch * merge
    resolution = 16 * px  # ours: 448 px (Qwen2.5-VL) / 512 px (Qwen3-VL) frames -> 16x16 tokens per 2 frames
    family = "qwen3_vl" if qwen3 else "qwen2_5_vl"
    return ModelDims(name=name, family=family, params_total=total + vision, params_vision=vision, params_embed=embed,
                     trained_context=trained_context or t["max_position"], token_grid=(16, 16), temporal_merge=temporal,
                     pixels_per_token=px, default_resolution=resolution, source="config.json", **t)


def _siglip_like(vis: dict[str, Any]) -> tuple[int, int, int]:
    """(parameters, image_size, patch_size) of a CLIP/SigLIP vision config."""
    layers = int(_need(vis, "num_hidden_layers", "vision_config"))
    hidden = int(_need(vis, "hidden_size", "vision_config"))
    inter = int(_need(vis, "intermediate_size", "vision_config"))
    image = int(_need(vis, "image_size", "vision_config"))
    patch = int(_need(vis, "patch_size", "vision_config"))
    params = vit_params(layers, hidden, inter) + 3 * patch * patch * hidden + (image // patch) ** 2 * hidden
    return params, image, patch


def _llava_hf(config: dict[str, Any], name: str, trained_context: int | None) -> ModelDims:
    """llava-hf LLaVA-OneVision / LLaVA-Video: SigLIP 384/14 (27x27), video pooled to ceil(27/2)^2 = 196."""
    text = _need(config, "text_config", "config")
    t = _text_dims(text, "text_config")
    vis = _need(config, "vision_config", "config")
    tower, image, patch = _siglip_like(vis)
    v_hidden = int(vis["hidden_size"])
    projector = v_hidden * t["hidden"] + t["hidden"] * t["hidden"]  # 2-layer MLP projector
    total, embed = llm_params(**{k: t[k] for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "intermediate", "vocab")},
                              tied=_tied(config, text, False))
    side = -(-(image // patch) // 2)  # get_video_features: bilinear pooling to ceil(h / 2)
    return ModelDims(name=name, family="llava_onevision", params_total=total + tower + projector,
                     params_vision=tower + projector, params_embed=embed,
                     trained_context=trained_context or t["max_position"], token_grid=(side, side),
                     default_resolution=image, source="config.json", **t)


def _smolvlm(config: dict[str, Any], name: str, trained_context: int | None) -> ModelDims:
    """SmolVLM2: SigLIP tower, pixel shuffle by ``scale_factor``; a video frame is one tile."""
    text = _need(config, "text_config", "config")
    t = _text_dims(text, "text_config")
    vis = _need(config, "vision_config", "config")
    tower, image, patch = _siglip_like(vis)
    scale = int(config.get("scale_factor", 2))
    v_hidden = int(vis["hidden_size"])
    connector = v_hidden * scale * scale * t["hidden"]
    total, embed = llm_params(**{k: t[k] for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "intermediate", "vocab")},
                              tied=_tied(config, text, False))
    side = (image // patch) // scale  # 512/16 = 32 -> 8 (scale 4); 384/14 = 27 -> 9 (scale 3)
    return ModelDims(name=name, family="smolvlm", params_total=total + tower + connector,
                     params_vision=tower + connector, params_embed=embed,
                     trained_context=trained_context or t["max_position"], token_grid=(side, side),
                     default_resolution=image, source="config.json", **t)


def _llava_qwen(config: dict[str, Any], name: str, videoxl: bool, trained_context: int | None) -> ModelDims:
    """LLaVA-NeXT-style ``LlavaQwenForCausalLM`` (Video-XL): flat Qwen2 fields + mm_* keys."""
    t = _text_dims(config, "config")
    tower_name = str(config.get("mm_vision_tower", "")).rsplit("/", 1)[-1]
    if tower_name not in _NAMED_TOWERS:
        raise InputError(f"config.json: unknown vision tower {config.get('mm_vision_tower')!r}; "
                         f"known: {', '.join(sorted(_NAMED_TOWERS))}")
    v_layers, v_hidden, v_inter, image, patch = _NAMED_TOWERS[tower_name]
    tower = vit_params(v_layers, v_hidden, v_inter) + 3 * patch * patch * v_hidden + (image // patch) ** 2 * v_hidden
    projector = v_hidden * t["hidden"] + t["hidden"] * t["hidden"]  # mlp2x_gelu
    total, embed = llm_params(**{k: t[k] for k in ("hidden", "layers", "heads", "kv_heads", "head_dim", "intermediate", "vocab")},
                              tied=_tied(config, config, False))
    if videoxl:
        # beacon_param q k v: separate beacon projections in every layer
        total += t["layers"] * t["hidden"] * (t["heads"] + 2 * t["kv_heads"]) * t["head_dim"]
        side = (image // patch) // 2  # 2x2 avg pool: 24x24 -> 12x12 = 144 (Video-XL constants.TOKEN_PERFRAME)
    else:
        side = -(-(image // patch) // int(config.get("mm_spatial_pool_stride", 2)))
    return ModelDims(name=name, family="videoxl" if videoxl else "llava_onevision",
                     params_total=total + tower + projector, params_vision=tower + projector, params_embed=embed,
                     trained_context=trained_context or t["max_position"], token_grid=(side, side),
                     default_resolution=image, compressions=VIDEOXL_COMPRESSIONS if videoxl else STOCK_COMPRESSIONS,
                     source="config.json", **t)


# --- the models the registry lists ----------------------------------------------------------
# Excerpts of each public config.json (only the fields dims_from_config reads).  "verified"
# marks numbers read from the stored reference text while writing this table (the configs on
# huggingface.co or copies of them); the others are transcribed from the public config.json
# and the model cards and were not re-read here.

_QWEN2_7B_TEXT = {  # Qwen2-7B / Qwen2.5-7B text model; verified (Qwen2.5-7B-Instruct config.json)
    "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
    "num_key_value_heads": 4, "vocab_size": 152064, "max_position_embeddings": 32768,
}
_SIGLIP_SO400M = {  # google/siglip-so400m-patch14-384 as llava-hf stores it (26 layers: the last is dropped)
    "model_type": "siglip_vision_model", "hidden_size": 1152, "intermediate_size": 4304,
    "num_hidden_layers": 26, "image_size": 384, "patch_size": 14,
}
_SIGLIP_B16_512 = {  # SmolVLM2-256M/500M vision tower: SigLIP base patch16 at 512 px
    "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "image_size": 512, "patch_size": 16,
}

KNOWN_CONFIGS: dict[str, tuple[dict[str, Any], int | None, str]] = {
    # id: (config excerpt, trained context if below max_position_embeddings, source)
    "Qwen/Qwen2.5-VL-3B-Instruct": ({
        "model_type": "qwen2_5_vl", "hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
        "num_attention_heads": 16, "num_key_value_heads": 2, "vocab_size": 151936,
        "max_position_embeddings": 128000, "tie_word_embeddings": True,
        "vision_config": {"hidden_size": 1280, "out_hidden_size": 2048},  # depth 32 etc.: class defaults
    }, 32768, ("huggingface.co/Qwen/Qwen2.5-VL-3B-Instruct config.json (verified); the model card: config.json "
              "is set for 32,768 tokens, YaRN beyond")),
    "Qwen/Qwen2.5-VL-7B-Instruct": ({
        "model_type": "qwen2_5_vl", **_QWEN2_7B_TEXT, "max_position_embeddings": 128000, "tie_word_embeddings": False,
        "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "out_hidden_size": 3584,
                          "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2},
    }, 32768, ("huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct config.json (verified via the -AWQ copy); the model "
              "card: config.json is set for 32,768 tokens, YaRN beyond")),
    "Qwen/Qwen3-VL-2B-Instruct": ({
        "model_type": "qwen3_vl", "tie_word_embeddings": True,
        "text_config": {"hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
                        "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
                        "vocab_size": 151936, "max_position_embeddings": 262144},
        "vision_config": {"depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "out_hidden_size": 2048,
                          "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
                          "num_position_embeddings": 2304, "deepstack_visual_indexes": [5, 11, 17]},
    }, None, "huggingface.co/Qwen/Qwen3-VL-2B-Instruct config.json (vision verified via copies)"),
    "Qwen/Qwen3-VL-8B-Instruct": ({
        "model_type": "qwen3_vl", "tie_word_embeddings": False,
        "text_config": {"hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
                        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
                        "vocab_size": 151936, "max_position_embeddings": 262144},
        "vision_config": {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "out_hidden_size": 4096,
                          "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
                          "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24]},
    }, None, "huggingface.co/Qwen/Qwen3-VL-8B-Instruct config.json (verified via a fine-tune's copy)"),
    "llava-hf/llava-onevision-qwen2-0.5b-ov-hf": ({
        "model_type": "llava_onevision", "tie_word_embeddings": True,
        "text_config": {"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                        "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151647,
                        "max_position_embeddings": 32768},
        "vision_config": _SIGLIP_SO400M,
    }, None, "huggingface.co/llava-hf/llava-onevision-qwen2-0.5b-ov-hf config.json (Qwen2-0.5B text model)"),
    "llava-hf/llava-onevision-qwen2-7b-ov-hf": ({
        "model_type": "llava_onevision", "tie_word_embeddings": False,
        "text_config": {"model_type": "qwen2", **_QWEN2_7B_TEXT, "vocab_size": 152128},
        "vision_config": _SIGLIP_SO400M,
    }, None, "huggingface.co/llava-hf/llava-onevision-qwen2-7b-ov-hf config.json (Qwen2-7B text model)"),
    "llava-hf/LLaVA-Video-7B-Qwen2-hf": ({
        "model_type": "llava_onevision", "tie_word_embeddings": False,
        "text_config": {"model_type": "qwen2", **_QWEN2_7B_TEXT, "vocab_size": 152128},
        "vision_config": _SIGLIP_SO400M,
    }, None, "huggingface.co/llava-hf/LLaVA-Video-7B-Qwen2-hf config.json (same architecture as OneVision-7B)"),
    "HuggingFaceTB/SmolVLM2-256M-Video-Instruct": ({
        "model_type": "smolvlm", "scale_factor": 4, "tie_word_embeddings": False,
        "text_config": {"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
                        "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64, "vocab_size": 49280,
                        "max_position_embeddings": 8192},
        "vision_config": _SIGLIP_B16_512,
    }, None, ("huggingface.co/HuggingFaceTB/SmolVLM2-256M-Video-Instruct config.json (text verified via the "
             "SmolVLM-256M config; untied head: the 1.03 GB fp32 model.safetensors holds 257M parameters)")),
    "HuggingFaceTB/SmolVLM2-500M-Video-Instruct": ({
        "model_type": "smolvlm", "scale_factor": 4, "tie_word_embeddings": False,
        "text_config": {"model_type": "llama", "hidden_size": 960, "intermediate_size": 2560, "num_hidden_layers": 32,
                        "num_attention_heads": 15, "num_key_value_heads": 5, "head_dim": 64, "vocab_size": 49280,
                        "max_position_embeddings": 8192},
        "vision_config": _SIGLIP_B16_512,
    }, None, "huggingface.co/HuggingFaceTB/SmolVLM2-500M-Video-Instruct config.json (SmolLM2-360M text model)"),
    "HuggingFaceTB/SmolVLM2-2.2B-Instruct": ({
        "model_type": "smolvlm", "scale_factor": 3, "tie_word_embeddings": False,
        "text_config": {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 24,
                        "num_attention_heads": 32, "num_key_value_heads": 32, "head_dim": 64, "vocab_size": 49280,
                        "max_position_embeddings": 16384},
        "vision_config": {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27,
                          "image_size": 384, "patch_size": 14},
    }, None, ("huggingface.co/HuggingFaceTB/SmolVLM2-2.2B-Instruct config.json (text/vision/scale 3 verified via "
             "a SmolVLM-Instruct copy; 2 x 4.5 GB fp32 shards = 2.25B parameters)")),
    "sy1998/Video_XL": ({
        "model_type": "qwen2", "architectures": ["LlavaQwenForCausalLM"], **_QWEN2_7B_TEXT,
        "tie_word_embeddings": False, "mm_vision_tower": "openai/clip-vit-large-patch14-336",
        "mm_projector_type": "mlp2x_gelu", "beacon_window": 1440, "beacon_stride": 1440,
        "beacon_ratio": [2, 4, 8, 12, 16], "beacon_param": ["q", "k", "v"],
    }, None, ("VectorSpaceLab/Video-XL: Qwen2-7B-Instruct + CLIP ViT-L/14-336, 144 tokens/frame "
             "(constants.py TOKEN_PERFRAME), beacon settings from scripts/finetune_*.sh")),
}


def _known(hf_id: str) -> ModelDims:
    config, trained, source = KNOWN_CONFIGS[hf_id]
    dims = dims_from_config(config, hf_id, trained_context=trained)
    return ModelDims(**{**dims.__dict__, "source": source})


KNOWN_DIMS: dict[str, ModelDims] = {hf_id: _known(hf_id) for hf_id in KNOWN_CONFIGS}

# Short names until the registry exists (the registry may replace this lookup).
ALIASES: dict[str, str] = {
    "qwen2.5-vl-3b": "Qwen/Qwen2.5-VL-3B-Instruct",
    "qwen2.5-vl-7b": "Qwen/Qwen2.5-VL-7B-Instruct",
    "qwen3-vl-2b": "Qwen/Qwen3-VL-2B-Instruct",
    "qwen3-vl-8b": "Qwen/Qwen3-VL-8B-Instruct",
    "llava-onevision-0.5b": "llava-hf/llava-onevision-qwen2-0.5b-ov-hf",
    "llava-onevision-7b": "llava-hf/llava-onevision-qwen2-7b-ov-hf",
    "llava-video-7b": "llava-hf/LLaVA-Video-7B-Qwen2-hf",
    "smolvlm2-256m": "HuggingFaceTB/SmolVLM2-256M-Video-Instruct",
    "smolvlm2-500m": "HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
    "smolvlm2-2.2b": "HuggingFaceTB/SmolVLM2-2.2B-Instruct",
    "video-xl": "sy1998/Video_XL",
    "video-xl-7b": "sy1998/Video_XL",
}


def known_names() -> list[str]:
    """Every name ``resolve_dims`` accepts besides a local directory: aliases, then HF ids."""
    return sorted(ALIASES) + sorted(KNOWN_DIMS)


def resolve_dims(model: str, *, aliases: dict[str, str] | None = None) -> ModelDims:
    """``ModelDims`` for a short name, a Hugging Face id from ``KNOWN_DIMS``, or a local directory.

    A local directory must hold a ``config.json``.  Unknown names raise ``InputError``
    listing the known ones.
    """
    table = ALIASES if aliases is None else aliases
    key = model.strip()
    hf_id = table.get(key.lower(), key)
    if hf_id in KNOWN_DIMS:
        return KNOWN_DIMS[hf_id]
    lowered = {k.lower(): k for k in KNOWN_DIMS}
    if hf_id.lower() in lowered:
        return KNOWN_DIMS[lowered[hf_id.lower()]]
    path = Path(key).expanduser()
    if path.is_dir():
        config_file = path / "config.json"
        if not config_file.is_file():
            raise InputError(f"{path}: no config.json in this directory")
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{config_file}: not a readable JSON config ({e})") from e
        if not isinstance(config, dict):
            raise InputError(f"{config_file}: not a JSON object")
        return dims_from_config(config, str(path))
    raise InputError(f"unknown model {model!r}; known: {', '.join(known_names())}, or a local directory with a config.json")


def describe_params(n: int) -> str:
    """``8290000000 -> '8.29B'``, ``256000000 -> '256M'``."""
    if n >= 1_000_000_000:
        return f"{n / 1e9:.2f}B"
    return f"{math.floor(n / 1e6 + 0.5)}M"
