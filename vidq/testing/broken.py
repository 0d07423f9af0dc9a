"""Broken and awkward media files for tests: each kind made on demand in a caller-given folder.

Public API::

    make_case(kind, directory) -> Path      # one file of that kind (cached: made once per folder)
    BROKEN    # kinds no command can use: probe fails with exit 2
    NO_VIDEO  # kinds that probe fine but have no video stream (video commands fail with exit 2)
    AWKWARD   # kinds that are valid and must work: VFR, rotated, one frame, 4K, odd size, no audio

Built on :func:`vidq.testing.video.make_video`; knows nothing about vidq's decoders.
"""

from __future__ import annotations

import os
from pathlib import Path

from vidq.testing.video import make_audio, make_video

BROKEN = ("zero-byte", "truncated", "truncated-faststart", "text", "random-bytes")
NO_VIDEO = ("audio-only",)
AWKWARD = ("video-only", "vfr", "rotated", "one-frame", "4k", "odd-size")
KINDS = BROKEN + NO_VIDEO + AWKWARD

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
}
KEEP_FRACTION = 0.6  # share of the bytes a truncated file keeps


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
    os.replace(tmp, path)
    return path
