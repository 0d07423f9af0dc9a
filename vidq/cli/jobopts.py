"""Options every job command shares (summarize, find, ads, ask, eval), declared once.

Each is an ``Annotated`` alias with its ``VIDQ_*`` variable, so a job's signature reads
``model: ModelOpt = "auto"``; :func:`job_options` turns them plus the global settings into
the tasks layer's :class:`~vidq.tasks.pipeline.JobOptions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidq.cli.settings import Settings
from vidq.errors import InputError
from vidq.timefmt import parse_time

MAX_FRAMES = 8192  # beyond this a plan is a decode of the whole file; refuse as absurd

InputFile = Annotated[Path, typer.Argument(metavar="FILE", help="The video file.", show_default=False)]
ModelOpt = Annotated[str, typer.Option("--model", "-m", envvar="VIDQ_MODEL",
                                       help="auto, lite, a registry name (see 'vidq models'), a Hugging Face id, a local model directory, or openai:MODEL.")]
FramesOpt = Annotated[int | None, typer.Option("--frames", "-n", envvar="VIDQ_FRAMES", show_default=False,
                                               help="Frames to sample uniformly (default: the job's own).")]
AccuracyOpt = Annotated[bool, typer.Option("--exact/--fast", help="exact: the frame shown at each sampled time; fast: the nearest cheaply decodable one within half the interval (times are still true PTS).")]
CompressOpt = Annotated[str, typer.Option("--compress", envvar="VIDQ_COMPRESS",
                                          help="Visual-context compression: auto, none, slowfast, progressive, prompt, kv, videoxl.")]
RatioOpt = Annotated[int | None, typer.Option("--ratio", envvar="VIDQ_RATIO", show_default=False,
                                              help="Compression ratio r for kv/videoxl (2, 4, 8, 12, 16).")]
SubtitlesOpt = Annotated[str, typer.Option("--subtitles", envvar="VIDQ_SUBTITLES",
                                           help="auto (sidecar .srt/.vtt, embedded track, else speech recognition), asr, none, or a subtitle file.")]
AsrModelOpt = Annotated[str, typer.Option("--asr-model", envvar="VIDQ_ASR_MODEL", help="Speech model: tiny.en (English), base (99 languages; vidq[speech-plus]), small, or a path.")]
AsrEngineOpt = Annotated[str, typer.Option("--asr-engine", envvar="VIDQ_ASR_ENGINE", help="faster-whisper or openai-whisper.")]
LanguageOpt = Annotated[str | None, typer.Option("--language", envvar="VIDQ_LANGUAGE", show_default=False,
                                                 help="Spoken language: auto (default: detect) or an ISO 639-1 code (en, fr, ...).")]
StartOpt = Annotated[str | None, typer.Option("--start", show_default=False, help="Clip start: seconds or [HH:]MM:SS[.mmm].")]
EndOpt = Annotated[str | None, typer.Option("--end", show_default=False, help="Clip end: seconds or [HH:]MM:SS[.mmm].")]
QuantOpt = Annotated[str | None, typer.Option("--quant", envvar="VIDQ_QUANT", show_default=False,
                                              help="4bit, 8bit or none (default: 4bit on CUDA, none on CPU).")]
TrustRemoteCodeOpt = Annotated[bool, typer.Option("--trust-remote-code", help="Allow models that ship their own Python code (Video-XL).")]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", envvar="VIDQ_API_BASE", show_default=False,
                                                help="Base URL of an OpenAI-compatible server, for --model openai:MODEL (usually ends in /v1).")]
RemoteVisionOpt = Annotated[str, typer.Option("--remote-vision", envvar="VIDQ_REMOTE_VISION",
                                              help="openai:MODEL: does the model take images? auto (ask it once with a tiny picture; the answer is cached), yes, or no (a text model: it is given the transcript and on-screen text and writes from them).")]
ContextOpt = Annotated[int | None, typer.Option("--context", envvar="VIDQ_CONTEXT", show_default=False,
                                                help="openai:MODEL: the server's context in tokens (default: what the server reports, else 4096 on this machine, 128000 elsewhere).")]
RequestTimeoutOpt = Annotated[float | None, typer.Option("--request-timeout", envvar="VIDQ_REQUEST_TIMEOUT", metavar="SECONDS", show_default=False,
                                                         help="openai:MODEL: seconds to wait for one answer (default: sized to the request, 30-150 s); a request that times out is not repeated.")]
RetriesOpt = Annotated[int | None, typer.Option("--retries", envvar="VIDQ_RETRIES", show_default=False,
                                                help="openai:MODEL: repeats of a request answered 408, 429, 502, 503 or 504 or dropped by the server (default 2); other errors are final.")]


def job_options(
    settings: Settings,
    *,
    model: str = "auto",
    frames: int | None = None,
    exact: bool = False,
    compress: str = "auto",
    ratio: int | None = None,
    subtitles: str = "auto",
    asr_model: str = "tiny.en",
    asr_engine: str = "faster-whisper",
    language: str | None = None,
    start: str | None = None,
    end: str | None = None,
    quant: str | None = None,
    trust_remote_code: bool = False,
    api_base: str | None = None,
    remote_vision: str = "auto",
    context: int | None = None,
    request_timeout: float | None = None,
    retries: int | None = None,
):
    """Check the shared flags (exit 2 on absurd values) and build ``JobOptions``."""
    from vidq.tasks.pipeline import JobOptions

    if frames is not None and not 1 <= frames <= MAX_FRAMES:
        raise InputError(f"--frames must be between 1 and {MAX_FRAMES}, not {frames}")
    if ratio is not None and ratio not in (1, 2, 4, 8, 12, 16):
        raise InputError(f"--ratio must be one of 2, 4, 8, 12, 16, not {ratio}")
    if quant is not None and quant not in ("4bit", "8bit", "none"):
        raise InputError(f"--quant must be 4bit, 8bit or none, not {quant!r}")
    if compress not in ("auto", "none", "slowfast", "progressive", "prompt", "kv", "videoxl"):
        raise InputError(f"--compress {compress!r} is not a strategy (auto, none, slowfast, progressive, prompt, kv, videoxl)")
    t0 = parse_time(start, "--start") if start is not None else None
    t1 = parse_time(end, "--end") if end is not None else None
    if t0 is not None and t1 is not None and t1 <= t0:
        raise InputError(f"--end ({end}) must be after --start ({start})")
    if asr_engine not in ("faster-whisper", "openai-whisper"):
        raise InputError(f"--asr-engine must be faster-whisper or openai-whisper, not {asr_engine!r}")
    return JobOptions(
        model=model, frames=frames, accuracy="exact" if exact else "fast", compress=compress, ratio=ratio,
        subtitles=subtitles, asr_engine=asr_engine, asr_model=asr_model, language=language, start=t0, end=t1,
        device=settings.device, offline=settings.offline, quant=quant, trust_remote_code=trust_remote_code,
        api_base=api_base, remote_vision=remote_vision.strip().lower(), context=context,
        request_timeout=request_timeout, retries=retries,
    ).validate()
