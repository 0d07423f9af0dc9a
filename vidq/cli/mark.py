"""A copy of a video with chapters embedded, remuxed without re-encoding (``vidq ads --mark``).

    write_marked_copy("show.ts", "show.mkv", marks)

Every video and audio stream (and the subtitle streams the target container can hold) is
copied packet by packet through PyAV, which also writes the chapters; nothing is decoded
or encoded.  The copy is written to a temporary file beside the target and renamed into
place only when complete; the original is only read.  The container follows the target's
extension (``.mkv``, ``.mka``, ``.mp4``, ``.m4v``, ``.mov``).  Like ``ffmpeg -c copy``,
the muxer may shift all streams together so none starts before zero (AAC priming: some
tens of milliseconds).  Knows nothing about Typer or the jobs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from vidq.cli.chapters import Mark
from vidq.errors import InputError, VidqError, brief
from vidq.store import atomic_path

log = logging.getLogger("vidq.cli")

CONTAINERS = {".mkv": "matroska", ".mka": "matroska", ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}
SUBTITLE_CODECS = {  # subtitle codecs each container holds as they are (others are left out, with a warning)
    "matroska": {"subrip", "ass", "ssa", "webvtt", "dvb_subtitle", "hdmv_pgs_subtitle", "dvd_subtitle", "text"},
    "mp4": {"mov_text"},
    "mov": {"mov_text"},
}
CHAPTER_TIME_BASE = Fraction(1, 1000)  # chapters are written in milliseconds


def container_for(target: str | os.PathLike) -> str:
    """The muxer for ``target``'s extension; a usage error (exit 2) for one that cannot hold chapters."""
    fmt = CONTAINERS.get(Path(target).suffix.lower())
    if fmt is None:
        raise InputError(f"{target}: a marked copy must be .mkv, .mp4, .m4v or .mov "
                         f"(containers that hold chapters), not {Path(target).suffix or 'no extension'}")
    return fmt


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def write_marked_copy(source: str | os.PathLike, target: str | os.PathLike, marks: Sequence[Mark]) -> int:
    """Remux ``source`` into ``target`` with ``marks`` as its chapters; returns the packets copied.

    Raises ``InputError`` (exit 2) when ``target`` is ``source`` or has an unusable
    extension, or when the streams cannot go into that container; ``target`` is then left
    as it was.
    """
    import av

    src, dst = Path(source), Path(target)
    if _same_file(src, dst) or src.resolve() == dst.resolve():
        raise InputError(f"-o {dst}: is the input file; --mark never writes over the original")
    fmt = container_for(dst)
    if not hasattr(av.container.OutputContainer, "set_chapters"):
        raise VidqError(f"writing chapters needs PyAV 16 or later (installed: {av.__version__}); "
                        "upgrade it with: pip install -U 'av>=16'")
    copied = 0
    try:
        with av.open(str(src)) as inp, atomic_path(dst) as tmp:
            with av.open(str(tmp), "w", format=fmt) as out:
                mapping = {}
                for s in inp.streams:
                    name = s.codec_context.name if s.codec_context is not None else "?"
                    keep = s.type in ("video", "audio") or (s.type == "subtitle" and name in SUBTITLE_CODECS[fmt])
                    if not keep:
                        log.warning("%s: stream %d (%s %s) is left out of the marked copy", src.name, s.index, s.type, name)
                        continue
                    o = out.add_stream_from_template(s)
                    o.metadata.update(s.metadata)
                    mapping[s.index] = o
                if not mapping:
                    raise InputError(f"{src}: no video or audio stream to copy")
                out.metadata.update(inp.metadata)
                out.set_chapters([{"id": k + 1, "start": round(m.start * 1000), "end": round(m.end * 1000),
                                   "time_base": CHAPTER_TIME_BASE, "metadata": {"title": m.title}}
                                  for k, m in enumerate(marks)])
                for packet in inp.demux([inp.streams[i] for i in mapping]):
                    if packet.dts is None:  # the demuxer's empty flush packet
                        continue
                    packet.stream = mapping[packet.stream.index]
                    out.mux(packet)
                    copied += 1
    except (av.FFmpegError, ValueError) as e:
        raise InputError(f"{src}: cannot remux into {dst.name} ({brief(e)})") from e
    return copied
