"""Tiny random-weight video LLMs built from REAL transformers config classes, for tests.

Each builder writes a complete model folder (weights, config, processor, tokenizer, chat
template) that loads through the same ``from_pretrained(path)`` code users run: real code
paths, meaningless words.  Nothing is downloaded: the tokenizer is a byte-level BPE trained
here on a small corpus and wrapped in the family's own tokenizer class, with the family's
special tokens.  ``build_fake_videoxl`` writes a remote-code model folder (``auto_map`` + a
modeling file) that mimics Video-XL's published generate interface.

Knows nothing about vidq's backends; ``tiny_model_dir`` caches built folders under a root
the caller chooses (a pytest tmp dir), never in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

FAMILIES = ("qwen2_5_vl", "qwen3_vl", "llava_onevision", "smolvlm")

TEXT_HIDDEN = 64  # hidden size of every tiny language model
TEXT_LAYERS = 2  # decoder layers
TEXT_HEADS = 4  # attention heads (head_dim 16)
TEXT_KV_HEADS = 2  # key/value heads (grouped-query attention, as the real models)
VOCAB_TARGET = 400  # BPE vocabulary trained on the corpus (before special tokens)

_WORDS = ["the", "a", "video", "frame", "shows", "person", "speaker", "talks", "about", "cat", "dog", "car", "street", "kitchen", "ad", "soda", "advert", "summary", "question", "answer", "when", "where", "what", "who", "scene", "cut", "music", "news", "sport", "goal", "entropy", "lecture", "slide", "board", "red", "blue", "green", "yellow", "time", "second", "minute", "hour", "begins", "ends", "says", "said", "then", "next", "first", "last", "inside", "outside", "city", "beach", "forest", "night", "day", "morning"]

QWEN_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)
LLAVA_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>")
SMOLVLM_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<fake_token_around_image>", "<image>",
    "<global-img>", "<end_of_utterance>",
)

# Chat templates in each family's published style (the real checkpoints ship their own).
QWEN_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}"
    "{% elif c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
LLAVA_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}<image>\n{% elif c['type'] == 'video' %}<video>\n{% endif %}{% endfor %}"
    "{% for c in message['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SMOLVLM_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'] is string %}{{ ': ' + message['content'] }}{% else %}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}{% endfor %}{% endif %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


def _corpus() -> list[str]:
    """A deterministic corpus of short sentences over a small word list plus digits."""
    lines = []
    for i in range(600):
        words = [_WORDS[(i * 7 + j * 13) % len(_WORDS)] for j in range(3 + i % 9)]
        lines.append(" ".join(words) + f" at {i % 60:02d}:{(i * 7) % 60:02d}.{i % 10} [{i}s]")
    return lines


def train_bpe(specials: tuple[str, ...]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Train a byte-level BPE on the corpus; specials take ids 0..len(specials)-1.

    Returns ``(vocab, merges)`` in the form the family tokenizer classes accept.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_TARGET + len(specials),
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def _qwen_tokenizer(specials: tuple[str, ...], template: str):
    from transformers import Qwen2Tokenizer

    vocab, merges = train_bpe(specials)
    tok = Qwen2Tokenizer(
        vocab=vocab, merges=merges, unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        extra_special_tokens=list(specials[1:]),
    )
    tok.chat_template = template
    return tok


def _write_config_tokens(config, tok, **names: str) -> None:
    """Set ``config.<attr> = tok.convert_tokens_to_ids(token)`` for each ``attr=token``."""
    for attr, token in names.items():
        token_id = tok.convert_tokens_to_ids(token)
        if token_id is None or token_id == tok.unk_token_id:
            raise ValueError(f"tiny tokenizer lacks {token!r}")
        setattr(config, attr, token_id)


def _text_kwargs(vocab_size: int, eos_id: int, pad_id: int) -> dict:
    return {
        "vocab_size": vocab_size, "hidden_size": TEXT_HIDDEN, "intermediate_size": 2 * TEXT_HIDDEN,
        "num_hidden_layers": TEXT_LAYERS, "num_attention_heads": TEXT_HEADS, "num_key_value_heads": TEXT_KV_HEADS,
        "max_position_embeddings": 32768, "eos_token_id": eos_id, "pad_token_id": pad_id, "tie_word_embeddings": False,
    }


def _build_qwen2_5_vl(out: Path) -> None:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tok = _qwen_tokenizer(QWEN_SPECIALS, QWEN_TEMPLATE)
    eos, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    text = _text_kwargs(len(tok), eos, pad)
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2]}
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "patch_size": 14, "spatial_merge_size": 2,
                  "temporal_patch_size": 2, "window_size": 56, "out_hidden_size": TEXT_HIDDEN, "fullatt_block_indexes": [1],
                  "tokens_per_second": 2}
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision)
    _write_config_tokens(config, tok, image_token_id="<|image_pad|>", video_token_id="<|video_pad|>",
                         vision_start_token_id="<|vision_start|>", vision_end_token_id="<|vision_end|>")
    config.eos_token_id = eos
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    image_processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=112 * 112, patch_size=14,
                                               merge_size=2, temporal_patch_size=2)
    _save(model, tok, image_processor, out)


def _build_qwen3_vl(out: Path) -> None:
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tok = _qwen_tokenizer(QWEN_SPECIALS, QWEN_TEMPLATE)
    eos, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    text = _text_kwargs(len(tok), eos, pad)
    text["head_dim"] = TEXT_HIDDEN // TEXT_HEADS
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 2, 2],
                               "mrope_interleaved": True}
    vision = {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "patch_size": 16, "spatial_merge_size": 2,
                  "temporal_patch_size": 2, "out_hidden_size": TEXT_HIDDEN, "num_position_embeddings": 64,
                  "deepstack_visual_indexes": [0]}
    config = Qwen3VLConfig(text_config=text, vision_config=vision)
    _write_config_tokens(config, tok, image_token_id="<|image_pad|>", video_token_id="<|video_pad|>",
                         vision_start_token_id="<|vision_start|>", vision_end_token_id="<|vision_end|>")
    config.eos_token_id = eos
    model = Qwen3VLForConditionalGeneration(config).eval()
    image_processor = Qwen2VLImageProcessorPil(min_pixels=64 * 64, max_pixels=128 * 128, patch_size=16,
                                               merge_size=2, temporal_patch_size=2,
                                               image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    _save(model, tok, image_processor, out)


def _build_llava_onevision(out: Path) -> None:
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
    )
    from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (
        LlavaOnevisionImageProcessorPil,
    )

    tok = _qwen_tokenizer(LLAVA_SPECIALS, LLAVA_TEMPLATE)
    eos, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    text = dict(_text_kwargs(len(tok), eos, pad), model_type="qwen2")
    vision = {"model_type": "siglip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                  "num_attention_heads": 2, "image_size": 56, "patch_size": 14}
    config = LlavaOnevisionConfig(text_config=text, vision_config=vision, vision_feature_layer=-1,
                                  vision_feature_select_strategy="full", image_grid_pinpoints=[[56, 56]])
    _write_config_tokens(config, tok, image_token_id="<image>", video_token_id="<video>")
    config.eos_token_id = eos
    model = LlavaOnevisionForConditionalGeneration(config).eval()
    image_processor = LlavaOnevisionImageProcessorPil(size={"height": 56, "width": 56}, image_grid_pinpoints=[[56, 56]],
                                                      do_pad=True)
    _save(model, tok, image_processor, out)


def _build_smolvlm(out: Path) -> None:
    from transformers import (
        GPT2Tokenizer,
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
    )
    from transformers.models.smolvlm.image_processing_pil_smolvlm import (
        SmolVLMImageProcessorPil,
    )

    vocab, merges = train_bpe(SMOLVLM_SPECIALS)
    tok = GPT2Tokenizer(vocab=vocab, merges=merges, unk_token="<|endoftext|>", bos_token="<|im_start|>",
                        eos_token="<end_of_utterance>", pad_token="<|endoftext|>",
                        extra_special_tokens=list(SMOLVLM_SPECIALS[1:]))
    tok.chat_template = SMOLVLM_TEMPLATE
    eos, pad = tok.convert_tokens_to_ids("<end_of_utterance>"), tok.convert_tokens_to_ids("<|endoftext|>")
    text = dict(_text_kwargs(len(tok), eos, pad), model_type="llama")
    vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": 64,
                  "patch_size": 8}
    config = SmolVLMConfig(text_config=text, vision_config=vision, scale_factor=2)
    _write_config_tokens(config, tok, image_token_id="<image>")
    config.eos_token_id = eos
    model = SmolVLMForConditionalGeneration(config).eval()
    image_processor = SmolVLMImageProcessorPil(size={"longest_edge": 64}, max_image_size={"longest_edge": 64},
                                               do_image_splitting=False)
    _save(model, tok, image_processor, out)


def _save(model, tokenizer, image_processor, out: Path) -> None:
    """Save the parts the way checkpoints ship them (processor classes are not needed:
    they pull in torchvision for their video halves, which vidq does without)."""
    model.generation_config.eos_token_id = model.config.eos_token_id
    model.generation_config.pad_token_id = model.config.text_config.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    image_processor.save_pretrained(out)


_BUILDERS = {
    "qwen2_5_vl": _build_qwen2_5_vl,
    "qwen3_vl": _build_qwen3_vl,
    "llava_onevision": _build_llava_onevision,
    "smolvlm": _build_smolvlm,
}


def build_tiny_model(family: str, directory: str | os.PathLike, *, seed: int = 0) -> Path:
    """Write a tiny random-weight model of ``family`` (one of FAMILIES) into ``directory``."""
    import torch

    if family not in _BUILDERS:
        raise ValueError(f"unknown tiny family {family!r}; choose from {', '.join(FAMILIES)}")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    _BUILDERS[family](out)
    return out


def tiny_model_dir(family: str, root: str | os.PathLike) -> Path:
    """The folder of the tiny ``family`` model under ``root``, built once (atomically)."""
    root = Path(root)
    target = root / f"tiny-{family}"
    if (target / "config.json").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tiny-{family}-", dir=root))
    try:
        build_tiny_model(family, tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first
            if not (target / "config.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


# --- a fake remote-code model with Video-XL's generate interface ------------------------------

_FAKEXL_CONFIG = '''from transformers import PretrainedConfig


class FakeXLConfig(PretrainedConfig):
    model_type = "fakexl"

    def __init__(self, vocab_size=512, hidden_size=8, beacon_ratio=None, reply_ids=None, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.beacon_ratio = beacon_ratio if beacon_ratio is not None else [2, 4, 8]
        self.reply_ids = reply_ids or []
        super().__init__(**kwargs)
'''

_FAKEXL_MODELING = '''import numpy as np
import torch
from transformers import PreTrainedModel

from .configuration_fakexl import FakeXLConfig


class FakeXLImageProcessor:
    """CLIP-style preprocess: frames -> pixel_values [F, 3, 16, 16]."""

    def preprocess(self, images, return_tensors="pt"):
        arr = np.stack([np.asarray(i, dtype=np.float32)[:16, :16] for i in images]) / 255.0
        return {"pixel_values": torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()}


class FakeXLVisionTower:
    image_processor = FakeXLImageProcessor()


class FakeXLMemory:
    def __init__(self):
        self.resets = 0

    def reset(self):
        self.resets += 1


class FakeXLForCausalLM(PreTrainedModel):
    config_class = FakeXLConfig
    _supports_sdpa = True
    _supports_flash_attn = True

    def __init__(self, config):
        super().__init__(config)
        self.proj = torch.nn.Linear(config.hidden_size, config.hidden_size)
        self.memory = FakeXLMemory()
        self.calls = []
        self.post_init()

    def _init_weights(self, module):
        pass

    def get_vision_tower(self):
        return FakeXLVisionTower()

    def generate(self, input_ids, images=None, modalities=None, beacon_skip_first=None, beacon_skip_last=None, **kwargs):
        self.calls.append({"input_ids": input_ids.tolist(), "images": [tuple(i.shape) for i in images],
                           "modalities": modalities, "beacon_skip_first": beacon_skip_first,
                           "beacon_skip_last": beacon_skip_last, "beacon_ratio": list(self.config.beacon_ratio),
                           "resets": self.memory.resets, "kwargs": kwargs})
        # like Video-XL: the prompt comes back with the image token expanded, then the answer
        expanded = input_ids.shape[1] - 1 + (beacon_skip_last - beacon_skip_first)
        reply = torch.tensor([self.config.reply_ids], dtype=torch.long, device=input_ids.device)
        return torch.cat([torch.zeros(1, expanded, dtype=torch.long, device=input_ids.device), reply], dim=1)
'''


def build_fake_videoxl(directory: str | os.PathLike, *, reply: str = "beacons summarized the video") -> Path:
    """Write a remote-code model folder (config.json with ``auto_map`` + modeling files) that
    mimics Video-XL's interface: ``generate(input_ids, images=, modalities=, beacon_skip_first=,
    beacon_skip_last=)``, ``config.beacon_ratio``, ``memory.reset()``, ``get_vision_tower().image_processor``.
    Its answer is always ``reply``; it records every call in ``model.calls``."""
    from transformers import Qwen2Tokenizer

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    vocab, merges = train_bpe(("<|endoftext|>", "<|im_start|>", "<|im_end|>"))
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>", extra_special_tokens=["<|im_start|>", "<|im_end|>"])
    tok.save_pretrained(out)
    (out / "configuration_fakexl.py").write_text(_FAKEXL_CONFIG, encoding="utf-8")
    (out / "modeling_fakexl.py").write_text(_FAKEXL_MODELING, encoding="utf-8")
    config = {
        "architectures": ["FakeXLForCausalLM"], "model_type": "fakexl",
        "auto_map": {"AutoConfig": "configuration_fakexl.FakeXLConfig",
                     "AutoModelForCausalLM": "modeling_fakexl.FakeXLForCausalLM"},
        "vocab_size": len(tok), "hidden_size": 8, "beacon_ratio": [2, 4, 8],
        "reply_ids": tok(reply, add_special_tokens=False)["input_ids"],
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    save_file({"proj.weight": torch.randn(8, 8), "proj.bias": torch.zeros(8)}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    return out
