"""``vidq summarize FILE``: an overall summary plus chapters with timestamps.

Formats: text, md, json, html (a page with a timeline, thumbnails and a player), and the
chapter files players read: ffmeta (ffmpeg) and mkvchapters (Matroska XML), where the ad
breaks and sponsor reads left out of the summary are chapters of their own.

Parses options, calls :func:`vidq.tasks.summarize.summarize` and renders its result; the
summarizing itself lives in ``vidq.tasks.summarize``.
"""

from __future__ import annotations

from typing import Annotated, Any, TextIO

import typer

from vidq.cli.chapters import CHAPTER_WRITERS, ChapterList, summary_chapters
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
from vidq.cli.output import dump_json, output_stream, resolve_format, time_fields
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import current_settings
from vidq.errors import InputError
from vidq.timefmt import clock, hms

FORMATS = ("text", "md", "json", "html", "ffmeta", "mkvchapters")
BLIND_NOTE = "made from what is said and written on screen only; the lite backend cannot see pictures."


def parse_chapters(value: str) -> int | None:
    """``auto`` -> None, ``"5"`` -> 5; anything else is a usage error."""
    text = value.strip().lower()
    if text == "auto":
        return None
    if not text.isdigit():
        raise InputError(f"--chapters must be 'auto' or a number, not {value!r}")
    return int(text)


def _sentence_json(s: Any) -> dict[str, Any]:
    return {"text": s.text, **time_fields(s.start, "start"), **time_fields(s.end, "end"), "source": s.source}


def result_json(result: Any) -> dict[str, Any]:
    """The ``vidq.summary/1`` document."""
    from vidq.tasks.summarize import SCHEMA

    return {
        "schema": SCHEMA,
        "file": str(result.file),
        **time_fields(result.start, "start"),
        **time_fields(result.end, "end"),
        "duration": round(result.duration, 3),
        "length": result.length,
        "method": result.method,
        "model": result.model,
        "sees_images": result.sees_images,
        "summary": result.summary,
        "sentences": [_sentence_json(s) for s in result.sentences],
        "chapters": [
            {"index": c.index, **time_fields(c.start, "start"), **time_fields(c.end, "end"), "title": c.title,
             "title_source": c.title_source, "summary": c.summary, "sentences": [_sentence_json(s) for s in c.sentences]}
            for c in result.chapters
        ],
        "skipped": [{**time_fields(x.start, "start"), **time_fields(x.end, "end"), "kind": x.kind, "reason": x.reason}
                    for x in result.skipped],
        "notices": list(result.notices),
        "meta": result.meta,
    }


def _wrap(text: str, indent: str, width: int = 88) -> str:
    import textwrap

    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent) if text else ""


def render_text(out: TextIO, result: Any) -> None:
    long = result.end >= 3600
    out.write(f"{result.file.name}  {hms(result.start)} - {hms(result.end)}  ({result.model}, {result.method})\n\n")
    out.write("Summary\n")
    out.write((_wrap(result.summary, "  ") or "  (nothing to summarize)") + "\n")
    if result.chapters:
        out.write("\nChapters\n")
        for c in result.chapters:
            out.write(f"  {clock(c.start, long)}  {c.title or '(untitled)'}  [{hms(c.start)} - {hms(c.end)}]\n")
            if c.summary:
                out.write(_wrap(c.summary, "        ") + "\n")
    if result.skipped:
        out.write("\nLeft out\n")
        out.writelines(f"  {hms(x.start)} - {hms(x.end)}  {'ad break' if x.kind == 'break' else 'sponsor read'}\n"
                       for x in result.skipped)
    notes = [*result.notices, *([BLIND_NOTE] if result.method == "extractive" and result.chapters else [])]
    out.writelines(f"\nNote: {notice}\n" for notice in notes)


def render_md(out: TextIO, result: Any) -> None:
    long = result.end >= 3600
    out.write(f"# {result.file.name}\n\n")
    out.write(f"*{hms(result.start)} – {hms(result.end)} · {result.model} · {result.method}*\n\n")
    out.write("## Summary\n\n")
    out.write((result.summary or "_Nothing to summarize._") + "\n")
    if result.chapters:
        out.write("\n## Chapters\n")
        for c in result.chapters:
            out.write(f"\n### {clock(c.start, long)} {c.title or '(untitled)'}\n\n")
            out.write(f"*{hms(c.start)} – {hms(c.end)}*\n")
            if c.summary:
                out.write(f"\n{c.summary}\n")
    if result.skipped:
        out.write("\n## Left out\n\n")
        out.writelines(f"- {hms(x.start)} – {hms(x.end)}: {'ad break' if x.kind == 'break' else 'sponsor read'}\n"
                       for x in result.skipped)
    notes = [*result.notices, *([BLIND_NOTE] if result.method == "extractive" and result.chapters else [])]
    out.writelines(f"\n> **Note:** {notice}\n" for notice in notes)


def register(app: typer.Typer) -> None:
    @app.command("summarize")
    def summarize_cmd(
        file: InputFile,
        length: Annotated[str, typer.Option("--length", "-l", help="Summary length: short, medium or long (sentences per chapter 1/2/4, overall 2/4/8).")] = "medium",
        chapters: Annotated[str, typer.Option("--chapters", help="Number of chapters, or auto (from topic changes in speech and shot changes).")] = "auto",
        keep_ads: Annotated[bool, typer.Option("--keep-ads", help="Summarize ad breaks and sponsor reads too (lite; by default they are found as 'vidq ads' finds them and left out).")] = False,
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
        """Summarize a video: an overall summary plus chapters (start, end, title, paragraph).

        With the offline lite backend every sentence is taken from the transcript or the on-screen text (extractive), chapters start at topic changes snapped to speech pauses and shot changes, and the output says what it could not see.

        With a video LLM, segments are summarized first, then the summaries.

        With a text-only model on an OpenAI-compatible server (--model openai:NAME; --remote-vision), the model reads each chapter's transcript and on-screen text and writes its title and paragraph, then the summary; the output says it did not see the pictures.

        Formats: text (default), md, json, html (a self-contained page: timeline, thumbnails, a player that seeks to each chapter), ffmeta and mkvchapters (chapter files for ffmpeg and mkvmerge; ad breaks and sponsor reads are chapters of their own, named so players can skip them).
        """
        from vidq.tasks.summarize import summarize

        settings = current_settings()
        fmt = resolve_format(settings, FORMATS, "text", "summarize")
        count = parse_chapters(chapters)
        options = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                              subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language,
                              start=start, end=end, quant=quant, trust_remote_code=trust_remote_code,
                              api_base=api_base, remote_vision=remote_vision, context=context,
                              request_timeout=request_timeout, retries=retries)
        with progress_reporter(settings) as progress:
            result = summarize(file, options, length=length.strip().lower(), chapters=count, skip_ads=not keep_ads,
                               store=settings.store, progress=progress)
        if fmt == "html":
            from vidq.cli.report_html import write_html

            write_html(settings, summary=result)
            return
        with output_stream(settings) as out:
            if fmt in CHAPTER_WRITERS:
                marks = summary_chapters(result)
                CHAPTER_WRITERS[fmt].write(ChapterList(tuple(marks), result.duration), out)
            elif fmt == "json":
                dump_json(result_json(result), out)
            elif fmt == "md":
                render_md(out, result)
            else:
                render_text(out, result)
