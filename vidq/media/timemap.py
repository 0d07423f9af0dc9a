"""Clock jumps in broadcast streams, and the map that makes times continuous across them.

MPEG-TS and MPEG-PS carry a free-running 90 kHz clock.  A capture that spans a splice or a
channel change, or two recordings joined with ``cat a.ts b.ts``, has packets whose
timestamps jump backwards or far forward part-way through the file.  (The 33-bit wrap is a
different thing: FFmpeg's demuxer already makes it continuous, and the jump detection below
never sees it.)

:func:`find_discontinuities` reads the video packets of such a file in file order (what
``probe`` demuxes anyway) and cuts the file into *parts* wherever the decode timestamp goes
backwards or forward by more than ``JUMP_FORWARD`` seconds.  Each part keeps its own
spacing; part ``k`` is shifted so that its first frame comes one frame interval after the
last frame of part ``k - 1``.  The result is a tuple of :class:`Discontinuity`, stored in
``VideoInfo.discontinuities``.

:class:`TimeMap` applies it to any packet of any stream: the part a packet belongs to is
found from its byte offset (parts are byte ranges of the file) and checked against its
raw timestamp (audio is muxed a little ahead of or behind its video, so a packet just
past a boundary may still belong to the part before).  The last packet of each stream
before a splice is flagged corrupt by FFmpeg (the continuity counter breaks there) though
its data is whole; :meth:`TimeMap.at_splice` tells such flags apart.  The decode walk
(:mod:`vidq.media.pyav_reader`) and audio extraction (:mod:`vidq.media.audio`) rewrite
packet timestamps through the same map before decoding, so video frames, audio samples,
and everything built on them share one monotonic timeline.  Seeks in such files go by byte
offset (:meth:`TimeMap.seek_pos`: the keyframe's own offset, which probe keeps for such
files), since the demuxer's own timestamp search assumes a monotonic clock.

Knows nothing about decoding; plain arithmetic on timestamps and byte offsets.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidq.media.types import Discontinuity, VideoInfo

JUMP_FORWARD = 10.0  # seconds: a forward clock jump larger than this is a splice, not missing frames (FFmpeg's dts_delta_threshold)
SEEK_BACK = 3.0  # seconds of data a byte seek lands before its target (the reader reads forward from there)
TS_DISCONT_FLAG = 0x0200  # AVFMT_TS_DISCONT: formats whose clock may jump (MPEG-TS, MPEG-PS)
SPLICE_BYTES_PER_BYTE = 2  # a packet's data spreads over about this many bytes of the file (headers, other streams) ...
SPLICE_SLACK = 16 * 188  # ... plus this many: a corrupt flag that near a splice comes from the splice itself


def may_jump(container) -> bool:
    """Whether FFmpeg says this container's timestamps may be discontinuous (AVFMT_TS_DISCONT)."""
    fmt = container.format
    return fmt is not None and bool(int(getattr(fmt, "flags", 0) or 0) & TS_DISCONT_FLAG)


def find_discontinuities(pos: Sequence[int], dts: Sequence[int], pts: Sequence[int], time_base: float,
                         start: float) -> tuple[Discontinuity, ...]:
    """The clock jumps among video packets given in file order.

    ``pos``: byte offsets; ``dts``/``pts``: timestamps in ticks of ``time_base`` seconds
    (``dts`` repeats ``pts`` where the stream has none); ``start``: the container's start in
    seconds (what file time 0 is on the raw clock).  A jump is a decode timestamp lower than
    the one before it, or higher by more than ``JUMP_FORWARD`` seconds.

    >>> tb = 1 / 90000
    >>> d = find_discontinuities([0, 188, 376, 564], [0, 3600, 1800000, 1803600], [0, 3600, 1800000, 1803600], tb, 0.0)
    >>> [(x.at, x.jump, x.pos) for x in d]
    [(0.08, 19.92, 376)]
    """
    d = np.asarray(dts, dtype=np.int64)
    p = np.asarray(pts, dtype=np.int64)
    n = int(d.size)
    if n < 2:
        return ()
    delta = np.diff(d)
    forward = max(1, round(JUMP_FORWARD / time_base))
    cuts = (np.flatnonzero((delta < 0) | (delta > forward)) + 1).tolist()
    if not cuts:
        return ()
    steady = delta[(delta > 0) & (delta <= forward)]
    step = int(np.median(steady)) if steady.size else max(1, round(0.04 / time_base))
    bounds = [0, *cuts, n]
    out: list[Discontinuity] = []
    shift = 0  # ticks added to the raw clock of the current part
    prev_hi = int(p[: bounds[1]].max())
    for k in range(1, len(bounds) - 1):
        lo, hi = bounds[k], bounds[k + 1]
        raw_lo = int(p[lo:hi].min())
        new_shift = prev_hi + shift + step - raw_lo
        raw_hi = int(p[lo:hi].max())
        out.append(Discontinuity(at=round((raw_lo + new_shift) * time_base - start, 6),
                                 jump=round((raw_lo - prev_hi - step) * time_base, 6), pos=int(pos[lo]),
                                 raw_before=prev_hi * time_base, raw_after=raw_lo * time_base,
                                 raw_end=raw_hi * time_base))
        shift = new_shift
        prev_hi = raw_hi
    return tuple(out)


@dataclass(frozen=True)
class _Part:
    pos: int  # first byte of the part
    end: int  # first byte after it
    raw_lo: float  # raw clock of its first and last video frames, seconds
    raw_hi: float
    at: float  # file time of its first frame
    shift: float  # seconds added to the raw clock

    def expected(self, pos: int) -> float:
        """The raw time a packet at byte ``pos`` would carry in this part (linear in bytes, also outside it)."""
        return self.raw_lo + (pos - self.pos) / max(1, self.end - self.pos) * (self.raw_hi - self.raw_lo)


class TimeMap:
    """Raw stream clock -> file time for a file with discontinuities (see the module docstring)."""

    def __init__(self, discontinuities: Sequence[Discontinuity], start: float, size: int, duration: float,
                 keyframes: Sequence[float] = (), keyframe_pos: Sequence[int] = ()):
        self.discontinuities = tuple(discontinuities)
        self._keys = list(keyframes) if len(keyframes) == len(keyframe_pos) else []  # file seconds, sorted
        self._key_pos = list(keyframe_pos) if self._keys else []  # byte offset of each
        ds = self.discontinuities
        self.size = max(1, int(size))
        parts = [_Part(0, ds[0].pos, start, ds[0].raw_before, 0.0, 0.0)]
        for k, d in enumerate(ds):
            end = ds[k + 1].pos if k + 1 < len(ds) else self.size
            parts.append(_Part(d.pos, end, d.raw_after, d.raw_end, d.at, d.at + start - d.raw_after))
        self.parts = parts
        self._starts = [x.pos for x in parts]
        self._ats = [x.at for x in parts]
        self.start = start
        self.duration = float(duration)

    @classmethod
    def of(cls, info: VideoInfo) -> TimeMap | None:
        """The map of ``info``'s file, or ``None`` when its clock never jumps (every MP4, most files)."""
        if not info.discontinuities:
            return None
        video = info.video
        keys = (video.keyframes or ()) if video is not None else ()
        offsets = (video.keyframe_pos or ()) if video is not None else ()
        return cls(info.discontinuities, info.start_time, info.size_bytes, info.duration, keys, offsets)

    @property
    def shifts(self) -> list[float]:
        """Seconds added to the raw clock, per part."""
        return [x.shift for x in self.parts]

    def part(self, pos: int | None, raw: float) -> int:
        """The part a packet at byte ``pos`` with raw time ``raw`` (seconds) belongs to.

        The byte offset names a part; a neighbouring part wins when the raw time is closer to
        what that part would carry at this offset (audio muxed ahead of or behind its video
        across a boundary).  Without an offset, the part whose clock range is nearest wins.
        """
        if pos is None or pos < 0:
            return min(range(len(self.parts)),
                       key=lambda j: max(0.0, self.parts[j].raw_lo - raw, raw - self.parts[j].raw_hi))
        k = max(0, bisect.bisect_right(self._starts, pos) - 1)
        near = range(max(0, k - 1), min(len(self.parts), k + 2))
        return min(near, key=lambda j: (abs(raw - self.parts[j].expected(pos)), j != k))

    def at_splice(self, pos: int | None, size: int) -> bool:
        """Whether a packet at byte ``pos`` of ``size`` bytes may run into the start of the next part:
        the demuxer flags the last packet before a splice corrupt (its continuity counter breaks
        there), though its data is whole."""
        if pos is None or pos < 0:
            return False
        k = bisect.bisect_right(self._starts, pos)
        return k < len(self._starts) and self._starts[k] - pos <= SPLICE_BYTES_PER_BYTE * size + SPLICE_SLACK

    def to_file(self, raw: float, pos: int | None) -> float:
        """File time (seconds) of a raw clock time read at byte ``pos``."""
        return raw + self.parts[self.part(pos, raw)].shift - self.start

    def seek_pos(self, t: float, back: float = SEEK_BACK) -> int:
        """A byte offset at or before file time ``t - back``: the keyframe there when the keyframes'
        offsets are known (video), else interpolated within the part with ``SEEK_BACK`` more to spare."""
        if self._keys:
            i = bisect.bisect_right(self._keys, t - back + 1e-6) - 1
            return self._key_pos[i] if i >= 0 else 0
        t -= back
        k = max(0, bisect.bisect_right(self._ats, t) - 1)
        part = self.parts[k]
        hi_t = self.parts[k + 1].at if k + 1 < len(self.parts) else max(self.duration, part.at + 1e-3)
        rate = (part.end - part.pos) / max(hi_t - part.at, 1e-3)  # bytes per second in this part
        return max(0, int(part.pos + (t - part.at - SEEK_BACK) * rate))
