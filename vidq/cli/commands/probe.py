"""``vidq probe FILE``: container, duration and every stream, read from the headers and index."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from vidq.cli.output import dump_json, output_stream, resolve_format, time_fields
from vidq.cli.settings import current_settings
from vidq.media.types import VideoInfo
from vidq.timefmt import hms

log = logging.getLogger("vidq.cli")

SCHEMA = "vidq.probe/1"
TEXT_KEYFRAMES = 5  # keyframe times shown in text output


def probe_json(info: VideoInfo) -> dict[str, Any]:
    """The ``vidq.probe/1`` document."""
    from vidq.media.damage import to_json
    from vidq.media.probe import info_to_dict

    data = info_to_dict(info)
    doc: dict[str, Any] = {"schema": SCHEMA, "file": info.path, "container": info.container,
                           **time_fields(info.duration, "duration"), "size_bytes": info.size_bytes,
                           "bit_rate": info.bit_rate, "start_time": info.start_time}
    doc["video"] = _video_json(data["video"], info.video.display_size if info.video else None)
    doc["video_streams"] = [_video_json(v, s.display_size) for v, s in zip(data["video_streams"], info.video_streams)]
    doc["audio_streams"] = data["audio_streams"]
    doc["subtitle_streams"] = data["subtitle_streams"]
    doc["damaged"] = [{**d, **time_fields(d["start"], "start"), **time_fields(d["end"], "end")}
                      for d in to_json(info.damaged)]
    doc["discontinuities"] = [{**d, **time_fields(d["at"], "at")} for d in data["discontinuities"]]
    doc["partial"] = info.partial
    return doc


def warn_damage(info: VideoInfo, spans=None) -> None:
    """The one stderr warning about damage (``spans``; the probe's when None), and the note
    that a file still being written was read only up to where it had got."""
    from vidq.media.damage import summary

    spans = info.damaged if spans is None else spans
    if spans:
        log.warning(summary(info.path, spans))
    if info.partial:
        log.warning("%s: partial: the file grew while it was read (a recording in progress?); "
                    "results cover its first %.3f s", info.path, info.duration)


def _video_json(v: dict[str, Any] | None, display: tuple[int, int] | None) -> dict[str, Any] | None:
    if v is None:
        return None
    out = dict(v)
    out["display_width"], out["display_height"] = display or (v["width"], v["height"])
    keys = v.get("keyframes")
    out["keyframe_count"] = None if keys is None else len(keys)
    return out


def _rate(x: float | None) -> str:
    return "?" if x is None else f"{x:.3f}".rstrip("0").rstrip(".")


def write_text(info: VideoInfo, out: TextIO) -> None:
    out.write(f"file: {info.path}\n")
    out.write(f"container: {info.container}\n")
    out.write(f"duration: {hms(info.duration)} ({info.duration:.3f} s)\n")
    rate = f", {info.bit_rate / 1000:.0f} kb/s" if info.bit_rate else ""
    out.write(f"size: {info.size_bytes} bytes{rate}\n")
    if not info.video_streams:
        out.write("video: none (audio only)\n")
    for v in info.video_streams:
        dw, dh = v.display_size
        best = " (used)" if info.video is not None and v.index == info.video.index and len(info.video_streams) > 1 else ""
        out.write(f"video #{v.index}{best}: {v.codec} {v.width}x{v.height} {v.pix_fmt}, sample aspect {v.sample_aspect}")
        out.write(f", rotation {v.rotation}, shown as {dw}x{dh}\n" if v.rotation else f", shown as {dw}x{dh}\n")
        count = "?" if v.frame_count is None else f"{v.frame_count} ({'exact' if v.frame_count_exact else 'estimated'})"
        out.write(f"  fps: nominal {_rate(v.fps_nominal)}, average {_rate(v.fps_average)}"
                  f"{', variable frame rate' if v.vfr else ''}\n")
        out.write(f"  frames: {count}\n")
        if v.keyframes is None:
            out.write("  keyframes: unknown\n")
        elif not v.keyframes:
            out.write("  keyframes: none\n")
        else:
            head = ", ".join(f"{k:.3f}" for k in v.keyframes[:TEXT_KEYFRAMES])
            more = ", ..." if len(v.keyframes) > TEXT_KEYFRAMES else ""
            out.write(f"  keyframes: {len(v.keyframes)} at {head}{more} s\n")
    for a in info.audio_streams:
        lang = f" [{a.language}]" if a.language else ""
        out.write(f"audio #{a.index}{lang}: {a.codec} {a.sample_rate} Hz, {a.channels} ch\n")
    for s in info.subtitle_streams:
        lang = f" [{s.language}]" if s.language else ""
        title = f" \"{s.title}\"" if s.title else ""
        out.write(f"subtitles #{s.index}{lang}: {s.codec}{title}\n")
    for j in info.discontinuities:
        out.write(f"clock jump: at {hms(j.at)} ({j.jump:+.3f} s, byte {j.pos}); times continue across it\n")
    for d in info.damaged:
        out.write(f"damaged: {hms(d.start)} to {hms(d.end)} {d.stream} ({d.why})\n")
    if info.partial:
        out.write(f"partial: the file grew while it was read; this describes its first {info.size_bytes} bytes\n")


def register(app: typer.Typer) -> None:
    @app.command("probe")
    def probe_cmd(
        file: Annotated[Path, typer.Argument(help="Video or audio file.", show_default=False)],
    ) -> None:
        """Show container, duration and streams (codec, size, rotation, fps, frame count, keyframes).

        Read from the file's headers and index without decoding it. Text by default; --json
        gives every field (schema vidq.probe/1), keyframe times included, and what was found
        wrong: damaged spans, clock jumps of broadcast captures (times are made continuous
        across them), and whether the file grew while it was read (a recording in progress).

        Example: vidq probe talk.mp4 --json | jq .video.frame_count
        """
        from vidq.media import probe

        settings = current_settings()
        fmt = resolve_format(settings, ("text", "json"), "text", "probe")
        info = probe(file, store=settings.store)
        warn_damage(info)
        with output_stream(settings) as out:
            if fmt == "json":
                dump_json(probe_json(info), out)
            else:
                write_text(info, out)
