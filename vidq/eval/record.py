"""What every eval records, so two runs can be compared: the run's setup (model,
quantization, compression, frames, device, package versions) and, per item, wall time,
time to first token and peak memory.

Time to first token comes from the backend's own ``meta["timings"]``: a backend that
reports ``ttft_s`` is taken at its word; one that reports ``decode_s`` (the engine does)
gives ``wall - decode_s``, since everything before decoding precedes the first token.
Peak GPU memory is ``torch.cuda.max_memory_allocated`` (reset before each item) when the
device is CUDA; peak CPU memory is the process's peak resident set size (monotonic).

Knows nothing about the CLI; never imports torch unless a backend already did.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from vidq import __version__
from vidq.models.base import (
    Backend,
    Capabilities,
    GenerateOptions,
    Generation,
    Prepared,
    VideoInput,
)

PACKAGES = ("numpy", "av", "torch", "transformers", "accelerate", "bitsandbytes", "flash-attn", "faster-whisper",
            "rapidocr", "sentence-transformers")  # versions recorded when installed


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: NaN/inf -> None, tuples -> lists, numpy scalars -> Python, paths -> str."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and callable(value.item):
        return jsonable(value.item())
    return value


def versions() -> dict[str, str]:
    """Versions of vidq, Python and the installed packages that shape results."""
    out = {"vidq": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def _cuda(device: str) -> Any:
    """The torch module when ``device`` is CUDA and torch is already loaded, else None."""
    if not device.startswith("cuda") or "torch" not in sys.modules:
        return None
    torch = sys.modules["torch"]
    return torch if torch.cuda.is_available() else None


def device_label(device: str) -> str:
    """``"cpu (x86_64, 2 cores)"`` or ``"cuda:0 (NVIDIA H100 80GB HBM3)"``."""
    torch = _cuda(device)
    if torch is not None:
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"{device} ({platform.machine()}, {os.cpu_count()} cores)"


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Measure:
    """One item's costs, filled by :func:`measure`."""

    wall_s: float = 0.0  # seconds from start to end of the item
    answer_s: float | None = None  # seconds inside the backend call (set by the caller)
    ttft_s: float | None = None  # time to first token, seconds (None: the backend did not say)
    peak_gpu_bytes: int | None = None  # peak CUDA memory during the item (None off CUDA)
    peak_rss_bytes: int = 0  # peak resident set size of the process so far
    backend: dict[str, Any] = field(default_factory=dict)  # the backend's own stage timings (its meta["timings"])
    backend_peak_bytes: int | None = None  # the backend's own peak memory figure, when it reports one

    def note_backend(self, answer_s: float, meta: Mapping[str, Any]) -> None:
        """Record the backend call's wall time, its stage timings and time to first token."""
        self.answer_s = answer_s
        self.ttft_s = time_to_first_token(answer_s, meta)
        timings = meta.get("timings")
        if isinstance(timings, Mapping):
            self.backend = {str(k): v for k, v in timings.items() if isinstance(v, (int, float))}
        if isinstance(meta.get("peak_memory_bytes"), int):
            self.backend_peak_bytes = int(meta["peak_memory_bytes"])

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"wall_s": round(self.wall_s, 4),
                               "answer_s": None if self.answer_s is None else round(self.answer_s, 4),
                               "ttft_s": None if self.ttft_s is None else round(self.ttft_s, 4),
                               "peak_rss_bytes": self.peak_rss_bytes, "peak_gpu_bytes": self.peak_gpu_bytes}
        if self.backend:
            out["backend"] = {k: round(float(v), 4) for k, v in self.backend.items()}
        if self.backend_peak_bytes is not None:
            out["backend_peak_bytes"] = self.backend_peak_bytes
        return out


def time_to_first_token(answer_s: float, meta: Mapping[str, Any]) -> float | None:
    """Seconds until the first generated token, from a backend's ``meta["timings"]``."""
    timings = meta.get("timings") if isinstance(meta, Mapping) else None
    if not isinstance(timings, Mapping):
        return None
    if isinstance(timings.get("ttft_s"), (int, float)):
        return float(timings["ttft_s"])
    if isinstance(timings.get("decode_s"), (int, float)):
        return max(0.0, answer_s - float(timings["decode_s"]))
    return None


@contextlib.contextmanager
def measure(device: str) -> Iterator[Measure]:
    """Measure one item: wall time, and peak GPU memory (reset first) on CUDA."""
    m = Measure()
    torch = _cuda(device)
    if torch is not None:
        torch.cuda.reset_peak_memory_stats(torch.device(device))
    t0 = time.perf_counter()
    try:
        yield m
    finally:
        m.wall_s = time.perf_counter() - t0
        if torch is not None:
            m.peak_gpu_bytes = int(torch.cuda.max_memory_allocated(torch.device(device)))
        m.peak_rss_bytes = peak_rss_bytes()


def speed_summary(items: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Medians and totals of the per-item ``timing`` blocks (``None`` where nothing was measured)."""
    def med(key: str) -> float | None:
        vals = sorted(float(t[key]) for t in (i.get("timing") or {} for i in items) if isinstance(t.get(key), (int, float)))
        if not vals:
            return None
        mid = len(vals) // 2
        return round(vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2, 4)

    timings = [i.get("timing") or {} for i in items]
    gpu = [t["peak_gpu_bytes"] for t in timings if isinstance(t.get("peak_gpu_bytes"), int)]
    rss = [t["peak_rss_bytes"] for t in timings if isinstance(t.get("peak_rss_bytes"), int)]
    return {"items": len(items), "median_wall_s": med("wall_s"), "median_ttft_s": med("ttft_s"),
            "total_wall_s": round(sum(float(t.get("wall_s") or 0.0) for t in timings), 3),
            "peak_gpu_bytes": max(gpu) if gpu else None, "peak_rss_bytes": max(rss) if rss else None}


class MeteredBackend(Backend):
    """A backend wrapper that records every ``answer`` call: wall seconds and the merged meta.

    Jobs that take a ``backend=`` (``ask``, ``find``, ``ads``) get this in place of the real
    one, so their model calls can be timed without them knowing.  ``answer`` goes to the
    wrapped backend's own ``answer`` (keeping, e.g., its out-of-memory retry).
    """

    def __init__(self, inner: Backend):
        self.inner = inner  # the real backend
        self.calls: list[tuple[float, dict[str, Any]]] = []  # (seconds, meta) per answer call since reset()

    @property  # type: ignore[override]
    def name(self) -> str:
        return self.inner.name

    @property  # type: ignore[override]
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def __getattr__(self, attr: str) -> Any:  # backend-specific attributes (e.g. lite's OCR engine)
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def reset(self) -> None:
        self.calls = []

    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        return self.inner.prepare(video, prompt, options)

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        return self.inner.generate(prepared, options)

    def answer(self, video: VideoInput | None, prompt: str, options: GenerateOptions | None = None) -> Generation:
        t0 = time.perf_counter()
        gen = self.inner.answer(video, prompt, options)
        self.calls.append((time.perf_counter() - t0, dict(gen.meta)))
        return gen

    def close(self) -> None:
        self.inner.close()


def run_block(*, backend: Any, options: Any, device: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``run`` block of an eval's JSON: model, quantization, compression, frames, device, versions.

    ``options`` is the tasks layer's ``JobOptions``; ``backend`` the loaded backend (its
    ``name`` and ``capabilities`` are read).
    """
    caps = getattr(backend, "capabilities", None)
    block: dict[str, Any] = {
        "model": getattr(backend, "name", options.model),
        "model_spec": options.model,
        "sees_images": bool(getattr(caps, "sees_images", False)),
        "quant": options.quant,
        "compress": options.compress,
        "ratio": options.ratio,
        "frames": options.frames,
        "accuracy": options.accuracy,
        "subtitles": options.subtitles,
        "device": device_label(device),
        "versions": versions(),
        "started": utc_now(),
        "argv": list(sys.argv[1:]),
    }
    if extra:
        block.update(extra)
    return jsonable(block)
