"""``decode(path, plan)``: stream the planned frames as resized RGB batches.

Backends:

- ``pyav`` (the default; ``auto`` picks it): the forward-only walk of
  :mod:`vidq.media.pyav_reader`, scaling inside swscale while converting to RGB.
- ``torchcodec``: ``VideoDecoder.get_frames_played_at`` (exact) on the same plan; used only
  when asked for, since its wheels are tied to one torch build (``pip install torchcodec``).
- ``decord``: ``VideoReader.get_batch`` on frame indices mapped from the plan's times
  (optional extra ``vidq[decord]``; unmaintained since 2022).

Every backend yields :class:`FrameBatch` es of at most ``batch_size`` frames in plan
order, each frame (H, W, 3) uint8 RGB, display rotation applied, resized by the policy
(see :mod:`vidq.media.resize`), with the PTS of the frame actually shown.  With ``pyav``, a
damaged stretch of the file is skipped (targets inside it get the last clean frame before
it) and each batch lists in ``damaged`` the spans found while decoding it.  Memory is
bounded by one batch (plus the decoder's own reference frames), never by the plan length.

This module knows nothing about models or tasks.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import numpy as np

from vidq.errors import InputError, MediaError, MissingDependency
from vidq.media.probe import probe, require_video
from vidq.media.resize import Geometry, finish, plan_geometry
from vidq.media.types import (
    Damage,
    FrameBatch,
    ResizePolicy,
    SamplePlan,
    VideoInfo,
    VideoStream,
)
from vidq.progress import ProgressFn, no_progress

log = logging.getLogger("vidq.media")

BACKENDS: tuple[str, ...] = ("auto", "pyav", "torchcodec", "decord")
MAX_BATCH = 4096  # frames; a larger batch defeats the point of streaming
SCALE_ALGORITHM = "AREA"  # swscale interpolation: antialiased when shrinking, and fast (BILINEAR is 5x slower here)


def decode(
    path: str | os.PathLike,
    plan: SamplePlan,
    *,
    info: VideoInfo | None = None,
    size: int | tuple[int, int] | None = None,
    policy: ResizePolicy = "fit",
    batch_size: int = 16,
    backend: str = "auto",
    progress: ProgressFn | None = None,
) -> Iterator[FrameBatch]:
    """Yield the frames of ``plan`` in batches; see the module docstring for the backends.

    ``size``: None keeps the display size; an int is the longest side for ``fit`` (the box
    side otherwise); (w, h) is the box.  ``images`` of each batch: (B, H, W, 3) uint8 RGB.
    """
    if backend not in BACKENDS:
        raise InputError(f"unknown decoder backend {backend!r} (choose from: {', '.join(BACKENDS)})")
    if isinstance(batch_size, bool) or not 1 <= int(batch_size) <= MAX_BATCH:
        raise InputError(f"batch size must be between 1 and {MAX_BATCH}, not {batch_size}")
    info = info if info is not None else probe(path)
    video = require_video(info)
    geom = plan_geometry(video.display_size, video.rotation, size, policy)
    report = progress or no_progress
    total = len(plan.times)
    if total == 0:
        return
    if info.discontinuities and backend not in ("auto", "pyav"):
        raise InputError(f"{path}: its clock jumps (a spliced capture); only --backend pyav maps the jumps away")
    damaged: list[Damage] = []  # what the decoder could not read, as it finds it
    if backend in ("auto", "pyav"):
        from vidq.media.pyav_reader import PyAVReader

        reader = PyAVReader(path, info, video)
        damaged = reader.damaged
        answers = _pyav_answers(reader, plan, geom)
    elif backend == "torchcodec":
        answers = _torchcodec_answers(path, info, video, plan, geom)
    else:
        answers = _decord_answers(path, info, video, plan, geom)
    yield from _batches(answers, geom, int(batch_size), total, report, damaged, info.duration)


def _batches(answers: Iterator[tuple[int, float, np.ndarray]], geom: Geometry, batch_size: int, total: int,
             report: ProgressFn, damaged: list[Damage], end: float = float("inf")) -> Iterator[FrameBatch]:
    """Group ``(position, pts, image)`` into FrameBatches of ``batch_size``; each batch carries
    the damaged spans found since the previous one (``damaged`` grows as the decoder goes)."""
    h, w, _ = geom.shape
    images = np.empty((batch_size, h, w, 3), dtype=np.uint8)
    pts = np.empty(batch_size, dtype=np.float64)
    idx = np.empty(batch_size, dtype=np.int64)
    n = done = told = 0

    def news() -> tuple[Damage, ...]:
        nonlocal told
        fresh, told = tuple(damaged[told:]), len(damaged)
        return tuple(d for d in fresh if d.start < end)  # past the end: a file being written, read as it grew

    report("decode", 0, total)
    for position, stamp, image in answers:
        images[n] = image
        pts[n] = stamp
        idx[n] = position
        n += 1
        done += 1
        if n == batch_size:
            yield FrameBatch(images=images, pts=pts, indices=idx, frame_numbers=np.full(n, -1, dtype=np.int64),
                             damaged=news())
            report("decode", done, total)
            images = np.empty((batch_size, h, w, 3), dtype=np.uint8)
            pts = np.empty(batch_size, dtype=np.float64)
            idx = np.empty(batch_size, dtype=np.int64)
            n = 0
    if n:
        yield FrameBatch(images=images[:n].copy(), pts=pts[:n].copy(), indices=idx[:n].copy(),
                         frame_numbers=np.full(n, -1, dtype=np.int64), damaged=news())
        report("decode", done, total)
    if done != total:
        raise MediaError(f"decoder returned {done} of {total} planned frames")


# -- PyAV -------------------------------------------------------------------------------------

def _pyav_answers(reader, plan: SamplePlan, geom: Geometry) -> Iterator[tuple[int, float, np.ndarray]]:
    dw, dh = geom.decode_size
    last_frame = None
    last_image = None
    try:
        for position, stamp, frame in reader.answers(plan):
            if frame is not last_frame:  # each distinct frame is converted once
                rgb = frame.to_ndarray(format="rgb24", width=dw, height=dh, interpolation=SCALE_ALGORITHM)
                last_frame, last_image = frame, finish(rgb, geom)
            yield position, round(float(stamp), 6), last_image
    finally:
        log.debug("pyav: %d frames decoded for %d targets", reader.decoded, len(plan.times))
        reader.close()


# -- torchcodec --------------------------------------------------------------------------------

def _torchcodec_answers(path, info: VideoInfo, video: VideoStream, plan: SamplePlan,
                        geom: Geometry) -> Iterator[tuple[int, float, np.ndarray]]:
    try:
        import torch
        from torchcodec.decoders import VideoDecoder
    except (ImportError, OSError, RuntimeError) as e:
        raise MissingDependency("torchcodec", "gpu", f"--backend torchcodec ({type(e).__name__})") from e
    decoder = VideoDecoder(str(path), stream_index=video.index, seek_mode="approximate",
                           dimension_order="NHWC")
    dw, dh = geom.decode_size
    wanted = _targets_for(plan, video)
    chunk = 32
    for first in range(0, len(wanted), chunk):
        part = wanted[first:first + chunk]
        batch = decoder.get_frames_played_at(seconds=[t + info.start_time for t in part])
        data = batch.data
        if (data.shape[2], data.shape[1]) != (dw, dh):
            data = torch.nn.functional.interpolate(data.permute(0, 3, 1, 2).float(), size=(dh, dw),
                                                   mode="bilinear", antialias=True, align_corners=False)
            data = data.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        arr = data.contiguous().numpy()
        for j in range(arr.shape[0]):
            stamp = float(batch.pts_seconds[j]) - info.start_time
            yield first + j, round(stamp, 6), finish(arr[j], geom)


def _targets_for(plan: SamplePlan, video: VideoStream) -> list[float]:
    """For backends without a keyframe walk: fast mode aims at the nearest keyframe in tolerance."""
    times = list(plan.times)
    keys = np.asarray(video.keyframes or (), dtype=np.float64)
    if plan.accuracy != "fast" or keys.size == 0:
        return times
    out = []
    for t in times:
        k = keys[np.argmin(np.abs(keys - t))]
        out.append(float(k) if abs(k - t) <= plan.tolerance + 1e-6 else t)
    return out


# -- decord ------------------------------------------------------------------------------------

def _decord_answers(path, info: VideoInfo, video: VideoStream, plan: SamplePlan,
                    geom: Geometry) -> Iterator[tuple[int, float, np.ndarray]]:
    try:
        import decord
    except (ImportError, OSError) as e:
        raise MissingDependency("decord", "decord", "--backend decord") from e
    dw, dh = geom.decode_size
    try:
        reader = decord.VideoReader(str(path), ctx=decord.cpu(0), width=dw, height=dh, num_threads=0)
    except decord.DECORDError as e:
        raise MediaError(f"{path}: decord cannot open it ({str(e).splitlines()[0]})") from e
    indices, stamps = decord_indices(reader, plan, video, info.start_time)
    chunk = 32
    for first in range(0, len(indices), chunk):
        part = indices[first:first + chunk]
        arr = reader.get_batch(part).asnumpy()
        for j in range(arr.shape[0]):
            yield first + j, stamps[first + j], finish(arr[j], geom)


def decord_indices(reader, plan: SamplePlan, video: VideoStream, start_time: float = 0.0) -> tuple[list[int], list[float]]:
    """Frame indices (decode order of decord's index) answering ``plan``, and their PTS."""
    stamps = reader.get_frame_timestamp(range(len(reader)))[:, 0].astype(np.float64) - start_time
    order = np.argsort(stamps, kind="stable")
    sorted_ts = stamps[order]
    out_idx: list[int] = []
    out_ts: list[float] = []
    for t in _targets_for(plan, video):
        j = int(np.searchsorted(sorted_ts, t + 1e-6, side="right")) - 1
        j = min(max(j, 0), len(sorted_ts) - 1)
        out_idx.append(int(order[j]))
        out_ts.append(round(float(sorted_ts[j]), 6))
    return out_idx, out_ts
