"""``vidq find QUERY FILE...``: needle search, grep-style (exit 0 with hits, 1 without).

Parses options, calls ``vidq.tasks.find.find`` and renders the result as text, JSON,
JSON Lines or an HTML page (``vidq.cli.report_html``); the search itself lives in
``vidq.tasks.find``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from vidq.cli.jobopts import (
    AccuracyOpt,
    ApiBaseOpt,
    AsrEngineOpt,
    AsrModelOpt,
    CompressOpt,
    ContextOpt,
    EndOpt,
    FramesOpt,
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
from vidq.cli.output import dump_json, output_stream, resolve_format, time_fields
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import current_settings
from vidq.errors import ExitCode
from vidq.timefmt import hms

FORMATS = ("text", "json", "jsonl", "html")
SCHEMA = "vidq.find/1"  # JSON schema name of a find result
DEFAULT_TOP = 5  # mirrors vidq.tasks.find.DEFAULT_TOP (kept here so --help needs no task import)
DEFAULT_THRESHOLD = 0.5  # mirrors vidq.tasks.find.DEFAULT_THRESHOLD


def hit_dict(hit: Any) -> dict[str, Any]:
    """One hit as JSON: file, times (seconds + HH:MM:SS.mmm), score, source, reason, text."""
    return {"file": hit.file, **time_fields(hit.start, "start"), **time_fields(hit.end, "end"),
            "score": round(hit.score, 4), "source": hit.source, "reason": hit.reason, "text": hit.text,
            "verified_by": hit.verified_by}


def render(out: TextIO, fmt: str, result: Any) -> None:
    """Write a ``FindResult`` in ``fmt`` (text, json or jsonl)."""
    if fmt == "jsonl":
        for h in result.hits:
            dump_json(hit_dict(h), out, lines=True)
        return
    if fmt == "json":
        best = result.hits[0] if result.hits else None
        doc: dict[str, Any] = {"schema": SCHEMA, "query": result.query, "matched": result.matched,
                               "threshold": result.threshold, "top": result.top}
        # the best hit's place at the top level, so `vidq find ... --json | jq .start` answers "where"
        doc.update(time_fields(best.start, "start") if best else {"start": None, "start_hms": None})
        doc.update(time_fields(best.end, "end") if best else {"end": None, "end_hms": None})
        doc.update({"file": best.file if best else None, "score": round(best.score, 4) if best else None,
                    "hits": [hit_dict(h) for h in result.hits], "meta": result.meta})
        dump_json(doc, out)
        return
    several = len({m["file"] for m in result.meta.get("files", [])}) > 1
    for h in result.hits:
        prefix = f"{h.file}:" if several else ""
        out.write(f"{prefix}{hms(h.start)}-{hms(h.end)}  {h.score:.2f}  {h.source:<6}  {h.reason}\n")


def register(app: typer.Typer) -> None:
    @app.command("find")
    def find_command(
        query: Annotated[str, typer.Argument(metavar="QUERY", help="What to look for: words said or shown, or a description.", show_default=False)],
        files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="One or more video files.", show_default=False)],
        top: Annotated[int, typer.Option("--top", "-k", min=1, help="Show at most this many hits.")] = DEFAULT_TOP,
        threshold: Annotated[float, typer.Option("--threshold", "-t", min=0.0, max=1.0, help="Minimum score (0-1) of a hit; with no hit above it, exit 1.")] = DEFAULT_THRESHOLD,
        embed_model: Annotated[Path | None, typer.Option("--embed-model", envvar="VIDQ_EMBED_MODEL", show_default=False, help="A local CLIP or SigLIP model folder: also retrieve frames whose picture matches the query.")] = None,
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
        """Find where something is said or shown in one or more videos.

        Retrieval over the transcript and on-screen text of the sampled
        frames (one per second, up to 2048 by default; OCR reads one every
        3 s), and over the pictures with --embed-model; then each
        candidate is verified (a vision-language model looks at a short
        window around it; lite checks the quoted text) and scored 0-1.
        Formats: text (default), json (the best hit's start/end at the top
        level), jsonl (one hit per line), html (one page: for each file a
        timeline with its hits, thumbnails and a player that seeks to
        each hit). Exit 0 when a hit scores at least --threshold, 1 when
        none does, 2 for bad input, 3 when a model fails.
        """
        from vidq.tasks.find import find

        settings = current_settings()
        fmt = resolve_format(settings, FORMATS, "text", "find")
        options = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                              subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language,
                              start=start, end=end, quant=quant, trust_remote_code=trust_remote_code,
                              api_base=api_base, remote_vision=remote_vision, context=context,
                              request_timeout=request_timeout, retries=retries)
        with progress_reporter(settings) as progress:
            result = find(query, files, options, top=top, threshold=threshold, embed_model=embed_model,
                          store=settings.store, progress=progress)
        if fmt == "html":
            from vidq.cli.report_html import write_html

            write_html(settings, find=result)
        else:
            with output_stream(settings) as out:
                render(out, fmt, result)
        if not result.matched:
            raise typer.Exit(int(ExitCode.NO_MATCH))
