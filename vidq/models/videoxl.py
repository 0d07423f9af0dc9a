"""Video-XL through its published remote code (``trust_remote_code=True``).

Loaded with ``AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)`` and
driven through the interface its README documents: the prompt holds one image token
(``IMAGE_TOKEN_INDEX = -200``) where ``TOKEN_PERFRAME`` (144) visual tokens per frame are
expanded; ``model.generate(input_ids, images=[frames], modalities=["video"],
beacon_skip_first=..., beacon_skip_last=...)``; the beacon ratio is
``model.config.beacon_ratio = [r]`` and ``model.memory.reset()`` starts each video.
``--compress videoxl --ratio R`` sets r (the planner picks it when not given).

Video-XL expects its visual tokens in one contiguous span, so timestamps and subtitles go
in a text block after the video instead of between frames.  Knows nothing about tasks or
the CLI; the ``--trust-remote-code`` gate is the registry's.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from vidq.compress.types import KV_RATIOS
from vidq.errors import InputError, MissingDependency, ModelError, brief
from vidq.models.base import (
    Backend,
    Capabilities,
    GenerateOptions,
    Generation,
    Prepared,
    VideoInput,
)
from vidq.models.loading import LoadPlan
from vidq.models.vlm.layout import frame_stamp
from vidq.models.vlm.prompt import DEFAULT_SYSTEM, encode_text

log = logging.getLogger("vidq.models")

IMAGE_TOKEN_INDEX = -200  # videoxl/constants.py
TOKEN_PERFRAME = 144  # videoxl/constants.py: CLIP-336 576 patches, 2x2 pooled
PROMPT_HEAD = "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"  # Video-XL's qwen_1_5 template
PROMPT_TAIL = "<|im_end|>\n<|im_start|>assistant\n"


class VideoXLBackend(Backend):
    """Video-XL (``sy1998/Video_XL`` and compatible remote-code checkpoints)."""

    def __init__(self, model: Any, tokenizer: Any, image_processor: Any, *, name: str, plan: LoadPlan,
                 dims: Any = None, tokens_per_frame: int = TOKEN_PERFRAME):
        self.model = model  # the remote-code model
        self.tokenizer = tokenizer
        self.image_processor = image_processor  # CLIP preprocessing of the vision tower
        self.name = name
        self.plan = plan
        self.dims = dims  # ModelDims for the planner (None: ratio 16 unless given)
        self.tokens_per_frame = tokens_per_frame
        self.capabilities = Capabilities(sees_images=True, max_context=int(getattr(dims, "trained_context", 0) or 32768),
                                         compressions=("videoxl",))

    @classmethod
    def load(cls, source: str, *, name: str, plan: LoadPlan, offline: bool) -> VideoXLBackend:
        from vidq.models import loading

        loading.require_transformers("Video-XL")
        import transformers

        kwargs = loading.from_pretrained_kwargs(plan)
        log.info("loading %s with its own code (trust_remote_code) on %s", name, plan.device)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, trust_remote_code=True, local_files_only=offline)
            model = transformers.AutoModelForCausalLM.from_pretrained(source, trust_remote_code=True,
                                                                      local_files_only=offline, **kwargs)
        except ImportError as e:
            raise MissingDependency(getattr(e, "name", None) or "a package Video-XL's code imports", "llm",
                                    f"loading {name}") from e
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load {name} from {source}: {brief(e)}") from e
        model.eval()
        if hasattr(model, "get_vision_tower"):
            image_processor = model.get_vision_tower().image_processor
        else:
            image_processor = transformers.AutoImageProcessor.from_pretrained(source, local_files_only=offline)
        dims = None
        try:
            from vidq.models.dims import dims_from_config

            dims = dims_from_config(model.config.to_dict(), name)
        except InputError as e:
            log.debug("planner unavailable for %s: %s", name, e)
        return cls(model, tokenizer, image_processor, name=name, plan=plan, dims=dims)

    def ratio_for(self, frames: int, options: GenerateOptions) -> tuple[int, str]:
        """The beacon ratio: ``--ratio``, else the planner's smallest that fits, else 16."""
        if options.compress not in ("auto", "videoxl"):
            raise InputError(f"--compress {options.compress}: Video-XL compresses with its own beacons; use videoxl")
        if options.ratio is not None:
            if options.ratio not in KV_RATIOS:
                raise InputError(f"--ratio {options.ratio}: Video-XL was trained with {', '.join(map(str, KV_RATIOS))}")
            return options.ratio, f"videoxl r={options.ratio} (asked)"
        if self.dims is None:
            return KV_RATIOS[-1], f"videoxl r={KV_RATIOS[-1]} (no planner for this model)"
        from vidq.compress import plan_budget

        vram = None
        if self.plan.device.startswith("cuda"):
            import torch

            vram = torch.cuda.get_device_properties(torch.device(self.plan.device)).total_memory / (1 << 30)
        budget = plan_budget(self.dims, frames, vram_gb=vram, quant=self.plan.quant or "none", compress="videoxl")
        return int(budget.chosen.ratio or KV_RATIOS[-1]), budget.reason

    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        import torch

        if video is None:
            raise InputError("Video-XL needs a video")
        tensors, times, words = [], [], []
        dtype = next(self.model.parameters()).dtype
        for batch in video.batches:  # Video-XL takes every frame at once: keep them in the model's dtype
            out = self.image_processor.preprocess(list(batch.images), return_tensors="pt")
            tensors.append(out["pixel_values"].to(dtype))
            for pts, idx in zip(batch.pts, batch.indices):
                times.append(float(pts))
                words.append(video.subtitles[int(idx)].strip() if video.subtitles is not None else "")
        if not tensors:
            raise InputError("no frames to show the model (the video yielded none)")
        pixels = torch.cat(tensors, dim=0)  # [F, 3, H, W]
        frames = int(pixels.shape[0])
        ratio, reason = self.ratio_for(frames, options)
        log.info("%s: %s", self.name, reason)
        system = options.system if options.system is not None else DEFAULT_SYSTEM
        head = encode_text(self.tokenizer, PROMPT_HEAD.format(system=system), specials=True)
        lines = [(f"The video above is {frames} frames from {frame_stamp(times[0], video.duration)} "
                 f"to {frame_stamp(times[-1], video.duration)}.")]
        said = [f"{frame_stamp(t, video.duration)} {w}" for t, w in zip(times, words) if w]
        if said:
            lines.append("What is said, by time:")
            lines.extend(said)
        body = encode_text(self.tokenizer, "\n" + "\n".join(lines) + "\n" + prompt.strip())
        tail = encode_text(self.tokenizer, PROMPT_TAIL, specials=True)
        ids = head + [IMAGE_TOKEN_INDEX] + body + tail
        skip_first = len(head)
        payload = {"input_ids": torch.tensor([ids], dtype=torch.long), "pixels": pixels, "ratio": ratio,
                   "skip_first": skip_first, "skip_last": skip_first + self.tokens_per_frame * frames}
        meta = {"model": self.name, "device": self.plan.device, "quant": self.plan.quant or self.plan.dtype,
                "frames": frames, "tokens_per_frame": self.tokens_per_frame, "compression": "videoxl", "ratio": ratio,
                "visual_tokens_in": self.tokens_per_frame * frames, "plan": reason}
        return Prepared(self.name, payload, meta)

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        import torch

        p = prepared.payload
        model = self.model
        model.config.beacon_ratio = [int(p["ratio"])]
        memory = getattr(model, "memory", None)
        if memory is not None and hasattr(memory, "reset"):
            memory.reset()
        device = next(model.parameters()).device
        dtype = next(model.parameters()).dtype
        sampling = options.temperature > 0
        kwargs: dict[str, Any] = {"do_sample": sampling, "max_new_tokens": options.max_new_tokens, "use_cache": True,
                                  "num_beams": 1}
        if sampling:
            kwargs["temperature"] = options.temperature
            torch.manual_seed(options.seed)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(p["input_ids"].to(device), images=[p["pixels"].to(device, dtype)], modalities=["video"],
                                 beacon_skip_first=p["skip_first"], beacon_skip_last=p["skip_last"], **kwargs)
        # Video-XL's generate echoes the prompt with the image token expanded (its README slices it off)
        expanded = int(p["input_ids"].shape[1]) - 1 + (p["skip_last"] - p["skip_first"])
        ids = out[0, expanded:] if out.shape[1] > expanded else out[0]
        text = self.tokenizer.decode(np.asarray(ids.cpu()).tolist(), skip_special_tokens=True).strip()
        return Generation(text=text, meta={"generated_tokens": int(ids.shape[0]),
                                           "timings": {"generate_s": time.perf_counter() - t0}})
