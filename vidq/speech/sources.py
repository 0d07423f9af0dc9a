"""Text that already exists for a video: sidecar files and embedded subtitle streams.

* a **sidecar** is ``movie.srt``/``movie.vtt`` beside ``movie.mp4`` (same stem, any case of
  the suffix), or a language-tagged ``movie.en.srt``; the untagged file wins, then the
  tag matching the wanted language, then English, then the others in name order;
* an **embedded** stream is a text subtitle stream in the container (subrip, mov_text,
  webvtt, ass/ssa, text); bitmap subtitles (DVD, PGS, DVB) cannot be read as text and
  are skipped.  PyAV decodes it; no ``ffmpeg`` binary is used.

This module knows nothing about ASR engines, caching, tasks or the CLI.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from vidq.errors import InputError, MediaError
from vidq.media.types import VideoInfo
from vidq.speech.subtitles import clean_cue_text, decode_subtitle_bytes, parse_subtitles
from vidq.speech.types import Segment

log = logging.getLogger("vidq.speech")

SIDECAR_SUFFIXES = (".srt", ".vtt")  # sidecar subtitle files, in order of preference
TEXT_SUBTITLE_CODECS = frozenset({"subrip", "srt", "mov_text", "webvtt", "ass", "ssa", "text"})
MAX_SUBTITLE_BYTES = 50 * 1024 * 1024  # a subtitle file larger than this is not a subtitle file
# ISO 639-2 (three-letter, as containers tag streams) -> ISO 639-1 for the languages we see most
_ISO3 = {"eng": "en", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "spa": "es", "ita": "it", "por": "pt",
         "rus": "ru", "jpn": "ja", "chi": "zh", "zho": "zh", "kor": "ko", "dut": "nl", "nld": "nl", "swe": "sv",
         "pol": "pl", "tur": "tr", "ara": "ar", "hin": "hi", "ukr": "uk", "cze": "cs", "ces": "cs"}


def iso639_1(tag: str | None) -> str | None:
    """``"eng"``/``"en"``/``"en-US"`` -> ``"en"``; None or ``"und"`` -> None."""
    if not tag:
        return None
    t = tag.strip().lower().replace("_", "-").split("-")[0]
    if not t or t == "und":
        return None
    return _ISO3.get(t, t)


@dataclass(frozen=True)
class StreamsSeen:
    """The streams of a file that matter for speech."""

    audio: tuple[int, ...]  # container indices of audio streams
    subtitles: tuple[tuple[int, str, str | None], ...]  # (index, codec, ISO 639-1 language or None)
    duration: float | None  # seconds, when the container knows


def list_streams(path: str | os.PathLike, info: VideoInfo | None = None) -> StreamsSeen:
    """Audio and subtitle streams of ``path`` (from ``info`` when given, else by opening the file)."""
    if info is not None:
        return StreamsSeen(
            audio=tuple(a.index for a in info.audio_streams),
            subtitles=tuple((s.index, s.codec, iso639_1(s.language)) for s in info.subtitle_streams),
            duration=info.duration,
        )
    import av

    p = os.fspath(path)
    if not os.path.isfile(p):
        raise MediaError(f"{p}: no such file" if not os.path.exists(p) else f"{p}: is not a file")
    try:
        with av.open(p, metadata_errors="ignore") as c:
            audio = tuple(s.index for s in c.streams.audio)
            subs = tuple((s.index, s.codec_context.name if s.codec_context else "unknown",
                          iso639_1(s.metadata.get("language"))) for s in c.streams.subtitles)
            duration = c.duration / 1_000_000 if c.duration else None  # AV_TIME_BASE is µs
    except av.error.FFmpegError as e:
        raise MediaError(f"{p}: cannot open as media ({getattr(e, 'strerror', None) or e})") from e
    return StreamsSeen(audio, subs, duration)


def find_sidecar(video: str | os.PathLike, language: str | None = None) -> Path | None:
    """The sidecar subtitle file for ``video``, or None (see the module docstring for the order)."""
    v = Path(video)
    folder = v.parent
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file()]
    except OSError:
        return None
    stem = v.stem
    exact: list[tuple[int, str]] = []
    tagged: list[tuple[int, str, str]] = []
    want = iso639_1(language)
    for name in names:
        base, dot, suffix = name.rpartition(".")
        suffix = "." + suffix.lower()
        if not dot or suffix not in SIDECAR_SUFFIXES or name == v.name:
            continue
        rank = SIDECAR_SUFFIXES.index(suffix)
        if base == stem:
            exact.append((rank, name))
        elif base.startswith(stem + ".") and "." not in base[len(stem) + 1:]:
            tag = iso639_1(base[len(stem) + 1:])
            order = 0 if want and tag == want else 1 if tag == "en" else 2
            tagged.append((order * 10 + rank, name, tag or ""))
    if exact:
        return folder / min(exact)[1]
    if tagged:
        return folder / min(tagged)[1]
    return None


def sidecar_language(video: str | os.PathLike, sidecar: str | os.PathLike) -> str | None:
    """The language tag of a sidecar (``movie.fr.srt`` beside ``movie.mp4`` -> ``"fr"``), or None."""
    stem, name = Path(video).stem, Path(sidecar).name
    tag = name[len(stem) + 1:].rpartition(".")[0] if name.startswith(stem + ".") else ""
    return iso639_1(tag) if tag and "." not in tag else None


def read_subtitle_file(path: str | os.PathLike) -> list[Segment]:
    """Cues of an ``.srt``/``.vtt`` file.

    Raises
    ------
    InputError : missing, unreadable, too large, or not a subtitle file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"--subtitles {p}: no such file")
    if not p.is_file():
        raise InputError(f"--subtitles {p}: is not a file")
    try:
        if p.stat().st_size > MAX_SUBTITLE_BYTES:
            raise InputError(f"{p}: too large for a subtitle file ({p.stat().st_size} bytes)")
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"{p}: cannot read ({e.strerror or e})") from e
    return parse_subtitles(decode_subtitle_bytes(data), name=str(p))


def pick_subtitle_stream(seen: StreamsSeen, language: str | None = None) -> int | None:
    """Index of the text subtitle stream to use: the wanted language first, else the first one."""
    text = [(i, lang) for i, codec, lang in seen.subtitles if codec in TEXT_SUBTITLE_CODECS]
    skipped = [f"{i} ({codec})" for i, codec, _ in seen.subtitles if codec not in TEXT_SUBTITLE_CODECS]
    if skipped:
        log.debug("bitmap or unknown subtitle streams cannot be read as text: %s", ", ".join(skipped))
    if not text:
        return None
    want = iso639_1(language)
    for i, lang in text:
        if want and lang == want:
            return i
    return text[0][0]


def read_subtitle_stream(path: str | os.PathLike, index: int) -> list[Segment]:
    """Cues of the embedded text subtitle stream ``index``, on the 0-based file timeline."""
    import av

    p = os.fspath(path)
    cues: list[Segment] = []
    try:
        with av.open(p, metadata_errors="ignore") as c:
            origin = c.start_time / 1_000_000 if c.start_time is not None else 0.0  # AV_TIME_BASE is µs
            stream = next((s for s in c.streams.subtitles if s.index == index), None)
            if stream is None:
                raise InputError(f"{p}: stream {index} is not a subtitle stream")
            tb = stream.time_base
            for packet in c.demux(stream):
                if packet.pts is None or tb is None:
                    continue
                start = float(packet.pts * tb) - origin
                end = start + float((packet.duration or 0) * tb)
                for sub in packet.decode():
                    raw = getattr(sub, "dialogue", None)
                    if raw is None:
                        continue
                    text = clean_cue_text(raw.decode("utf-8", errors="replace").split("\n"))
                    if text:
                        cues.append(Segment(start, max(start, end), text))
    except av.error.FFmpegError as e:
        raise MediaError(f"{p}: cannot read subtitle stream {index} ({getattr(e, 'strerror', None) or e})") from e
    cues.sort(key=lambda s: s.start)
    return cues
