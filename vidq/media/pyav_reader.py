"""The PyAV decode walk: which packets to decode, in one forward pass, to answer a ``SamplePlan``.

``exact``: for each target t the answer is the frame displayed at t, the last frame with
PTS <= t.  The walk seeks (forward only) to the keyframe at or before t when that keyframe
lies beyond what has been decoded already; otherwise it keeps decoding, so targets that
share a GOP cost one sequential decode, and no frame is decoded twice.  A target that
falls exactly on a keyframe far from the next target is answered by decoding that one
packet alone.

``fast``: a target within ``tolerance`` of a keyframe is answered by that keyframe alone
(seek, one packet, drain); other targets are answered by decoding forward from the
keyframe before them with non-reference frames skipped (``skip_frame=NONREF``), taking
the decoded frame nearest to t within the tolerance (falling back to the exact walk when
skipping left no frame close enough).

Frames are converted to RGB (and scaled) only when they are an answer, and each distinct
answer only once.  Everything is read from one open container.  This module knows
nothing about models, batching or the CLI: it yields ``(plan position, pts, frame)``.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
from collections.abc import Iterator

from vidq.errors import MediaError
from vidq.media.types import SamplePlan, VideoInfo, VideoStream

log = logging.getLogger("vidq.media")

EPS = 1e-6  # seconds: a target this close after a frame's PTS counts as "at" that frame
SEEK_GAP = 0.5  # seconds: seek when the next needed keyframe is further ahead than this
NONREF_GAP_FRAMES = 4  # frames: the widest gap skip_frame=NONREF is expected to leave


class PyAVReader:
    """One open container plus the decode position; ``answers(plan)`` does the walk."""

    def __init__(self, path: str | os.PathLike, info: VideoInfo, video: VideoStream, threads: int = 0):
        import av

        self._av = av
        try:
            self.container = av.open(str(path), metadata_errors="ignore")
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: cannot be opened for decoding ({e})") from e
        self.path = str(path)
        self.stream = self.container.streams[video.index]
        self.stream.thread_type = "AUTO"
        self.stream.codec_context.thread_count = threads
        self.tb = float(self.stream.time_base)
        self.t0 = info.start_time
        self.keys = sorted(video.keyframes) if video.keyframes else []
        frame_step = 1.0 / (video.fps_average or video.fps_nominal or 25.0)
        # Skipping non-reference frames can leave gaps of a few frames (B-frame runs); below
        # this tolerance the fast walk decodes every frame instead.
        self.min_skip_tolerance = NONREF_GAP_FRAMES * frame_step
        self._packets: Iterator | None = None
        self.decoded = 0  # frames that came out of the decoder (for benchmarks and tests)
        self.ticks = _frame_ticks(path, self.stream)  # every frame's PTS in stream ticks, sorted; or None

    def close(self) -> None:
        self.container.close()

    # -- primitives ---------------------------------------------------------------------
    def secs(self, frame) -> float:
        stamp = frame.pts if frame.pts is not None else frame.dts
        return (stamp or 0) * self.tb - self.t0

    def _seek(self, t: float) -> None:
        """Position the demuxer at the keyframe at or before ``t`` and reset the decoder."""
        ts = max(0, math.floor((t + self.t0) / self.tb + 1e-6))
        try:
            self.container.seek(ts, stream=self.stream, backward=True, any_frame=False)
        except self._av.error.FFmpegError:
            self.container.seek(0, stream=self.stream, backward=True, any_frame=False)
        self.stream.codec_context.flush_buffers()
        self._packets = self.container.demux(self.stream)

    def _frames(self, skip: str = "DEFAULT", needed: set[int] | None = None) -> Iterator:
        """Decode forward from the current position (``skip``: the codec's skip_frame).

        With ``needed`` (PTS ticks of the frames that answer targets), every other packet is
        sent with ``skip_frame=NONREF``: the decoder still decodes it if later frames refer
        to it, and drops it otherwise.
        """
        cc = self.stream.codec_context
        packets = self._packets
        assert packets is not None
        cc.skip_frame = skip
        try:
            for packet in packets:
                if needed is not None:
                    cc.skip_frame = "DEFAULT" if packet.pts is None or packet.pts in needed else "NONREF"
                for frame in cc.decode(packet):
                    self.decoded += 1
                    yield frame
        except self._av.error.FFmpegError as e:
            raise MediaError(f"{self.path}: decoding failed ({e})") from e

    def keyframe(self, k: float):
        """Decode only the keyframe at time ``k``: seek, feed its packet, drain."""
        self._seek(k)
        cc = self.stream.codec_context
        cc.skip_frame = "DEFAULT"
        assert self._packets is not None
        got = None
        try:
            for packet in self._packets:
                if packet.size == 0:
                    break
                if not packet.is_keyframe:
                    continue
                frames = list(cc.decode(packet)) + list(cc.decode(None))
                self.decoded += len(frames)
                got = frames[0] if frames else None
                break
        except self._av.error.FFmpegError as e:
            raise MediaError(f"{self.path}: decoding failed ({e})") from e
        self._packets = None  # the decoder was drained: the next walk must seek
        cc.flush_buffers()
        return got

    def key_at_or_before(self, t: float) -> float:
        i = bisect.bisect_right(self.keys, t + EPS) - 1
        return self.keys[i] if i >= 0 else 0.0

    def nearest_key(self, t: float) -> float | None:
        if not self.keys:
            return None
        i = bisect.bisect_left(self.keys, t)
        cands = [self.keys[j] for j in (i - 1, i) if 0 <= j < len(self.keys)]
        return min(cands, key=lambda k: (abs(k - t), k))

    # -- walks ----------------------------------------------------------------------------
    def answers(self, plan: SamplePlan) -> Iterator[tuple[int, float, object]]:
        """Yield ``(plan position, pts seconds, av.VideoFrame)`` for every target, in plan order."""
        if plan.accuracy == "fast":
            yield from self._fast(plan)
        else:
            yield from self._exact(plan, range(len(plan.times)))

    def _answer_ticks(self, times: list[float]) -> set[int] | None:
        """PTS ticks of the frames shown at ``times`` (from the index), or None without one."""
        if self.ticks is None:
            return None
        import numpy as np

        wanted = np.floor((np.asarray(times, dtype=np.float64) + self.t0 + EPS) / self.tb + 1e-9).astype(np.int64)
        at = np.searchsorted(self.ticks, wanted, side="right") - 1
        return {int(x) for x in self.ticks[np.clip(at, 0, None)]}

    def _exact(self, plan: SamplePlan, positions) -> Iterator[tuple[int, float, object]]:
        times = plan.times
        order = list(positions)
        needed = self._answer_ticks([times[p] for p in order])
        frames = None
        prev = None  # (secs, frame): the newest frame decoded on this run
        pos = -math.inf  # time of the newest decoded frame
        landed: float | None = None  # keyframe the last seek aimed at, until its first frame is seen
        retry_from: float | None = None  # set when a seek overshot: seek here instead
        i = 0
        while i < len(order):
            t = times[order[i]]
            key = self.key_at_or_before(t)
            nxt = times[order[i + 1]] if i + 1 < len(order) else math.inf
            if (retry_from is None and self.keys and abs(key - t) <= EPS
                    and (nxt == math.inf or self.key_at_or_before(nxt) > key + EPS)
                    and (frames is None or key - pos > SEEK_GAP)):
                frame = self.keyframe(key)
                frames, prev, pos = None, None, -math.inf
                if frame is not None and abs(self.secs(frame) - key) <= EPS:
                    yield order[i], self.secs(frame), frame
                    i += 1
                    continue
            if frames is None or key - pos > SEEK_GAP:
                landed = key if retry_from is None else retry_from
                retry_from = None
                self._seek(landed)
                frames, prev = self._frames(needed=needed), None
            frame = next(frames, None)
            if frame is None:  # end of stream: the last frame stays on screen until the end
                if prev is None:
                    if landed:  # the seek found nothing: start from an earlier keyframe
                        retry_from = self.key_at_or_before(landed - 2 * EPS)
                        frames, pos = None, -math.inf
                        continue
                    raise MediaError(f"{self.path}: no frame could be decoded near {t:.3f} s")
                for j in order[i:]:
                    yield j, prev[0], prev[1]
                return
            s = self.secs(frame)
            if landed is not None:
                seek_target, landed = landed, None
                if s > t + EPS and seek_target > 0:  # overshot (imprecise index): go back one keyframe
                    retry_from = self.key_at_or_before(seek_target - 2 * EPS)
                    frames, pos = None, -math.inf
                    continue
            pos = s
            while i < len(order) and times[order[i]] + EPS < s:
                answer = prev if prev is not None else (s, frame)
                yield order[i], answer[0], answer[1]
                i += 1
            prev = (s, frame)

    def _fast(self, plan: SamplePlan) -> Iterator[tuple[int, float, object]]:
        times = plan.times
        tol = plan.tolerance
        # Each target hangs off one keyframe: the nearest one when it is within tolerance (the
        # keyframe itself answers), else the one before it (a walk answers).  Anchors never
        # decrease along the plan, so targets group into runs sharing one anchor.
        jobs: list[tuple[float, bool]] = []  # (anchor keyframe, answered by the keyframe itself)
        for t in times:
            k = self.nearest_key(t)
            if k is not None and abs(k - t) <= tol + EPS:
                jobs.append((k, True))
            else:
                jobs.append((self.key_at_or_before(t), False))
        i = 0
        while i < len(times):
            anchor = jobs[i][0]
            j = i
            while j < len(times) and abs(jobs[j][0] - anchor) <= EPS:
                j += 1
            group = list(range(i, j))
            if all(jobs[g][1] for g in group):
                frame = self.keyframe(anchor)
                if frame is None or abs(self.secs(frame) - anchor) > tol + EPS:
                    yield from self._exact(plan, group)
                else:
                    for g in group:
                        yield g, self.secs(frame), frame
            else:
                yield from self._walk_group(plan, group, anchor)
            i = j

    def _walk_group(self, plan: SamplePlan, group: list[int], anchor: float) -> Iterator[tuple[int, float, object]]:
        """Decode forward from ``anchor`` skipping non-reference frames; nearest frame per target.

        A target left without any frame within tolerance (skipping opened too wide a gap)
        hands it and the rest of the group to the exact walk.
        """
        times = plan.times
        tol = plan.tolerance
        skip = "NONREF" if tol >= self.min_skip_tolerance else "DEFAULT"
        self._seek(anchor)
        frames = self._frames(skip)
        carry = None  # (secs, frame) decoded last; it may serve the next target too
        for n, g in enumerate(group):
            t = times[g]
            best = None  # (distance, secs, frame)
            if carry is not None and abs(carry[0] - t) <= tol + EPS:
                best = (abs(carry[0] - t), carry[0], carry[1])
            if carry is None or carry[0] < t - EPS:
                for frame in frames:
                    s = self.secs(frame)
                    carry = (s, frame)
                    if abs(s - t) <= tol + EPS and (best is None or abs(s - t) < best[0]):
                        best = (abs(s - t), s, frame)
                    if s >= t - EPS:
                        break
            if best is None:
                log.debug("no frame within %.3f s of %.3f s after skipping; decoding the rest exactly", tol, t)
                yield from self._exact(plan, group[n:])
                return
            yield g, best[1], best[2]


def _frame_ticks(path, stream):
    """Sorted PTS (stream ticks) of every frame, from an MP4/MOV index; None for other files."""
    import numpy as np

    from vidq.media import mp4index

    if not mp4index.looks_like_mp4(path):
        return None
    try:
        index = mp4index.read_index(path)
    except (mp4index.Mp4Error, OSError):
        return None
    if index is None:
        return None
    for track in index.tracks:
        if track.track_id == stream.id and track.handler == "vide":
            if abs(float(stream.time_base) * track.timescale - 1.0) > 1e-12:
                return None
            return np.unique(np.round(track.pts * track.timescale).astype(np.int64))
    return None
