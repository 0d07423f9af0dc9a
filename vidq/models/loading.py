"""How a local model is loaded: device, dtype, quantization, attention kernel; and where
its files are (a local folder or the Hugging Face cache, never the network when offline).

``choose_load_plan`` is a pure function of the request and of what is installed, so the
rules are unit-tested on a CPU-only machine:

* CUDA: bitsandbytes 4-bit (nf4, double quantization, bf16 compute) by default, 8-bit on
  request, ``--quant none`` for bf16 weights; the vision tower and projector stay
  unquantized (``llm_int8_skip_modules``); flash-attn 2 when importable, else SDPA.
* CPU: float32 weights (bf16 matmuls are slow on most CPUs), SDPA, never bitsandbytes;
  asking for ``--quant 4bit|8bit`` there is an input error.

Knows nothing about tasks, the CLI or any particular backend class.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidq.errors import InputError, MissingDependency, ModelError

log = logging.getLogger("vidq.models")

QUANT_CHOICES: tuple[str, ...] = ("4bit", "8bit", "none")  # --quant values


def _unquantized(*parts: str) -> tuple[str, ...]:
    """``llm_int8_skip_modules`` for the vision parts named, under both of transformers' rules:
    4.x skips a module whose name contains a pattern, 5.x only one whose name starts with it (at a
    dot) or ends with it, so the bare "visual" no longer matches "model.visual.blocks.0.attn.qkv"
    (seen on a GPU: the whole vision tower went to 4-bit); the lm_head is a top-level module."""
    return (*(n for part in parts for n in (part, f"model.{part}")), "lm_head")


# Modules left unquantized per family: vision tower, projector, and the LM head
# (bitsandbytes keeps lm_head in full precision anyway; naming it is explicit).
SKIP_MODULES: dict[str, tuple[str, ...]] = {
    "qwen2_5_vl": _unquantized("visual"),
    "qwen3_vl": _unquantized("visual"),
    "llava_onevision": _unquantized("vision_tower", "multi_modal_projector", "image_newline"),
    "smolvlm": _unquantized("vision_model", "connector"),
    "videoxl": _unquantized("vision_tower", "mm_projector"),
}


@dataclass(frozen=True)
class LoadPlan:
    """Everything ``from_pretrained`` needs to know, decided up front."""

    device: str  # "cpu", "cuda:0", ...
    dtype: str  # torch dtype name of the unquantized weights: float32 | bfloat16 | float16
    quant: str | None  # "4bit" | "8bit" | None (no bitsandbytes)
    attn: str  # attn_implementation: flash_attention_2 | sdpa
    skip_modules: tuple[str, ...] = ()  # llm_int8_skip_modules when quantized
    notes: tuple[str, ...] = field(default=())  # why each choice was made, for the log

    @property
    def label(self) -> str:
        """``"cuda:0 4bit sdpa"``: one line for logs and result meta."""
        return f"{self.device} {self.quant or self.dtype} {self.attn}"


def resolve_device(device: str, *, cuda_available: bool | None = None) -> str:
    """``auto`` -> ``cuda:0`` when CUDA is usable, else ``cpu``; ``cuda`` -> ``cuda:0``.

    Asking for CUDA on a machine without it is an input error (exit 2).
    """
    d = (device or "auto").strip().lower()
    if cuda_available is None:
        cuda_available = _cuda_available()
    if d == "auto":
        return "cuda:0" if cuda_available else "cpu"
    if d in ("cuda",) or d.startswith("cuda:"):
        if not cuda_available:
            raise InputError(f"--device {device}: no CUDA GPU is visible here (use --device cpu or auto)")
        return "cuda:0" if d == "cuda" else d
    if d in ("cpu", "mps"):
        return d
    raise InputError(f"--device {device}: not a device; use auto, cpu, cuda or cuda:N")


def _gpu_device_present() -> bool:
    """Whether this machine shows a GPU device node at all (checked without importing torch)."""
    import glob

    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/dxg") or os.path.exists("/dev/kfd")
                or not os.path.exists("/dev"))


def _cuda_available() -> bool:
    # importing torch costs seconds; a machine without a GPU device node has no CUDA either
    if importlib.util.find_spec("torch") is None or not _gpu_device_present():
        return False
    import torch

    return bool(torch.cuda.is_available())


def installed(package: str) -> bool:
    """True when ``package`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def choose_load_plan(
    device: str,
    quant: str | None,
    family: str,
    *,
    have_bitsandbytes: bool,
    have_flash_attn: bool,
    bf16_supported: bool = True,
) -> LoadPlan:
    """Decide dtype, quantization and attention for ``family`` on a resolved ``device``.

    ``quant`` is the user's ``--quant`` (None: the device's default).  Pure: the caller
    says what is installed.
    """
    if quant is not None and quant not in QUANT_CHOICES:
        raise InputError(f"--quant {quant}: choose from {', '.join(QUANT_CHOICES)}")
    notes: list[str] = []
    if not device.startswith("cuda"):
        if quant in ("4bit", "8bit"):
            raise InputError(f"--quant {quant} needs a CUDA GPU (bitsandbytes); on {device} use --quant none")
        notes.append(f"{device}: float32 weights, no quantization")
        return LoadPlan(device=device, dtype="float32", quant=None, attn="sdpa", notes=tuple(notes))
    dtype = "bfloat16" if bf16_supported else "float16"
    chosen = quant or "4bit"
    if chosen in ("4bit", "8bit"):
        if not have_bitsandbytes:
            why = "4-bit quantization, the default on CUDA; --quant none loads bf16 weights instead" \
                if quant is None else f"--quant {chosen}"
            raise MissingDependency("bitsandbytes", "gpu", why)
        notes.append(f"bitsandbytes {chosen}" + (" (nf4, double quant, bf16 compute)" if chosen == "4bit" else "")
                     + "; vision tower and projector unquantized")
    else:
        notes.append(f"{dtype} weights, no quantization")
    if have_flash_attn:
        attn = "flash_attention_2"
        notes.append("flash-attn 2")
    else:
        attn = "sdpa"
        notes.append("SDPA attention (flash-attn not installed: pip install flash-attn --no-build-isolation)")
    return LoadPlan(device=device, dtype=dtype, quant=None if chosen == "none" else chosen, attn=attn,
                    skip_modules=SKIP_MODULES.get(family, ("lm_head",)) if chosen != "none" else (),
                    notes=tuple(notes))


def plan_for(device: str, quant: str | None, family: str) -> LoadPlan:
    """``choose_load_plan`` with what this machine has installed."""
    resolved = resolve_device(device)
    bf16 = True
    if resolved.startswith("cuda"):
        import torch

        bf16 = bool(torch.cuda.is_bf16_supported())
    return choose_load_plan(resolved, quant, family, have_bitsandbytes=installed("bitsandbytes"),
                            have_flash_attn=installed("flash_attn"), bf16_supported=bf16)


def from_pretrained_kwargs(plan: LoadPlan) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained`` that carry out ``plan``."""
    import torch

    kwargs: dict[str, Any] = {"dtype": getattr(torch, plan.dtype), "attn_implementation": plan.attn}
    if plan.quant is not None:
        from transformers import BitsAndBytesConfig

        if plan.quant == "4bit":
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=torch.bfloat16, llm_int8_skip_modules=list(plan.skip_modules),
            )
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_8bit=True, llm_int8_skip_modules=list(plan.skip_modules),
            )
    if plan.device.startswith("cuda"):
        kwargs["device_map"] = {"": plan.device}
    return kwargs


def require_transformers(purpose: str) -> None:
    """Raise ``MissingDependency`` unless torch and transformers import."""
    for package in ("torch", "transformers"):
        if not installed(package):
            raise MissingDependency(package, "llm", purpose)


# --- model files: local folder or Hugging Face cache -----------------------------------------

WEIGHT_FILES: tuple[str, ...] = ("model.safetensors", "model.safetensors.index.json",
                                 "pytorch_model.bin", "pytorch_model.bin.index.json")


def is_local_dir(spec: str) -> bool:
    """True when ``spec`` names an existing directory (a user-given path)."""
    return Path(spec).expanduser().is_dir()


def cached_file(repo_id: str, filename: str) -> Path | None:
    """The path of ``filename`` of ``repo_id`` in the local HF cache, or None (no network)."""
    if not installed("huggingface_hub"):
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename)
    except Exception as e:  # noqa: BLE001 - a malformed id raises a validation error: not cached
        log.debug("cache lookup %s/%s: %s", repo_id, filename, e)
        return None
    return Path(found) if isinstance(found, str) else None


def weights_present(source: str) -> bool:
    """Are ``source``'s config and weights on disk (a local folder, or all files in the HF cache)?"""
    if is_local_dir(source):
        folder = Path(source).expanduser()
        return (folder / "config.json").is_file() and any((folder / w).is_file() for w in WEIGHT_FILES)
    if cached_file(source, "config.json") is None:
        return False
    for name in WEIGHT_FILES:
        path = cached_file(source, name)
        if path is None:
            continue
        if not name.endswith(".index.json"):
            return True
        try:
            shards = set(json.loads(path.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError):
            return False
        return all(cached_file(source, shard) is not None for shard in shards)
    return False


def read_config(source: str, *, offline: bool) -> dict[str, Any]:
    """``config.json`` of a local folder or HF id (the cache first; the Hub unless offline)."""
    if is_local_dir(source):
        path = Path(source).expanduser() / "config.json"
        if not path.is_file():
            raise InputError(f"{source}: no config.json in this directory (not a model folder)")
    else:
        path = cached_file(source, "config.json")
        if path is None:
            if offline:
                raise InputError(f"{source}: not in the local Hugging Face cache and --offline forbids downloading it")
            path = _download(source, "config.json")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable JSON config ({e})") from e
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object")
    return data


def _download(repo_id: str, filename: str) -> Path:
    if not installed("huggingface_hub"):
        raise MissingDependency("huggingface_hub", "llm", f"downloading {repo_id}")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    try:
        return Path(hf_hub_download(repo_id, filename))
    except RepositoryNotFoundError as e:
        raise InputError(f"{repo_id}: no such model on the Hugging Face Hub (or it is private)") from e
    except LocalEntryNotFoundError as e:
        raise ModelError(f"{repo_id}: cannot download {filename} (no network?); try --offline with a local folder") from e
    except HfHubHTTPError as e:
        raise ModelError(f"{repo_id}: download of {filename} failed: {str(e).splitlines()[0]}") from e


def model_file(source: str, filename: str, *, offline: bool) -> Path | None:
    """``filename`` of a local model folder or HF repo: on disk, in the cache, or downloaded
    (unless offline); None when the folder or repo has no such file."""
    if is_local_dir(source):
        path = Path(source).expanduser() / filename
        return path if path.is_file() else None
    found = cached_file(source, filename)
    if found is not None or offline or not installed("huggingface_hub"):
        return found
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(source, filename))
    except EntryNotFoundError:
        return None


def source_label(source: str) -> str:
    """A short, stable label for logs and meta: the folder name or the HF id."""
    return os.path.basename(os.path.normpath(source)) if is_local_dir(source) else source
