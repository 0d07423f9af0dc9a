"""``vidq ads FILE``: ad breaks and sponsor reads as text, JSON, CSV, EDL, chapters or a page.

Parses options, calls ``vidq.tasks.ads.detect_ads`` and renders the result; the detection
lives in ``vidq.tasks.ads``.  The EDL is the Kodi/MythTV one (``start<TAB>end<TAB>3`` per
segment, seconds); ``ffmeta`` (ffmpeg), ``mkvchapters`` (Matroska XML) and ``comskip``
(frame list) come from ``vidq.cli.chapters``: one chapter per programme part and per ad
segment.  ``--mark -o out.mkv`` writes a copy of the video with those chapters embedded
(``vidq.cli.mark``, no re-encoding); ``html`` is ``vidq.cli.report_html``'s page.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from vidq.cli.chapters import CHAPTER_WRITERS, ChapterList, ad_chapters
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
from vidq.cli.output import dump_json, output_stream, resolve_format, time_fields, write_file
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import current_settings
from vidq.errors import InputError
from vidq.timefmt import hms

log = logging.getLogger("vidq.cli")

FORMATS = ("text", "json", "csv", "edl", "ffmeta", "mkvchapters", "comskip", "html")
SCHEMA = "vidq.ads/1"  # JSON schema name of an ads result
EDL_ACTION = 3  # Kodi/MythTV EDL action: commercial break (skipped automatically)
CSV_COLUMNS = ("start", "end", "start_hms", "end_hms", "duration", "kind", "confidence", "reason")


def format_edl(segments: Any) -> str:
    """Kodi/MythTV EDL: one ``start<TAB>end<TAB>3`` line per segment, seconds with 2 decimals."""
    return "".join(f"{s.start:.2f}\t{s.end:.2f}\t{EDL_ACTION}\n" for s in segments)


def chapter_list(segments: Any, duration: float, fps: float | None = None) -> ChapterList:
    """Chapters covering ``[0, duration]``: programme parts and ad segments (``vidq.cli.chapters.ad_chapters``)."""
    return ChapterList(tuple(ad_chapters(segments, duration)), duration, fps)


def format_ffmeta(segments: Any, duration: float) -> str:
    """ffmpeg metadata with chapters covering ``[0, duration]``: programme parts and ad segments.

    TIMEBASE is 1/1000 (START/END in milliseconds); chapters never overlap and stay in order.
    """
    buf = io.StringIO()
    CHAPTER_WRITERS["ffmeta"].write(chapter_list(segments, duration), buf)
    return buf.getvalue()


def format_csv(segments: Any) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in segments:
        w.writerow([f"{s.start:.3f}", f"{s.end:.3f}", hms(s.start), hms(s.end), f"{s.duration:.3f}", s.kind,
                    f"{s.confidence:.3f}", s.reason])
    return buf.getvalue()


def segment_dict(s: Any) -> dict[str, Any]:
    return {**time_fields(s.start, "start"), **time_fields(s.end, "end"), "duration": round(s.duration, 3),
            "kind": s.kind, "confidence": s.confidence, "reason": s.reason, "cues": list(s.cues),
            "blocks": s.blocks, "verified_by": s.verified_by,
            "spots": [{**time_fields(p.start, "start"), **time_fields(p.end, "end"), "confidence": p.confidence,
                       "text": p.text} for p in s.spots]}


def file_fps(path: Path, store: Any = None) -> float:
    """The video's frame rate (nominal, else average) for frame-numbered formats; exit 2 without one."""
    from vidq.media import probe, require_video

    video = require_video(probe(path, store=store))
    fps = video.fps_nominal or video.fps_average
    if not fps:
        raise InputError(f"{path}: the video stream has no frame rate; comskip frame numbers need one")
    return float(fps)


def render(out: TextIO, fmt: str, result: Any, fps: float | None = None) -> None:
    """Write an ``AdsResult`` in ``fmt`` (``fps``: the file's frame rate, for comskip)."""
    if fmt in CHAPTER_WRITERS:
        CHAPTER_WRITERS[fmt].write(chapter_list(result.segments, result.duration, fps), out)
    elif fmt == "edl":
        out.write(format_edl(result.segments))
    elif fmt == "csv":
        out.write(format_csv(result.segments))
    elif fmt == "json":
        dump_json({
            "schema": SCHEMA, "file": result.file, "duration": round(result.duration, 3),
            "segments": [segment_dict(s) for s in result.segments],
            "blocks": [{**time_fields(b.start, "start"), **time_fields(b.end, "end"), "points": b.points,
                        "prior": b.prior, "confidence": b.confidence, "reason": b.reason, "features": b.features}
                       for b in result.blocks],
            "meta": result.meta,
        }, out)
    else:
        for s in result.segments:
            out.write(f"{hms(s.start)}  {hms(s.end)}  {s.kind:<7}  {s.confidence:.2f}  {s.reason}\n")
            if len(s.spots) > 1:  # the spots of a break, same columns (kind "spot")
                out.writelines(f"{hms(p.start)}  {hms(p.end)}  {'spot':<7}  {p.confidence:.2f}  spot {k + 1} of "
                               f"{len(s.spots)}{': ' + _clip(p.text) if p.text else ''}\n"
                               for k, p in enumerate(s.spots))


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def write_edl_beside(video: Path, result: Any) -> Path:
    """Write ``<video stem>.edl`` next to the video, atomically; returns its path."""
    target = video.with_name(video.stem + ".edl")
    write_file(target, format_edl(result.segments).encode("utf-8"), "--write-edl")
    return target


def check_mark_target(settings: Any, video: Path) -> Path:
    """The path ``--mark`` writes its copy to (``-o``), checked before any work is done."""
    from vidq.cli.mark import container_for

    if settings.to_stdout:
        raise InputError("--mark needs -o FILE (.mkv, .mp4 or .mov) for the marked copy of the video")
    target = Path(settings.output)
    container_for(target)
    if target.resolve() == video.resolve():
        raise InputError(f"-o {target}: is the input file; --mark never writes over the original")
    return target


def register(app: typer.Typer) -> None:
    @app.command("ads")
    def ads_command(
        file: InputFile,
        write_edl: Annotated[bool, typer.Option("--write-edl", help="Also write <video stem>.edl next to the video (Kodi/MythTV skip list), atomically.")] = False,
        mark: Annotated[bool, typer.Option("--mark", help="Write a copy of the video to -o FILE (.mkv, .mp4, .mov) with the programme parts and ads as chapters, remuxed without re-encoding; the result still goes to stdout.")] = False,
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
        """Find inserted ad breaks and sponsor reads in a recording.

        Picture and sound signals (black frames, silence, station logo,
        framing, loudness, cut rate, repeated footage; two frames per
        second by default) cut the video into blocks; each block is
        scored, with ad text in its speech and on-screen text (prices,
        URLs, promo codes, offers), and classified by a vision-language
        model when one is used. Sponsor reads spoken over the programme
        are found in the transcript. Formats: text (default), json, csv,
        edl (Kodi/MythTV: start<TAB>end<TAB>3), ffmeta (ffmpeg chapters),
        mkvchapters (Matroska chapter XML for mkvmerge), comskip (comskip's
        frame list), html (a page with a timeline, thumbnails and a
        player). With --mark -o out.mkv: a copy of the video with the
        chapters embedded, the original untouched.
        """
        from vidq.tasks.ads import detect_ads

        settings = current_settings()
        fmt = resolve_format(settings, FORMATS, "text", "ads")
        if mark:
            target = check_mark_target(settings, file)
        options = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                              subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language,
                              start=start, end=end, quant=quant, trust_remote_code=trust_remote_code,
                              api_base=api_base, remote_vision=remote_vision, context=context,
                              request_timeout=request_timeout, retries=retries)
        with progress_reporter(settings) as progress:
            result = detect_ads(file, options, store=settings.store, progress=progress)
        if mark:
            from vidq.cli.mark import write_marked_copy

            marks = chapter_list(result.segments, result.duration).marks
            write_marked_copy(file, target, marks)
            log.info("wrote %s with %d chapters", target, len(marks))
            settings = replace(settings, output=None)  # -o named the copy; the result goes to stdout
        if fmt == "html":
            from vidq.cli.report_html import write_html

            write_html(settings, ads=result)
        else:
            fps = file_fps(file, settings.store) if fmt == "comskip" else None
            with output_stream(settings) as out:
                render(out, fmt, result, fps)
        if write_edl:
            log.info("wrote %s", write_edl_beside(file, result))
        if not result.segments:
            log.info("no ads or sponsor reads found in %s", file)
