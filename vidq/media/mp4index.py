"""Read an MP4/MOV sample index (the ``moov`` box) without decoding or reading media data.

``read_index(path)`` walks the box tree and returns, per track, every sample's presentation
time (from ``stts`` + ``ctts``, shifted by the edit list the way FFmpeg's demuxer does),
which samples are sync samples (``stss``), the display rotation from the ``tkhd`` matrix,
and where each sample's data ends (``stsc`` + ``stsz`` + ``stco``/``co64``), so the part of
a truncated file that is still there is known before anything is decoded.  On a 1-hour file this reads the
``moov`` box only (a few MB), never the media data.

It returns ``None`` for what it does not model (fragmented MP4, several non-empty edits):
callers then demux packets instead.  It raises :class:`Mp4Error` for a file that looks
like MP4 but whose index is missing or damaged.  It knows nothing about codecs, PyAV or vidq.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass

import numpy as np

CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}  # boxes holding other boxes
MAX_MOOV_BYTES = 512 * 1024 * 1024  # refuse absurd index sizes instead of exhausting memory
TOP_LEVEL_TYPES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"moof", b"mfra",
                   b"pnot", b"sidx", b"styp", b"meta", b"pdin", b"prfl", b"junk"}


class Mp4Error(Exception):
    """The file starts like an MP4/MOV but its index is missing, truncated or inconsistent."""


@dataclass(frozen=True)
class TrackIndex:
    """One track's sample table, times in seconds on the track's own clock (edit list applied)."""

    track_id: int  # tkhd track_ID
    handler: str  # "vide", "soun", "text", "sbtl", ...
    timescale: int  # mdhd ticks per second
    pts: np.ndarray  # (n,) float64 presentation time of each sample in decode order, seconds
    sync: np.ndarray  # (n,) bool, True for sync samples (keyframes)
    rotation: int  # clockwise display rotation from the tkhd matrix: 0, 90, 180, 270
    data_end: int  # byte offset just past the track's last sample
    duration: float  # mdhd duration in seconds
    ends: np.ndarray | None = None  # (n,) int64 byte offset just past each sample (None: no chunk table)

    @property
    def count(self) -> int:
        return int(self.pts.shape[0])


@dataclass(frozen=True)
class Mp4Index:
    tracks: tuple[TrackIndex, ...]  # in file order
    file_size: int  # bytes on disk when read

    def video_tracks(self) -> list[TrackIndex]:
        return [t for t in self.tracks if t.handler == "vide"]


def looks_like_mp4(path: str | os.PathLike) -> bool:
    """True when the file begins with an ISO-BMFF box (``ftyp``, ``moov``, ``mdat``, ...)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[4:8] in TOP_LEVEL_TYPES


def read_index(path: str | os.PathLike) -> Mp4Index | None:
    """The sample index of an MP4/MOV file; ``None`` when the layout is one this reader skips."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        moov = None
        fragmented = False
        pos = 0
        while pos + 8 <= size:
            fh.seek(pos)
            head = fh.read(16)
            box_size, kind = struct.unpack(">I4s", head[:8])
            header = 8
            if box_size == 1:
                if len(head) < 16:
                    raise Mp4Error("box header cut off")
                box_size = struct.unpack(">Q", head[8:16])[0]
                header = 16
            elif box_size == 0:
                box_size = size - pos
            if box_size < header:
                raise Mp4Error(f"damaged box {kind!r} at byte {pos}")
            if kind == b"moov":
                if pos + box_size > size:
                    raise Mp4Error("the 'moov' index is cut off (file truncated)")
                if box_size > MAX_MOOV_BYTES:
                    raise Mp4Error(f"'moov' index of {box_size} bytes is implausibly large")
                fh.seek(pos + header)
                moov = fh.read(box_size - header)
            elif kind == b"moof":
                fragmented = True
            pos += box_size
    if moov is None:
        raise Mp4Error("no 'moov' index (the file is incomplete: the recording or download was cut off)")
    if fragmented:
        return None
    movie_timescale = 1
    tracks: list[TrackIndex] = []
    for kind, body in _boxes(moov):
        if kind == b"mvhd":
            movie_timescale = _mvhd_timescale(body)
    for kind, body in _boxes(moov):
        if kind == b"trak":
            track = _read_trak(body, movie_timescale)
            if track is None:
                return None
            tracks.append(track)
    return Mp4Index(tracks=tuple(tracks), file_size=size)


def _boxes(buf: bytes | memoryview, start: int = 0, end: int | None = None):
    """Yield (type, body) of the boxes in ``buf[start:end]``."""
    view = memoryview(buf)
    end = len(view) if end is None else end
    pos = start
    while pos + 8 <= end:
        box_size, kind = struct.unpack_from(">I4s", view, pos)
        header = 8
        if box_size == 1:
            box_size = struct.unpack_from(">Q", view, pos + 8)[0]
            header = 16
        elif box_size == 0:
            box_size = end - pos
        if box_size < header or pos + box_size > end:
            raise Mp4Error(f"damaged box {bytes(kind)!r} inside the index")
        yield bytes(kind), view[pos + header: pos + box_size]
        pos += box_size


def _children(body) -> dict[bytes, list]:
    found: dict[bytes, list] = {}
    for kind, child in _boxes(body):
        found.setdefault(kind, []).append(child)
        if kind in CONTAINER_BOXES:
            for sub, items in _children(child).items():
                found.setdefault(sub, []).extend(items)
    return found


def _mvhd_timescale(body) -> int:
    version = body[0]
    return struct.unpack_from(">I", body, 20 if version == 1 else 12)[0] or 1


def _read_trak(body, movie_timescale: int) -> TrackIndex | None:
    boxes = _children(body)
    if b"stbl" not in boxes or b"mdhd" not in boxes or b"stsz" not in boxes and b"stz2" not in boxes:
        raise Mp4Error("a track has no sample table")
    tkhd = boxes[b"tkhd"][0]
    version = tkhd[0]
    track_id = struct.unpack_from(">I", tkhd, 20 if version == 1 else 12)[0]
    matrix_at = 4 + (32 if version == 1 else 20) + 8 + 2 + 2 + 2 + 2
    a, b, _u, c, d = struct.unpack_from(">iiiii", tkhd, matrix_at)
    rotation = _rotation(a / 65536.0, b / 65536.0, c / 65536.0, d / 65536.0)

    mdhd = boxes[b"mdhd"][0]
    if mdhd[0] == 1:
        timescale, duration_ticks = struct.unpack_from(">IQ", mdhd, 20)
    else:
        timescale, duration_ticks = struct.unpack_from(">II", mdhd, 12)
    timescale = timescale or 1
    hdlr = boxes.get(b"hdlr", [b"\0" * 12])[0]
    handler = bytes(hdlr[8:12]).decode("latin-1")

    sizes = _stsz(boxes)
    n = sizes.shape[0]
    deltas = _table(boxes, b"stts", 2, ">u4")  # (runs, 2): count, delta
    dts = np.zeros(n, dtype=np.int64)
    if deltas.size:
        per_sample = np.repeat(deltas[:, 1].astype(np.int64), deltas[:, 0].astype(np.int64))[:n]
        if per_sample.shape[0] < n:
            raise Mp4Error("the time table ('stts') is shorter than the sample table")
        dts[1:] = np.cumsum(per_sample[:-1])
    cts = dts.copy()
    if b"ctts" in boxes:
        offsets = _table(boxes, b"ctts", 2, ">i4")  # signed in both versions, as FFmpeg reads them
        per_sample = np.repeat(offsets[:, 1].astype(np.int64), offsets[:, 0].astype(np.uint32).astype(np.int64))[:n]
        cts[: per_sample.shape[0]] += per_sample
    shift = _edit_shift(boxes.get(b"elst"), timescale, movie_timescale, cts)
    if shift is None:
        return None
    pts = (cts - shift).astype(np.float64) / timescale

    sync = np.ones(n, dtype=bool)
    if b"stss" in boxes:
        sync[:] = False
        numbers = _table(boxes, b"stss", 1, ">u4")[:, 0].astype(np.int64) - 1
        sync[numbers[(numbers >= 0) & (numbers < n)]] = True
    ends = _sample_ends(boxes, sizes)
    return TrackIndex(track_id=track_id, handler=handler, timescale=timescale, pts=pts, sync=sync,
                      rotation=rotation, data_end=int(ends.max()) if ends is not None and ends.size else 0,
                      duration=duration_ticks / timescale, ends=ends)


def _rotation(a: float, b: float, c: float, d: float) -> int:
    """Clockwise display rotation of the tkhd matrix [[a b] [c d]] (FFmpeg's convention, negated)."""
    if abs(a) < 1e-6 and abs(b) < 1e-6:
        return 0
    # FFmpeg's av_display_rotation_get() is -atan2(b, a): counter-clockwise; we report clockwise
    clockwise = math.degrees(math.atan2(b, a))
    return int(round(clockwise / 90.0) * 90) % 360


def _full_box_payload(body) -> memoryview:
    return memoryview(body)[4:]  # skip version + flags


def _table(boxes, kind: bytes, columns: int, dtype: str) -> np.ndarray:
    """A full box holding ``entry_count`` rows of ``columns`` big-endian 32-bit integers."""
    body = _full_box_payload(boxes[kind][0])
    count = struct.unpack_from(">I", body, 0)[0]
    need = 4 + count * columns * 4
    if len(body) < need:
        raise Mp4Error(f"the {kind.decode()} table is cut off")
    return np.frombuffer(body, dtype=dtype, count=count * columns, offset=4).reshape(count, columns)


def _stsz(boxes) -> np.ndarray:
    if b"stsz" in boxes:
        body = _full_box_payload(boxes[b"stsz"][0])
        fixed, count = struct.unpack_from(">II", body, 0)
        if fixed:
            return np.full(count, fixed, dtype=np.int64)
        if len(body) < 8 + 4 * count:
            raise Mp4Error("the sample size table ('stsz') is cut off")
        return np.frombuffer(body, dtype=">u4", count=count, offset=8).astype(np.int64)
    body = _full_box_payload(boxes[b"stz2"][0])
    field_size = body[3]
    count = struct.unpack_from(">I", body, 4)[0]
    raw = np.frombuffer(body, dtype=np.uint8, offset=8)
    if field_size == 16:
        return np.frombuffer(body, dtype=">u2", count=count, offset=8).astype(np.int64)
    if field_size == 8:
        return raw[:count].astype(np.int64)
    nibbles = np.stack([raw >> 4, raw & 15], axis=1).reshape(-1)
    return nibbles[:count].astype(np.int64)


def _edit_shift(elst_boxes, timescale: int, movie_timescale: int, cts: np.ndarray) -> int | None:
    """Ticks to subtract from composition times; ``None`` for edit lists this reader does not model."""
    if not elst_boxes:
        return 0
    body = elst_boxes[0]
    version = body[0]
    count = struct.unpack_from(">I", body, 4)[0]
    entries = []
    pos = 8
    for _ in range(count):
        if version == 1:
            seg, media = struct.unpack_from(">Qq", body, pos)
            pos += 16
        else:
            seg, media = struct.unpack_from(">Ii", body, pos)
            pos += 8
        pos += 4  # media_rate
        entries.append((seg, media))
    delay = 0
    while entries and entries[0][1] == -1:  # empty edits: the track starts later
        # FFmpeg rescales with av_rescale (round to nearest, halves away from zero)
        delay += (2 * entries.pop(0)[0] * timescale + movie_timescale) // (2 * max(1, movie_timescale))
    if not entries:
        return -delay
    if len(entries) > 1:
        return None
    return entries[0][1] - delay


def _sample_ends(boxes, sizes: np.ndarray) -> np.ndarray | None:
    """Byte offset just past each sample (decode order); ``None`` without a chunk offset table."""
    if b"stco" in boxes:
        offsets = _table(boxes, b"stco", 1, ">u4")[:, 0].astype(np.int64)
    elif b"co64" in boxes:
        offsets = _table(boxes, b"co64", 2, ">u4").astype(np.int64)
        offsets = (offsets[:, 0] << 32) | offsets[:, 1]
    else:
        return None
    if offsets.size == 0 or sizes.size == 0:
        return None
    runs = _table(boxes, b"stsc", 3, ">u4").astype(np.int64)  # first_chunk (1-based), samples_per_chunk, desc
    n_chunks = offsets.shape[0]
    firsts = runs[:, 0] - 1
    lasts = np.append(firsts[1:], n_chunks)
    per_chunk = np.repeat(runs[:, 1], np.clip(lasts - firsts, 0, None))[:n_chunks]
    if per_chunk.shape[0] < n_chunks:
        per_chunk = np.append(per_chunk, np.full(n_chunks - per_chunk.shape[0], runs[-1, 1]))
    n = sizes.shape[0]
    chunk = np.repeat(np.arange(n_chunks), per_chunk)[:n]  # the chunk of each sample
    starts = np.concatenate([[0], np.cumsum(per_chunk)[:-1]])  # first sample of each chunk
    cum = np.concatenate([[0], np.cumsum(sizes)])
    ends = np.full(n, 2**62, dtype=np.int64)  # samples no chunk holds are nowhere in the file
    k = chunk.shape[0]
    ends[:k] = offsets[chunk] + cum[1:k + 1] - cum[starts[chunk]]
    return ends
