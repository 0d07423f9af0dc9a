"""The one decode pass over a video's pictures: signals, on-screen text and thumbnails together.

    pictures = picture_pass(path, info, span, PictureOptions(), store=store, file_key=key)
    pictures.signals      # FrameSignals: per sampled frame black/luma/shot/aspect/logo/hash/colour
    pictures.screen       # list[ScreenLine]: on-screen text with when each line came and went
    pictures.thumbs       # list[(seconds, JPEG bytes)]: small stills every few seconds, for reports

Frames are sampled ``fps`` a second (at most ``max_frames``) and decoded once, at the size
OCR reads (``ocr_side``, never upscaled); the picture signals (``vidq.media.signals``:
what comskip looks at) are computed on an area-averaged copy ``signal_side`` pixels long,
OCR reads some of the frames (:class:`~vidq.analysis.screen.ScreenReader`), and every
``thumb_every`` seconds a small JPEG is kept.  Nothing holds more than one batch of
decoded frames plus the few unread frames the screen reader compares lines in.

The pass is cut into chunks of ``CHUNK_SECONDS``; each finished chunk is cached, so a run
killed half-way resumes at the first missing chunk.  The station-logo mask needs every
frame's corner edges, so logo presence is computed when the chunks are joined.

Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from vidq.analysis.screen import SCREEN_READER_VERSION, ScreenLine, ScreenReader, lines_from_json, lines_to_json
from vidq.media import decode, plan_samples, signals
from vidq.media.pyav_reader import WALK_VERSION
from vidq.media.resize import plan_geometry
from vidq.media.types import SamplePlan, VideoInfo
from vidq.progress import ProgressFn, no_progress
from vidq.store import Store, params_digest

log = logging.getLogger("vidq.analysis")

PICTURE_STAGE = "picture/2"  # cache stage of one chunk of the pass (2: faint corner edges kept for logo presence)
CHUNK_SECONDS = 600.0  # seconds of video per cached chunk
BATCH = 16  # frames decoded per batch
LOGO_MIN_PIXELS = 8  # a logo mask with fewer stable edge pixels is noise, not a logo


@dataclass(frozen=True)
class PictureOptions:
    """How the pass samples and reads pictures; part of every cache key."""

    fps: float = 2.0  # frames per second sampled
    max_frames: int = 8192  # longer spans are sampled more sparsely
    frames: int | None = None  # an exact frame count instead (--frames)
    accuracy: str = "fast"  # "fast": nearest decodable frame within half the interval; "exact"
    signal_side: int = 160  # longest side (pixels) of the frames signals are computed on
    ocr: bool = True  # read on-screen text
    ocr_side: int = 640  # longest side the frames are decoded at when OCR reads them
    ocr_every: float = 4.0  # seconds between OCR reads (sooner after a cut, see ScreenReader)
    thumb_every: float = 5.0  # seconds between thumbnails (0: none)
    thumb_width: int = 160  # pixels
    thumb_quality: int = 70  # JPEG quality


@dataclass
class FrameSignals:
    """Per sampled frame, ``(N,)`` arrays in time order."""

    times: np.ndarray  # float64 seconds (PTS)
    black: np.ndarray  # bool
    luma: np.ndarray  # float64 mean luma 0..255
    shot: np.ndarray  # float32 shot-change score 0..1 against the previous frame
    aspect: np.ndarray  # float64 active aspect (NaN on black frames)
    logo: np.ndarray  # float64 logo presence 0..1 (NaN everywhere when no logo was found)
    hashes: np.ndarray  # uint64 dHash
    colors: np.ndarray  # (N, K) float32 coarse colour grid, for repeat matching

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in asdict(self).items()}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> FrameSignals:
        return cls(a["times"].astype(np.float64), a["black"].astype(bool), a["luma"].astype(np.float64),
                   a["shot"].astype(np.float32), a["aspect"].astype(np.float64), a["logo"].astype(np.float64),
                   a["hashes"].astype(np.uint64), a["colors"].astype(np.float32).reshape(a["times"].shape[0], -1))

    def cuts(self, threshold: float = signals.SHOT_THRESHOLD) -> list[tuple[float, float]]:
        """Shot changes as ``(after, before)`` frame times (see :func:`cut_intervals`)."""
        return cut_intervals(self.times.tolist(), self.shot.tolist(), threshold)

    @property
    def step(self) -> float:
        """Median seconds between sampled frames (1.0 with fewer than two)."""
        return float(np.median(np.diff(self.times))) if self.times.size > 1 else 1.0


@dataclass
class PicturePass:
    """What the pass found."""

    signals: FrameSignals
    screen: list[ScreenLine]
    thumbs: list[tuple[float, bytes]]
    meta: dict = field(default_factory=dict)  # frames, OCR reads, sizes, chunks cached, spans found undecodable


def cut_intervals(times: Sequence[float], scores: Sequence[float],
                  threshold: float = signals.SHOT_THRESHOLD) -> list[tuple[float, float]]:
    """Shot changes as ``(after, before)`` seconds: the cut lies between these two sampled frames.

    ``scores[i]`` compares frame ``i`` with frame ``i - 1``.

    >>> cut_intervals([0, 1, 2, 3], [0, 0.1, 0.9, 0.2])
    [(1.0, 2.0)]
    """
    return [(float(times[i - 1]), float(times[i])) for i in range(1, len(times)) if scores[i] > threshold]


def picture_plan(info: VideoInfo, span: tuple[float, float], options: PictureOptions) -> SamplePlan:
    """The frames the pass samples over ``span``."""
    length = span[1] - span[0]
    n = options.frames or int(min(options.max_frames, max(16, math.ceil(length * options.fps))))
    return plan_samples(info, frames=n, start=span[0], end=span[1], accuracy=options.accuracy)


def sizes(info: VideoInfo, options: PictureOptions) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """(decode side, decoded (w, h), signal (w, h)) for ``info``'s video."""
    video = info.video
    assert video is not None
    longest = max(video.display_size)
    side = min(options.ocr_side if options.ocr else options.signal_side, longest)
    decoded = plan_geometry(video.display_size, video.rotation, side, "fit").out
    small = plan_geometry(video.display_size, video.rotation, min(options.signal_side, side), "fit").out
    return side, decoded, small


def shrink(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``(B, H, W, 3)`` uint8 frames down to ``size`` (w, h)."""
    b, h, w, _ = images.shape
    tw, th = size
    if (tw, th) == (w, h):
        return images
    if h % th == 0 and w % tw == 0 and (h // th) * (w // tw) <= 256:
        fy, fx = h // th, w // tw  # integer box filter: a sum of strided views (uint16 holds 256 x 255)
        acc = np.zeros((b, th, tw, 3), np.uint16)
        for dy in range(fy):
            for dx in range(fx):
                acc += images[:, dy::fy, dx::fx]
        n = fy * fx
        return ((acc + n // 2) // n).astype(np.uint8)
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(im).resize((tw, th), Image.Resampling.BOX)) for im in images])


def jpeg(image: np.ndarray, width: int, quality: int) -> bytes:
    """A small JPEG of one ``(H, W, 3)`` frame, ``width`` pixels wide."""
    from PIL import Image

    im = Image.fromarray(image)
    if im.width > width:
        im = im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.BOX)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


class _Signals:
    """Per-frame signals of one chunk, batch by batch (edges packed until the logo mask is known)."""

    def __init__(self, prev_hist: np.ndarray | None):
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in ("times", "black", "luma", "shot", "aspect",
                                                                   "hashes", "colors", "edges", "faint")}
        self.prev_hist = prev_hist
        self.edge_shape: tuple[int, ...] = ()

    def add(self, images: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Signals of one batch; returns its shot-change scores."""
        hists = signals.color_histograms(images)
        shot = signals.shot_change_scores(hists, self.prev_hist)
        self.prev_hist = hists[-1]
        self.parts["times"].append(np.asarray(times, np.float64))
        self.parts["shot"].append(shot)
        self.parts["black"].append(signals.black_frames(images))
        self.parts["luma"].append(signals.mean_luma(images))
        self.parts["aspect"].append(signals.active_aspect(images))
        self.parts["hashes"].append(signals.frame_hashes(images))
        self.parts["colors"].append(signals.color_grid(images))
        grads = signals.corner_gradients(images)  # (B, 4, h, w)
        self.edge_shape = grads.shape[1:]
        for key, threshold in (("edges", signals.EDGE_THRESHOLD), ("faint", signals.FAINT_EDGE_THRESHOLD)):
            self.parts[key].append(np.packbits(signals.edges_above(grads, threshold).reshape(len(grads), -1), axis=1))
        return shot

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: np.concatenate(v) for k, v in self.parts.items() if v}
        out["edge_shape"] = np.asarray(self.edge_shape, np.int64)
        if self.prev_hist is not None:
            out["last_hist"] = self.prev_hist
        return out


def thumbs_to_arrays(thumbs: Sequence[tuple[float, bytes]]) -> dict[str, np.ndarray]:
    blob = b"".join(b for _, b in thumbs)
    return {"thumb_times": np.array([t for t, _ in thumbs], np.float64),
            "thumb_sizes": np.array([len(b) for _, b in thumbs], np.int64),
            "thumb_bytes": np.frombuffer(blob, np.uint8) if blob else np.zeros(0, np.uint8)}


def thumbs_from_arrays(a: dict[str, np.ndarray]) -> list[tuple[float, bytes]]:
    out, pos = [], 0
    raw = a["thumb_bytes"].tobytes()
    for t, n in zip(a["thumb_times"].tolist(), a["thumb_sizes"].tolist()):
        out.append((float(t), raw[pos:pos + int(n)]))
        pos += int(n)
    return out


def _chunk(path, info: VideoInfo, plan: SamplePlan, options: PictureOptions, prev_hist: np.ndarray | None,
           engine, progress: ProgressFn, done_before: int, total: int) -> tuple[dict[str, np.ndarray], list]:
    """Decode and analyse the frames of one chunk's plan."""
    side, _, small = sizes(info, options)
    sig = _Signals(prev_hist)
    reader = ScreenReader(engine, every=options.ocr_every) if options.ocr else None
    thumbs: list[tuple[float, bytes]] = []
    next_thumb = plan.times[0] if options.thumb_every > 0 else math.inf
    done = done_before
    damaged: list[tuple[float, float]] = []  # spans the decoder could not read
    for batch in decode(path, plan, info=info, size=side, batch_size=BATCH):
        damaged += [(d.start, d.end) for d in batch.damaged]
        shot = sig.add(shrink(batch.images, small), batch.pts)
        for k in range(len(batch)):
            t = float(batch.pts[k])
            if reader is not None:
                reader.feed(batch.images[k], t, changed=bool(shot[k] > signals.SHOT_THRESHOLD))
            if t >= next_thumb - 1e-6:
                thumbs.append((t, jpeg(batch.images[k], options.thumb_width, options.thumb_quality)))
                next_thumb = t + options.thumb_every
        done += len(batch)
        progress("pictures", done, total)
    arrays = sig.arrays()
    arrays.update(thumbs_to_arrays(thumbs))
    arrays["damaged"] = np.asarray(damaged, np.float64).reshape(-1, 2)
    lines = reader.finish() if reader is not None else []
    if reader is not None:
        arrays["ocr_counts"] = np.array([reader.frames, reader.reads, reader.reused, reader.partial,
                                         reader.cut_checks], np.int64)
    return arrays, lines


def picture_pass(path: str | os.PathLike, info: VideoInfo, span: tuple[float, float], options: PictureOptions, *,
                 store: Store | None = None, file_key: str | None = None, engine=None,
                 progress: ProgressFn | None = None) -> PicturePass:
    """Run (or load from the cache, chunk by chunk) the pass over ``span``; see the module docstring."""
    report = progress or no_progress
    plan = picture_plan(info, span, options)
    times = np.asarray(plan.times)
    if engine is None and options.ocr:
        from vidq.models.lite.ocr import OcrEngine, OcrOptions

        # The pass runs beside speech recognition: OCR taking every core as well only makes
        # the two wait on each other (on 2 cores, one thread each: 15% less CPU, same output).
        engine = OcrEngine(OcrOptions(threads=max(1, (os.cpu_count() or 2) // 2)))
    bounds = np.arange(span[0], span[1] + CHUNK_SECONDS, CHUNK_SECONDS)
    base = {"options": asdict(options), "plan": params_digest({"t": [round(t, 6) for t in plan.times]}),
            "accuracy": plan.accuracy, "walk": WALK_VERSION}
    if engine is not None:
        from vidq.models.lite.ocr import MODEL_LABEL

        # the thread count reads the same lines (tests/test_lite_models.py): a cache moved to a
        # machine with other cores, or filled by workers of several sizes, stays valid
        base["ocr"] = [MODEL_LABEL, {k: v for k, v in asdict(engine.options).items() if k != "threads"}]
        base["screen_reader"] = SCREEN_READER_VERSION
    parts: list[dict[str, np.ndarray]] = []
    screen: list[ScreenLine] = []
    prev_hist = None
    cached = 0
    done = 0
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        sel = (times >= lo) & (times < hi) if hi < bounds[-1] else times >= lo
        chunk_times = tuple(float(t) for t in times[sel])
        if not chunk_times:
            continue
        params = {**base, "chunk": [round(float(lo), 3), len(chunk_times)]}
        hit = store.get_arrays(file_key, PICTURE_STAGE, params) if store is not None and file_key else None
        lines_hit = store.get_json(file_key, PICTURE_STAGE + "/screen", params) if hit is not None else None
        if hit is not None and lines_hit is not None:
            arrays, lines = hit, lines_from_json(lines_hit)
            cached += 1
            done += len(chunk_times)
            report("pictures", done, len(times))
        else:
            sub = SamplePlan(chunk_times, plan.mode, plan.accuracy, plan.tolerance, plan.start, plan.end)
            arrays, lines = _chunk(path, info, sub, options, prev_hist, engine, report, done, len(times))
            done += len(chunk_times)
            if store is not None and file_key:
                store.put_json(file_key, PICTURE_STAGE + "/screen", params, lines_to_json(lines))
                store.put_arrays(file_key, PICTURE_STAGE, params, arrays)
        prev_hist = arrays.get("last_hist")
        parts.append(arrays)
        screen.extend(lines)
    sig = _join(parts)
    thumbs = [t for a in parts for t in thumbs_from_arrays(a)]
    counts = np.sum([a["ocr_counts"] for a in parts if "ocr_counts" in a], axis=0) if options.ocr else None
    meta = {"frames": int(sig.times.size), "fps": options.fps, "accuracy": plan.accuracy,
            "decode_side": sizes(info, options)[0], "chunks": len(parts), "chunks_cached": cached,
            "thumbnails": len(thumbs),
            "damaged": [[float(a), float(b)] for p in parts for a, b in p.get("damaged", np.zeros((0, 2)))]}
    if counts is not None and np.ndim(counts):
        from vidq.models.lite.ocr import MODEL_LABEL

        meta["ocr"] = {"model": MODEL_LABEL, "every": options.ocr_every, "frames_read": int(counts[1]),
                       "frames_read_in_part": int(counts[3]), "reads_reused": int(counts[2]),
                       "boxes_read_at_cuts": int(counts[4]), "lines": len(screen)}
    return PicturePass(sig, join_lines(screen, sig.step), thumbs, meta)


def _join(parts: Sequence[dict[str, np.ndarray]]) -> FrameSignals:
    """Concatenate chunk arrays; logo presence from the mask of stable corner edges over all frames."""
    if not parts:
        z = np.zeros(0)
        return FrameSignals(z, z.astype(bool), z, z.astype(np.float32), z, z, z.astype(np.uint64),
                            np.zeros((0, 48), np.float32))
    cat = {k: np.concatenate([p[k] for p in parts]) for k in ("times", "black", "luma", "shot", "aspect", "hashes",
                                                             "colors")}
    shape = tuple(int(x) for x in parts[0]["edge_shape"])
    edges, faint = (np.unpackbits(np.concatenate([p[key] for p in parts]), axis=1, count=int(np.prod(shape)))
                    .astype(bool).reshape(-1, *shape) for key in ("edges", "faint"))
    valid = ~cat["black"].astype(bool)
    mask = signals.logo_mask(edges[valid]) if valid.any() else np.zeros(shape, bool)
    if mask.sum() < LOGO_MIN_PIXELS:
        mask[:] = False
    cat["logo"] = signals.logo_presence(edges, mask, faint)
    return FrameSignals.from_arrays(cat)


def join_lines(lines: Sequence[ScreenLine], step: float) -> list[ScreenLine]:
    """Merge readings of one line split by a chunk boundary (same text, spans touching)."""
    out: list[ScreenLine] = []
    for ln in sorted(lines, key=lambda x: (x.start, x.text)):
        prev = next((k for k in range(len(out) - 1, -1, -1)
                     if out[k].text == ln.text and 0 <= ln.start - out[k].end <= 1.5 * step + 1e-6), None)
        if prev is None:
            out.append(ln)
            continue
        p = out[prev]
        best = p if p.score >= ln.score else ln
        out[prev] = ScreenLine(p.start, max(p.end, ln.end), best.text, best.score, p.frames + ln.frames, best.box)
    return out
