"""``vidq ads FILE``: ad breaks and sponsor reads as text, JSON, CSV, EDL or ffmpeg chapters.

Parses options, calls ``vidq.tasks.ads.detect_ads`` and renders the result; the detection
lives in ``vidq.tasks.ads``.  The EDL is the Kodi/MythTV one (``start<TAB>end<TAB>3`` per
segment, seconds); ``ffmeta`` is ffmpeg's ``;FFMETADATA1`` with one chapter per programme
part and per ad segment (``ffmpeg -i in.mp4 -i chapters.txt -map_metadata 1 -codec copy out.mkv``).
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from vidq.cli.jobopts import (
    AccuracyOpt,
    ApiBaseOpt,
    AsrEngineOpt,
    AsrModelOpt,
    CompressOpt,
    EndOpt,
    FramesOpt,
    InputFile,
    LanguageOpt,
    ModelOpt,
    QuantOpt,
    RatioOpt,
    StartOpt,
    SubtitlesOpt,
    TrustRemoteCodeOpt,
    job_options,
)
from vidq.cli.output import dump_json, output_stream, resolve_format, time_fields, write_file
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import current_settings
from vidq.timefmt import hms

log = logging.getLogger("vidq.cli")

FORMATS = ("text", "json", "csv", "edl", "ffmeta")
SCHEMA = "vidq.ads/1"  # JSON schema name of an ads result
EDL_ACTION = 3  # Kodi/MythTV EDL action: commercial break (skipped automatically)
CSV_COLUMNS = ("start", "end", "start_hms", "end_hms", "duration", "kind", "confidence", "reason")
CHAPTER_TITLES = {"break": "Advertisement", "sponsor": "Sponsor", "programme": "Programme"}


def format_edl(segments: Any) -> str:
    """Kodi/MythTV EDL: one ``start<TAB>end<TAB>3`` line per segment, seconds with 2 decimals."""
    return "".join(f"{s.start:.2f}\t{s.end:.2f}\t{EDL_ACTION}\n" for s in segments)


def _ffmeta_escape(text: str) -> str:
    out = text
    for ch in ("\\", "=", ";", "#", "\n"):
        out = out.replace(ch, "\\" + ch)
    return out


def format_ffmeta(segments: Any, duration: float) -> str:
    """ffmpeg metadata with chapters covering ``[0, duration]``: programme parts and ad segments.

    TIMEBASE is 1/1000 (START/END in milliseconds); chapters never overlap and stay in order.
    """
    lines = [";FFMETADATA1"]
    total = max(0, round(duration * 1000))
    cursor = 0
    part = 0

    def chapter(start: int, end: int, title: str) -> None:
        lines.extend(["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}", f"title={_ffmeta_escape(title)}"])

    for s in segments:
        a, b = max(cursor, round(s.start * 1000)), min(total, round(s.end * 1000))
        if b <= a:
            continue
        if a > cursor:
            part += 1
            chapter(cursor, a, f"{CHAPTER_TITLES['programme']} {part}")
        chapter(a, b, f"{CHAPTER_TITLES.get(s.kind, s.kind)} ({s.confidence:.2f})")
        cursor = b
    if cursor < total:
        part += 1
        chapter(cursor, total, f"{CHAPTER_TITLES['programme']} {part}")
    return "\n".join(lines) + "\n"


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


def render(out: TextIO, fmt: str, result: Any) -> None:
    """Write an ``AdsResult`` in ``fmt``."""
    if fmt == "edl":
        out.write(format_edl(result.segments))
    elif fmt == "ffmeta":
        out.write(format_ffmeta(result.segments, result.duration))
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


def register(app: typer.Typer) -> None:
    @app.command("ads")
    def ads_command(
        file: InputFile,
        write_edl: Annotated[bool, typer.Option("--write-edl", help="Also write <video stem>.edl next to the video (Kodi/MythTV skip list), atomically.")] = False,
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
    ) -> None:
        """Find inserted ad breaks and sponsor reads in a recording.

        Picture and sound signals (black frames, silence, station logo,
        framing, loudness, cut rate, repeated footage; two frames per
        second by default) cut the video into blocks; each block is
        scored, with ad text in its speech and on-screen text (prices,
        URLs, promo codes, offers), and classified by a vision-language
        model when one is used. Sponsor reads spoken over the programme
        are found in the transcript. Formats: text (default), json, csv,
        edl (Kodi/MythTV: start<TAB>end<TAB>3), ffmeta (ffmpeg chapters).
        """
        from vidq.tasks.ads import detect_ads

        settings = current_settings()
        fmt = resolve_format(settings, FORMATS, "text", "ads")
        options = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                              subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language,
                              start=start, end=end, quant=quant, trust_remote_code=trust_remote_code,
                              api_base=api_base)
        with progress_reporter(settings) as progress:
            result = detect_ads(file, options, store=settings.store, progress=progress)
        with output_stream(settings) as out:
            render(out, fmt, result)
        if write_edl:
            log.info("wrote %s", write_edl_beside(file, result))
        if not result.segments:
            log.info("no ads or sponsor reads found in %s", file)
