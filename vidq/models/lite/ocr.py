"""On-screen text: RapidOCR (PP-OCR ONNX models shipped in the ``rapidocr`` wheel) over frames.

    engine = OcrEngine()                         # lazy: the ONNX sessions load on first use
    texts = ocr_frames(batches, engine=engine)   # list[FrameText], one per frame, plan order
    spans = ocr_spans(texts)                     # list[OcrSpan]: each line with its time span

A static slide or a title card is read once: a frame whose small grey thumbnail differs
from the last frame that was read by no more than ``dup_threshold`` in every cell reuses
that frame's lines (``FrameText.reused``).  Detection runs at a working resolution whose
longer side is ``det_max_side`` pixels (RapidOCR's default upscales small frames to 736
pixels on the *shorter* side, about 5x slower on 320x180 frames for the same text).

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
from vidq.media.types import FrameBatch
from vidq.progress import ProgressFn, no_progress

log = logging.getLogger("vidq.models")

MODEL_LABEL = "RapidOCR PP-OCRv6 small (rapidocr)"  # what results' meta call it
THUMB_SIZE = (27, 48)  # (rows, cols) of the grey thumbnail compared between frames
SPAN_SIMILARITY = 0.8  # difflib ratio at which two OCR lines count as the same text


@dataclass(frozen=True)
class OcrOptions:
    """How frames are read; ``dataclasses.replace`` to override."""

    det_max_side: int = 640  # detector working resolution: longer side in pixels (frames are never upscaled past it)
    min_score: float = 0.6  # drop recognised lines scored below this (0..1)
    dup_threshold: float = 6.0  # max per-cell grey difference (0..255) for a frame to reuse the last read
    min_chars: int = 2  # drop lines with fewer alphanumeric characters (speckle, single glyphs)


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
            try:
                self._ocr = RapidOCR(params=params)
            except Exception as e:  # onnxruntime/session errors carry no common base class
                raise ModelError(f"cannot load RapidOCR's models ({e})") from e
            self.load_seconds = time.perf_counter() - t0
        return self._ocr

    def read(self, image: np.ndarray) -> tuple[OcrLine, ...]:
        """Text lines on one ``(H, W, 3)`` uint8 RGB frame."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"a frame must have shape (H, W, 3), got {image.shape}")
        # RapidOCR takes OpenCV's channel order (BGR) for arrays.
        result = self._engine()(np.ascontiguousarray(image[:, :, ::-1]))
        if result is None or result.txts is None or result.boxes is None:
            return ()
        lines = []
        for text, box, score in zip(result.txts, result.boxes, result.scores):
            text = str(text).strip()
            if float(score) < self.options.min_score or sum(c.isalnum() for c in text) < self.options.min_chars:
                continue
            pts = np.asarray(box, np.float64).reshape(-1, 2)
            lines.append(OcrLine(text, (float(pts[:, 0].min()), float(pts[:, 1].min()),
                                        float(pts[:, 0].max()), float(pts[:, 1].max())), float(score)))
        lines.sort(key=lambda ln: (round(ln.box[1] / 8), ln.box[0]))
        return tuple(lines)


def thumbnail(image: np.ndarray, size: tuple[int, int] = THUMB_SIZE) -> np.ndarray:
    """Grey thumbnail ``(rows, cols)`` float32 by area averaging (the duplicate test's input)."""
    rows, cols = size
    h, w = image.shape[:2]
    rows, cols = min(rows, h), min(cols, w)
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    r_edges = (np.arange(rows + 1) * h) // rows
    c_edges = (np.arange(cols + 1) * w) // cols
    summed = np.add.reduceat(np.add.reduceat(grey, r_edges[:-1], axis=0), c_edges[:-1], axis=1)
    return summed / (np.diff(r_edges)[:, None] * np.diff(c_edges)[None, :])


def ocr_frames(
    batches: Iterable[FrameBatch],
    *,
    engine: OcrEngine | None = None,
    total: int | None = None,
    progress: ProgressFn | None = None,
) -> list[FrameText]:
    """Read every frame of a stream of batches; near-duplicates of the last read frame reuse it.

    ``total`` (frames expected) only feeds ``progress("ocr", done, total)``.
    Returns one :class:`FrameText` per frame, in stream order.
    """
    engine = engine or OcrEngine()
    report = progress or no_progress
    out: list[FrameText] = []
    last_thumb: np.ndarray | None = None
    last_lines: tuple[OcrLine, ...] = ()
    read = 0
    for batch in batches:
        for k in range(len(batch)):
            image = batch.images[k]
            thumb = thumbnail(image)
            same = (last_thumb is not None and last_thumb.shape == thumb.shape
                    and float(np.abs(thumb - last_thumb).max()) <= engine.options.dup_threshold)
            if not same:
                last_lines = engine.read(image)
                last_thumb = thumb
                read += 1
            out.append(FrameText(int(batch.indices[k]), float(batch.pts[k]), last_lines, same))
            report("ocr", len(out), total)
    log.debug("ocr: read %d of %d frames (%d near-duplicates reused)", read, len(out), len(out) - read)
    return out


def normalize(text: str) -> str:
    """Lower case, alphanumerics and single spaces: the form OCR lines are compared in."""
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


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
