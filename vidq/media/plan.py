"""``plan_samples``: which moments of a video to look at, as target times in seconds.

Modes (one at a time):

- uniform N (the default): the clip [start, end] is cut into N equal segments and the
  target is each segment's *centre*, ``start + (i + 0.5) * (end - start) / N``, as
  SlowFast-LLaVA and LLaVA-NeXT sample; no target sits on the very first or last instant.
- fixed rate F: ``start, start + 1/F, start + 2/F, ...`` below ``end``.
- every S seconds: ``start, start + S, ...`` below ``end``.
- keyframes: the keyframe times (from ``probe``) inside [start, end].

A plan never holds more targets than the clip has frames: a denser request is thinned
evenly to the frame count, and a log line says so.  Times are rounded to microseconds.
The default tolerance for ``fast`` accuracy is half the sampling interval.

This module knows nothing about decoding: it only does arithmetic on a ``VideoInfo``.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from vidq.errors import InputError
from vidq.media.types import Accuracy, SamplePlan, VideoInfo

log = logging.getLogger("vidq.media")

DEFAULT_FRAMES = 16  # uniform targets when no mode is given
END_SLACK = 1e-3  # seconds an --end may exceed the duration (rounding of printed durations)
TIME_DECIMALS = 6  # targets are rounded to microseconds


def video_span(info: VideoInfo) -> tuple[float, float]:
    """(first, last) instants of the video track on the 0-based timeline, in seconds."""
    video = info.video
    end = info.duration
    first = 0.0
    if video is not None:
        first = max(0.0, video.start_time - info.start_time)
        if video.duration:
            end = min(end, first + video.duration) if end else first + video.duration
    return first, max(end, first)


def plan_samples(
    info: VideoInfo,
    *,
    frames: int | None = None,
    fps: float | None = None,
    every: float | None = None,
    keyframes: bool = False,
    start: float | None = None,
    end: float | None = None,
    accuracy: Accuracy = "exact",
    tolerance: float | None = None,
) -> SamplePlan:
    """Target times for sampling ``info``'s video; ``InputError`` (exit 2) for absurd requests."""
    chosen = [name for name, given in (("--frames", frames is not None), ("--fps", fps is not None),
                                       ("--every", every is not None), ("--keyframes", keyframes)) if given]
    if len(chosen) > 1:
        raise InputError(f"choose one sampling mode, not {' and '.join(chosen)}")
    if accuracy not in ("exact", "fast"):
        raise InputError(f"accuracy must be 'exact' or 'fast', not {accuracy!r}")
    if info.video is None:
        raise InputError(f"{info.path}: has no video stream (audio only); nothing to sample")
    lo, hi = clip_span(info, start, end)
    span = hi - lo
    if keyframes:
        keys = info.video.keyframes
        if keys is None:
            raise InputError(f"{info.path}: keyframe times are unknown for this file; use --frames or --fps")
        arr = np.asarray(keys, dtype=np.float64)
        times = arr[(arr >= lo - 1e-9) & (arr <= hi + 1e-9)]
        if times.size == 0:
            raise InputError(f"no keyframe between {lo:.3f} s and {hi:.3f} s")
        mode, interval = "keyframes", 0.0
    elif fps is not None or every is not None:
        step = _positive(every, "--every") if every is not None else 1.0 / _positive(fps, "--fps")
        count = max(1, math.ceil(span / step - 1e-9)) if span > 0 else 1
        times = lo + step * np.arange(count, dtype=np.float64)
        times = times[times < hi - 1e-9] if span > 0 else times
        mode, interval = ("every" if every is not None else "fps"), step
    else:
        n = DEFAULT_FRAMES if frames is None else frames
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"--frames must be a whole number of at least 1, not {frames!r}")
        n = int(n)
        limit = _frame_limit(info, lo, hi)
        if n > limit:
            log.info("asked for %d frames but the clip has only %d; sampling %d", n, limit, limit)
            n = limit
        times = lo + (np.arange(n, dtype=np.float64) + 0.5) * (span / n)
        mode, interval = "uniform", span / n
    times = _thin(np.round(times, TIME_DECIMALS), _frame_limit(info, lo, hi), mode)
    if tolerance is not None:
        if not math.isfinite(tolerance) or tolerance < 0:
            raise InputError(f"--tolerance must be zero or more seconds, not {tolerance}")
        tol = float(tolerance)
    else:
        tol = interval / 2.0 if accuracy == "fast" else 0.0
    return SamplePlan(times=tuple(float(t) for t in times), mode=mode, accuracy=accuracy,
                      tolerance=round(tol, TIME_DECIMALS), start=round(lo, TIME_DECIMALS), end=round(hi, TIME_DECIMALS))


def _positive(value: float | None, flag: str) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise InputError(f"{flag} must be a positive number, not {value}")
    return float(value)


def clip_span(info: VideoInfo, start: float | None, end: float | None) -> tuple[float, float]:
    """The clip ``[start, end]`` on the video track (defaults: its ends); ``InputError`` for absurd bounds."""
    first, last = video_span(info)
    lo = first if start is None else float(start)
    hi = last if end is None else float(end)
    if not math.isfinite(lo) or not math.isfinite(hi):
        raise InputError("--start/--end must be finite times")
    if lo < 0:
        raise InputError(f"--start {lo:g} is negative")
    if start is not None and lo >= last:
        raise InputError(f"--start {lo:.3f} s is at or past the end of the video ({last:.3f} s)")
    if end is not None and hi > info.duration + END_SLACK:
        raise InputError(f"--end {hi:.3f} s is past the end of the video ({info.duration:.3f} s)")
    if end is not None and hi <= 0:
        raise InputError(f"--end {hi:g} must be after the start of the video")
    hi = min(hi, last) if hi > last else hi
    if hi <= lo and not (start is None and end is None):
        raise InputError(f"--start ({lo:.3f} s) must be before --end ({hi:.3f} s)")
    lo = max(lo, first)
    return lo, max(hi, lo)


def _frame_limit(info: VideoInfo, lo: float, hi: float) -> int:
    """Frames the clip [lo, hi] holds (exact for the whole video, proportional for a part)."""
    video = info.video
    first, last = video_span(info)
    count = video.frame_count if video is not None else None
    if not count:
        rate = (video.fps_average or video.fps_nominal) if video is not None else None
        return max(1, round((hi - lo) * rate)) if rate else 1_000_000_000
    whole = last - first
    if whole <= 0 or (hi - lo) >= whole - 1e-6:
        return int(count)
    return max(1, math.ceil(count * (hi - lo) / whole))


def _thin(times: np.ndarray, limit: int, mode: str) -> np.ndarray:
    """Strictly ascending unique targets, at most ``limit`` of them (evenly thinned)."""
    times = np.unique(times)
    if times.size > limit:
        log.info("the %s plan had %d targets but the clip has only %d frames; keeping %d evenly spaced",
                 mode, times.size, limit, limit)
        keep = np.unique(np.round(np.linspace(0, times.size - 1, limit)).astype(np.int64))
        times = times[keep]
    return times
