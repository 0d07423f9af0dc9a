"""What every job shares: its options, the timeline it reads, frames for a VLM, and ``meta``.

A job (summarize, find, ads, ask) calls :func:`open_timeline` once: the file's analysis
(:mod:`vidq.analysis`), built on first use and loaded from the cache after that.  A job
whose model sees pictures also samples frames (:func:`frames_context`,
:func:`frame_batches`) with the subtitles the timeline's transcript gives each one.
Per-stage wall times go to a :class:`~vidq.progress.StageClock` that ends up in the
result's ``meta``.

This module knows nothing about Typer, rich or rendering; it returns plain data.
"""

from __future__ import annotations

import logging
import math
import os
import platform
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vidq import __version__
from vidq.analysis import AnalysisOptions, PictureOptions, Timeline, analyze
from vidq.errors import InputError
from vidq.media import FrameBatch, SamplePlan, VideoInfo, decode, plan_samples, probe, require_video
from vidq.progress import ProgressFn, StageClock, no_progress
from vidq.speech import SpeechOptions, Transcript, align_to_frames, get_transcript
from vidq.store import Store

log = logging.getLogger("vidq.tasks")

RESULT_SCHEMA_VERSION = 1  # bump a job's schema when its JSON shape changes
DEFAULT_SIDE = 448  # longest side (pixels) of frames shown to a model that names no size
MAX_FRAMES = 1_000_000  # --frames above this is a typo
ACCURACIES = ("exact", "fast")

__all__ = ["JobOptions", "StageClock", "VideoContext", "base_meta", "frame_batches", "frames_context",
           "job_path", "load_job_backend", "open_timeline", "open_video", "shown_frames", "shown_side"]


@dataclass(frozen=True)
class JobOptions:
    """What every job takes; the CLI fills it from flags > env > config > defaults."""

    model: str = "auto"  # registry name, HF id, local path, openai:MODEL, lite, or auto
    frames: int | None = None  # frames to sample; None: the job's default (or what the planner allows)
    accuracy: Literal["exact", "fast"] = "fast"  # fast: nearest decodable frame within half the interval
    compress: str = "auto"  # none|slowfast|progressive|prompt|kv|videoxl|auto
    ratio: int | None = None  # compression ratio for kv/videoxl
    subtitles: str = "auto"  # auto|asr|none|PATH (see vidq.speech)
    asr_engine: str = "faster-whisper"  # speech engine
    asr_model: str = "tiny.en"  # speech model name or path
    language: str | None = None  # spoken language (None: detect)
    start: float | None = None  # clip start, seconds
    end: float | None = None  # clip end, seconds
    device: str = "auto"  # auto|cpu|cuda[:N]
    offline: bool = False  # never touch the network
    quant: str | None = None  # 4bit|8bit|none (None: the backend's default for the device)
    trust_remote_code: bool = False  # allow models that ship their own code (Video-XL)
    api_base: str | None = None  # OpenAI-compatible server for openai:MODEL
    remote_vision: str = "auto"  # openai:MODEL: does it take images? auto (probe once, cached) | yes | no
    context: int | None = None  # openai:MODEL: the server's context in tokens (None: what it reports)
    request_timeout: float | None = None  # openai:MODEL: seconds per answer (None: sized to each request)
    retries: int | None = None  # openai:MODEL: repeats on 408/429/502/503/504 and dropped connections

    def validate(self) -> JobOptions:
        """``InputError`` (exit 2) for values no file can satisfy; returns self."""
        if self.frames is not None and (isinstance(self.frames, bool) or not 1 <= int(self.frames) <= MAX_FRAMES):
            raise InputError(f"--frames must be between 1 and {MAX_FRAMES}, not {self.frames}")
        if self.accuracy not in ACCURACIES:
            raise InputError(f"accuracy must be 'exact' or 'fast', not {self.accuracy!r}")
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and (not math.isfinite(value) or value < 0):
                raise InputError(f"--{name} must be a finite, non-negative time, not {value}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InputError(f"--end ({self.end:g} s) must be after --start ({self.start:g} s)")
        if self.remote_vision not in ("auto", "yes", "no"):
            raise InputError(f"--remote-vision must be auto, yes or no, not {self.remote_vision!r}")
        if self.context is not None and not 512 <= int(self.context) <= 10_000_000:
            raise InputError(f"--context must be a number of tokens from 512 to 10000000, not {self.context}")
        if self.request_timeout is not None and not (math.isfinite(self.request_timeout) and self.request_timeout > 0):
            raise InputError(f"--request-timeout must be a positive number of seconds, not {self.request_timeout}")
        if self.retries is not None and not 0 <= int(self.retries) <= 10:
            raise InputError(f"--retries must be between 0 and 10, not {self.retries}")
        return self

    def speech(self) -> SpeechOptions:
        """The speech layer's options for this job."""
        return SpeechOptions(subtitles=self.subtitles, engine=self.asr_engine, model=self.asr_model,
                             language=self.language, device=self.device, offline=self.offline)

    def analysis(self, *, frames: int | None = None) -> AnalysisOptions:
        """The analysis a job reads; ``frames``: an exact picture-pass frame count (lite ``--frames``)."""
        return AnalysisOptions(subtitles=self.subtitles, asr_engine=self.asr_engine, asr_model=self.asr_model,
                               language=self.language, device=self.device, offline=self.offline, start=self.start,
                               end=self.end, pictures=PictureOptions(frames=frames, accuracy=self.accuracy))


def open_timeline(path: str | os.PathLike, options: JobOptions, *, store: Store | None = None,
                  clock: StageClock | None = None, progress: ProgressFn | None = None,
                  frames: int | None = None) -> Timeline:
    """The file's Timeline over the job's span (built once, then read from the cache)."""
    options.validate()
    return analyze(path, options.analysis(frames=frames), store=store, progress=progress or no_progress,
                   clock=clock)


@dataclass
class VideoContext:
    """Frames a job samples (for a VLM, or an eval), with their subtitles."""

    path: Path  # the file as given
    info: VideoInfo  # probe result
    plan: SamplePlan  # the sampled frame times
    transcript: Transcript  # speech / subtitle text on the file timeline (clipped to start/end)
    subtitles: list[str]  # per plan position: words spoken since the previous sampled frame
    options: JobOptions  # the options it was opened with

    @property
    def start(self) -> float:
        return self.plan.start

    @property
    def end(self) -> float:
        return self.plan.end


def frames_context(tl: Timeline, options: JobOptions, *, frames: int) -> VideoContext:
    """``frames`` uniform targets over the timeline's span, each with the words spoken since the previous one."""
    plan = plan_samples(tl.info, frames=frames, start=tl.start, end=tl.end, accuracy=options.accuracy)
    subtitles = align_to_frames(tl.transcript, plan.times, start=plan.start, end=plan.end) if plan.times else []
    return VideoContext(tl.path, tl.info, plan, tl.transcript, subtitles, options)


def open_video(
    path: str | os.PathLike,
    options: JobOptions,
    *,
    default_frames: int,
    store: Store | None = None,
    clock: StageClock | None = None,
    progress: ProgressFn | None = None,
) -> VideoContext:
    """Probe, plan ``options.frames`` (or ``default_frames``) uniform targets, transcribe, align.

    For evaluations that show frames straight to a model; jobs read a Timeline instead.
    """
    clock = clock or StageClock()
    report = progress or no_progress
    options.validate()
    with clock.stage("probe"):
        info = probe(path, store=store)
        require_video(info)
    with clock.stage("plan"):
        plan = plan_samples(info, frames=options.frames or default_frames, start=options.start, end=options.end,
                            accuracy=options.accuracy)
    with clock.stage("transcribe"):
        transcript = get_transcript(path, options=options.speech(), info=info, store=store,
                                    start=options.start, end=options.end, progress=report)
    with clock.stage("align"):
        subtitles = align_to_frames(transcript, plan.times, start=plan.start, end=plan.end) if plan.times else []
    return VideoContext(Path(path), info, plan, transcript, subtitles, options)


def load_job_backend(options: JobOptions, *, store: Store | None = None, **extra: Any):
    """The ``vidq.models.base.Backend`` that ``options.model`` names, through the model registry.

    ``auto`` resolves (and logs on stderr) to a cached VLM or ``lite``; a remote server is
    checked before any work (one line and exit 3 when it is unusable); ``store`` caches what
    was learnt about it; ``extra`` goes to the family's loader.  Raises ``InputError`` for an
    unknown model, ``ModelError`` / ``MissingDependency`` when it cannot load.
    """
    from vidq.models.registry import load_backend

    return load_backend(options.model, device=options.device, quant=options.quant, offline=options.offline,
                        trust_remote_code=options.trust_remote_code, api_base=options.api_base,
                        remote_vision=options.remote_vision, context=options.context,
                        request_timeout=options.request_timeout, retries=options.retries, store=store, **extra)


def job_path(backend: Any) -> Literal["see", "write", "extract"]:
    """How a job uses ``backend``: ``see`` (it is shown frames), ``write`` (a text model: it is
    given the timeline's text and writes from it), ``extract`` (``lite``: extractive tools)."""
    caps = backend.capabilities
    if caps.sees_images:
        return "see"
    return "write" if getattr(caps, "writes_text", False) else "extract"


def shown_frames(backend: Any, wanted: int, options: JobOptions) -> int:
    """How many of ``wanted`` frames a model that sees takes (its planner may take fewer to fit)."""
    from vidq.models.base import GenerateOptions

    return max(1, int(backend.suggest_frames(wanted, GenerateOptions(compress=options.compress, ratio=options.ratio))))


def shown_side(backend: Any) -> int:
    """The longest side frames are decoded at for ``backend`` (its own size, else ``DEFAULT_SIDE``)."""
    return int(getattr(backend, "frame_size", None) or DEFAULT_SIDE)


def frame_batches(ctx: VideoContext, *, size: int | tuple[int, int] | None, plan: SamplePlan | None = None,
                  batch_size: int = 16, progress: ProgressFn | None = None) -> Iterator[FrameBatch]:
    """Stream ``plan`` (default: the context's plan) decoded and resized to ``size``."""
    return decode(ctx.path, plan or ctx.plan, info=ctx.info, size=size, batch_size=batch_size, progress=progress)


def base_meta(tl: Timeline, clock: StageClock, **extra: Any) -> dict[str, Any]:
    """The ``meta`` block every job's JSON carries: what was used, and how long each stage took."""
    words = sum(len(s.words) or len(s.text.split()) for s in tl.transcript.segments)
    pictures = tl.meta.get("pictures", {})
    meta: dict[str, Any] = {
        "vidq": __version__,
        "python": platform.python_version(),
        "file": str(tl.path),
        "duration": round(tl.info.duration, 3),
        "span": [round(tl.start, 3), round(tl.end, 3)],
        "frames": int(tl.signals.times.size),
        "accuracy": pictures.get("accuracy"),
        "transcript": {"source": tl.transcript.source, "segments": len(tl.transcript.segments), "words": words,
                       "language": tl.transcript.language},
        "analysis": {"cached": bool(tl.meta.get("cached")), "ocr": pictures.get("ocr"),
                     "embeddings": tl.meta.get("embeddings"), "not_read": tl.meta.get("not_read", []),
                     "timings": tl.meta.get("timings", {})},
        "damaged": tl.meta.get("damaged", []),  # spans the media layer could not read (vidq.media.damage)
        "partial": bool(tl.meta.get("partial")),  # the file grew while it was analysed
    }
    meta.update(extra)
    meta["timings"] = clock.as_dict()
    return meta
