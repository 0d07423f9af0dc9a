"""On-screen text: RapidOCR (PP-OCR ONNX models shipped in the ``rapidocr`` wheel) over frames.

    engine = OcrEngine()                         # lazy: the ONNX sessions load on first use
    texts = ocr_frames(batches, engine=engine)   # list[FrameText], one per frame, plan order
    spans = ocr_spans(texts)                     # list[OcrSpan]: each line with its time span

A static slide or a title card is read once: a frame whose small grey thumbnail differs
from the picture last read by no more than ``dup_threshold`` in every cell reuses those
lines (``FrameText.reused``).  Where only part of the picture changed (a presenter over a
still slide, a moving inset, a ticker: at most ``partial_max`` of the frame), only that
part is read: the changed cells, padded and grown to cover every earlier line they touch,
go through detection and recognition, and the earlier lines elsewhere are kept
(:class:`FrameReader`; detection costs about its area).  Each cell is compared with the
picture it had when it was last read, so a slow fade cannot creep past the threshold read
by read; and after ``whole_every`` such reads a changed frame is read whole again, so a
line the detector missed (or imagined) on a still part of the picture is not kept for
good.  When the whole picture moves, static text on it (a station logo, a lower third, a
caption that stays) is detected again, but each detected line is recognised again only
when its pixels changed: the engine remembers the last ``line_memory`` lines it
recognised (box and grey thumbnail of the region, within ``line_threshold`` per cell) and
their readings.  Recognition is about a third of a frame's OCR time, so a logo on every
frame of a broadcast costs detection only.

Detection runs at a working resolution whose longer side is ``det_max_side`` pixels
(RapidOCR's default upscales small frames to 736 pixels on the *shorter* side, about 5x
slower on 320x180 frames for the same text).

Frames are ``(H, W, 3)`` uint8 RGB as the media layer decodes them.  Knows nothing about
decoding, tasks or the CLI; the text is not interpreted here.
"""

from __future__ import annotations

import difflib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vidq.errors import MissingDependency, ModelError
from vidq.media import signals
from vidq.media.types import FrameBatch
from vidq.progress import ProgressFn, no_progress

log = logging.getLogger("vidq.models")

MODEL_LABEL = "RapidOCR PP-OCRv6 small (rapidocr)"  # what results' meta call it
THUMB_SIZE = (27, 48)  # (rows, cols) of the grey thumbnail compared between frames
LINE_ROWS = 8  # rows of a remembered line's grey thumbnail (columns follow its aspect, up to LINE_MAX_COLS)
LINE_MAX_COLS = 64
SPAN_SIMILARITY = 0.8  # difflib ratio at which two OCR lines count as the same text


@dataclass(frozen=True)
class OcrOptions:
    """How frames are read; ``dataclasses.replace`` to override."""

    det_max_side: int = 640  # detector working resolution: longer side in pixels (frames are never upscaled past it)
    min_score: float = 0.6  # drop recognised lines scored below this (0..1)
    dup_threshold: float = 6.0  # max per-cell grey difference (0..255) for a frame to reuse the last read
    min_chars: int = 2  # drop lines with fewer alphanumeric characters (speckle, single glyphs)
    line_memory: int = 32  # recognised lines remembered for reuse (0: recognise every detected line)
    line_threshold: float = 8.0  # max per-cell grey difference (0..255) for a line to reuse a reading
    threads: int = 0  # ONNX Runtime threads per model (0: its default, one per core)
    partial_max: float = 0.5  # a frame changed within at most this share of its area is read there only (0: never)
    whole_every: int = 8  # ... but after this many such reads the next changed frame is read whole


@dataclass(frozen=True)
class OcrLine:
    """One recognised line of text."""

    text: str  # the text as recognised, stripped
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) in frame pixels
    score: float  # recognition confidence 0..1


@dataclass(frozen=True)
class FrameText:
    """The text on one frame."""

    index: int  # position in the sampling plan (FrameBatch.indices)
    time: float  # seconds (the frame's PTS)
    lines: tuple[OcrLine, ...]  # top-to-bottom, left-to-right
    reused: bool  # True when copied from an earlier near-identical frame instead of read

    @property
    def text(self) -> str:
        """All lines joined with " / "."""
        return " / ".join(line.text for line in self.lines)


@dataclass(frozen=True)
class OcrSpan:
    """A line of text and the stretch of frames it stayed on screen."""

    start: float  # seconds: first frame it was seen on
    end: float  # seconds: last frame it was seen on (== start for a single frame)
    text: str  # the best-scored reading of it
    score: float  # that reading's confidence
    frames: int  # how many frames carried it


class OcrEngine:
    """RapidOCR with vidq's settings; the ONNX models load on the first call."""

    def __init__(self, options: OcrOptions | None = None):
        self.options = options or OcrOptions()
        self._ocr = None
        self.load_seconds = 0.0  # wall time of loading the models (0 until loaded)
        self.lines = LineMemory(self.options.line_memory, self.options.line_threshold)

    def _engine(self):
        if self._ocr is None:
            t0 = time.perf_counter()
            try:
                from rapidocr import RapidOCR
            except ImportError as e:
                raise MissingDependency("rapidocr", "offline", "reading on-screen text") from e
            params = {
                "Global.use_cls": False,  # video text is upright; the angle classifier costs time
                "Global.text_score": float(self.options.min_score),
                "Global.log_level": "error",
                "Det.limit_type": "max",
                "Det.limit_side_len": int(self.options.det_max_side),
            }
            if self.options.threads > 0:
                params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(self.options.threads)
            try:
                self._ocr = RapidOCR(params=params)
            except Exception as e:  # onnxruntime/session errors carry no common base class
                raise ModelError(f"cannot load RapidOCR's models ({e})") from e
            if self.options.line_memory > 0:
                self.lines.attach(self._ocr)
            self.load_seconds = time.perf_counter() - t0
        return self._ocr

    def read(self, image: np.ndarray, region: tuple[int, int, int, int] | None = None) -> tuple[OcrLine, ...]:
        """Text lines on one ``(H, W, 3)`` uint8 RGB frame, or only within ``region`` (x0, y0, x1, y1
        pixels; the lines' boxes are still in frame pixels)."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"a frame must have shape (H, W, 3), got {image.shape}")
        # RapidOCR takes OpenCV's channel order (BGR) for arrays.
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        x0, y0 = 0, 0
        view = bgr
        if region is not None:
            x0, y0, x1, y1 = region
            view = np.ascontiguousarray(bgr[y0:y1, x0:x1])
            self.lines.base = (bgr, x0, y0)  # the line memory keeps frame coordinates
        try:
            result = self._engine()(view)
        finally:
            self.lines.base = None
        if result is None or result.txts is None or result.boxes is None:
            return ()
        lines = []
        for text, box, score in zip(result.txts, result.boxes, result.scores):
            text = str(text).strip()
            if float(score) < self.options.min_score or sum(c.isalnum() for c in text) < self.options.min_chars:
                continue
            pts = np.asarray(box, np.float64).reshape(-1, 2)
            lines.append(OcrLine(text, (float(pts[:, 0].min()) + x0, float(pts[:, 1].min()) + y0,
                                        float(pts[:, 0].max()) + x0, float(pts[:, 1].max()) + y0), float(score)))
        return tuple(sorted(lines, key=reading_order))


def reading_order(line: OcrLine) -> tuple[int, float]:
    """Sort key of lines: top to bottom (within 8 pixels), then left to right."""
    return round(line.box[1] / 8), line.box[0]


def changed_region(ref: np.ndarray, thumb: np.ndarray, size: tuple[int, int], threshold: float,
                   lines: Iterable[OcrLine] = (), *, pad: int = 1, min_side: int = 32
                   ) -> tuple[int, int, int, int] | None:
    """The pixels ``(x0, y0, x1, y1)`` of a ``size`` (w, h) frame a read must cover, or None when
    no cell of ``thumb`` differs from ``ref`` (thumbnails of :func:`thumbnail`) by more than ``threshold``.

    The bounding box of the changed cells, ``pad`` cells wider on each side and at least
    ``min_side`` pixels a side, grown until it covers every one of ``lines`` it touches (a
    line that changed in part is read again whole).

    >>> ref = np.zeros((4, 4), np.float32); now = ref.copy(); now[1, 2] = 50
    >>> changed_region(ref, now, (400, 400), 6.0, pad=0, min_side=0)
    (200, 100, 300, 200)
    >>> changed_region(ref, now, (400, 400), 6.0, [OcrLine("x", (20.0, 150.0, 220.0, 170.0), 1.0)], pad=0, min_side=0)
    (20, 100, 300, 200)
    >>> changed_region(ref, ref, (400, 400), 6.0) is None
    True
    """
    changed = np.abs(thumb - ref) > threshold
    if not changed.any():
        return None
    rows, cols = thumb.shape
    w, h = size
    r, c = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    r0, r1 = max(0, int(r[0]) - pad), min(rows, int(r[-1]) + 1 + pad)
    c0, c1 = max(0, int(c[0]) - pad), min(cols, int(c[-1]) + 1 + pad)
    x0, x1 = (c0 * w) // cols, (c1 * w) // cols
    y0, y1 = (r0 * h) // rows, (r1 * h) // rows
    if x1 - x0 < min_side:
        x0 = max(0, min(x0 - (min_side - (x1 - x0)) // 2, w - min_side))
        x1 = min(w, x0 + min_side)
    if y1 - y0 < min_side:
        y0 = max(0, min(y0 - (min_side - (y1 - y0)) // 2, h - min_side))
        y1 = min(h, y0 + min_side)
    boxes = [_bounds(ln.box) for ln in lines]
    grown = True
    while grown:
        grown = False
        for bx0, by0, bx1, by1 in boxes:
            touches = bx0 < x1 and x0 < bx1 and by0 < y1 and y0 < by1
            if touches and not (x0 <= bx0 and y0 <= by0 and bx1 <= x1 and by1 <= y1):
                x0, y0 = max(0, min(x0, bx0)), max(0, min(y0, by0))
                x1, y1 = min(w, max(x1, bx1)), min(h, max(y1, by1))
                grown = True
    return x0, y0, x1, y1


def _overlaps(box: tuple[float, float, float, float], region: tuple[int, int, int, int]) -> bool:
    return box[0] < region[2] and region[0] < box[2] and box[1] < region[3] and region[1] < box[3]


class FrameReader:
    """Reads a stream of frames with an engine, each frame only where it changed (module docstring).

        reader = FrameReader(engine)
        lines, reused = reader.read(frame)   # reused: nothing changed, the last lines stand

    ``full``, ``partial`` and ``reused`` count the frames read whole, read in part and not read.
    """

    def __init__(self, engine: OcrEngine):
        self.engine = engine
        self.lines: tuple[OcrLine, ...] = ()
        self._ref: np.ndarray | None = None  # each cell as it was when last read
        self._shape: tuple[int, ...] = ()
        self._since_whole = 0  # frames read in part since the last one read whole
        self.full = self.partial = self.reused = 0

    def read(self, image: np.ndarray) -> tuple[tuple[OcrLine, ...], bool]:
        """The lines on ``image`` and whether the last read's lines were reused unchanged."""
        thumb = thumbnail(image)
        opts = self.engine.options
        h, w = image.shape[:2]
        if self._ref is None or self._shape != image.shape or self._ref.shape != thumb.shape:
            return self._whole(image, thumb), False
        region = changed_region(self._ref, thumb, (w, h), opts.dup_threshold, self.lines)
        if region is None:
            self.reused += 1
            return self.lines, True
        x0, y0, x1, y1 = region
        if (x1 - x0) * (y1 - y0) > opts.partial_max * w * h or self._since_whole >= opts.whole_every:
            return self._whole(image, thumb), False
        kept = [ln for ln in self.lines if not _overlaps(ln.box, region)]
        self.lines = tuple(sorted([*kept, *self.engine.read(image, region)], key=reading_order))
        rows, cols = thumb.shape  # cells wholly inside the region were read as they are now
        r0, r1 = -(-y0 * rows // h), y1 * rows // h
        c0, c1 = -(-x0 * cols // w), x1 * cols // w
        self._ref[r0:r1, c0:c1] = thumb[r0:r1, c0:c1]
        self.partial += 1
        self._since_whole += 1
        return self.lines, False

    def _whole(self, image: np.ndarray, thumb: np.ndarray) -> tuple[OcrLine, ...]:
        self.lines = self.engine.read(image)
        self._ref, self._shape = thumb.copy(), image.shape
        self.full += 1
        self._since_whole = 0
        return self.lines


class LineMemory:
    """Readings of recently recognised text lines, reused where the same pixels are still there.

    ``attach(rapidocr)`` hooks a RapidOCR instance: after detection, each detected line
    whose box lies within ``reach`` pixels of a remembered line's box, and whose frame
    region *at the remembered box* has a grey thumbnail within ``threshold`` of the one
    stored (in every cell), takes the remembered text and score; only the other lines are
    recognised (in one batch) and remembered, the oldest forgotten past ``size``.  The
    region is compared at fixed coordinates because the detector's boxes move by a pixel
    or two when unrelated parts of the picture change.  ``hits``/``misses`` count lines.
    """

    def __init__(self, size: int = 32, threshold: float = 8.0, reach: float = 4.0):
        self.size = size
        self.threshold = threshold
        self.reach = reach
        self._seen: list[tuple[tuple[int, int, int, int], np.ndarray, str, float]] = []  # most recent last
        self._frame: tuple[np.ndarray, list[tuple[int, int, int, int]]] | None = None
        self.base: tuple[np.ndarray, int, int] | None = None  # (whole frame, x0, y0) while a region of it is read
        self.hits = 0
        self.misses = 0

    def lookup(self, image: np.ndarray, bounds: tuple[int, int, int, int]) -> tuple[str, float] | None:
        """The remembered reading of the line at ``bounds`` (x0, y0, x1, y1) in ``image``, if unchanged."""
        for k in range(len(self._seen) - 1, -1, -1):
            seen_bounds, thumb, text, score = self._seen[k]
            if max(abs(p - q) for p, q in zip(bounds, seen_bounds)) > self.reach:
                continue
            region = region_thumbnail(image, seen_bounds, thumb.shape)
            if region is not None and float(np.abs(region - thumb).max()) <= self.threshold:
                self._seen.append(self._seen.pop(k))
                return text, score
        return None

    def remember(self, image: np.ndarray, bounds: tuple[int, int, int, int], text: str, score: float) -> None:
        x0, y0, x1, y1 = bounds
        cols = max(1, min(LINE_MAX_COLS, round(LINE_ROWS * (x1 - x0) / max(y1 - y0, 1))))
        thumb = region_thumbnail(image, bounds, (LINE_ROWS, cols))
        if thumb is not None:
            self._seen.append((bounds, thumb, text, score))
            del self._seen[:-self.size]

    def recognize(self, recognize, crops: list[np.ndarray]):
        """``recognize(crops)`` for the lines of the last detected frame that are not remembered."""
        frame, self._frame = self._frame, None
        if frame is None or len(frame[1]) != len(crops):
            self.misses += len(crops)
            return recognize(crops)
        image, boxes = frame
        known = [self.lookup(image, b) for b in boxes]
        todo = [i for i, k in enumerate(known) if k is None]
        self.hits += len(crops) - len(todo)
        self.misses += len(todo)
        if todo:
            fresh = recognize([crops[i] for i in todo])
            for i, text, score in zip(todo, fresh.txts, fresh.scores):
                known[i] = (str(text), float(score))
                self.remember(image, boxes[i], str(text), float(score))
            if len(todo) == len(crops):
                return fresh
        from rapidocr.ch_ppocr_rec.typings import TextRecOutput

        return TextRecOutput(list(crops), tuple(k[0] for k in known), [k[1] for k in known],
                             tuple(None for _ in known), 0.0)

    def attach(self, ocr) -> None:
        """Hook RapidOCR's detection (to see the frame and boxes) and recognition (to skip known lines).

        These are RapidOCR 3.x's pipeline steps; a RapidOCR without them runs unhooked
        (every line recognised), with a debug note.
        """
        detect, recognize = getattr(ocr, "detect_and_crop", None), getattr(ocr, "recognize_txt", None)
        if detect is None or recognize is None:
            log.debug("ocr: this RapidOCR has no detect_and_crop/recognize_txt steps; every line is recognised")
            return

        def detect_and_crop(img, op_record):
            crops, det = detect(img, op_record)
            boxes = [_bounds(box) for box in det.boxes]
            if self.base is not None:  # a region was read: remember the lines in frame coordinates
                img, dx, dy = self.base
                boxes = [(a + dx, b + dy, c + dx, d + dy) for a, b, c, d in boxes]
            self._frame = (img, boxes)
            return crops, det

        ocr.detect_and_crop = detect_and_crop
        ocr.recognize_txt = lambda crops: self.recognize(recognize, crops)


def _bounds(box) -> tuple[int, int, int, int]:
    pts = np.asarray(box, np.float64).reshape(-1, 2)
    return (int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
            int(np.ceil(pts[:, 0].max())), int(np.ceil(pts[:, 1].max())))


def region_thumbnail(image: np.ndarray, bounds: tuple[int, int, int, int], size: tuple[int, int]) -> np.ndarray | None:
    """Grey thumbnail ``size`` of ``image[y0:y1, x0:x1]`` (clipped to the image); None when that is empty."""
    x0, y0, x1, y1 = bounds
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < size[1] or y1 - y0 < size[0]:
        return None
    return thumbnail(image[y0:y1, x0:x1], size)


def thumbnail(image: np.ndarray, size: tuple[int, int] = THUMB_SIZE) -> np.ndarray:
    """Grey thumbnail ``(rows, cols)`` float32 by area averaging (the duplicate test's input)."""
    rows, cols = size
    h, w = image.shape[:2]
    sums, area = signals.cell_sums(signals.luma_milli(image[None]), min(rows, h), min(cols, w))
    return (sums[0] / (1000.0 * area)).astype(np.float32)


def ocr_frames(
    batches: Iterable[FrameBatch],
    *,
    engine: OcrEngine | None = None,
    total: int | None = None,
    progress: ProgressFn | None = None,
) -> list[FrameText]:
    """Read every frame of a stream of batches (each where it changed, see :class:`FrameReader`).

    ``total`` (frames expected) only feeds ``progress("ocr", done, total)``.
    Returns one :class:`FrameText` per frame, in stream order.
    """
    engine = engine or OcrEngine()
    report = progress or no_progress
    out: list[FrameText] = []
    reader = FrameReader(engine)
    for batch in batches:
        for k in range(len(batch)):
            lines, same = reader.read(batch.images[k])
            out.append(FrameText(int(batch.indices[k]), float(batch.pts[k]), lines, same))
            report("ocr", len(out), total)
    log.debug("ocr: %d of %d frames read whole, %d in part, %d unchanged; lines: %d recognised, %d reused",
              reader.full, len(out), reader.partial, reader.reused, engine.lines.misses, engine.lines.hits)
    return out


def normalize(text: str) -> str:
    """Lower case, letters and digits of any script, single spaces: the form OCR lines are compared in.

    ``"Déjà vu, l'hôpital!"`` -> ``"déjà vu l hôpital"``; Chinese and Japanese lines keep their characters.
    """
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def ocr_spans(texts: Iterable[FrameText], *, max_gap: float = 3.0) -> list[OcrSpan]:
    """Group each text line across consecutive frames into spans of time it stayed on screen.

    A line continues an open span when it reads about the same (difflib ratio >=
    ``SPAN_SIMILARITY`` after :func:`normalize`) and was last seen at most ``max_gap``
    seconds earlier.  Returns spans ordered by start time.
    """
    open_spans: list[dict] = []
    done: list[OcrSpan] = []
    for ft in texts:
        still_open = []
        for span in open_spans:
            if ft.time - span["last"] > max_gap:
                done.append(_close(span))
            else:
                still_open.append(span)
        open_spans = still_open
        for line in ft.lines:
            key = normalize(line.text)
            if not key:
                continue
            match = None
            for span in open_spans:
                if span["last"] < ft.time and difflib.SequenceMatcher(None, span["key"], key).ratio() >= SPAN_SIMILARITY:
                    match = span
                    break
            if match is None:
                open_spans.append({"start": ft.time, "last": ft.time, "key": key, "best": line, "frames": 1})
            else:
                match["last"] = ft.time
                match["frames"] += 1
                if line.score > match["best"].score:
                    match["best"] = line
                    match["key"] = key
    done.extend(_close(span) for span in open_spans)
    return sorted(done, key=lambda s: (s.start, s.text))


def _close(span: dict) -> OcrSpan:
    best: OcrLine = span["best"]
    return OcrSpan(start=span["start"], end=span["last"], text=best.text, score=best.score, frames=span["frames"])
