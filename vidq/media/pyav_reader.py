"""The PyAV decode walk: which packets to decode, in one forward pass, to answer a ``SamplePlan``.

Every comparison is made in integer PTS ticks of the video stream's time base: keyframe
times, decoded frame times and targets alike.  A target time t (seconds from the file's
start) becomes the tick ``floor((t + start) / time_base)`` once, allowing ``TIME_SLACK``
for times printed to the microsecond; from there on nothing is compared in float seconds,
so a keyframe can never look one tick early or late (files joined by the concat demuxer,
edit lists, time bases that do not divide the frame times, PTS wrapped by the demuxer to
negative values).

``exact``: for each target the answer is the frame displayed at it, the last frame with
PTS <= the target's tick (or the first frame when the target precedes every frame).  The
walk seeks to the keyframe at or before the target only when that keyframe lies more than
``SEEK_GAP`` beyond what has been decoded already; otherwise it keeps decoding, so targets
that share a GOP cost one sequential decode, and no frame is decoded twice.

The walk cannot repeat itself: a seek that overshoots (the first frame after it comes
after the target) is retried from a keyframe strictly earlier than the one just tried,
and once a target's decode run has started, nothing seeks again until that target is
answered.  After ``MAX_SEEKS`` overshoots for one target the walk reopens the file and
decodes forward from its first keyframe instead (logged at debug level).  Packets between
where a demuxer lands and the next keyframe are dropped unseen (MPEG-TS seeks land
mid-GOP), so the decoder never shows a frame it could not reconstruct.  Every forward seek goes
strictly past what has been decoded, so seeks per target are bounded and every loop
either decodes a packet or answers a target.  ``seeks`` and ``decoded`` count the work.

``fast``: a target within ``tolerance`` of a keyframe is answered by that keyframe alone
(seek, one packet, drain); other targets are answered by decoding forward from the
keyframe before them with non-reference frames skipped (``skip_frame=NONREF``), taking
the decoded frame nearest to the target within the tolerance (falling back to the exact
walk when skipping left no frame close enough).

Frames are converted to RGB (and scaled) only when they are an answer, and each distinct
answer only once.  Everything is read from one open container.  This module knows
nothing about models, batching or the CLI: it yields ``(plan position, pts, frame)``.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import itertools
import logging
import math
import os
from collections.abc import Iterator, Sequence

import numpy as np

from vidq.errors import MediaError
from vidq.media.damage import ffmpeg_reason as _reason
from vidq.media.timemap import TimeMap
from vidq.media.types import Damage, SamplePlan, VideoInfo, VideoStream
from vidq.media.watchdog import Watchdog

log = logging.getLogger("vidq.media")

TIME_SLACK = 1e-6  # seconds: times are printed to the microsecond, so a target this close before a frame is at it
SEEK_GAP = 0.5  # seconds: seek when the next needed keyframe is further ahead of the decoded frames than this
MAX_SEEKS = 3  # seeks one target may cost before the walk reopens the file and decodes it from the start
RETRY_BACKOFF = 1.0  # seconds: a seek that landed after its keyframe is retried this much earlier, doubling
MAX_GOP_PACKETS = 4096  # packets held while reading forward from an early landing to the wanted keyframe
NONREF_GAP_FRAMES = 4  # frames: the widest gap skip_frame=NONREF is expected to leave
REORDER_FRAMES = 8  # clean frames after a decoding error that are put back in time order
GUARD_PACKETS = 2  # packets decoded just before damage whose frames are not trusted (damage starts mid-packet)
WALK_VERSION = 2  # bump when which decoded frames the walk trusts changes (cached pictures of damaged files)
TAINT_SECONDS = 10.0  # after damage, frames are distrusted until a keyframe, or for at most this long


class PyAVReader:
    """One open container plus the decode position; ``answers(plan)`` does the walk."""

    def __init__(self, path: str | os.PathLike, info: VideoInfo, video: VideoStream, threads: int = 0,
                 watchdog: Watchdog | None = None):
        import av

        self._av = av
        try:
            self.container = av.open(str(path), metadata_errors="ignore")
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: cannot be opened for decoding ({e})") from e
        self.path = str(path)
        self._stream_index = video.index
        self._threads = threads
        self.stream = self.container.streams[video.index]
        self.stream.thread_type = "AUTO"
        self.stream.codec_context.thread_count = threads
        self.decoder = self.stream.codec_context  # replaced by a new one when decoding starts again after damage
        self.tb = float(self.stream.time_base)  # seconds per tick
        self.t0 = info.start_time  # seconds: the file's time 0 on the stream clock
        self.slack = min(TIME_SLACK, self.tb / 2)
        # keyframes as ticks; probe gives them as start-relative seconds rounded to 1 µs,
        # far less than half a tick, so rounding recovers the exact tick
        self.keys: list[int] = sorted({self.tick_of(k) for k in (video.keyframes or ())})
        frame_step = 1.0 / (video.fps_average or video.fps_nominal or 25.0)
        # Skipping non-reference frames can leave gaps of a few frames (B-frame runs); below
        # this tolerance the fast walk decodes every frame instead.
        self.min_skip_tolerance = NONREF_GAP_FRAMES * frame_step
        self.seek_gap = max(1, round(SEEK_GAP / self.tb))  # ticks
        self._packets: Iterator | None = None
        self.decoded = 0  # frames that came out of the decoder (for benchmarks and tests)
        self.seeks = 0  # container seeks (for tests: bounded per target)
        self.fallbacks = 0  # targets answered by the forward decode from the first keyframe
        self.ticks = _frame_ticks(path, self.stream)  # every frame's PTS in stream ticks, sorted; or None
        self._tick_set = None if self.ticks is None else frozenset(int(x) for x in self.ticks)
        self.map = TimeMap.of(info)  # clock jumps made continuous (MPEG-TS splices); None for most files
        self._shifts = None if self.map is None else [round(s / self.tb) for s in self.map.shifts]
        self.duration = info.duration
        self.frame_ticks = max(1, round(frame_step / self.tb))  # one frame interval, ticks
        self.taint_ticks = round(TAINT_SECONDS / self.tb)
        # what probe saw damaged (corrupt or missing packets), and later what the walk recorded as
        # damaged (_distrust): decoding through it is not trusted
        # (each span up to its end, not the frame at it: the first whole one after a hole)
        self._suspect_lo: list[int] = []
        self._suspect_hi: list[int] = []
        for d in info.damaged:
            if d.stream != "audio":
                lo, hi = self.tick_of(d.start), self.tick_of(d.end)
                self._distrust(lo, max(lo, hi - 1))
        self.damaged: list[Damage] = []  # spans found undecodable so far (file seconds), in the order found
        self._bad: list[int] | None = None  # [first, last] tick of the undecodable run being decoded
        self._last_tick: int | None = None  # timestamp of the last packet read
        self._where: int | None = None  # byte offset of the last packet that had one
        self.watch = watchdog or Watchdog(f"{path}: decoding", seconds=math.inf)  # the walk pauses while callers work

    def close(self) -> None:
        self._end_bad()
        self.container.close()

    # -- time conversions ---------------------------------------------------------------
    def tick_of(self, seconds: float) -> int:
        """The tick nearest to a start-relative time that names a frame (keyframe lists)."""
        return round((seconds + self.t0) / self.tb)

    def target_tick(self, seconds: float) -> int:
        """The last tick at or before a start-relative target time (with ``TIME_SLACK``)."""
        return math.floor((seconds + self.t0 + self.slack) / self.tb)

    def secs(self, tick: int) -> float:
        """Start-relative seconds of a tick."""
        return tick * self.tb - self.t0

    def _frame_tick(self, frame, prev: int | None) -> int:
        stamp = frame.pts if frame.pts is not None else frame.dts
        if stamp is None:  # no timestamp at all: one tick after the previous frame keeps order
            return (prev + 1) if prev is not None else (self.keys[0] if self.keys else 0)
        return int(stamp)

    # -- primitives ---------------------------------------------------------------------
    def _seek(self, tick: int | None, *, aim: int | None = None, require_key: bool = True) -> int | None:
        """Position the demuxer near ``tick`` (``None``: reopen at the start of the file), reset
        the decoder, and make the next packet a keyframe; returns that packet's PTS tick.

        Demuxers seek imprecisely (MPEG-TS lands on whatever packet follows the time, and a
        seek aimed early lands early), so the packets after the landing point are read
        (demuxed, not decoded) up to the keyframe ``aim`` or, when the stream has no
        keyframe there, the last keyframe before it; packets before the first keyframe are
        dropped unseen, since they cannot be decoded without what came before.  Returns
        ``None`` when no keyframe follows (end of file); ``require_key=False`` keeps every
        packet (a stream without keyframe flags).
        """
        self.seeks += 1
        self._end_bad()
        if tick is None:
            self.container.close()
            self.container = self._av.open(self.path, metadata_errors="ignore")
            self.stream = self.container.streams[self._stream_index]
            self.stream.thread_type = "AUTO"
            self.stream.codec_context.thread_count = self._threads
            self.decoder = self.stream.codec_context
        else:
            try:
                if self.map is not None:  # the demuxer's timestamp search assumes a clock that never jumps
                    self.container.seek(self.map.seek_pos(self.secs(tick), back=0.0), unsupported_byte_offset=True)
                else:
                    self.container.seek(int(tick), stream=self.stream, backward=True, any_frame=False)
            except self._av.error.FFmpegError:
                return self._seek(None, aim=aim, require_key=require_key)
        self.decoder.flush_buffers()
        demux = self._demux(tick)
        gop: list | None = None  # packets from the last keyframe before ``aim``
        gop_tick: int | None = None
        for packet in demux:
            if packet.size == 0:
                continue
            if not require_key:
                self._packets = itertools.chain([packet], demux)
                return _stamp(packet)
            if packet.is_keyframe:
                stamp = _stamp(packet)
                if aim is None or stamp is None or stamp >= aim:
                    if gop is not None and stamp is not None and stamp > aim:
                        self._packets = itertools.chain(gop, [packet], demux)  # aim was no keyframe
                        return gop_tick
                    self._packets = itertools.chain([packet], demux)
                    return stamp
                gop, gop_tick = [packet], stamp
            elif gop is not None:
                if len(gop) >= MAX_GOP_PACKETS:
                    gop, gop_tick = None, None
                else:
                    gop.append(packet)
        if gop is not None:
            self._packets = iter(gop)
            return gop_tick
        self._packets = iter(())
        return None

    def _land(self, aim: int, tries: int = MAX_SEEKS) -> int | None:
        """Seek so that the next packet is keyframe ``aim`` (or the last keyframe before it).

        Returns the landing keyframe's tick, or ``None`` when every try landed after
        ``aim``; each retry aims strictly earlier, by ``RETRY_BACKOFF`` doubling.
        """
        target = aim
        backoff = max(1, round(RETRY_BACKOFF / self.tb))
        for _ in range(tries):
            landed = self._seek(target, aim=aim)
            if landed is not None and landed <= aim:
                return landed
            target -= backoff
            backoff *= 2
        return None

    def _demux(self, since: int | None) -> Iterator:
        """The stream's packets from the current position (sought at tick ``since``; ``None``: the
        start), timestamps made continuous where the clock jumps (``self.map``), progress watched;
        a demuxer error ends the stream there, the rest of the file recorded as damaged."""
        self._last_tick = since  # not the packet read before the seek: damage starts here at the earliest
        demux = self.container.demux(self.stream)
        self.watch.restart()
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except self._av.error.FFmpegError as e:
                start = self._last_tick if self._last_tick is not None else (self.keys[0] if self.keys else 0)
                self._end_bad()
                self.damaged.append(Damage(round(self.secs(start), 6), round(max(self.duration, self.secs(start)), 6),
                                           "video", f"unreadable from there on ({_reason(e)})"))
                log.debug("%s: demuxing stopped at %.3f s: %s", self.path, self.secs(start), e)
                return
            if self._shifts is not None:
                self._unjump(packet)
            stamp = _stamp(packet)
            if stamp is not None:
                self._last_tick = stamp
            self.watch.step(packet.pos, packet.dts if packet.dts is not None else packet.pts)
            yield packet

    def _unjump(self, packet) -> None:
        """Move a packet's timestamps onto the continuous timeline (``TimeMap``)."""
        raw = _stamp(packet)
        if raw is None:
            return
        assert self.map is not None and self._shifts is not None
        if packet.pos is not None and packet.pos >= 0:
            self._where = packet.pos  # packets a parser split out of one PES have no offset of their own
        shift = self._shifts[self.map.part(self._where, raw * self.tb)]
        if packet.is_corrupt and self.map.at_splice(self._where, packet.size):
            packet.is_corrupt = False  # the splice broke the continuity counter, not the data
        if packet.pts is not None:
            packet.pts = packet.pts + shift
        if packet.dts is not None:
            packet.dts = packet.dts + shift

    def _new_decoder(self):
        """A decoder for the stream that has seen nothing yet (its codec, extradata and threads)."""
        old = self.stream.codec_context
        cc = self._av.CodecContext.create(old.codec.name, "r")
        if old.extradata:
            cc.extradata = old.extradata
        cc.thread_type = "AUTO"
        cc.thread_count = self._threads
        return cc

    def _damage_at(self, tick: int | None) -> None:
        """A packet or frame at ``tick`` did not decode: open (or widen) the damaged run."""
        tick = tick if tick is not None else self._last_tick
        if tick is None:
            return
        if self._bad is None:
            self._bad = [tick, tick]
        else:
            self._bad = [min(self._bad[0], tick), max(self._bad[1], tick)]

    def _suspect(self, tick: int) -> bool:
        """Whether ``tick`` lies in a span probe found damaged, or one this walk recorded as damaged."""
        i = bisect.bisect_right(self._suspect_lo, tick) - 1
        return i >= 0 and tick <= self._suspect_hi[i]

    def _distrust(self, lo: int, hi: int) -> None:
        """Add ``[lo, hi]`` (ticks) to the suspect spans, keeping them sorted and apart.  A span
        recorded as damaged stays so after a seek: the decoder does not always notice the same
        damage twice (frame threads), and what was reported damaged is never shown later."""
        i = bisect.bisect_left(self._suspect_hi, lo)  # the first span that may touch [lo, hi]
        j = i
        while j < len(self._suspect_lo) and self._suspect_lo[j] <= hi:
            lo, hi = min(lo, self._suspect_lo[j]), max(hi, self._suspect_hi[j])
            j += 1
        self._suspect_lo[i:j] = [lo]
        self._suspect_hi[i:j] = [hi]

    def _clean(self, tick: int) -> None:
        """A frame at ``tick`` decoded cleanly: a damaged run before it ends there."""
        if self._bad is not None and tick > self._bad[1]:
            self._record(self._bad[0], tick)

    def _end_bad(self) -> None:
        """The decode run stops (seek, end of stream): a damaged run still open ends a frame after its last packet."""
        if self._bad is not None:
            self._record(self._bad[0], self._bad[1] + self.frame_ticks)

    def _record(self, lo: int, hi: int) -> None:
        self._bad = None
        self._distrust(lo, max(lo, hi - 1))  # ``hi`` is the first clean frame's tick, or a frame past the last bad one
        self.damaged.append(Damage(round(self.secs(lo), 6), round(self.secs(hi), 6), "video", "undecodable"))
        log.debug("%s: undecodable from %.3f s to %.3f s", self.path, self.secs(lo), self.secs(hi))

    def _frames(self, skip: str = "DEFAULT", needed: set[int] | None = None) -> Iterator:
        """Decode forward from the current position (``skip``: the codec's skip_frame).

        With ``needed`` (PTS ticks of the frames that answer targets, from the index), every
        other packet is sent with ``skip_frame=NONREF``: the decoder still decodes it if later
        frames refer to it, and drops it otherwise.  A packet whose PTS the index does not
        know ends the shortcut (the index and the demuxer disagree): everything after it is
        decoded.

        A packet the decoder refuses, or a frame it flags corrupt, is skipped and its time
        recorded as damaged (``self.damaged``); the decoder itself resumes at the next
        keyframe, so the walk goes on from there and never answers with a broken picture.
        A packet the demuxer flagged corrupt, or one inside a span probe found damaged
        (packets missing before it), counts as damage too.  Which frames are trusted is
        judged by the place of their packet in decode order (:class:`_Trust`): not those of
        the few packets before the damage (garbage that begins inside a packet lets it decode
        without an error, its picture broken; and the decoder tells of damage some packets
        late, with frame threads and B-frames), so a frame is handed out only once that many
        more packets have been decoded; nor those of the packets after it until a keyframe
        packet, nor an open GOP's leading frames that refer back across it (``TAINT_SECONDS``
        bounds this for streams without keyframes).  At that keyframe a new decoder takes
        over: a flushed one keeps state the damage spoiled.  After an error the decoder may
        also hand out the frames it was holding back (B-frames) after newer ones, so the next
        ``REORDER_FRAMES`` clean frames are put back in time order.
        """
        cc = self.decoder
        packets = self._packets
        assert packets is not None
        cc.skip_frame = skip
        trust = _Trust(self.taint_ticks)
        waiting: collections.deque = collections.deque()  # (place, tick, frame): decoded, not yet judged
        held: list[tuple[int, int, object]] = []  # (tick, arrival, frame) after damage, released in time order
        calm = REORDER_FRAMES  # clean frames since the last damage

        def arrived(frames) -> None:
            """Frames out of the decoder: a corrupt one is damage, the rest wait to be judged."""
            nonlocal calm
            for frame in frames:
                self.decoded += 1
                tick = self._frame_tick(frame, None)
                if frame.is_corrupt:
                    self._damage_at(tick)
                    trust.damage(trust.place_of(frame.pts), tick)
                    calm = 0
                    continue
                waiting.append((trust.place_of(frame.pts), tick, frame))

        def judged(through: int) -> Iterator:
            """Judge the waiting frames whose packet's place is at most ``through``; yield the trusted."""
            nonlocal calm
            while waiting and waiting[0][0] <= through:
                place, tick, frame = waiting.popleft()
                if not trust.trusted(place, tick):
                    self._damage_at(tick)
                    calm = 0
                    continue
                if calm < REORDER_FRAMES or held:
                    calm += 1
                    heapq.heappush(held, (tick, self.decoded, frame))
                    while held and (len(held) > REORDER_FRAMES or calm >= REORDER_FRAMES):
                        first, _, kept = heapq.heappop(held)
                        self._clean(first)
                        yield kept
                    continue
                self._clean(tick)
                yield frame

        for packet in packets:
            if packet.size and packet.is_keyframe and trust.damaged_since_key():
                # start again at the keyframe with a new decoder: what one carried over the damage
                # can spoil even an IDR's picture and what follows it, flushed or not
                try:
                    arrived(cc.decode(None))
                except self._av.error.FFmpegError:
                    pass
                cc = self.decoder = self._new_decoder()
                cc.skip_frame = skip
            if needed is not None and packet.pts is not None:
                if self._tick_set is not None and packet.pts not in self._tick_set:
                    log.debug("%s: packet PTS %d is not in the index; decoding every frame", self.path, packet.pts)
                    needed = None
                    cc.skip_frame = skip
                else:
                    cc.skip_frame = "DEFAULT" if packet.pts in needed else "NONREF"
            stamp = _stamp(packet)
            place = trust.fed(packet.pts, stamp, packet.is_keyframe) if packet.size else trust.place
            if stamp is not None and (packet.is_corrupt or self._suspect(stamp)):
                trust.damage(place, stamp)  # it may decode; what surrounds it may not be whole
            try:
                arrived(cc.decode(packet))
            except self._av.error.EOFError:
                continue  # a second drain at the end of the stream
            except self._av.error.FFmpegError:
                self._damage_at(stamp)
                trust.damage(place, stamp)
                calm = 0
                continue
            if trust.guard is None:  # the decoder is open now: how late it tells of damage
                late = max(0, cc.thread_count - 1) + max(0, getattr(cc, "reorder_depth", 0) or 0)
                trust.guard = GUARD_PACKETS + late
            yield from judged(trust.place - trust.guard)
        yield from judged(trust.place)
        while held:
            first, _, kept = heapq.heappop(held)
            self._clean(first)
            yield kept

    def keyframe(self, key: int):
        """Decode only the keyframe at tick ``key``: seek, feed its packet, drain.

        Returns the frame, or ``None`` when the demuxer could not land on that keyframe or
        it does not decode cleanly (the time is then recorded as damaged).
        """
        landed = self._land(key, tries=2)
        cc = self.decoder
        cc.skip_frame = "DEFAULT"
        got = None
        if landed == key:
            assert self._packets is not None
            packet = next(self._packets, None)
            try:
                frames = [] if packet is None else list(cc.decode(packet)) + list(cc.decode(None))
            except self._av.error.FFmpegError:
                frames = []
            self.decoded += len(frames)
            clean = [f for f in frames if not f.is_corrupt]
            got = clean[0] if clean else None
            if got is None:
                self._damage_at(key)
        self._packets = None  # the decoder was drained: the next walk must seek
        self._end_bad()
        cc.flush_buffers()
        return got

    def key_at_or_before(self, tick: int) -> int | None:
        i = bisect.bisect_right(self.keys, tick) - 1
        return self.keys[i] if i >= 0 else None

    def key_before(self, tick: int) -> int | None:
        """The last keyframe strictly before ``tick``."""
        i = bisect.bisect_left(self.keys, tick) - 1
        return self.keys[i] if i >= 0 else None

    def nearest_key(self, tick: int) -> int | None:
        if not self.keys:
            return None
        i = bisect.bisect_left(self.keys, tick)
        cands = [self.keys[j] for j in (i - 1, i) if 0 <= j < len(self.keys)]
        return min(cands, key=lambda k: (abs(k - tick), k))

    # -- walks ----------------------------------------------------------------------------
    def answers(self, plan: SamplePlan) -> Iterator[tuple[int, float, object]]:
        """Yield ``(plan position, pts seconds, av.VideoFrame)`` for every target, in plan order."""
        if plan.accuracy == "fast":
            yield from self._fast(plan)
        else:
            yield from self._exact(plan, range(len(plan.times)))

    def _answer_ticks(self, wants: Sequence[int]) -> set[int] | None:
        """PTS ticks of the frames shown at target ticks ``wants`` (from the index), or None without one."""
        if self.ticks is None:
            return None
        at = np.searchsorted(self.ticks, np.asarray(wants, dtype=np.int64), side="right") - 1
        return {int(x) for x in self.ticks[np.clip(at, 0, None)]}

    def _start_run(self, want: int, needed: set[int] | None) -> tuple[Iterator, tuple[int, object] | None]:
        """Position the decoder so that it starts at or before tick ``want``; returns the frame
        iterator and the first frame it gave (``None`` at the end of the stream).

        The seek aims at the keyframe at or before ``want`` (:meth:`_land`).  When the first
        decoded frame still comes after ``want`` (a keyframe the decoder could not show),
        the next try aims at the keyframe before the one that failed.  With nothing left
        to aim at, or after ``MAX_SEEKS`` tries, the file is reopened and decoded from its
        first keyframe, and whatever that gives is accepted.
        """
        aim = self.key_at_or_before(want)
        if aim is None and self.keys and self._land(self.keys[0]) == self.keys[0]:
            # the target comes before the first keyframe: the first frame is the answer
            frames = self._frames(needed=needed)
            first = next(frames, None)
            if first is not None:
                return frames, (self._frame_tick(first, None), first)
        for _ in range(MAX_SEEKS):
            if aim is None:
                break
            landed = self._land(aim)
            if landed is None:
                break
            frames = self._frames(needed=needed)
            first = next(frames, None)
            if first is not None:
                tick = self._frame_tick(first, None)
                if tick <= want:
                    return frames, (tick, first)
            aim = self.key_before(landed)
        self.fallbacks += 1
        log.debug("%s: no seek landed before %.3f s; decoding forward from the start", self.path, self.secs(want))
        if self._seek(None) is not None:
            frames = self._frames(needed=needed)
        else:  # no keyframe flags at all: decode every packet from the start
            self._seek(None, require_key=False)
            frames = self._frames()
        first = next(frames, None)
        return frames, None if first is None else (self._frame_tick(first, None), first)

    def _exact(self, plan: SamplePlan, positions) -> Iterator[tuple[int, float, object]]:
        order = list(positions)
        wants = [self.target_tick(plan.times[p]) for p in order]
        needed = self._answer_ticks(wants)
        frames: Iterator | None = None
        prev: tuple[int, object] | None = None  # the newest frame decoded on this run (tick, frame)
        pending: tuple[int, object] | None = None  # a decoded frame not yet consumed
        started = -1  # the target the current run was started for: it never seeks again
        i = 0
        while i < len(order):
            want = wants[i]
            key = self.key_at_or_before(want)
            far = (key is not None and prev is not None and key > prev[0] and key - prev[0] > self.seek_gap
                   and started != i)
            if pending is None and (frames is None or far):
                # a lone keyframe target far from the next one: decode that packet alone
                nxt = wants[i + 1] if i + 1 < len(order) else None
                if key is not None and key == want and (nxt is None or self.key_at_or_before(nxt) != key):
                    frames, prev = None, None
                    frame = self.keyframe(key)
                    if frame is not None and self._frame_tick(frame, None) == key:
                        yield order[i], self.secs(key), frame
                        i += 1
                        continue
            if pending is None and (frames is None or far):
                frames, pending = self._start_run(want, needed)
                prev, started = None, i
                if pending is None:
                    raise MediaError(f"{self.path}: no frame could be decoded near {self.secs(want):.3f} s")
            if pending is not None:
                item, pending = pending, None
            else:
                frame = next(frames, None)
                if frame is None:  # end of stream: the last frame stays on screen until the end
                    assert prev is not None
                    for j in order[i:]:
                        yield j, self.secs(prev[0]), prev[1]
                    return
                item = (self._frame_tick(frame, prev[0] if prev else None), frame)
            if prev is not None and item[0] <= prev[0]:
                continue  # out of order (open-GOP leading frames, damage): never answers a later time
            while i < len(order) and wants[i] < item[0]:
                answer = prev if prev is not None else item  # before the first frame: the first frame
                yield order[i], self.secs(answer[0]), answer[1]
                i += 1
            prev = item

    def _fast(self, plan: SamplePlan) -> Iterator[tuple[int, float, object]]:
        times = plan.times
        tol = max(0, math.floor(plan.tolerance / self.tb + 0.5))  # ticks
        # Each target hangs off one keyframe: the nearest one when it is within tolerance (the
        # keyframe itself answers), else the one before it (a walk answers).  Anchors never
        # decrease along the plan, so targets group into runs sharing one anchor.
        jobs: list[tuple[int | None, bool]] = []  # (anchor keyframe tick, answered by the keyframe itself)
        for t in times:
            want = self.target_tick(t)
            k = self.nearest_key(want)
            if k is not None and abs(k - want) <= tol:
                jobs.append((k, True))
            else:
                jobs.append((self.key_at_or_before(want), False))
        i = 0
        while i < len(times):
            anchor = jobs[i][0]
            j = i
            while j < len(times) and jobs[j][0] == anchor:
                j += 1
            group = list(range(i, j))
            if anchor is None:
                yield from self._exact(plan, group)
            elif all(jobs[g][1] for g in group):
                frame = self.keyframe(anchor)
                tick = None if frame is None else self._frame_tick(frame, None)
                if tick is None or abs(tick - anchor) > tol:
                    yield from self._exact(plan, group)
                else:
                    for g in group:
                        yield g, self.secs(tick), frame
            else:
                yield from self._walk_group(plan, group, anchor, tol)
            i = j

    def _walk_group(self, plan: SamplePlan, group: list[int], anchor: int, tol: int) -> Iterator[tuple[int, float, object]]:
        """Decode forward from ``anchor`` skipping non-reference frames; nearest frame per target.

        A target left without any frame within tolerance (skipping opened too wide a gap, or
        the seek landed elsewhere) hands it and the rest of the group to the exact walk.
        """
        skip = "NONREF" if plan.tolerance >= self.min_skip_tolerance else "DEFAULT"
        self._land(anchor)
        frames = self._frames(skip)
        carry: tuple[int, object] | None = None  # decoded last; it may serve the next target too
        shown: tuple[int, object] | None = None  # the last decoded frame at or before the target
        for n, g in enumerate(group):
            want = self.target_tick(plan.times[g])
            best = None  # (distance, tick, frame)
            if carry is not None and carry[0] <= want:
                shown = carry
            if carry is not None and abs(carry[0] - want) <= tol:
                best = (abs(carry[0] - want), carry[0], carry[1])
            if carry is None or carry[0] < want:
                for frame in frames:
                    tick = self._frame_tick(frame, carry[0] if carry else None)
                    if carry is not None and tick <= carry[0]:
                        continue  # out of order: ignore
                    carry = (tick, frame)
                    if tick <= want:
                        shown = carry
                    if abs(tick - want) <= tol and (best is None or abs(tick - want) < best[0]):
                        best = (abs(tick - want), tick, frame)
                    if tick >= want:
                        break
            if best is None and skip == "DEFAULT" and shown is not None:
                best = (abs(shown[0] - want), shown[0], shown[1])  # every frame was decoded: this one is shown
            if best is None:
                log.debug("no frame within %d ticks of tick %d after skipping; decoding the rest exactly", tol, want)
                yield from self._exact(plan, group[n:])
                return
            yield g, self.secs(best[1]), best[2]


class _Trust:
    """Which decoded frames to trust after damage, judged by their packet's place in decode order.

    Places count the packets fed to the decoder (1, 2, ...); a frame's place is its packet's,
    found by PTS (a frame without one, or whose PTS no packet had, takes the newest place).
    A frame is not trusted when damage lies at its place or within ``guard`` packets after
    it (``GUARD_PACKETS``, plus the packets a frame-threaded decoder is behind, plus its reorder
    depth: it reports an error when that frame's turn comes, and flags a reference frame corrupt
    only when it is shown, after the B-frames decoded from it), or when the last damage before
    it is not yet followed by a keyframe packet (or is, but the frame shows earlier than that
    keyframe: an open GOP's leading frames refer back across it); without a keyframe, trust
    returns ``taint_ticks`` after the damage.
    """

    def __init__(self, taint_ticks: int):
        self.taint_ticks = taint_ticks
        self.guard: int | None = None  # packets before damage not trusted (set once the decoder is open)
        self.place = 0  # the newest packet's place
        self._of: dict[int, int] = {}  # packet PTS -> place (the recent ones)
        self._damaged: list[int] = []  # places of damage, ascending
        self._damaged_ticks: list[int | None] = []  # and their ticks
        self._keys: list[int] = []  # places of keyframe packets, ascending
        self._key_ticks: list[int | None] = []

    def fed(self, pts: int | None, tick: int | None, key: bool) -> int:
        """A packet goes to the decoder: its place."""
        self.place += 1
        if pts is not None:
            self._of[int(pts)] = self.place
            if len(self._of) > 4 * MAX_GOP_PACKETS:  # frames come out a few packets late at most
                horizon = self.place - MAX_GOP_PACKETS
                self._of = {k: v for k, v in self._of.items() if v >= horizon}
        if key:
            self._keys.append(self.place)
            self._key_ticks.append(tick)
        return self.place

    def place_of(self, pts: int | None) -> int:
        return self.place if pts is None else self._of.get(int(pts), self.place)

    def damage(self, place: int, tick: int | None) -> None:
        i = bisect.bisect_right(self._damaged, place)
        self._damaged.insert(i, place)
        self._damaged_ticks.insert(i, tick)

    def damaged_since_key(self) -> bool:
        """Whether damage came after the last keyframe packet (or, with none yet, at all)."""
        return bool(self._damaged) and (not self._keys or self._damaged[-1] > self._keys[-1])

    def trusted(self, place: int, tick: int) -> bool:
        if not self._damaged:
            return True
        i = bisect.bisect_left(self._damaged, place)
        if i < len(self._damaged) and self._damaged[i] <= place + (self.guard or GUARD_PACKETS):
            return False  # damage at it or just after it: garbage may have begun inside its packet
        if i == 0:
            return True
        since, since_tick = self._damaged[i - 1], self._damaged_ticks[i - 1]
        j = bisect.bisect_right(self._keys, since)
        if j < len(self._keys) and self._keys[j] <= place:
            key_tick = self._key_ticks[j]
            return key_tick is None or tick >= key_tick
        return since_tick is not None and tick - since_tick > self.taint_ticks


def _stamp(packet) -> int | None:
    stamp = packet.pts if packet.pts is not None else packet.dts
    return int(stamp) if stamp is not None else None


def _frame_ticks(path, stream):
    """Sorted PTS (stream ticks) of every frame, from an MP4/MOV index; None for other files."""
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
