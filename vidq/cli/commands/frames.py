"""``vidq frames FILE``: write sampled frames as images named by timestamp, or one contact sheet.

Images go to a temporary folder first and are moved into ``-o DIR`` only when every frame
was written, so a failed run leaves no partial output behind.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vidq.cli.commands.probe import warn_damage
from vidq.cli.output import dump_json, resolve_format, time_fields
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import current_settings
from vidq.errors import InputError
from vidq.store.atomic import dir_mode
from vidq.timefmt import hms, parse_time

if TYPE_CHECKING:
    from vidq.media.types import Damage

log = logging.getLogger("vidq.cli")

SCHEMA = "vidq.frames/1"
IMAGE_FORMATS = ("jpg", "png")
SHEET_TILE = 240  # default longest side of a contact-sheet tile, pixels
SHEET_MAX_FRAMES = 1024  # a sheet with more tiles is unreadable; ask for a folder instead
LABEL_HEIGHT = 22  # pixels under each tile for its timestamp


def frame_file_name(pts: float, ext: str) -> str:
    """``frame_000123.456.jpg``: sortable as text, no colons, milliseconds."""
    ms = max(0, round(pts * 1000))
    return f"frame_{ms // 1000:06d}.{ms % 1000:03d}.{ext}"


def parse_size(text: str | None) -> int | tuple[int, int] | None:
    """``448`` -> 448 (longest side), ``640x360`` -> (640, 360), None -> None."""
    if text is None:
        return None
    t = text.strip().lower()
    try:
        if "x" in t:
            w, h = t.split("x", 1)
            return (int(w), int(h))
        return int(t)
    except ValueError:
        raise InputError(f"--size {text!r}: use a number (longest side) or WIDTHxHEIGHT, e.g. 640x360") from None


def register(app: typer.Typer) -> None:
    @app.command("frames")
    def frames_cmd(
        file: Annotated[Path, typer.Argument(help="Video file.", show_default=False)],
        frames: Annotated[int | None, typer.Option("--frames", "-n", metavar="N", help="Sample N frames uniformly (segment centres). Default: 16.", show_default=False)] = None,
        fps: Annotated[float | None, typer.Option("--fps", metavar="F", help="Sample F frames per second.", show_default=False)] = None,
        every: Annotated[float | None, typer.Option("--every", metavar="SECONDS", help="Sample one frame every S seconds.", show_default=False)] = None,
        keyframes: Annotated[bool, typer.Option("--keyframes", help="Take every keyframe (no decoding between them).")] = False,
        exact: Annotated[bool, typer.Option("--exact/--fast", help="exact: the frame shown at each time; fast: the nearest cheaply decodable frame within --tolerance.")] = True,
        tolerance: Annotated[float | None, typer.Option("--tolerance", metavar="SECONDS", help="With --fast: how far (seconds) a frame may be from its target. Default: half the sampling interval.", show_default=False)] = None,
        start: Annotated[str | None, typer.Option("--start", metavar="TIME", help="Clip start: seconds or [HH:]MM:SS[.mmm].", show_default=False)] = None,
        end: Annotated[str | None, typer.Option("--end", metavar="TIME", help="Clip end: seconds or [HH:]MM:SS[.mmm].", show_default=False)] = None,
        size: Annotated[str | None, typer.Option("--size", metavar="N|WxH", help="Resize: N (longest side) or WIDTHxHEIGHT. Default: the video's display size.", show_default=False)] = None,
        policy: Annotated[str, typer.Option("--policy", metavar="POLICY", help="How --size WxH is met: fit, pad, crop or stretch.")] = "fit",
        image_format: Annotated[str, typer.Option("--image-format", metavar="jpg|png", help="Image type in -o DIR: jpg or png.")] = "jpg",
        quality: Annotated[int, typer.Option("--quality", metavar="1-100", help="JPEG quality, 1-100.")] = 90,
        sheet: Annotated[Path | None, typer.Option("--sheet", metavar="FILE", help="Write one contact sheet (PNG or JPEG) with the time under each tile, instead of -o DIR.", show_default=False)] = None,
        columns: Annotated[int | None, typer.Option("--columns", metavar="N", help="Tiles per row on the sheet. Default: about square.", show_default=False)] = None,
        backend: Annotated[str, typer.Option("--backend", metavar="NAME", help="Decoder: auto, pyav, torchcodec or decord.")] = "auto",
    ) -> None:
        """Write sampled frames as images named by their time (-o DIR), or a contact sheet (--sheet).

        Frames are named frame_SSSSSS.mmm.jpg after the time they are shown. With --json, a
        listing of index, target time, PTS (seconds and HH:MM:SS.mmm) and file goes to stdout
        (schema vidq.frames/1); as text, one "HH:MM:SS.mmm<TAB>path" line per frame. A damaged
        stretch of the file is skipped (its targets get the last clean frame before it), with
        one warning and the spans under "damaged" in --json.

        Example: vidq frames talk.mp4 --every 10 -o stills/
        """
        from vidq.media import decode, plan_samples, probe, require_video
        from vidq.media.probe import settle
        from vidq.media.damage import to_json

        settings = current_settings()
        fmt = resolve_format(settings, ("text", "json"), "text", "frames")
        ext = image_format.lower().lstrip(".")
        ext = "jpg" if ext == "jpeg" else ext
        if ext not in IMAGE_FORMATS:
            raise InputError(f"--image-format {image_format!r}: choose jpg or png")
        if not 1 <= quality <= 100:
            raise InputError(f"--quality {quality}: must be between 1 and 100")
        if columns is not None and columns < 1:
            raise InputError(f"--columns {columns}: must be at least 1")
        if frames is not None and frames < 1:
            raise InputError(f"--frames {frames}: must be at least 1")
        out_dir = None if settings.to_stdout else Path(settings.output)  # type: ignore[arg-type]
        if sheet is None and out_dir is None:
            raise InputError("say where the frames go: -o DIR (a folder of images) or --sheet FILE.png")
        if sheet is not None and out_dir is not None:
            raise InputError("give either -o DIR or --sheet FILE, not both")
        if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
            raise InputError(f"-o {out_dir}: exists and is not a folder")
        if sheet is not None and sheet.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise InputError(f"--sheet {sheet}: name it .png or .jpg")
        if sheet is not None and sheet.is_dir():
            raise InputError(f"--sheet {sheet}: is a folder; give a file name")
        size_req = parse_size(size)
        if sheet is not None and size_req is None:
            size_req = SHEET_TILE
        t_start = parse_time(start, "--start") if start is not None else None
        t_end = parse_time(end, "--end") if end is not None else None

        info = probe(file, store=settings.store)
        require_video(info)
        plan = plan_samples(info, frames=frames, fps=fps, every=every, keyframes=keyframes, start=t_start,
                            end=t_end, accuracy="exact" if exact else "fast", tolerance=tolerance)
        if sheet is not None and len(plan) > SHEET_MAX_FRAMES:
            raise InputError(f"--sheet with {len(plan)} frames is too many (at most {SHEET_MAX_FRAMES}); use -o DIR")
        rows: list[dict[str, Any]] = []
        found: list[Damage] = []  # undecodable spans met on the way
        with progress_reporter(settings) as report:
            batches = _noting(decode(file, plan, info=info, size=size_req, policy=policy, backend=backend,
                                     progress=report), found)
            if sheet is not None:
                _write_sheet(batches, plan.times, sheet, columns, quality, rows)
            else:
                assert out_dir is not None
                _write_folder(batches, plan.times, out_dir, ext, quality, rows)
        target = str(sheet if sheet is not None else out_dir)
        log.info("wrote %d frames to %s", len(rows), target)
        info, damaged = settle(info, file, found)
        warn_damage(info, damaged)
        out = typer.get_text_stream("stdout")
        if fmt == "json":
            dump_json({"schema": SCHEMA, "file": str(file), "mode": plan.mode, "accuracy": plan.accuracy,
                       "tolerance": plan.tolerance, **time_fields(plan.start, "start"), **time_fields(plan.end, "end"),
                       "output": target, "frames": rows, "damaged": to_json(damaged), "partial": info.partial}, out)
        else:
            for row in rows:
                out.write(f"{row['pts_hms']}\t{row['file']}\n")
        out.flush()


def _noting(batches, found: list[Damage]):
    """Pass the batches on, keeping the damaged spans they report."""
    for batch in batches:
        found.extend(batch.damaged)
        yield batch


def _save(image, path: Path, quality: int) -> None:
    from PIL import Image

    img = Image.fromarray(image)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        img.save(path, format="JPEG", quality=quality)
    else:
        img.save(path, format="PNG")


def _write_folder(batches, targets, out_dir: Path, ext: str, quality: int, rows: list[dict[str, Any]]) -> None:
    """Write every frame into a temporary folder beside ``out_dir``; move them in at the end."""
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))
    try:
        written: dict[str, Path] = {}
        for batch in batches:
            for k in range(len(batch)):
                pts = float(batch.pts[k])
                name = frame_file_name(pts, ext)
                if name not in written:
                    _save(batch.images[k], tmp / name, quality)
                    written[name] = out_dir / name
                pos = int(batch.indices[k])
                rows.append({"index": pos, **time_fields(targets[pos], "target"), **time_fields(pts, "pts"),
                             "file": str(written[name])})
        if out_dir.exists():
            for name in written:
                os.replace(tmp / name, out_dir / name)
        else:
            os.chmod(tmp, dir_mode())  # mkdtemp made it 0700; give it what mkdir would
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_sheet(batches, targets, sheet: Path, columns: int | None, quality: int, rows: list[dict[str, Any]]) -> None:
    """Paste every frame on one canvas with its time underneath; write it atomically."""
    from PIL import Image, ImageDraw, ImageFont

    from vidq.store import atomic_path

    tiles: list[tuple[Any, float]] = []
    for batch in batches:
        for k in range(len(batch)):
            pts = float(batch.pts[k])
            pos = int(batch.indices[k])
            tiles.append((Image.fromarray(batch.images[k]), pts))
            rows.append({"index": pos, **time_fields(targets[pos], "target"), **time_fields(pts, "pts"),
                         "file": str(sheet)})
    if not tiles:
        raise InputError("no frames to put on the sheet")
    cols = columns or max(1, math.ceil(math.sqrt(len(tiles))))
    cols = min(cols, len(tiles))
    n_rows = math.ceil(len(tiles) / cols)
    tw = max(t.width for t, _ in tiles)
    th = max(t.height for t, _ in tiles)
    gap = 4
    canvas = Image.new("RGB", (cols * (tw + gap) + gap, n_rows * (th + LABEL_HEIGHT + gap) + gap), (24, 24, 24))
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=14)
    except (TypeError, OSError):
        font = ImageFont.load_default()
    for n, (tile, pts) in enumerate(tiles):
        r, c = divmod(n, cols)
        x = gap + c * (tw + gap)
        y = gap + r * (th + LABEL_HEIGHT + gap)
        canvas.paste(tile, (x + (tw - tile.width) // 2, y + (th - tile.height) // 2))
        draw.text((x + 2, y + th + 3), hms(pts), fill=(235, 235, 235), font=font)
    sheet.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(sheet) as tmp:
        fmt = "JPEG" if sheet.suffix.lower() in (".jpg", ".jpeg") else "PNG"
        canvas.save(tmp, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
