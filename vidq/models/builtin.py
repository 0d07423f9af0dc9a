"""The built-in backends and named models, registered the way plugins register theirs.

Defaults per model: frames to sample and the compression the planner starts from.  The
numbers behind sizes and token counts live in ``vidq.models.dims.KNOWN_DIMS``.
Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

from vidq.errors import InputError
from vidq.models import loading
from vidq.models.base import Backend
from vidq.models.dims import KNOWN_DIMS
from vidq.models.registry import Family, LoadRequest, ModelEntry, Registry

# (name, HF id, family, frames, tier, cpu_ok, summary)
_MODELS: tuple[tuple[str, str, str, int, str, bool, str], ...] = (
    ("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "qwen2_5_vl", 256, "main", False, "Qwen2.5-VL 3B"),
    ("qwen2.5-vl-7b", "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2_5_vl", 256, "main", False, "Qwen2.5-VL 7B, the main model"),
    ("qwen3-vl-2b", "Qwen/Qwen3-VL-2B-Instruct", "qwen3_vl", 256, "main", False, "Qwen3-VL 2B"),
    ("qwen3-vl-8b", "Qwen/Qwen3-VL-8B-Instruct", "qwen3_vl", 256, "main", False, "Qwen3-VL 8B"),
    ("llava-onevision-0.5b", "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", "llava_onevision", 32, "small", True,
     "LLaVA-OneVision 0.5B"),
    ("llava-onevision-7b", "llava-hf/llava-onevision-qwen2-7b-ov-hf", "llava_onevision", 64, "main", False,
     "LLaVA-OneVision 7B"),
    ("llava-video-7b", "llava-hf/LLaVA-Video-7B-Qwen2-hf", "llava_onevision", 64, "main", False, "LLaVA-Video 7B"),
    ("smolvlm2-256m", "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "smolvlm", 64, "small", True,
     "SmolVLM2 256M, CPU-friendly"),
    ("smolvlm2-500m", "HuggingFaceTB/SmolVLM2-500M-Video-Instruct", "smolvlm", 64, "small", True,
     "SmolVLM2 500M, CPU-friendly"),
    ("smolvlm2-2.2b", "HuggingFaceTB/SmolVLM2-2.2B-Instruct", "smolvlm", 64, "small", False, "SmolVLM2 2.2B"),
)

STOCK_FAMILIES: dict[str, str] = {
    "qwen2_5_vl": "Qwen2.5-VL (Qwen2_5_VLForConditionalGeneration)",
    "qwen3_vl": "Qwen3-VL (Qwen3VLForConditionalGeneration)",
    "llava_onevision": "LLaVA-OneVision / LLaVA-Video (LlavaOnevisionForConditionalGeneration)",
    "smolvlm": "SmolVLM2 (SmolVLMForConditionalGeneration)",
}


def _check_offline(request: LoadRequest) -> None:
    if request.offline and not loading.weights_present(request.source):
        raise InputError(f"{request.name}: weights are not on this machine and --offline forbids downloading them "
                         f"(download {request.source} first, or give a local directory)")


def load_stock(request: LoadRequest) -> Backend:
    """A stock transformers VLM from a local folder or HF id."""
    from vidq.models.vlm.engine import TransformersBackend

    _check_offline(request)
    plan = loading.plan_for(request.device, request.quant, request.family)
    entry = request.entry
    defaults = {"compression": entry.compression, "ratio": entry.ratio} if entry is not None else {}
    return TransformersBackend.load(request.source, family=request.family, name=request.name, plan=plan,
                                    offline=request.offline, defaults=defaults)


def load_videoxl(request: LoadRequest) -> Backend:
    """Video-XL through its remote code (the registry has checked --trust-remote-code)."""
    from vidq.models.videoxl import VideoXLBackend

    if not request.trust_remote_code:
        raise InputError(f"{request.name} runs the model's own Python code; rerun with --trust-remote-code if you trust it")
    _check_offline(request)
    plan = loading.plan_for(request.device, request.quant, "videoxl")
    return VideoXLBackend.load(request.source, name=request.name, plan=plan, offline=request.offline)


def load_openai(request: LoadRequest) -> Backend:
    """``openai:MODEL`` against ``--api-base``, checked before any work (``OpenAIBackend.connect``).

    ``request.extra`` may carry ``remote_vision`` (auto|yes|no), ``context`` (tokens),
    ``request_timeout`` (seconds), ``retries`` and ``store`` (caches the probed vision answer).
    """
    from vidq.models.http import RETRIES
    from vidq.models.openai_http import OpenAIBackend

    extra = request.extra
    backend = OpenAIBackend(request.source, api_base=request.api_base, offline=request.offline,
                            vision=extra.get("remote_vision") or "auto", context=extra.get("context"),
                            request_timeout=extra.get("request_timeout"),
                            retries=RETRIES if extra.get("retries") is None else int(extra["retries"]))
    return backend.connect(extra.get("store"))


def register(registry: Registry) -> None:
    """Register the built-in families and models."""
    for family, summary in STOCK_FAMILIES.items():
        registry.add_family(Family(name=family, load=load_stock, model_types=(family,), summary=summary))
    registry.add_family(Family(name="videoxl", load=load_videoxl, remote_code=True,
                               summary="Video-XL through its own code (--trust-remote-code)"))
    registry.add_family(Family(name="openai", load=load_openai, scheme="openai",
                               summary="any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama): openai:MODEL --api-base URL"))
    for name, hf_id, family, frames, tier, cpu_ok, summary in _MODELS:
        dims = KNOWN_DIMS.get(hf_id)
        registry.add_model(ModelEntry(name=name, family=family, hf_id=hf_id, frames=frames,
                                      tokens_per_frame=dims.tokens_per_frame if dims else None, tier=tier,
                                      cpu_ok=cpu_ok, summary=summary))
    xl = KNOWN_DIMS.get("sy1998/Video_XL")
    registry.add_model(ModelEntry(name="video-xl-7b", family="videoxl", hf_id="sy1998/Video_XL", frames=1024,
                                  tokens_per_frame=xl.tokens_per_frame if xl else 144, compression="videoxl",
                                  tier="videoxl", remote_code=True,
                                  summary="Video-XL 7B, the seed model (remote code, beacon compression)"))
    registry.add_alias("video-xl", "video-xl-7b")  # the name `vidq plan` also accepts
