"""``probe(path)``: what a media file holds, read from its headers and index, never by decoding it all.

For MP4/MOV the sample tables are parsed directly (:mod:`vidq.media.mp4index`): exact frame
count, every keyframe's presentation time, VFR from the frame intervals, display rotation
from the track matrix, and a truncation check (the index pointing past the end of the
file).  Other containers (Matroska, WebM, AVI, MPEG-TS...) are demuxed packet by packet
without decoding, which gives the same facts at the cost of reading the file once.

Every failure is a :class:`~vidq.errors.MediaError` with one line naming the file and the
problem.  Results are cached in the :class:`~vidq.store.Store` as ``PROBE_STAGE`` when one is
given.  This module knows nothing about sampling, decoding to pixels, models or tasks.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidq.errors import MediaError
from vidq.media import mp4index
from vidq.media.types import AudioStream, SubtitleStream, VideoInfo, VideoStream
from vidq.store import Store

log = logging.getLogger("vidq.media")

PROBE_STAGE = "probe/2"  # cache stage name; bump when VideoInfo's meaning changes (2: edit lists rounded as FFmpeg does)
AV_TIME_BASE = 1_000_000  # FFmpeg's container-level clock, ticks per second
VFR_RELATIVE = 0.10  # an interval this far (relative) from the median one marks the stream VFR
INDEX_CHECK_PACKETS = 16  # packets whose PTS must match the MP4 index before it is trusted
VFR_TICKS = 2  # ... and at least this many time-base ticks (rounding of 29.97 in ms is not VFR)


def probe(path: str | os.PathLike, *, store: Store | None = None) -> VideoInfo:
    """Describe the media file at ``path``.

    Raises ``MediaError`` for a missing, empty, unreadable, truncated or non-media file, or
    one with zero duration.  An audio-only file probes fine with ``video=None``.
    """
    p = Path(path)
    _check_file(p)
    key = None
    if store is not None and store.enabled:
        key = store.file_key(p)
        cached = store.get_json(key, PROBE_STAGE, {})
        if cached is not None:
            try:
                return replace(info_from_dict(cached), path=str(path))
            except (KeyError, TypeError, ValueError):
                log.debug("ignoring a damaged probe cache entry for %s", p)
    info = _probe_file(p, str(path))
    if key is not None and store is not None:
        store.put_json(key, PROBE_STAGE, {}, info_to_dict(info))
    return info


def require_video(info: VideoInfo) -> VideoStream:
    """The video stream, or ``MediaError`` (exit 2) for an audio-only file."""
    if info.video is None:
        raise MediaError(f"{info.path}: has no video stream (audio only); this command needs video")
    return info.video


def info_to_dict(info: VideoInfo) -> dict[str, Any]:
    """JSON-able form of a VideoInfo (tuples become lists)."""
    return asdict(info)


def info_from_dict(data: dict[str, Any]) -> VideoInfo:
    """Inverse of :func:`info_to_dict`."""

    def video(d: dict[str, Any] | None) -> VideoStream | None:
        if d is None:
            return None
        d = dict(d)
        if d.get("keyframes") is not None:
            d["keyframes"] = tuple(float(x) for x in d["keyframes"])
        return VideoStream(**d)

    return VideoInfo(
        path=data["path"], container=data["container"], duration=float(data["duration"]),
        size_bytes=int(data["size_bytes"]), bit_rate=data["bit_rate"], start_time=float(data["start_time"]),
        video=video(data["video"]),
        video_streams=tuple(v for v in (video(d) for d in data["video_streams"]) if v is not None),
        audio_streams=tuple(AudioStream(**d) for d in data["audio_streams"]),
        subtitle_streams=tuple(SubtitleStream(**d) for d in data["subtitle_streams"]),
    )


# -- the work ------------------------------------------------------------------------------

def _check_file(p: Path) -> None:
    if not p.exists():
        raise MediaError(f"{p}: no such file")
    if p.is_dir():
        raise MediaError(f"{p}: is a directory, not a media file")
    try:
        size = p.stat().st_size
        with open(p, "rb"):
            pass
    except OSError as e:
        raise MediaError(f"{p}: cannot be read ({e.strerror or e})") from e
    if size == 0:
        raise MediaError(f"{p}: is empty (0 bytes)")


def _open(p: Path):
    import av

    try:
        return av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        if mp4index.looks_like_mp4(p):
            try:
                mp4index.read_index(p)
            except mp4index.Mp4Error as why:
                raise MediaError(f"{p}: truncated or corrupt MP4: {why}") from e
        raise MediaError(f"{p}: not a media file or corrupt ({_ffmpeg_reason(e)})") from e
    except (OSError, UnicodeDecodeError) as e:
        raise MediaError(f"{p}: cannot be opened ({e})") from e


def _ffmpeg_reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return str(text).split(":")[0].strip() or type(e).__name__


def _probe_file(p: Path, given: str) -> VideoInfo:
    import av

    size = p.stat().st_size
    index = None
    if mp4index.looks_like_mp4(p):
        try:
            index = mp4index.read_index(p)
        except mp4index.Mp4Error as e:
            raise MediaError(f"{p}: truncated or corrupt MP4: {e}") from e
        if index is not None:
            end = max((t.data_end for t in index.tracks), default=0)
            if end > size:
                raise MediaError(f"{p}: truncated: the index expects {end} bytes of data but the file has {size}")
    container = _open(p)
    try:
        start = (container.start_time or 0) / AV_TIME_BASE
        videos: list[VideoStream] = []
        audios: list[AudioStream] = []
        subs: list[SubtitleStream] = []
        v_tracks = index.video_tracks() if index is not None else []
        for stream in container.streams:
            if stream.type == "video":
                if _is_cover(stream):
                    continue  # an attached picture (cover art), not a video
                track = v_tracks[len(videos)] if len(videos) < len(v_tracks) else None
                videos.append(_video_stream(container, stream, start, track, p))
            elif stream.type == "audio":
                cc = stream.codec_context
                audios.append(AudioStream(
                    index=stream.index, codec=cc.name if cc is not None else "unknown",
                    sample_rate=int(getattr(cc, "sample_rate", 0) or 0), channels=int(getattr(cc, "channels", 0) or 0),
                    duration=_seconds(stream.duration, stream.time_base), language=_lang(stream)))
            elif stream.type == "subtitle":
                cc = stream.codec_context
                subs.append(SubtitleStream(index=stream.index, codec=cc.name if cc is not None else "unknown",
                                           language=_lang(stream), title=stream.metadata.get("title")))
        if not videos and not audios:
            raise MediaError(f"{p}: contains no audio or video stream")
        duration = container.duration / AV_TIME_BASE if container.duration else None
        if not duration:
            spans = [v.duration for v in videos if v.duration] + [a.duration for a in audios if a.duration]
            duration = max(spans) if spans else 0.0
        if not duration or duration <= 0:
            raise MediaError(f"{p}: has zero duration")
        fmt = container.format.name if container.format is not None else "unknown"
        bit_rate = int(container.bit_rate) if container.bit_rate else None
    except av.error.FFmpegError as e:
        raise MediaError(f"{p}: corrupt ({_ffmpeg_reason(e)})") from e
    finally:
        container.close()
    best = max(videos, key=lambda v: (v.width * v.height, -v.index)) if videos else None
    return VideoInfo(path=given, container=fmt, duration=float(duration), size_bytes=size, bit_rate=bit_rate,
                     start_time=start, video=best, video_streams=tuple(videos), audio_streams=tuple(audios),
                     subtitle_streams=tuple(subs))


def _is_cover(stream) -> bool:
    """An attached picture (cover art) shows up as a one-frame video stream; it is not a video."""
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _lang(stream) -> str | None:
    lang = stream.metadata.get("language")
    return None if lang in (None, "", "und") else lang


def _seconds(ticks: int | None, time_base: Fraction | None) -> float | None:
    if ticks is None or time_base is None:
        return None
    return float(ticks * time_base)


def _rate(value: Fraction | None) -> float | None:
    if value is None or value.denominator == 0 or value <= 0:
        return None
    return round(float(value), 6)


def _video_stream(container, stream, start: float, track: mp4index.TrackIndex | None, p: Path) -> VideoStream:
    cc = stream.codec_context
    tb = stream.time_base
    if track is not None and track.count > 0 and not _index_agrees(p, stream, track):
        log.debug("%s: the MP4 index disagrees with the demuxer's timestamps; reading packets instead", p)
        track = None
    if track is not None and track.count > 0:
        pts = np.sort(track.pts) - start
        keys = np.sort(track.pts[track.sync]) - start
        rotation = track.rotation
        exact = True
        tick = 1.0 / track.timescale
    else:
        pts, keys, rotation = _scan_packets(container, stream, start, p)
        exact = pts.size > 0
        tick = float(tb) if tb else 1e-3
    count = int(pts.size) if exact else None
    duration = _seconds(stream.duration, tb)
    if duration is None and pts.size:
        duration = float(pts[-1] - pts[0]) + (float(np.median(np.diff(pts))) if pts.size > 1 else 0.0)
    fps_avg = _rate(stream.average_rate)
    if count is None and duration and fps_avg:
        count = round(duration * fps_avg)
    sar = stream.sample_aspect_ratio or (cc.sample_aspect_ratio if cc is not None else None)
    return VideoStream(
        index=stream.index,
        codec=cc.name if cc is not None else "unknown",
        width=int(cc.width if cc is not None else 0),
        height=int(cc.height if cc is not None else 0),
        rotation=rotation,
        sample_aspect=f"{sar.numerator}:{sar.denominator}" if sar else "1:1",
        pix_fmt=(cc.format.name if cc is not None and cc.format is not None else "unknown"),
        fps_nominal=_rate(stream.base_rate) or _rate(stream.guessed_rate),
        fps_average=fps_avg,
        frame_count=count,
        frame_count_exact=bool(exact),
        vfr=_is_vfr(pts, tick),
        duration=duration,
        start_time=float((stream.start_time or 0) * tb) if tb else 0.0,
        keyframes=tuple(round(float(k), 6) for k in keys) if keys is not None else None,
        bit_rate=int(cc.bit_rate) if cc is not None and cc.bit_rate else None,
    )


def _index_agrees(p: Path, stream, track: mp4index.TrackIndex, packets: int = INDEX_CHECK_PACKETS) -> bool:
    """Whether the first packets FFmpeg demuxes carry the PTS the index gives them (ticks)."""
    import av

    if abs(float(stream.time_base) * track.timescale - 1.0) > 1e-12:
        return False
    expected = np.round(track.pts[:packets] * track.timescale).astype(np.int64).tolist()
    seen: list[int] = []
    try:
        with av.open(str(p), metadata_errors="ignore") as c:
            for packet in c.demux(c.streams[stream.index]):
                if packet.size == 0:
                    continue
                seen.append(packet.pts if packet.pts is not None else -(2**62))
                if len(seen) == len(expected):
                    break
    except av.error.FFmpegError:
        return False
    return seen == expected


def _scan_packets(container, stream, start: float, p: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Demux (never decode) every packet of ``stream``: sorted PTS and keyframe PTS, in seconds."""
    import av

    tb = float(stream.time_base)
    pts: list[int] = []
    keys: list[int] = []
    try:
        for packet in container.demux(stream):
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None or packet.size == 0:
                continue
            pts.append(stamp)
            if packet.is_keyframe:
                keys.append(stamp)
    except av.error.FFmpegError as e:
        raise MediaError(f"{p}: corrupt or truncated ({_ffmpeg_reason(e)})") from e
    rotation = _first_frame_rotation(p, stream.index)
    times = np.sort(np.asarray(pts, dtype=np.float64)) * tb - start
    key_times = np.sort(np.asarray(keys, dtype=np.float64)) * tb - start
    return times, key_times, rotation


def _first_frame_rotation(p: Path, index: int) -> int:
    """Clockwise display rotation, read from the first decoded frame's display matrix."""
    import av

    try:
        with av.open(str(p), metadata_errors="ignore") as c:
            for frame in c.decode(c.streams[index]):
                return int(round(-float(getattr(frame, "rotation", 0) or 0) / 90.0) * 90) % 360
    except av.error.FFmpegError:
        return 0
    return 0


def _is_vfr(pts: np.ndarray, tick: float) -> bool:
    """True when frame intervals vary beyond time-base rounding."""
    if pts.size < 3:
        return False
    d = np.diff(pts)
    med = float(np.median(d))
    if med <= 0:
        return False
    off = np.abs(d - med) > max(VFR_TICKS * tick, VFR_RELATIVE * med)
    return bool(off.any())
