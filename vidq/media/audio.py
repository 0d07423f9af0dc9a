"""Audio extraction: decode one audio stream to float32 mono PCM at a chosen rate, in chunks.

Uses PyAV (FFmpeg's libraries in the wheel); never the ``ffmpeg`` binary.  Times are
seconds on the file's presentation timeline, shifted so the container start is 0 (the
same clock as ``VideoInfo`` and frame PTS).  The samples yielded are *contiguous*: the
first chunk starts exactly at the requested ``start`` (or 0), a stream that begins late
or has holes in its timestamps is padded with silence, and chunk ``i + 1`` starts where
chunk ``i`` ended.  So ``chunk.start + n / sample_rate`` is the time of sample ``n``.

Memory is bounded by ``chunk_seconds``, not by the length of the file.

Damage never ends the stream early: an undecodable packet is skipped (its time filled with
silence), a hole of missing packets is filled with silence, and each chunk lists in
``damaged`` the spans of its own that were filled so.  Only a stream with more undecodable
packets than good ones is an error.  Where the clock of an MPEG-TS/PS capture jumps, packet
times go through the same map as the video's (:mod:`vidq.media.timemap`), so audio and
video share one continuous timeline.

This module knows nothing about speech recognition, subtitles, models or tasks.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vidq.errors import InputError, MediaError
from vidq.media.timemap import TimeMap, may_jump
from vidq.media.types import Damage, VideoInfo
from vidq.media.watchdog import Watchdog

log = logging.getLogger("vidq.media")

DEFAULT_SAMPLE_RATE = 16000  # Hz; what Whisper models expect
DEFAULT_CHUNK_SECONDS = 30.0  # seconds of audio per yielded chunk
GAP_TOLERANCE = 0.05  # seconds; timestamp holes longer than this are filled with silence
SEEK_MARGIN = 1.0  # seconds; seek this much before the clip start and decode forward
EARLY_ERRORS = 20  # undecodable packets after which a stream with more bad than good packets is abandoned
HOLE_DAMAGE = 0.5  # seconds: a hole this long after the first sample is reported as damaged


@dataclass(frozen=True)
class AudioChunk:
    """A run of decoded audio."""

    start: float  # seconds on the file timeline (0-based like PTS) of samples[0]
    samples: np.ndarray  # (n,) float32 mono in [-1, 1] at the requested sample rate
    damaged: tuple[Damage, ...] = ()  # spans filled with silence because packets were missing or undecodable


def _open(path: str | os.PathLike):
    import av

    p = os.fspath(path)
    if not os.path.exists(p):
        raise MediaError(f"{p}: no such file")
    if os.path.isdir(p):
        raise MediaError(f"{p}: is a directory, not a media file")
    try:
        return av.open(p, metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise MediaError(f"{p}: cannot open as media ({_reason(e)})") from e


def _reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return str(text).strip().rstrip(".")


def _pick_stream(container, path: str, stream_index: int | None):
    audio = list(container.streams.audio)
    if stream_index is None:
        if not audio:
            raise MediaError(f"{path}: has no audio stream")
        return audio[0]
    for s in audio:
        if s.index == stream_index:
            return s
    found = ", ".join(str(s.index) for s in audio) or "none"
    raise InputError(f"{path}: stream {stream_index} is not an audio stream (audio streams: {found})")


def iter_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    start: float | None = None,
    end: float | None = None,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    stream_index: int | None = None,
    info: VideoInfo | None = None,
) -> Iterator[AudioChunk]:
    """Decode an audio stream as float32 mono chunks of ``chunk_seconds`` (the last may be shorter).

    Parameters
    ----------
    path : a media file with at least one audio stream.
    sample_rate : output rate in Hz (resampled by FFmpeg's swresample).
    start, end : seconds on the file timeline; ``None`` means the file's start / end.
    chunk_seconds : length of each yielded chunk.
    stream_index : container index of the audio stream; ``None`` is the first audio stream.
    info : the file's probe, for the clock jumps of an MPEG-TS/PS capture; without it such a
        file is probed here (other containers never need it).

    Yields
    ------
    AudioChunk with ``samples`` of shape (round(chunk_seconds * sample_rate),) except the last.

    Raises
    ------
    MediaError : the file is missing, cannot be opened, has no audio stream, or no packet
        of its audio stream can be decoded.
    """

    if sample_rate <= 0:
        raise InputError(f"sample rate must be positive, got {sample_rate}")
    if chunk_seconds <= 0:
        raise InputError(f"chunk length must be positive, got {chunk_seconds}")
    t0 = float(start or 0.0)
    if end is not None and end <= t0:
        return
    name = os.fspath(path)
    container = _open(path)
    try:
        stream = _pick_stream(container, name, stream_index)
        tmap = _time_map(path, container, info)
        yield from _decode(container, stream, name, sample_rate, t0, end, chunk_seconds, tmap)
    finally:
        container.close()


def _time_map(path, container, info: VideoInfo | None) -> TimeMap | None:
    """The clock-jump map of a file whose container may jump (its probe says where)."""
    if info is None:
        if not may_jump(container):
            return None
        from vidq.media.probe import probe

        info = probe(path)
    return TimeMap.of(info)


def _decode(container, stream, name: str, sample_rate: int, t0: float, end: float | None,
            chunk_seconds: float, tmap: TimeMap | None) -> Iterator[AudioChunk]:
    import av

    origin = container.start_time / 1_000_000 if container.start_time is not None else 0.0  # AV_TIME_BASE is µs
    limit = None if end is None else round((end - t0) * sample_rate)  # samples to emit in total
    chunk_len = max(1, round(chunk_seconds * sample_rate))
    tb = float(stream.time_base) if stream.time_base is not None else None
    shifts = None if tmap is None or tb is None else [round(x / tb) for x in tmap.shifts]
    if t0 > SEEK_MARGIN and tb is not None:
        target = t0 - SEEK_MARGIN + origin  # a little early: estimated seeks (VBR MP3) may land late
        try:
            if tmap is not None:  # the demuxer's timestamp search assumes a clock that never jumps
                container.seek(tmap.seek_pos(t0, back=SEEK_MARGIN), unsupported_byte_offset=True)
            else:
                container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        except av.error.FFmpegError as e:
            log.debug("seek to %.3f s failed (%s); decoding from the start", t0, e)
            container.seek(0)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    watch = Watchdog(f"{name}: decoding audio", seconds=math.inf)  # a generator: it waits while ASR works
    damaged: list[Damage] = []  # spans not yet handed out with a chunk
    told = 0

    pending: list[np.ndarray] = []  # output samples not yet yielded
    pending_len = 0
    emitted = 0  # samples yielded so far
    cursor = t0  # timeline time of the next output sample
    frames_ok = 0
    errors = 0
    last_error = ""

    def take(block: np.ndarray) -> Iterator[AudioChunk]:
        nonlocal pending_len, emitted
        if limit is not None:
            block = block[: max(0, limit - emitted - pending_len)]
        if block.size:
            pending.append(block)
            pending_len += block.size
        while pending_len >= chunk_len:
            joined = np.concatenate(pending)
            out, rest = joined[:chunk_len], joined[chunk_len:]
            pending.clear()
            if rest.size:
                pending.append(rest)
            pending_len = rest.size
            yield AudioChunk(t0 + emitted / sample_rate, out, news())
            emitted += chunk_len

    def done() -> bool:
        return limit is not None and emitted + pending_len >= limit

    def news() -> tuple[Damage, ...]:
        nonlocal told
        fresh, told = tuple(damaged[told:]), len(damaged)
        return fresh

    def hurt(lo: float, hi: float, why: str) -> None:
        if hi > lo:
            if damaged and damaged[-1].why == why and lo <= damaged[-1].end + GAP_TOLERANCE and len(damaged) > told:
                damaged[-1] = Damage(damaged[-1].start, round(max(hi, damaged[-1].end), 6), "audio", why)
            else:
                damaged.append(Damage(round(lo, 6), round(hi, 6), "audio", why))

    packets = container.demux(stream)
    where: int | None = None  # byte offset of the last packet that had one
    lost = False  # a packet since the last decoded frame did not decode
    while not done():
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as e:  # a damaged container: stop at the damage
            errors += 1
            last_error = _reason(e)
            rest = end if end is not None else max(cursor, (container.duration or 0) / 1_000_000)
            hurt(cursor, rest, f"unreadable from there on ({last_error})")
            break
        raw = packet.pts if packet.pts is not None else packet.dts
        if packet.pos is not None and packet.pos >= 0:
            where = packet.pos  # frames the parser split out of one PES packet have no offset of their own
        if shifts is not None and raw is not None:
            shift = shifts[tmap.part(where, raw * tb)]
            if packet.is_corrupt and tmap.at_splice(where, packet.size):
                packet.is_corrupt = False  # the splice broke the continuity counter, not the data
            packet.pts = packet.pts + shift if packet.pts is not None else None
            packet.dts = packet.dts + shift if packet.dts is not None else None
        watch.step(packet.pos, packet.dts if packet.dts is not None else packet.pts)
        try:
            frames = packet.decode()
        except av.error.FFmpegError as e:
            errors += 1
            last_error = _reason(e)
            lost = True  # the next frame's time says exactly how much is missing
            if packet.pts is not None and tb is not None:
                at = packet.pts * tb - origin
                hurt(at, at + (packet.duration or 0) * tb, "undecodable")
            if errors >= EARLY_ERRORS and errors > frames_ok:
                break  # mostly undecodable: give up now rather than at the end
            continue
        for frame in frames:
            frames_ok += 1
            was_lost, lost = lost, False
            if frame.pts is not None and frame.time_base is not None:
                t = float(frame.pts * frame.time_base) - origin
            else:
                t = cursor
            n_in = frame.samples
            dur = n_in / frame.sample_rate if frame.sample_rate else 0.0
            if t + dur <= t0 - 1e-9:  # wholly before the clip (after a backward seek)
                continue
            skip = 0
            if t < t0:  # straddles the clip start: drop the head, in output samples
                skip = round((t0 - t) * sample_rate)
            elif t > cursor + (0.5 / sample_rate if was_lost else GAP_TOLERANCE):  # a hole (or a late start): silence
                explained = damaged and damaged[-1].end >= t - GAP_TOLERANCE  # undecodable packets left it
                if frames_ok > 1 and t - cursor >= HOLE_DAMAGE and not explained:
                    hurt(cursor, t, "missing packets")
                yield from take(np.zeros(round((t - cursor) * sample_rate), dtype=np.float32))
                cursor = t
            try:
                outs = resampler.resample(frame)
            except ValueError:  # the decoder changed format, rate or layout mid-stream (damage, a splice)
                outs = resampler.resample(None)  # what the old setup still holds, then a new one
                resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
                outs = list(outs) + list(resampler.resample(frame))
            for out in outs:
                block = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                if skip:
                    cut = min(skip, block.size)
                    block, skip = block[cut:], skip - cut
                cursor += block.size / sample_rate
                yield from take(block)
            if done():
                break
    if not done():
        for out in resampler.resample(None):
            block = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            yield from take(block)
    if errors and errors > frames_ok:
        what = "cannot be decoded" if frames_ok == 0 else f"is corrupt ({errors} packets undecodable, {frames_ok} decoded)"
        raise MediaError(f"{name}: audio stream {stream.index} {what}: {last_error}")
    if errors:
        log.debug("%s: skipped %d undecodable audio packet(s) (%s)", name, errors, last_error)
    if pending_len or len(damaged) > told:
        joined = np.concatenate(pending) if pending else np.zeros(0, dtype=np.float32)
        yield AudioChunk(t0 + emitted / sample_rate, joined, news())


def load_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    start: float | None = None,
    end: float | None = None,
) -> np.ndarray:
    """The whole (or ``[start, end)`` of the) first audio stream as one array.

    Returns
    -------
    np.ndarray, shape (n,), float32 mono at ``sample_rate``; sample 0 is at ``start`` (or 0).
    Use :func:`iter_audio` for long files: this holds everything in memory.
    """
    parts = [c.samples for c in iter_audio(path, sample_rate=sample_rate, start=start, end=end,
                                           chunk_seconds=max(DEFAULT_CHUNK_SECONDS, 600.0))]
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)

