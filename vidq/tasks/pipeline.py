"""The spine every job shares: probe -> plan -> transcript -> per-frame subtitles.

A job (summarize, find, ads, ask) calls :func:`open_video` once, then streams frames with
:func:`frame_batches` as often as it needs, and records per-stage wall times in a
:class:`StageClock` that ends up in its result's ``meta``.

This module knows nothing about Typer, rich or rendering; it returns plain data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vidq import __version__
from vidq.media import FrameBatch, SamplePlan, VideoInfo, decode, plan_samples, probe, require_video
from vidq.progress import ProgressFn, no_progress
from vidq.speech import SpeechOptions, Transcript, align_to_frames, get_transcript
from vidq.store import Store

log = logging.getLogger("vidq.tasks")

RESULT_SCHEMA_VERSION = 1  # bump a job's schema when its JSON shape changes


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

    def speech(self) -> SpeechOptions:
        """The speech layer's options for this job."""
        return SpeechOptions(subtitles=self.subtitles, engine=self.asr_engine, model=self.asr_model,
                             language=self.language, device=self.device, offline=self.offline)


@dataclass
class StageClock:
    """Wall time per named stage, in seconds (a stage entered twice accumulates)."""

    seconds: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def as_dict(self) -> dict[str, float]:
        """Stage times plus ``total`` since the clock was made, rounded to milliseconds."""
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        out["total"] = round(time.perf_counter() - self.started, 3)
        return out


@dataclass
class VideoContext:
    """Everything a job knows about its video before it looks at pixels."""

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


def open_video(
    path: str | os.PathLike,
    options: JobOptions,
    *,
    default_frames: int,
    store: Store | None = None,
    clock: StageClock | None = None,
    progress: ProgressFn | None = None,
    need_video: bool = True,
) -> VideoContext:
    """Probe, plan ``options.frames`` (or ``default_frames``) uniform targets, transcribe, align.

    Raises ``MediaError``/``InputError`` (exit 2) for unusable files or flags; a file with
    no audio gets an empty transcript and one notice line from the speech layer.
    """
    clock = clock or StageClock()
    report = progress or no_progress
    with clock.stage("probe"):
        info = probe(path, store=store)
        if need_video:
            require_video(info)
    with clock.stage("plan"):
        plan = plan_samples(info, frames=options.frames or default_frames, start=options.start, end=options.end,
                            accuracy=options.accuracy)
    with clock.stage("transcribe"):
        transcript = get_transcript(path, options=options.speech(), info=info, store=store,
                                    start=options.start, end=options.end, progress=report)
    with clock.stage("align"):
        subtitles = align_to_frames(transcript, plan.times, start=plan.start, end=plan.end) if plan.times else []
    log.debug("%s: %d frames planned over %.1f-%.1f s, transcript from %s (%d segments)",
              Path(path).name, len(plan.times), plan.start, plan.end, transcript.source, len(transcript.segments))
    return VideoContext(Path(path), info, plan, transcript, subtitles, options)


def load_job_backend(options: JobOptions, **extra: Any):
    """The ``vidq.models.base.Backend`` that ``options.model`` names, through the model registry.

    ``auto`` resolves (and logs on stderr) to a cached VLM or ``lite``; ``extra`` goes to the
    family's loader.  Raises ``InputError`` for an unknown model, ``ModelError`` /
    ``MissingDependency`` when it cannot load.
    """
    from vidq.models.registry import load_backend

    return load_backend(options.model, device=options.device, quant=options.quant, offline=options.offline,
                        trust_remote_code=options.trust_remote_code, api_base=options.api_base, **extra)


def frame_batches(ctx: VideoContext, *, size: int | tuple[int, int] | None, plan: SamplePlan | None = None,
                  batch_size: int = 16, progress: ProgressFn | None = None) -> Iterator[FrameBatch]:
    """Stream ``plan`` (default: the context's plan) decoded and resized to ``size``."""
    return decode(ctx.path, plan or ctx.plan, info=ctx.info, size=size, batch_size=batch_size, progress=progress)


def base_meta(ctx: VideoContext, clock: StageClock, **extra: Any) -> dict[str, Any]:
    """The ``meta`` block every job's JSON carries: what was used, and how long each stage took."""
    words = sum(len(s.words) or len(s.text.split()) for s in ctx.transcript.segments)
    meta: dict[str, Any] = {
        "vidq": __version__,
        "python": platform.python_version(),
        "file": str(ctx.path),
        "duration": round(ctx.info.duration, 3),
        "span": [round(ctx.start, 3), round(ctx.end, 3)],
        "frames": len(ctx.plan.times),
        "accuracy": ctx.plan.accuracy,
        "transcript": {"source": ctx.transcript.source, "segments": len(ctx.transcript.segments), "words": words,
                       "language": ctx.transcript.language},
    }
    meta.update(extra)
    meta["timings"] = clock.as_dict()
    return meta
