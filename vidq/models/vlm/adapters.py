"""Per-family glue around stock transformers video LLMs: the *encode* stage and the parts
of the language model the engine drives by hand.

Each adapter turns a batch of RGB frames into per-grid visual token grids
``[T, H, W, D]`` (vision tower + projector, in the LLM's embedding space) and names the
language model, its embeddings, LM head, rotary embedding, placeholder token and the
tokens that wrap each frame's visual rows.

Frames are preprocessed with the checkpoint's *image* processor (PIL backend), not its
video processor: transformers' video processors need torchvision, which vidq does not.
For Qwen-VL two consecutive frames form one temporal patch exactly as the video
processor would build it (each image is duplicated along the temporal axis, so taking
one copy of each of two frames gives the video patch).

Knows nothing about compression, prompts, tasks or the CLI.
"""

from __future__ import annotations

import abc
import inspect
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from vidq.errors import ModelError

if TYPE_CHECKING:
    import torch

FAMILY_MODEL_TYPES: dict[str, str] = {
    "qwen2_5_vl": "qwen2_5_vl",
    "qwen3_vl": "qwen3_vl",
    "llava_onevision": "llava_onevision",
    "smolvlm": "smolvlm",
}


def _pooled(out: Any) -> Any:
    """``get_*_features`` returns a ModelOutput with ``pooler_output`` (transformers 5) or the features."""
    return out.pooler_output if hasattr(out, "pooler_output") else out


class Adapter(abc.ABC):
    """Base: what the engine needs from one model family."""

    family = "base"
    mrope = False  # 3-D (t, h, w) positions (Qwen-VL)
    temporal_merge = 1  # frames folded into one token grid

    def __init__(self, model: Any, tokenizer: Any, image_processor: Any):
        self.model = model  # the *ForConditionalGeneration model
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.config = model.config
        self._cache_kw: str | None = None

    # -- language model parts -------------------------------------------------------------
    @property
    def language_model(self) -> Any:
        return self.model.model.language_model

    @property
    def embed_tokens(self) -> Any:
        return self.language_model.embed_tokens

    @property
    def lm_head(self) -> Any:
        return self.model.lm_head

    @property
    def rotary(self) -> Any:
        return self.language_model.rotary_emb

    @property
    def layers(self) -> Any:
        return self.language_model.layers

    @property
    def device(self) -> torch.device:
        return self.embed_tokens.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.embed_tokens.weight.dtype

    @property
    def placeholder_id(self) -> int:
        return int(self.config.video_token_id)

    def frame_open_ids(self) -> list[int]:
        """Token ids before each frame's visual rows."""
        return []

    def frame_close_ids(self) -> list[int]:
        """Token ids after each frame's visual rows."""
        return []

    def _token_id(self, token: str) -> int:
        token_id = self.tokenizer.convert_tokens_to_ids(token)
        if token_id is None or (self.tokenizer.unk_token_id is not None and token_id == self.tokenizer.unk_token_id):
            raise ModelError(f"the tokenizer has no {token!r} token; is this a {self.family} checkpoint?")
        return int(token_id)

    def position_ids(self, positions: torch.Tensor) -> torch.Tensor:
        """[A, L] position ids -> the shape the language model takes (batch of 1)."""
        if self.mrope:
            return positions.view(3, 1, -1).to(self.device)
        return positions[:1].view(1, -1).to(self.device)

    def lm_forward(self, embeds: torch.Tensor, positions: torch.Tensor, cache: Any,
                   visual_mask: torch.Tensor | None = None, deepstack: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Run the decoder on ``embeds`` [1, L, D]; returns the last hidden states [1, L, D]."""
        if self._cache_kw is None:
            params = inspect.signature(self.language_model.forward).parameters
            self._cache_kw = "cache" if "cache" in params else "past_key_values"
        kwargs: dict[str, Any] = {self._cache_kw: cache}
        kwargs.update(self.extra_forward_kwargs(visual_mask, deepstack))
        out = self.language_model(inputs_embeds=embeds, position_ids=self.position_ids(positions),
                                  use_cache=True, **kwargs)
        return out.last_hidden_state

    def extra_forward_kwargs(self, visual_mask: torch.Tensor | None, deepstack: list[torch.Tensor] | None) -> dict:
        return {}

    # -- encode ---------------------------------------------------------------------------
    @abc.abstractmethod
    def encode(self, frames: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """RGB frames [B, H, W, 3] uint8 -> token grids [B / temporal_merge, h, w, D] (+ deepstack levels)."""


class QwenAdapter(Adapter):
    """Qwen2.5-VL: patch 14, 2x2 merge, two frames per temporal patch, M-RoPE."""

    family = "qwen2_5_vl"
    mrope = True
    temporal_merge = 2

    def frame_open_ids(self) -> list[int]:
        return [self._token_id("<|vision_start|>")]

    def frame_close_ids(self) -> list[int]:
        return [self._token_id("<|vision_end|>")]

    def _video_patches(self, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames [B, H, W, 3] (B even) -> (pixel_values_videos [N, C*2*p*p], grid_thw [B/2, 3])."""
        import torch

        out = self.image_processor(images=list(frames), return_tensors="pt")
        pixels, grid = out["pixel_values"], out["image_grid_thw"]  # [B * gh * gw, C*tp*p*p], [B, 3]
        tp = int(getattr(self.image_processor, "temporal_patch_size", 2))
        if tp != 2:
            raise ModelError(f"temporal_patch_size {tp} is not supported (Qwen-VL uses 2)")
        if not bool((grid == grid[0]).all()):
            raise ModelError("frames of one batch must share a size (the media layer resizes them alike)")
        per = int(grid[0].prod())
        p = int(self.image_processor.patch_size)
        patches = pixels.view(len(frames), per, -1, tp, p, p)  # [B, N, C, tp, p, p]
        first, second = patches[0::2, :, :, 0], patches[1::2, :, :, 0]  # one copy of each frame
        video = torch.stack([first, second], dim=3)  # [B/2, N, C, 2, p, p]
        grid_thw = grid[0::2].clone()
        return video.reshape(-1, pixels.shape[-1]), grid_thw

    def encode(self, frames: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        import torch

        if len(frames) % 2:
            raise ModelError(f"Qwen-VL encodes frames in pairs; got {len(frames)}")
        pixels, grid_thw = self._video_patches(frames)
        visual = self.model.model.visual
        merge = int(visual.spatial_merge_size)
        with torch.inference_mode():
            out = self.model.model.get_video_features(pixels.to(self.device, visual.dtype), grid_thw.to(self.device))
        feats = _pooled(out)
        feats = torch.cat(list(feats), dim=0) if isinstance(feats, (list, tuple)) else feats
        gh, gw = int(grid_thw[0, 1]) // merge, int(grid_thw[0, 2]) // merge
        grids = feats.reshape(len(grid_thw), gh, gw, -1)
        deep = self._deepstack(out, len(grid_thw), gh, gw)
        return grids.to(self.dtype), deep

    def _deepstack(self, out: Any, t: int, gh: int, gw: int) -> list[torch.Tensor] | None:
        return None


class Qwen3Adapter(QwenAdapter):
    """Qwen3-VL: patch 16, DeepStack features injected into the first decoder layers."""

    family = "qwen3_vl"

    def _deepstack(self, out: Any, t: int, gh: int, gw: int) -> list[torch.Tensor] | None:
        import torch

        levels = getattr(out, "deepstack_features", None)
        if levels is None and isinstance(out, tuple) and len(out) == 2:
            levels = out[1]
        if not levels:
            return None
        result = []
        for level in levels:
            rows = torch.cat(list(level), dim=0) if isinstance(level, (list, tuple)) else level
            result.append(rows.reshape(t, gh, gw, -1).to(self.dtype))
        return result

    def extra_forward_kwargs(self, visual_mask: torch.Tensor | None, deepstack: list[torch.Tensor] | None) -> dict:
        if visual_mask is None or deepstack is None or not bool(visual_mask.any()):
            return {}
        return {"visual_pos_masks": visual_mask.view(1, -1).to(self.device),
                "deepstack_visual_embeds": [d.to(self.device) for d in deepstack]}


class LlavaOnevisionAdapter(Adapter):
    """LLaVA-OneVision / LLaVA-Video: SigLIP, 2-layer projector, bilinear pooling to ceil(n/2)."""

    family = "llava_onevision"

    def _pixels(self, frames: np.ndarray) -> torch.Tensor:
        """Resize to the tower's square input (bicubic), rescale, normalize: the video processor's steps."""
        import torch
        from PIL import Image

        side = int(self.config.vision_config.image_size)
        mean = np.asarray(self.image_processor.image_mean, dtype=np.float32)
        std = np.asarray(self.image_processor.image_std, dtype=np.float32)
        out = np.empty((len(frames), 3, side, side), dtype=np.float32)
        for i, frame in enumerate(frames):
            img = Image.fromarray(frame).resize((side, side), Image.Resampling.BICUBIC)
            arr = (np.asarray(img, dtype=np.float32) / 255.0 - mean) / std
            out[i] = arr.transpose(2, 0, 1)
        return torch.from_numpy(out)

    def encode(self, frames: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        import torch

        pixels = self._pixels(frames).unsqueeze(0)  # [1, B, 3, S, S]
        vision = self.config.vision_config
        side = math.ceil((vision.image_size // vision.patch_size) / 2)
        with torch.inference_mode():
            out = self.model.model.get_video_features(
                pixels.to(self.device, self.model.model.vision_tower.dtype),
                vision_feature_layer=self.config.vision_feature_layer,
                vision_feature_select_strategy=self.config.vision_feature_select_strategy,
            )
        feats = _pooled(out)
        feats = feats.reshape(-1, feats.shape[-1])
        expected = len(frames) * side * side
        if feats.shape[0] == expected + 1:  # transformers appends one image_newline row after the video
            feats = feats[:expected]
        if feats.shape[0] != expected:
            raise ModelError(f"LLaVA-OneVision video features: {feats.shape[0]} rows for {len(frames)} frames "
                             f"of {side}x{side} tokens (expected {expected})")
        return feats.reshape(len(frames), side, side, -1).to(self.dtype), None


class SmolVLMAdapter(Adapter):
    """SmolVLM2: SigLIP, pixel shuffle, one global tile per video frame."""

    family = "smolvlm"

    @property
    def language_model(self) -> Any:
        return self.model.model.text_model

    @property
    def placeholder_id(self) -> int:
        return int(self.config.image_token_id)

    def frame_open_ids(self) -> list[int]:
        return [self._token_id("<fake_token_around_image>"), self._token_id("<global-img>")]

    def frame_close_ids(self) -> list[int]:
        return [self._token_id("<fake_token_around_image>")]

    def encode(self, frames: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        import torch

        out = self.image_processor(images=[[f] for f in frames], do_image_splitting=False, return_tensors="pt")
        pixels = out["pixel_values"]  # [B, 1, 3, S, S]
        mask = out.get("pixel_attention_mask")
        with torch.inference_mode():
            res = self.model.model.get_image_features(
                pixels.to(self.device, self.model.model.vision_model.dtype),
                pixel_attention_mask=None if mask is None else mask.to(self.device),
            )
        feats = _pooled(res)
        feats = torch.cat([f.reshape(-1, f.shape[-1]) for f in feats], dim=0) if isinstance(feats, (list, tuple)) \
            else feats.reshape(-1, feats.shape[-1])
        per = feats.shape[0] // len(frames)
        side = math.isqrt(per)
        if side * side != per or per * len(frames) != feats.shape[0]:
            raise ModelError(f"SmolVLM features: {feats.shape[0]} rows for {len(frames)} frames is not a square grid each")
        return feats.reshape(len(frames), side, side, -1).to(self.dtype), None


ADAPTERS: dict[str, type[Adapter]] = {
    "qwen2_5_vl": QwenAdapter,
    "qwen3_vl": Qwen3Adapter,
    "llava_onevision": LlavaOnevisionAdapter,
    "smolvlm": SmolVLMAdapter,
}
