"""Needle in a haystack: a grid of needle depths x frame counts, scored per needle.

For each frame count N the haystack is sampled uniformly (``open_video``: probe, plan,
transcript, per-frame subtitles) and decoded ONCE, resized to the working size, into a
disk-backed array (``FrameCache``), so memory does not grow with N.  Each case then
streams those frames to the backend with the needle put in, as Video-XL's NIAH does:

- ``sequence`` mode (default): the needle takes the slot at ``int(N * depth)`` (clamped to
  the last slot), so the frame count stays N; a clip takes consecutive slots (as many as
  its length covers at the haystack's sampling interval); a speech needle adds its
  sentence to that slot's subtitle text.  Slot times stay the haystack's.
- ``file`` mode (``into_file``): the needle is spliced into the video file itself at
  ``depth x duration`` (:mod:`vidq.eval.splice`), and the spliced file goes through the
  whole pipeline (probe, plan, decode, transcript), so decoding and sampling are tested too.

Multiple-choice needles are scored like Video-XL (greedy, prompt ending ``Best option:(``,
first option letter); with ``strict`` every rotation of the options is asked and the case
counts only if all are right (VNBench).  Open needles match by exact/contains.

Knows nothing about the CLI; the backend is given, already loaded.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from vidq.errors import InputError
from vidq.eval.asking import Verdict, ask_choice, ask_open
from vidq.eval.needles import Needle, needle_image
from vidq.eval.record import jsonable, measure
from vidq.eval.stats import accuracy
from vidq.media import FrameBatch, decode, plan_samples, probe
from vidq.models.base import Backend, GenerateOptions, VideoInput
from vidq.progress import ProgressFn, no_progress
from vidq.store import Store
from vidq.tasks.pipeline import JobOptions, VideoContext, open_video

log = logging.getLogger("vidq.eval")

DEFAULT_SIZE = 448  # longest side (pixels) of decoded frames: the working size handed to backends
BATCH = 16  # frames per FrameBatch streamed to the backend


@dataclass(frozen=True)
class NiahOptions:
    """The grid and how each case is scored."""

    depths: tuple[float, ...]  # needle depths as fractions of the video, 0.0..1.0
    frames: tuple[int, ...]  # frame counts N of the grid
    size: int = DEFAULT_SIZE  # longest side of decoded frames, pixels
    strict: bool = False  # VNBench: ask every rotation of the options; right only if all are right
    match: str = "contains"  # open answers: exact | contains
    into_file: bool = False  # splice needles into the file instead of the frame sequence


def depth_steps(k: int) -> tuple[float, ...]:
    """``k`` depths evenly from 0% to 100% (``k == 1``: the middle).

    >>> depth_steps(5)
    (0.0, 0.25, 0.5, 0.75, 1.0)
    """
    if not 1 <= k <= 101:
        raise InputError(f"--depths must be between 1 and 101 steps, not {k}")
    if k == 1:
        return (0.5,)
    return tuple(round(i / (k - 1), 6) for i in range(k))


def parse_frames(text: str) -> tuple[int, ...]:
    """``"64,256,1024"`` -> ``(64, 256, 1024)`` (sorted, unique, each 1..8192)."""
    try:
        values = sorted({int(v) for v in text.replace(" ", "").split(",") if v})
    except ValueError as e:
        raise InputError(f"--frames {text!r}: give frame counts separated by commas, e.g. 64,256,1024") from e
    if not values or any(not 1 <= v <= 8192 for v in values):
        raise InputError(f"--frames {text!r}: each frame count must be between 1 and 8192")
    return tuple(values)


def case_id(needle: Needle, depth: float, frames: int) -> str:
    """``"text-1@d25@n64"``: how items are named (and paired by ``eval compare``)."""
    return f"{needle.id}@d{depth * 100:g}@n{frames}"


def first_slot(n: int, depth: float, width: int = 1) -> int:
    """The first of ``width`` consecutive slots at ``depth`` among ``n`` (Video-XL: ``int(n * depth)``).

    >>> first_slot(64, 0.5), first_slot(64, 1.0), first_slot(10, 1.0, width=3)
    (32, 63, 7)
    """
    width = max(1, min(width, n))
    return max(0, min(int(n * depth), n - width))


# -- the haystack's frames, decoded once per frame count --------------------------------------

class FrameCache:
    """N decoded frames ``(N, H, W, 3)`` uint8 in a disk-backed array, plus their PTS."""

    def __init__(self, batches: Iterator[FrameBatch], n: int, directory: str | os.PathLike):
        self.n = n  # frames expected
        self.path = Path(directory) / f"frames-{n}.npy"  # the memory-mapped file
        self.images: np.ndarray | None = None  # (N, H, W, 3) uint8, memory-mapped
        self.pts = np.zeros(n, dtype=np.float64)  # (N,) seconds
        for batch in batches:
            if self.images is None:
                h, w = batch.images.shape[1:3]
                self.images = np.lib.format.open_memmap(self.path, mode="w+", dtype=np.uint8, shape=(n, h, w, 3))
            self.images[batch.indices] = batch.images
            self.pts[batch.indices] = batch.pts
        if self.images is None:
            raise InputError("the haystack decoded to no frames")
        self.images.flush()

    @property
    def shape(self) -> tuple[int, int]:
        """(width, height) of every frame."""
        assert self.images is not None
        return int(self.images.shape[2]), int(self.images.shape[1])

    def batches(self, inserted: dict[int, np.ndarray], times: Sequence[float]) -> Iterator[FrameBatch]:
        """The frames in plan order, with ``inserted[slot]`` in place of the haystack frame there."""
        assert self.images is not None
        for lo in range(0, self.n, BATCH):
            hi = min(self.n, lo + BATCH)
            images = np.array(self.images[lo:hi])
            pts = self.pts[lo:hi].copy()
            for slot, image in inserted.items():
                if lo <= slot < hi:
                    images[slot - lo] = image
                    pts[slot - lo] = times[slot]
            yield FrameBatch(images=images, pts=pts, indices=np.arange(lo, hi, dtype=np.int64),
                             frame_numbers=np.full(hi - lo, -1, dtype=np.int64))

    def close(self) -> None:
        self.images = None
        with contextlib.suppress(OSError):
            self.path.unlink()


def clip_frames(needle: Needle, count: int, width: int, height: int) -> np.ndarray:
    """``count`` frames sampled uniformly from a clip needle, padded to ``width`` x ``height``."""
    assert needle.media is not None
    info = probe(needle.media)
    plan = plan_samples(info, frames=count)
    frames = [b.images for b in decode(needle.media, plan, info=info, size=(width, height), policy="pad")]
    out = np.concatenate(frames, axis=0)
    if len(out) < count:  # a clip shorter than asked: hold its last frame
        out = np.concatenate([out, np.repeat(out[-1:], count - len(out), axis=0)], axis=0)
    return out


def clip_width(needle: Needle, n: int, span: float) -> int:
    """How many slots a clip covers at ``n`` frames over ``span`` seconds (at least one)."""
    assert needle.media is not None
    length = probe(needle.media).duration
    return max(1, min(n, round(length * n / span))) if span > 0 else 1


# -- asking ---------------------------------------------------------------------------------

def ask_needle(backend: Backend, make_input: Callable[[], VideoInput], needle: Needle, *, strict: bool,
               match: str, options: GenerateOptions) -> Verdict:
    """Ask ``needle``'s question about a fresh ``make_input()`` (once, or per rotation when strict)."""
    if not needle.multiple_choice:
        return ask_open(backend, make_input, needle.question, needle.accepted, match=match, options=options)
    assert needle.answer is not None
    return ask_choice(backend, make_input, needle.question, needle.options, needle.answer, strict=strict,
                      options=options)


def _record(needle: Needle, depth: float, frames: int, frames_used: int, slot: int | None, at: float | None,
            verdict: Verdict, timing: dict[str, Any], mode: str) -> dict[str, Any]:
    return jsonable({
        "id": case_id(needle, depth, frames), "needle": needle.id, "kind": needle.kind, "depth": depth,
        "frames": frames, "frames_used": frames_used, "mode": mode, "slot": slot,
        "time": None if at is None else round(at, 3), "expected": needle.answer_label,
        "picks": verdict.picks, "replies": verdict.replies, "correct": verdict.correct,
        "timing": timing, "used": verdict.used(),
    })


# -- the grid --------------------------------------------------------------------------------

def cases(needles: Sequence[Needle], opts: NiahOptions) -> list[tuple[int, float, Needle]]:
    """Every (frames, depth, needle) of the grid, in run order (frame count outermost)."""
    return [(n, d, nd) for n in opts.frames for d in opts.depths for nd in needles]


def run_niah(haystack: str | os.PathLike, needles: Sequence[Needle], job: JobOptions, backend: Backend,
             opts: NiahOptions, *, device: str = "cpu", store: Store | None = None, skip: set[str] | frozenset[str] = frozenset(),
             progress: ProgressFn | None = None, workdir: str | os.PathLike | None = None) -> Iterator[dict[str, Any]]:
    """Run every case not in ``skip`` and yield one item record per case as it finishes."""
    report = progress or no_progress
    todo = [c for c in cases(needles, opts) if case_id(c[2], c[1], c[0]) not in skip]
    total = len(cases(needles, opts))
    done = total - len(todo)
    report("niah", done, total)
    gen_options = GenerateOptions(temperature=0.0, compress=job.compress, ratio=job.ratio)
    if opts.into_file:
        from vidq.eval.splice import run_file_cases

        for rec in run_file_cases(haystack, todo, job, backend, opts, gen_options, device=device, store=store,
                                  workdir=workdir):
            done += 1
            report("niah", done, total)
            yield rec
        return
    with tempfile.TemporaryDirectory(prefix="vidq-niah-", dir=workdir) as tmp:
        for n in opts.frames:
            mine = [(d, nd) for (m, d, nd) in todo if m == n]
            if not mine:
                continue
            ctx = open_video(haystack, replace(job, frames=n), default_frames=n, store=store)
            used = len(ctx.plan.times)
            t0 = time.perf_counter()
            cache = FrameCache(decode(ctx.path, ctx.plan, info=ctx.info, size=opts.size, batch_size=BATCH), used, tmp)
            decode_s = time.perf_counter() - t0
            log.debug("haystack: %d frames decoded at %dx%d in %.1f s", used, *cache.shape, decode_s)
            try:
                for depth, needle in mine:
                    rec = _sequence_case(ctx, cache, needle, depth, n, backend, opts, gen_options, device)
                    rec["timing"]["haystack_decode_s"] = round(decode_s, 4)  # shared by every case of this N
                    yield rec
                    done += 1
                    report("niah", done, total)
            finally:
                cache.close()


def _sequence_case(ctx: VideoContext, cache: FrameCache, needle: Needle, depth: float, n: int, backend: Backend,
                   opts: NiahOptions, gen_options: GenerateOptions, device: str) -> dict[str, Any]:
    used = cache.n
    times = ctx.plan.times
    w, h = cache.shape
    subtitles = list(ctx.subtitles)
    inserted: dict[int, np.ndarray] = {}
    if needle.kind == "clip":
        width = clip_width(needle, used, ctx.end - ctx.start)
        slot = first_slot(used, depth, width)
        for k, image in enumerate(clip_frames(needle, width, w, h)):
            inserted[slot + k] = image
    else:
        slot = first_slot(used, depth)
        if needle.kind == "speech":
            assert needle.text is not None
            subtitles[slot] = f"{subtitles[slot]} {needle.text}".strip()
        else:
            inserted[slot] = needle_image(needle, w, h)
    has_text = any(s for s in subtitles)

    def make_input() -> VideoInput:
        return VideoInput(batches=cache.batches(inserted, times), times=times,
                          subtitles=subtitles if has_text else None, duration=ctx.end - ctx.start)

    with measure(device) as m:
        verdict = ask_needle(backend, make_input, needle, strict=opts.strict, match=opts.match, options=gen_options)
        m.note_backend(verdict.answer_s, verdict.meta)
    return _record(needle, depth, n, used, slot, times[slot], verdict, m.as_dict(), "sequence")


def summarize(items: Sequence[dict[str, Any]], depths: Sequence[float], frames: Sequence[int]) -> dict[str, Any]:
    """Accuracy per cell (depth x frames), per frame count, per depth, per needle kind, and overall."""
    grid: list[list[float | None]] = []
    for d in depths:
        row: list[float | None] = []
        for n in frames:
            flags = [bool(i["correct"]) for i in items if math.isclose(i["depth"], d) and i["frames"] == n]
            row.append(sum(flags) / len(flags) if flags else None)
        grid.append(row)
    by_frames = {str(n): accuracy([bool(i["correct"]) for i in items if i["frames"] == n]).as_dict() for n in frames}
    by_depth = {f"{d * 100:g}": accuracy([bool(i["correct"]) for i in items if math.isclose(i["depth"], d)]).as_dict()
                for d in depths}
    kinds = sorted({str(i["kind"]) for i in items})
    by_kind = {k: accuracy([bool(i["correct"]) for i in items if i["kind"] == k]).as_dict() for k in kinds}
    return {"grid": grid, "overall": accuracy([bool(i["correct"]) for i in items]).as_dict(),
            "by_frames": by_frames, "by_depth": by_depth, "by_kind": by_kind}
