"""``vidq report FILE -o report.html``: one HTML page with the summary, chapters, ads and search hits.

Runs ``summarize`` and ``ads`` (and ``find`` with ``--query``) on one file with one loaded
model, and renders them together with ``vidq.cli.report_html``.  The jobs share the cache:
the ads the summary leaves out are the ads detector's, so the second job reads the first
one's picture signals, loudness, transcript and on-screen text instead of computing them
again.  Under ``--no-cache`` a temporary cache, removed at the end, plays that part.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from vidq.cli.commands.find import DEFAULT_THRESHOLD, DEFAULT_TOP
from vidq.cli.commands.summarize import parse_chapters
from vidq.cli.jobopts import (
    AccuracyOpt,
    ApiBaseOpt,
    AsrEngineOpt,
    AsrModelOpt,
    CompressOpt,
    ContextOpt,
    EndOpt,
    FramesOpt,
    InputFile,
    LanguageOpt,
    ModelOpt,
    QuantOpt,
    RatioOpt,
    RemoteVisionOpt,
    RequestTimeoutOpt,
    RetriesOpt,
    StartOpt,
    SubtitlesOpt,
    TrustRemoteCodeOpt,
    job_options,
)
from vidq.cli.output import resolve_format
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import Settings, current_settings
from vidq.store import Store

FORMATS = ("html",)


@contextlib.contextmanager
def shared_cache(settings: Settings) -> Iterator[Settings]:
    """``settings`` whose store the jobs can share: the user's cache, or under --no-cache a
    temporary one that is removed afterwards (nothing is kept, nothing is computed twice)."""
    if not settings.no_cache:
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="vidq-report-") as tmp:
        yield replace(settings, cache_dir=Path(tmp), no_cache=False)


def run_jobs(file: Any, options: Any, *, store: Store, query: str | None, top: int, threshold: float,
             length: str, chapters: int | None, progress: Any) -> dict[str, Any]:
    """Run summarize, ads (and find) with one backend on one analysis of the file (the first job
    makes it, the others read it from ``store``); returns ``build_page``'s keyword arguments."""
    from vidq.media import probe, require_video
    from vidq.tasks.ads import detect_ads
    from vidq.tasks.pipeline import load_job_backend
    from vidq.tasks.summarize import summarize

    require_video(probe(file, store=store))  # a bad file fails before any model loads
    backend = load_job_backend(options, store=store)
    summary = summarize(file, options, length=length, chapters=chapters, backend=backend, store=store,
                        progress=progress)
    ads = detect_ads(file, options, backend=backend, store=store, progress=progress)
    results: dict[str, Any] = {"summary": summary, "ads": ads}
    if query:
        from vidq.tasks.find import find

        results["find"] = find(query, [file], options, top=top, threshold=threshold, backend=backend, store=store,
                               progress=progress)
    return results


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        file: InputFile,
        query: Annotated[str | None, typer.Option("--query", "-Q", show_default=False, help="Also search the video for this (as 'vidq find' does) and mark the hits.")] = None,
        top: Annotated[int, typer.Option("--top", "-k", min=1, help="With --query: show at most this many hits.")] = DEFAULT_TOP,
        threshold: Annotated[float, typer.Option("--threshold", "-t", min=0.0, max=1.0, help="With --query: minimum score (0-1) of a hit.")] = DEFAULT_THRESHOLD,
        length: Annotated[str, typer.Option("--length", "-l", help="Summary length: short, medium or long.")] = "medium",
        chapters: Annotated[str, typer.Option("--chapters", help="Number of chapters, or auto.")] = "auto",
        model: ModelOpt = "auto",
        frames: FramesOpt = None,
        exact: AccuracyOpt = False,
        compress: CompressOpt = "auto",
        ratio: RatioOpt = None,
        subtitles: SubtitlesOpt = "auto",
        asr_model: AsrModelOpt = "tiny.en",
        asr_engine: AsrEngineOpt = "faster-whisper",
        language: LanguageOpt = None,
        start: StartOpt = None,
        end: EndOpt = None,
        quant: QuantOpt = None,
        trust_remote_code: TrustRemoteCodeOpt = False,
        api_base: ApiBaseOpt = None,
        remote_vision: RemoteVisionOpt = "auto",
        context: ContextOpt = None,
        request_timeout: RequestTimeoutOpt = None,
        retries: RetriesOpt = None,
    ) -> None:
        """Write one HTML page about a video: summary, chapters, ad breaks and, with --query, search hits.

        The page is self-contained (inline styles, script and thumbnails; nothing from the network): a timeline of the whole file with the chapters, ad breaks, sponsor reads and hits; a strip of frames; each chapter with its frame, times, title and paragraph; and a player, linked relative to the page, that seeks to whatever is clicked. Without JavaScript the times stay readable and every link opens the video at its time.

        Runs summarize and ads (and find) with one model on one analysis of the file: the transcript, on-screen text, picture signals and thumbnails are made once (under --no-cache, in a temporary cache). The thumbnails are the stills the analysis kept.

        Format: html (to -o FILE, or stdout).
        """
        from vidq.cli.report_html import write_html

        settings = current_settings()
        resolve_format(settings, FORMATS, "html", "report")
        count = parse_chapters(chapters)
        options = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                              subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language,
                              start=start, end=end, quant=quant, trust_remote_code=trust_remote_code,
                              api_base=api_base, remote_vision=remote_vision, context=context,
                              request_timeout=request_timeout, retries=retries)
        with shared_cache(settings) as shared, progress_reporter(settings) as progress:
            results = run_jobs(file, options, store=shared.store, query=query, top=top, threshold=threshold,
                               length=length.strip().lower(), chapters=count, progress=progress)
            write_html(shared, **results)
