"""Broken and awkward media files for tests: each kind made on demand in a caller-given folder.

Public API::

    make_case(kind, directory) -> Path      # one file of that kind (cached: made once per folder)
    BROKEN    # kinds no command can use: probe fails with exit 2
    NO_VIDEO  # kinds that probe fine but have no video stream (video commands fail with exit 2)
    AWKWARD   # kinds that are valid and must work: VFR, rotated, one frame, 4K, odd size, no audio
    TIMING    # valid files whose timestamps are awkward: non-zero starts, edit lists, open GOPs,
              # odd time bases, concat-joined parts, MPEG-TS starting late or wrapping its 33-bit PTS

Built on :func:`vidq.testing.video.make_video`; knows nothing about vidq's decoders.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from vidq.testing.video import PALETTE, Scene, make_audio, make_video

BROKEN = ("zero-byte", "truncated", "truncated-faststart", "text", "random-bytes")
NO_VIDEO = ("audio-only",)
AWKWARD = ("video-only", "vfr", "rotated", "one-frame", "4k", "odd-size")
TIMING = ("start-offset", "edit-cut", "tb90000", "tb25", "ntsc-mkv", "ntsc-avi", "open-gop", "joined",
          "late-ts", "wrap-ts")
KINDS = BROKEN + NO_VIDEO + AWKWARD + TIMING

FILE_NAMES = {
    "zero-byte": "zero-byte.mp4",
    "truncated": "truncated.mp4",
    "truncated-faststart": "truncated-faststart.mp4",
    "text": "notes.mp4",
    "random-bytes": "noise.mp4",
    "audio-only": "audio-only.mp4",
    "video-only": "video-only.mp4",
    "vfr": "vfr.mp4",
    "rotated": "rotated.mp4",
    "one-frame": "one-frame.mp4",
    "4k": "uhd.mp4",
    "odd-size": "odd-size.mp4",
    "start-offset": "start-offset.mp4",
    "edit-cut": "edit-cut.mp4",
    "tb90000": "tb90000.mp4",
    "tb25": "tb25.mp4",
    "ntsc-mkv": "ntsc.mkv",
    "ntsc-avi": "ntsc.avi",
    "open-gop": "open-gop.mp4",
    "joined": "joined.mp4",
    "late-ts": "late.ts",
    "wrap-ts": "wrap.ts",
}
KEEP_FRACTION = 0.6  # share of the bytes a truncated file keeps
TIMING_CLIP = {"duration": 8.0, "size": (160, 120), "n_scenes": 2, "gop_seconds": 2.0, "bframes": 3, "audio": "tone"}
PTS_WRAP = 2**33 / 90000  # seconds: where MPEG-TS's 33-bit 90 kHz PTS wraps to 0


def make_case(kind: str, directory: str | os.PathLike) -> Path:
    """Make (once) and return a file of ``kind`` inside ``directory``."""
    if kind not in FILE_NAMES:
        raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAMES[kind]
    if path.exists():
        return path
    tmp = folder / f".partial-{FILE_NAMES[kind]}"
    if kind == "zero-byte":
        tmp.write_bytes(b"")
    elif kind == "text":
        tmp.write_text("These are meeting notes, not a video.\nSee you on Monday.\n", encoding="utf-8")
    elif kind == "random-bytes":
        tmp.write_bytes(bytes((i * 7919 + 13) % 251 for i in range(64 * 1024)))
    elif kind in ("truncated", "truncated-faststart"):
        whole = make_video(folder / f".whole-{FILE_NAMES[kind]}", duration=3.0, n_scenes=2, audio="tone",
                           faststart=kind == "truncated-faststart")
        data = whole.read_bytes()
        whole.unlink()
        tmp.write_bytes(data[: int(len(data) * KEEP_FRACTION)])
    elif kind == "audio-only":
        make_audio(tmp, duration=2.0)
    elif kind == "video-only":
        make_video(tmp, duration=2.0, n_scenes=2)
    elif kind == "vfr":
        make_video(tmp, duration=4.0, n_scenes=2, vfr=True, audio="tone")
    elif kind == "rotated":
        make_video(tmp, duration=2.0, size=(320, 180), n_scenes=2, rotation=90, audio="tone")
    elif kind == "one-frame":
        make_video(tmp, duration=0.04, fps=25.0)
    elif kind == "4k":
        make_video(tmp, duration=0.4, size=(3840, 2160), fps=10.0, gop_seconds=0.2)
    elif kind == "odd-size":
        make_video(tmp, duration=1.0, size=(321, 241), pix_fmt="yuv444p")
    elif kind in TIMING:
        _make_timing(kind, tmp, folder)
    os.replace(tmp, path)
    return path


def _make_timing(kind: str, out: Path, folder: Path) -> None:
    """One TIMING kind: an 8 s clip with burned-in clock (B-frames, AAC), remuxed or re-timed."""
    if kind == "tb90000":
        make_video(out, **TIMING_CLIP, extra_args=["-video_track_timescale", "90000"])
    elif kind == "tb25":
        make_video(out, **TIMING_CLIP, extra_args=["-video_track_timescale", "25"])
    elif kind == "ntsc-mkv":  # 1/1000 time base: frame times rounded to the millisecond
        make_video(out, **{**TIMING_CLIP, "fps": "30000/1001"})
    elif kind == "ntsc-avi":  # 1001/30000 time base; MPEG-4 Part 2 without B-frames, as AVI files hold
        make_video(out, **{**TIMING_CLIP, "fps": "30000/1001", "codec": "mpeg4", "bframes": 0})
    elif kind == "open-gop":
        make_video(out, **TIMING_CLIP, extra_args=["-x264-params", "open-gop=1"])
    elif kind == "joined":  # what `ffmpeg -f concat -c copy` makes of recordings joined end to end
        parts = []
        for i in range(3):
            part = folder / f".part{i}-{out.name}"
            looks = [Scene(2.0, color=PALETTE[(2 * i + j) % len(PALETTE)]) for j in range(2)]  # parts differ
            make_video(part, **{**TIMING_CLIP, "scenes": looks, "n_scenes": None, "gop_seconds": 1.0})
            parts.append(part)
        listing = folder / f".list-{out.name}.txt"
        listing.write_text("".join(f"file '{p.name}'\n" for p in parts), encoding="utf-8")
        _ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)])
        for p in [*parts, listing]:
            p.unlink()
    else:
        source = folder / f".source-{out.name}.mp4"
        make_video(source, **TIMING_CLIP)
        if kind == "start-offset":  # the video starts 7.3 s into the container's clock
            args = ["-i", str(source), "-c", "copy", "-output_ts_offset", "7.3", str(out)]
        elif kind == "edit-cut":  # stream copy from mid-GOP: an edit list hides the GOP's first frames
            args = ["-ss", "1.3", "-i", str(source), "-c", "copy", str(out)]
        elif kind == "late-ts":  # a capture that starts at a large PTS
            args = ["-i", str(source), "-c", "copy", "-output_ts_offset", "80000", "-f", "mpegts", str(out)]
        else:  # wrap-ts: the PTS passes 2^33 ticks 3.7 s in and starts again near 0
            args = ["-i", str(source), "-c", "copy", "-output_ts_offset", f"{PTS_WRAP - 3.7:.6f}",
                    "-f", "mpegts", str(out)]
        _ffmpeg(args)
        source.unlink()


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True,
                   capture_output=True)
