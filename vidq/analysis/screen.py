"""On-screen text over a stream of frames: which frames OCR reads, and when each line came and went.

    reader = ScreenReader(engine, every=3.0)
    for image, t in frames:            # every frame of the picture pass (2 a second), in time order
        reader.feed(image, t)
    lines = reader.finish()            # list[ScreenLine]: text, start, end, score, frames read

OCR is the expensive part (detection plus recognition, 0.05-0.3 CPU-s a frame), so it reads
a frame only every ``every`` seconds, or sooner (``min_gap``) when the picture changed
(a cut often brings a title card).  The frames in between are not read but kept until the
next read: when a line appears on a read frame, the frames before it are compared with it
*at the line's box* (a grey thumbnail of the region: the mean difference stays within
``REGION_THRESHOLD``), back to the first one that still shows it; when a line is gone, the frames after
its last reading are compared the same way.  So a line's span is known to one sampling
interval (half a second at 2 frames a second) while OCR reads a frame every few seconds,
with no extra OCR.  A line that stays on screen across a cut (a sign or a caption over a picture
that changes under it) no longer looks the same at its box, so at a cut OCR reads just that box
on the frame across it (at most ``CUT_CHECKS`` times a line): if the same text is there, the
line is followed on with that frame's look.

Readings of the same line on consecutive reads (same text after normalisation, small
misreadings allowed) merge into one :class:`ScreenLine`.  Knows nothing about decoding,
tasks or the CLI.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass

import numpy as np

from vidq.models.lite.ocr import (
    LINE_MAX_COLS,
    LINE_ROWS,
    SPAN_SIMILARITY,
    FrameReader,
    OcrEngine,
    OcrLine,
    normalize,
    region_thumbnail,
)

log = logging.getLogger("vidq.analysis")

SCREEN_READER_VERSION = 2  # bump when the lines read from the same frames change (part of the picture cache key)
OCR_EVERY = 4.0  # seconds between frames OCR reads (text that stays this long is always read)
OCR_MIN_GAP = 1.0  # seconds: after a picture change, a frame is read this soon after the last read
REGION_THRESHOLD = 12.0  # mean grey difference (0..255) of a line's region thumbnail for it to still show the line
MAX_GAP_READS = 1  # a line missing from this many consecutive reads (but seen again) keeps one span
CUT_CHECKS = 2  # per line followed: cuts it may be followed across, each checked by reading its box once
CHECK_PAD = 0.5  # the box read at a cut is padded by this many line heights on every side


@dataclass(frozen=True)
class ScreenLine:
    """A line of on-screen text and when it was shown."""

    start: float  # seconds: first frame showing it (read, or matched at its box)
    end: float  # seconds: last frame showing it
    text: str  # the best-scored reading
    score: float  # that reading's OCR confidence, 0..1
    frames: int  # reads that carried it
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) of the best reading, in read-frame pixels


@dataclass
class _Open:
    """A line being followed across reads."""

    key: str  # normalised text
    best: OcrLine  # best-scored reading so far
    start: float  # seconds (refined backwards when it appeared)
    last: float  # seconds: last read carrying it
    reads: int  # reads carrying it
    thumb: np.ndarray | None  # grey thumbnail of its region on the last read carrying it
    box: tuple[int, int, int, int]  # that region (x0, y0, x1, y1)
    missed: int = 0  # consecutive reads without it


def _bounds(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3]))


def _line_thumb(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    x0, y0, x1, y1 = box
    cols = max(1, min(LINE_MAX_COLS, round(LINE_ROWS * (x1 - x0) / max(y1 - y0, 1))))
    return region_thumbnail(image, box, (LINE_ROWS, cols))


def _shows(image: np.ndarray, box: tuple[int, int, int, int], thumb: np.ndarray | None,
           threshold: float) -> bool:
    """Whether ``image`` still shows, at ``box``, the region ``thumb`` was taken from."""
    if thumb is None:
        return False
    region = region_thumbnail(image, box, thumb.shape)
    # the mean, not the max: a caption box over a moving picture lets a little of it through
    return region is not None and float(np.abs(region - thumb).mean()) <= threshold


class ScreenReader:
    """Reads on-screen text from a stream of frames; see the module docstring."""

    def __init__(self, engine: OcrEngine | None = None, *, every: float = OCR_EVERY, min_gap: float = OCR_MIN_GAP,
                 region_threshold: float = REGION_THRESHOLD):
        self.engine = engine or OcrEngine()
        self.every = float(every)  # seconds between reads
        self.min_gap = float(min_gap)  # seconds: earliest re-read after a picture change
        self.region_threshold = float(region_threshold)
        self._reader = FrameReader(self.engine)  # reads each frame only where it changed
        self.frames = 0  # frames fed
        self._pending: list[tuple[np.ndarray, float, bool]] = []  # unread frames since the last read, each
        #                                                           with whether the picture cut just before it
        self.cut_checks = 0  # boxes OCR read to follow a line across a cut
        self._last_read: float | None = None  # time of the last read
        self._open: list[_Open] = []
        self._done: list[ScreenLine] = []

    # -- streaming ------------------------------------------------------------------------
    def feed(self, image: np.ndarray, t: float, *, changed: bool = False) -> None:
        """One frame at ``t`` seconds (ascending); ``changed``: the picture cut since the last frame."""
        self.frames += 1
        due = self._last_read is None or t - self._last_read >= self.every - 1e-6
        if not due and changed and t - self._last_read >= self.min_gap - 1e-6:
            due = True
        if not due:
            self._pending.append((image, t, changed))
            return
        self._read(image, t, changed)

    def finish(self) -> list[ScreenLine]:
        """Close every open line (following them over the unread tail) and return all lines by start."""
        for line in self._open:
            if line.missed == 0:  # (a line missed by the last read was followed when it was missed)
                self._follow_forward(line)
            self._close(line)
        self._open = []
        self._pending = []
        return sorted(self._done, key=lambda ln: (ln.start, ln.text))

    # -- reads ----------------------------------------------------------------------------
    @property
    def reads(self) -> int:
        """Frames OCR read whole."""
        return self._reader.full

    @property
    def partial(self) -> int:
        """Frames OCR read only where the picture had changed."""
        return self._reader.partial

    @property
    def reused(self) -> int:
        """Reads answered by the previous ones (the picture had not changed)."""
        return self._reader.reused

    def _read(self, image: np.ndarray, t: float, changed: bool = False) -> None:
        lines, _ = self._reader.read(image)
        matched: set[int] = set()
        fresh: list[tuple[OcrLine, str]] = []
        for line in lines:
            key = normalize(line.text)
            if not key:
                continue
            k = self._match(key, matched)
            if k is None:
                fresh.append((line, key))
                continue
            matched.add(k)
            o = self._open[k]
            o.last, o.reads, o.missed = t, o.reads + 1, 0
            o.box = _bounds(line.box)
            o.thumb = _line_thumb(image, o.box)
            if line.score > o.best.score:
                o.best, o.key = line, key
        still: list[_Open] = []
        for k, o in enumerate(self._open):
            if k in matched:
                still.append(o)
                continue
            o.missed += 1
            if o.missed == 1:
                self._follow_forward(o)  # when it went, among the frames since its last read
            if o.missed > MAX_GAP_READS:
                self._close(o)
            else:
                still.append(o)
        self._open = still
        for line, key in fresh:
            box = _bounds(line.box)
            line_thumb = _line_thumb(image, box)
            start = self._follow_back(box, line_thumb, t, key, changed)
            self._open.append(_Open(key, line, start, t, 1, line_thumb, box))
        self._pending = []
        self._last_read = t

    def _match(self, key: str, taken: set[int]) -> int | None:
        for k, o in enumerate(self._open):
            if k not in taken and difflib.SequenceMatcher(None, o.key, key).ratio() >= SPAN_SIMILARITY:
                return k
        return None

    def _follow_back(self, box: tuple[int, int, int, int], thumb: np.ndarray | None, t: float, key: str,
                     changed: bool) -> float:
        """The earliest unread frame before ``t`` that still shows the region (consecutively), or,
        across a cut (``changed``: one just before ``t``), still reads as ``key`` at ``box``."""
        start, checks, cut = t, CUT_CHECKS, changed
        for image, tp, after in reversed(self._pending):
            if not _shows(image, box, thumb, self.region_threshold):
                if not (cut and checks > 0 and self._reads_at(image, box, key)):
                    break
                checks -= 1
                thumb = _line_thumb(image, box)
            start, cut = tp, after
        return start

    def _follow_forward(self, o: _Open) -> None:
        """Extend ``o.last`` over the unread frames after its last read that still show it (across
        a cut: that still read as its text at its box)."""
        checks = CUT_CHECKS
        for image, tp, cut in self._pending:
            if tp <= o.last:
                continue
            if not _shows(image, o.box, o.thumb, self.region_threshold):
                if not (cut and checks > 0 and self._reads_at(image, o.box, o.key)):
                    break
                checks -= 1
                o.thumb = _line_thumb(image, o.box)
            o.last = tp

    def _reads_at(self, image: np.ndarray, box: tuple[int, int, int, int], key: str) -> bool:
        """Whether OCR reads ``key`` (or a close spelling) in ``image`` around ``box``."""
        x0, y0, x1, y1 = box
        pad = max(2, round(CHECK_PAD * (y1 - y0)))
        h, w = image.shape[:2]
        region = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
        if region[2] - region[0] < 4 or region[3] - region[1] < 4:
            return False
        self.cut_checks += 1
        return any(difflib.SequenceMatcher(None, normalize(line.text), key).ratio() >= SPAN_SIMILARITY
                   for line in self.engine.read(image, region))

    def _close(self, o: _Open) -> None:
        self._done.append(ScreenLine(float(o.start), float(o.last), o.best.text, float(o.best.score), o.reads,
                                     tuple(float(v) for v in o.best.box)))


def lines_to_json(lines: list[ScreenLine]) -> list[list]:
    return [[ln.start, ln.end, ln.text, ln.score, ln.frames, list(ln.box)] for ln in lines]


def lines_from_json(data: list) -> list[ScreenLine]:
    return [ScreenLine(float(s), float(e), str(x), float(sc), int(n), tuple(float(v) for v in box))
            for s, e, x, sc, n, box in data]
