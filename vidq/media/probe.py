"""``probe(path)``: what a media file holds, read from its headers and index, never by decoding it all.

For MP4/MOV the sample tables are parsed directly (:mod:`vidq.media.mp4index`): exact frame
count, every keyframe's presentation time, VFR from the frame intervals, display rotation
from the track matrix, and where each sample's data lies, so a file cut short is described
up to its last complete sample with the rest reported as damaged.  Other containers
(Matroska, WebM, AVI, MPEG-TS...) are demuxed packet by packet without decoding, which gives
the same facts at the cost of reading the file once, and more:

- clock jumps of MPEG-TS/PS captures (splices, channel changes, files joined with ``cat``),
  found among the video packets and mapped away (:mod:`vidq.media.timemap`): every time in
  ``VideoInfo`` is on the continuous timeline, and ``discontinuities`` says where the jumps were;
- damaged spans (``damaged``): packets the demuxer flagged corrupt, holes where packets are
  missing in a regularly spaced stream, and a demuxer that gave up part-way;
- a file that grows while it is read (a recording in progress) is described up to the size
  it had when the probe began, with ``partial`` set; :func:`settle`, after the file was read,
  marks it partial if it grew since and drops the losses at the writer's frontier.

The container's duration is replaced by where the packets end when the two disagree
absurdly (a header claiming days for a minute of video), and a picture size in the header
beyond ``MAX_SIDE`` is checked against the first frame.

Every failure is a :class:`~vidq.errors.MediaError` with one line naming the file and the
problem.  Results are cached in the :class:`~vidq.store.Store` as ``PROBE_STAGE`` when one is
given.  This module knows nothing about sampling, decoding to pixels, models or tasks.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vidq.errors import MediaError
from vidq.media import mp4index
from vidq.media.damage import behind_frontier, ffmpeg_reason, merge
from vidq.media.timemap import TimeMap, find_discontinuities, may_jump
from vidq.media.types import AudioStream, Damage, Discontinuity, SubtitleStream, VideoInfo, VideoStream
from vidq.media.watchdog import Watchdog
from vidq.store import Store

log = logging.getLogger("vidq.media")

PROBE_STAGE = "probe/4"  # cache stage name; bump when VideoInfo's meaning changes (3: damage, discontinuities,
# partial; 4: a few frames missing from a regular video stream are damage)
AV_TIME_BASE = 1_000_000  # FFmpeg's container-level clock, ticks per second
VFR_RELATIVE = 0.10  # an interval this far (relative) from the median one marks the stream VFR
INDEX_CHECK_PACKETS = 16  # packets whose PTS must match the MP4 index before it is trusted
VFR_TICKS = 2  # ... and at least this many time-base ticks (rounding of 29.97 in ms is not VFR)
GAP_FRAMES = 8  # a hole this many frame intervals wide in a regularly spaced stream is missing packets ...
GAP_MIN = 0.5  # ... when it is also at least this many seconds long
MISSING_FRAMES = 1.9  # in a video stream measured regular, a hole this many intervals wide is frames gone missing
REGULAR_SHARE = 0.02  # a stream with fewer intervals than this off the median by half is regularly spaced
DURATION_SLACK = 1.0  # seconds the container's duration may differ from where the packets end ...
DURATION_SHARE = 0.1  # ... or this share of it, before the packets win
MAX_SIDE = 16384  # pixels: a picture side beyond this is not believed (FFmpeg refuses larger pictures)
FIRST_FRAME_PACKETS = 300  # packets tried for the first decodable frame (rotation, size)
RECENT_PROBES = 16  # probes a process keeps, by file version
MOVING_END = 1.0  # seconds at the end of a file being written that are left out (the writer is in them)

_RECENT: dict[tuple, VideoInfo] = {}  # (real path, size, mtime_ns, inode) -> probe, oldest first


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
                info = replace(info_from_dict(cached), path=str(path))
                _remember(p, info)
                return info
            except (KeyError, TypeError, ValueError):
                log.debug("ignoring a damaged probe cache entry for %s", p)
    known = _recent_probe(p)
    info = replace(known, path=str(path)) if known is not None else _probe_file(p, str(path))
    if key is not None and store is not None:
        store.put_json(key, PROBE_STAGE, {}, info_to_dict(info))
    _remember(p, info)
    return info


def _identity(p: Path) -> tuple | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def _recent_probe(p: Path) -> VideoInfo | None:
    """This process's probe of exactly this file version (path, size, mtime, inode), if any."""
    ident = _identity(p)
    return _RECENT.get(ident) if ident is not None else None


def _remember(p: Path, info: VideoInfo) -> None:
    """Keep a probe for the rest of the process (audio extraction of an MPEG-TS file needs its
    clock map, and callers that did not pass it down should not scan the file again)."""
    if info.partial:
        return
    ident = _identity(p)
    if ident is None or ident[1] != info.size_bytes:
        return
    _RECENT[ident] = info
    while len(_RECENT) > RECENT_PROBES:
        _RECENT.pop(next(iter(_RECENT)))


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
        if d.get("keyframe_pos") is not None:
            d["keyframe_pos"] = tuple(int(x) for x in d["keyframe_pos"])
        return VideoStream(**d)

    return VideoInfo(
        path=data["path"], container=data["container"], duration=float(data["duration"]),
        size_bytes=int(data["size_bytes"]), bit_rate=data["bit_rate"], start_time=float(data["start_time"]),
        video=video(data["video"]),
        video_streams=tuple(v for v in (video(d) for d in data["video_streams"]) if v is not None),
        audio_streams=tuple(AudioStream(**d) for d in data["audio_streams"]),
        subtitle_streams=tuple(SubtitleStream(**d) for d in data["subtitle_streams"]),
        damaged=tuple(Damage(**d) for d in data.get("damaged", ())),
        discontinuities=tuple(Discontinuity(**d) for d in data.get("discontinuities", ())),
        partial=bool(data.get("partial", False)),
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
        raise MediaError(f"{p}: not a media file or corrupt ({ffmpeg_reason(e)})") from e
    except (OSError, UnicodeDecodeError) as e:
        raise MediaError(f"{p}: cannot be opened ({e})") from e


def _probe_file(p: Path, given: str) -> VideoInfo:
    import av

    size = p.stat().st_size  # what this probe describes: a file still being written grows past it
    index, cut = _mp4_index(p, size)
    container = _open(p)
    damaged: list[Damage] = []
    try:
        start = (container.start_time or 0) / AV_TIME_BASE
        v_src = [s for s in container.streams.video if not _is_cover(s)]  # cover art is not a video
        a_src = list(container.streams.audio)
        if not v_src and not a_src:
            kinds = sorted({s.type for s in container.streams})
            held = f" (it holds only {', '.join(kinds)})" if kinds else ""
            raise MediaError(f"{p}: contains no audio or video stream{held}")
        # every packet is read once for files without an MP4 index; an audio-only capture only when its clock may jump
        scan = _scan(container, [*v_src, *a_src], size, p) if index is None and (v_src or may_jump(container)) else None
        if scan is not None and p.stat().st_size > size:  # still being written: its last packets may be cut
            _drop_moving_end(scan, size, container.bit_rate, v_src)
        if scan is not None:  # a video stream without a single packet (a radio channel's idle PID) is no video
            v_src = [s for s in v_src if scan.packets[s.index].pts]
        best_src = max(v_src, key=lambda s: (s.codec_context.width * s.codec_context.height, -s.index), default=None)
        tmap = None
        clock_src = best_src if best_src is not None else next((s for s in a_src if scan and scan.packets[s.index].pts),
                                                               None)
        if scan is not None and clock_src is not None and may_jump(container):
            pk = scan.packets[clock_src.index]
            found = find_discontinuities(pk.pos, pk.dts, pk.pts, float(clock_src.time_base), start)
            tmap = TimeMap(found, start, size, 0.0) if found else None
        if tmap is not None:  # corrupt flags the splice itself caused (the data is whole) are no damage
            for pk in scan.packets.values():
                pk.corrupt = [c and not tmap.at_splice(q, n) for c, q, n in zip(pk.corrupt, pk.pos, pk.size)]
        v_tracks = index.video_tracks() if index is not None else []
        videos: list[VideoStream] = []
        ends: list[float] = []  # where each stream's packets end (file seconds), when known
        for n, stream in enumerate(v_src):
            track = v_tracks[n] if n < len(v_tracks) else None
            scanned = None
            if scan is not None:
                pk = scan.packets[stream.index]
                scanned = (_file_times(pk, stream, start, tmap), _file_times(pk, stream, start, tmap, pk.key))
            video, end = _video_stream(stream, start, track, scanned, p, measured=tmap is not None or cut is not None)
            if tmap is not None:  # where the clock jumps, seeks go by byte offset: keep each keyframe's
                video = replace(video, keyframe_pos=_keyframe_offsets(scan.packets[stream.index], stream, start, tmap))
            videos.append(video)
            if end is not None:
                ends.append(end)
            if stream is best_src and scanned is not None:
                pk = scan.packets[stream.index]
                jumps = may_jump(container)
                damaged += _losses(scanned[0], _file_times(pk, stream, start, tmap, pk.corrupt), "video",
                                   regular=jumps, clock_may_jump=jumps)
        a_tracks = [t for t in index.tracks if t.handler == "soun"] if index is not None else []
        audios: list[AudioStream] = []
        for n, stream in enumerate(a_src):
            cc = stream.codec_context
            duration = _seconds(stream.duration, stream.time_base)
            if scan is not None:
                pk = scan.packets[stream.index]
                times = _file_times(pk, stream, start, tmap)
                if times.size:
                    ends.append(float(times.max()) + pk.dur[int(np.argmax(pk.pts))] * float(stream.time_base))
                    if tmap is not None:
                        duration = ends[-1] - float(times.min())
                if n == 0:
                    damaged += _losses(times, _file_times(pk, stream, start, tmap, pk.corrupt), "audio", regular=True)
            elif n < len(a_tracks) and a_tracks[n].count:
                ends.append(_track_end(a_tracks[n], start))
            audios.append(AudioStream(
                index=stream.index, codec=cc.name if cc is not None else "unknown",
                sample_rate=int(getattr(cc, "sample_rate", 0) or 0), channels=int(getattr(cc, "channels", 0) or 0),
                duration=duration, language=_lang(stream)))
        subs = [SubtitleStream(index=s.index, codec=s.codec_context.name if s.codec_context is not None else "unknown",
                               language=_lang(s), title=s.metadata.get("title")) for s in container.streams.subtitles]
        declared = container.duration / AV_TIME_BASE if container.duration else None
        duration = _duration(declared, ends, videos, audios, measured_wins=tmap is not None or cut is not None,
                             every_stream=len(ends) == len(v_src) + len(a_src))
        if declared and duration and not math.isclose(declared, duration, rel_tol=0.01, abs_tol=0.05):
            log.debug("%s: the container says %.3f s; the packets end at %.3f s", p, declared, duration)
        if not duration or duration <= 0:
            raise MediaError(f"{p}: has zero duration" + ("" if videos or audios else " (no packets)"))
        if cut is not None:
            damaged.append(Damage(round(cut[0] - start, 6), round(max(cut[1] - start, cut[0] - start), 6), "file",
                                  f"truncated: {size} of {cut[2]} bytes"))
        if scan is not None and scan.stopped:
            at = scan.stopped_at - start if tmap is None else tmap.to_file(scan.stopped_at, scan.stopped_pos)
            damaged.append(Damage(round(at, 6), round(max(duration, at), 6), "file",
                                  f"unreadable from there on ({scan.stopped})"))
        fmt = container.format.name if container.format is not None else "unknown"
        bit_rate = int(container.bit_rate) if container.bit_rate else None
    except av.error.FFmpegError as e:
        raise MediaError(f"{p}: corrupt ({ffmpeg_reason(e)})") from e
    finally:
        container.close()
    best = max(videos, key=lambda v: (v.width * v.height, -v.index)) if videos else None
    grown = p.stat().st_size > size
    if grown:
        log.debug("%s: grew while it was probed; describing its first %d bytes", p, size)
        # the writer was mid-packet where the probe stopped reading: that is the frontier, not damage
        damaged = list(behind_frontier(damaged, float(duration)))
    return VideoInfo(path=given, container=fmt, duration=float(duration), size_bytes=size, bit_rate=bit_rate,
                     start_time=start, video=best, video_streams=tuple(videos), audio_streams=tuple(audios),
                     subtitle_streams=tuple(subs), damaged=merge(damaged),
                     discontinuities=tmap.discontinuities if tmap is not None else (), partial=grown)


def _mp4_index(p: Path, size: int) -> tuple[mp4index.Mp4Index | None, tuple[float, float, int] | None]:
    """The MP4 index (``None`` for other files and layouts it does not model) and, for a file
    cut short, ``(first missing time, declared end, bytes expected)`` on the track clock.

    Samples whose data lies past the end of the file are dropped from the index.
    """
    if not mp4index.looks_like_mp4(p):
        return None, None
    try:
        index = mp4index.read_index(p)
    except mp4index.Mp4Error as e:
        raise MediaError(f"{p}: truncated or corrupt MP4: {e}") from e
    if index is None:
        return None, None
    expected = max((t.data_end for t in index.tracks), default=0)
    if expected <= size:
        return index, None
    missing = [t.pts[t.ends > size] for t in index.tracks if t.ends is not None and t.handler in ("vide", "soun")]
    missing = [m for m in missing if m.size]
    if not missing:
        return index, None
    first = min(float(m.min()) for m in missing)
    declared = max(float(t.pts.max()) for t in index.tracks if t.count)
    tracks = []
    for t in index.tracks:
        keep = t.pts < first if t.handler in ("vide", "soun") else np.ones(t.count, dtype=bool)
        tracks.append(replace(t, pts=t.pts[keep], sync=t.sync[keep], ends=None if t.ends is None else t.ends[keep]))
    if not any(t.count for t in tracks if t.handler in ("vide", "soun")):
        raise MediaError(f"{p}: truncated: the index expects {expected} bytes of data but the file has {size}, "
                         "too few for one frame")
    log.debug("%s: cut off at byte %d of %d; usable up to %.3f s", p, size, expected, first)
    return mp4index.Mp4Index(tuple(tracks), index.file_size), (first, declared, expected)


def _track_end(track: mp4index.TrackIndex, start: float) -> float:
    """File seconds just past a track's last sample (its median sample duration after it)."""
    pts = np.sort(track.pts)
    step = float(np.median(np.diff(pts))) if pts.size > 1 else 0.0
    return float(pts[-1]) + step - start


def _duration(declared: float | None, ends: list[float], videos: list[VideoStream], audios: list[AudioStream], *,
              measured_wins: bool, every_stream: bool) -> float:
    """The file's duration: the container's unless the packets prove it wrong.

    The packets' end wins when times were re-mapped or the file is cut short, and when every
    stream's end is known and the container's figure is off by more than ``DURATION_SLACK``
    seconds and ``DURATION_SHARE`` of it (a header claiming days for a minute of video).
    """
    measured = max(ends) if ends else None
    if measured is not None and (measured_wins or not declared or (
            every_stream and abs(declared - measured) > max(DURATION_SLACK, DURATION_SHARE * measured))):
        return measured
    if declared:
        return declared
    spans = [v.duration for v in videos if v.duration] + [a.duration for a in audios if a.duration]
    return max(spans) if spans else 0.0


@dataclass
class _Packets:
    """One stream's packets in file order, as demuxed (ticks of the stream's time base)."""

    pos: list[int] = field(default_factory=list)  # byte offsets (-1: unknown)
    dts: list[int] = field(default_factory=list)  # decode timestamps (the PTS where there is none)
    pts: list[int] = field(default_factory=list)  # presentation timestamps (the DTS where there is none)
    key: list[bool] = field(default_factory=list)  # keyframe flags
    corrupt: list[bool] = field(default_factory=list)  # flagged corrupt by the demuxer
    dur: list[int] = field(default_factory=list)  # packet durations (0: unknown)
    size: list[int] = field(default_factory=list)  # bytes of payload


@dataclass
class _Scan:
    packets: dict[int, _Packets]  # stream index -> packets
    stopped: str | None = None  # why the scan ended before the end of the file
    stopped_at: float = 0.0  # raw clock (seconds) of the last packet read before it did
    stopped_pos: int = -1  # and its byte offset


def _scan(container, streams: list, limit: int, p: Path) -> _Scan:
    """Demux (never decode) every packet of ``streams`` that starts in the first ``limit`` bytes.

    A demuxer error part-way stops the scan there (``stopped``); one before any packet is a
    ``MediaError``.  The watchdog ends a demuxer that goes round in circles.
    """
    import av

    out = _Scan({s.index: _Packets() for s in streams})
    watch = Watchdog(f"{p}: probing")
    seen = 0
    last = (None, 0.0)
    pos = -1
    try:
        for packet in container.demux(*streams):
            if packet.size == 0:
                continue
            if packet.pos is not None and packet.pos >= 0:
                pos = packet.pos  # frames a parser split out of one packet carry none: they lie at the last one
            if pos >= limit:
                break  # written after the probe began
            watch.step(pos, packet.dts if packet.dts is not None else packet.pts)
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                continue
            rec = out.packets[packet.stream.index]
            rec.pos.append(pos)
            rec.pts.append(stamp)
            rec.dts.append(packet.dts if packet.dts is not None else stamp)
            rec.key.append(bool(packet.is_keyframe))
            rec.corrupt.append(bool(packet.is_corrupt))
            rec.dur.append(int(packet.duration or 0))
            rec.size.append(int(packet.size))
            last = (packet.stream, stamp)
            seen += 1
    except av.error.FFmpegError as e:
        if not seen:
            raise MediaError(f"{p}: corrupt or truncated ({ffmpeg_reason(e)})") from e
        out.stopped = f"{ffmpeg_reason(e)} after byte {pos}"
        stream, stamp = last
        out.stopped_at, out.stopped_pos = float(stamp * stream.time_base), pos
        log.debug("%s: demuxing stopped early: %s", p, out.stopped)
    return out


def _drop_moving_end(scan: _Scan, size: int, bit_rate: int | None, videos: list) -> None:
    """Forget the packets of the last ``MOVING_END`` seconds (in bytes) of a file still being written:
    the demuxer read them while the writer was half-way through them."""
    seconds = 1.0  # how long what was read lasts, for the byte rate when the container gives none
    for stream in videos:
        dts = scan.packets[stream.index].dts
        if len(dts) > 1:
            seconds = max(seconds, (max(dts) - min(dts)) * float(stream.time_base))
    rate = (bit_rate or 0) / 8 or size / seconds  # bytes per second
    cut = size - rate * MOVING_END
    for pk in scan.packets.values():
        keep = [q < cut for q in pk.pos]
        for name in ("pos", "dts", "pts", "key", "corrupt", "dur", "size"):
            setattr(pk, name, [x for x, k in zip(getattr(pk, name), keep) if k])


def _file_times(pk: _Packets, stream, start: float, tmap: TimeMap | None, only: list[bool] | None = None) -> np.ndarray:
    """Sorted file seconds of a stream's packets (of those flagged in ``only``, when given)."""
    tb = float(stream.time_base)
    sel = np.asarray(only, dtype=bool) if only is not None else slice(None)
    raw = np.asarray(pk.pts, dtype=np.float64)[sel] * tb
    if tmap is None:
        return np.sort(raw - start)
    pos = np.asarray(pk.pos, dtype=np.int64)[sel]
    return np.sort(np.array([tmap.to_file(float(r), int(q)) for r, q in zip(raw, pos)], dtype=np.float64))


def _keyframe_offsets(pk: _Packets, stream, start: float, tmap: TimeMap) -> tuple[int, ...]:
    """Byte offsets of a stream's keyframes, in the order of their (mapped, sorted) times."""
    sel = np.asarray(pk.key, dtype=bool)
    raw = np.asarray(pk.pts, dtype=np.float64)[sel] * float(stream.time_base)
    pos = np.asarray(pk.pos, dtype=np.int64)[sel]
    times = np.array([tmap.to_file(float(r), int(q)) for r, q in zip(raw, pos)], dtype=np.float64)
    return tuple(int(x) for x in pos[np.argsort(times, kind="stable")])


def _losses(times: np.ndarray, bad: np.ndarray, stream: str, *, regular: bool,
            clock_may_jump: bool = False) -> list[Damage]:
    """Damaged spans of one stream from its sorted packet times: packets the demuxer flagged
    corrupt, and (in a stream of regular spacing: ``regular``, or measured so) holes
    ``GAP_FRAMES`` intervals wide.  In the video of a container whose clock may jump (a transport
    stream: ``clock_may_jump``) whose intervals are whole multiples of the usual one (all but
    ``REGULAR_SHARE`` of them), holes of ``MISSING_FRAMES`` intervals: whole frames lost (noise
    can take the packets of a few frames without a continuity error), and the frames after them
    refer to them."""
    out: list[Damage] = []
    if times.size < 2:
        return out
    d = np.diff(times)
    step = float(np.median(d[d > 0])) if np.any(d > 0) else 0.0
    if step <= 0:
        return out
    if not regular:
        regular = float(np.mean(np.abs(d - step) > 0.5 * step)) < REGULAR_SHARE
    gap = max(GAP_FRAMES * step, GAP_MIN)
    if regular and clock_may_jump and stream == "video":  # a transport stream's video (no index to lose frames from)
        multiple = d / step  # intervals in steps: whole numbers above one in a regular stream are holes
        if float(np.mean((multiple < 0.5) | (np.abs(multiple - np.round(multiple)) > 0.25))) < REGULAR_SHARE:
            gap = MISSING_FRAMES * step
    if regular:
        for i in np.flatnonzero(d > gap):
            out.append(Damage(round(float(times[i]), 6), round(float(times[i + 1]), 6), stream, "missing packets"))
    for t in bad.tolist():
        i = int(np.searchsorted(times, t, side="right"))
        after = float(times[i]) if i < times.size else t + step
        out.append(Damage(round(t, 6), round(max(after, t + step), 6), stream, "corrupt packets"))
    return out


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


def _video_stream(stream, start: float, track: mp4index.TrackIndex | None,
                  scanned: tuple[np.ndarray, np.ndarray] | None, p: Path, *,
                  measured: bool) -> tuple[VideoStream, float | None]:
    """One video stream, and where its frames end (file seconds) when the index or scan says.

    ``scanned``: sorted file times of its packets and of its keyframes, from the packet
    scan; ``measured``: its duration comes from those times, not the header.
    """
    cc = stream.codec_context
    tb = stream.time_base
    if track is not None and track.count > 0 and not _index_agrees(p, stream, track):
        log.debug("%s: the MP4 index disagrees with the demuxer's timestamps; reading packets instead", p)
        track = None
        scanned = _demux_times(p, stream, start)
    rotation = None
    if track is not None and track.count > 0:
        pts = np.sort(track.pts) - start
        keys = np.sort(track.pts[track.sync]) - start
        rotation = track.rotation
        tick = 1.0 / track.timescale
    else:
        if scanned is None:
            scanned = _demux_times(p, stream, start)
        pts, keys = scanned
        tick = float(tb) if tb else 1e-3
    exact = pts.size > 0
    width, height, first_rotation = _checked_size(cc, p, stream, need_rotation=rotation is None)
    rotation = first_rotation if rotation is None else rotation
    count = int(pts.size) if exact else None
    step = float(np.median(np.diff(pts))) if pts.size > 1 else 0.0
    end = float(pts[-1]) + step if pts.size else None
    duration = _seconds(stream.duration, tb)
    if pts.size and (duration is None or measured):
        duration = float(pts[-1] - pts[0]) + step
    fps_avg = _rate(stream.average_rate)
    if count is None and duration and fps_avg:
        count = round(duration * fps_avg)
    sar = stream.sample_aspect_ratio or (cc.sample_aspect_ratio if cc is not None else None)
    return VideoStream(
        index=stream.index,
        codec=cc.name if cc is not None else "unknown",
        width=width,
        height=height,
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
    ), end


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


def _demux_times(p: Path, stream, start: float) -> tuple[np.ndarray, np.ndarray]:
    """Sorted file times of one stream's packets and keyframes, demuxed from a fresh open."""
    import av

    with av.open(str(p), metadata_errors="ignore") as c:
        s = c.streams[stream.index]
        pk = _scan(c, [s], 2**62, p).packets[s.index]
        return _file_times(pk, s, start, None), _file_times(pk, s, start, None, pk.key)


def _checked_size(cc, p: Path, stream, *, need_rotation: bool) -> tuple[int, int, int]:
    """(width, height, rotation) of a video stream's pictures.

    The header's size is trusted when it is plausible (1 to ``MAX_SIDE`` pixels a side);
    otherwise, and when the rotation must come from a frame (no MP4 track matrix), the first
    frame that decodes says.  ``MediaError`` when the frames themselves are beyond ``MAX_SIDE``.
    """
    width = int(cc.width or 0) if cc is not None else 0
    height = int(cc.height or 0) if cc is not None else 0
    plausible = 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE
    if plausible and not need_rotation:
        return width, height, 0
    first = _first_frame(p, stream.index)
    if first is None:
        return width, height, 0  # nothing decodes: the decode walk says so when asked for frames
    rotation, fw, fh = first
    if not plausible:
        if not (0 < fw <= MAX_SIDE and 0 < fh <= MAX_SIDE):
            raise MediaError(f"{p}: video frames of {fw}x{fh} pixels are beyond what vidq decodes "
                             f"(at most {MAX_SIDE} pixels a side)")
        log.debug("%s: the header says %dx%d; the frames are %dx%d", p, width, height, fw, fh)
        width, height = fw, fh
    return width, height, rotation


def _first_frame(p: Path, index: int) -> tuple[int, int, int] | None:
    """(clockwise rotation, width, height) of the first frame that decodes within ``FIRST_FRAME_PACKETS``."""
    import av

    try:
        with av.open(str(p), metadata_errors="ignore") as c:
            stream = c.streams[index]
            for n, packet in enumerate(c.demux(stream)):
                if n >= FIRST_FRAME_PACKETS:
                    break
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    continue
                for frame in frames:
                    rotation = int(round(-float(getattr(frame, "rotation", 0) or 0) / 90.0) * 90) % 360
                    return rotation, int(frame.width), int(frame.height)
    except av.error.FFmpegError:
        return None
    return None


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


def settle(info: VideoInfo, path: str | os.PathLike, spans=()) -> tuple[VideoInfo, tuple[Damage, ...]]:
    """After a file was read: ``info`` marked partial if the file has grown since it was probed
    (a recording in progress), and the damaged spans (the probe's and ``spans`` found while
    decoding), less the writer's frontier when it grew: a decode that reached the end met a
    half-written packet, which the next read finds whole."""
    try:
        grown = os.path.getsize(path) != info.size_bytes
    except OSError:
        grown = False
    info = replace(info, partial=True) if grown and not info.partial else info
    found = merge([*info.damaged, *spans])
    return info, (behind_frontier(found, info.duration) if info.partial else found)
