"""Interval metrics for ``find`` (recall@k within a tolerance, IoU) and ``ads`` (precision,
recall and IoU over time, and interval matching at an IoU threshold).

Intervals are ``(start, end)`` pairs in seconds with ``end >= start``.  Pure functions;
knows nothing about jobs, models or files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Interval = tuple[float, float]  # (start, end), seconds


def _check(iv: Interval) -> Interval:
    s, e = float(iv[0]), float(iv[1])
    if e < s:
        raise ValueError(f"interval ends before it starts: ({s}, {e})")
    return s, e


def iou(a: Interval, b: Interval) -> float:
    """Intersection over union of two intervals (0.0 when both are empty points).

    >>> iou((0, 10), (5, 15))
    0.3333333333333333
    """
    (a0, a1), (b0, b1) = _check(a), _check(b)
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    if union <= 0:
        return 1.0 if (a0, a1) == (b0, b1) else 0.0
    return inter / union


def gap(a: Interval, b: Interval) -> float:
    """Seconds between two intervals (0.0 when they touch or overlap)."""
    (a0, a1), (b0, b1) = _check(a), _check(b)
    return max(0.0, a0 - b1, b0 - a1)


@dataclass(frozen=True)
class FindScore:
    """How one query's ranked hits compare with its ground truth."""

    first_hit_rank: int | None  # 1-based rank of the first hit within tolerance of a truth (None: none)
    recall_at_1: bool  # the top hit is within tolerance of a truth interval
    recall_at_5: bool  # one of the top five is
    iou: float  # IoU of the top hit with the truth interval it overlaps most (0.0 without hits)


def score_find(hits: Sequence[Interval], truths: Sequence[Interval], tolerance: float) -> FindScore:
    """Score ranked ``hits`` (best first) against ``truths``; a hit counts when its gap to a
    truth interval is at most ``tolerance`` seconds."""
    if not truths:
        raise ValueError("a find query needs at least one ground-truth interval")
    rank = None
    for i, h in enumerate(hits):
        if any(gap(h, t) <= tolerance for t in truths):
            rank = i + 1
            break
    top_iou = max((iou(hits[0], t) for t in truths), default=0.0) if hits else 0.0
    return FindScore(first_hit_rank=rank, recall_at_1=rank == 1, recall_at_5=rank is not None and rank <= 5,
                     iou=top_iou)


def merge(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of ``intervals``.

    >>> merge([(5, 8), (0, 2), (1, 3), (8, 9)])
    [(0.0, 3.0), (5.0, 9.0)]
    """
    out: list[list[float]] = []
    for s, e in sorted(_check(iv) for iv in intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def total(intervals: Sequence[Interval]) -> float:
    """Seconds covered by the union of ``intervals``."""
    return sum(e - s for s, e in merge(intervals))


def overlap(a: Sequence[Interval], b: Sequence[Interval]) -> float:
    """Seconds covered by both unions."""
    ma, mb = merge(a), merge(b)
    out, i, j = 0.0, 0, 0
    while i < len(ma) and j < len(mb):
        lo, hi = max(ma[i][0], mb[j][0]), min(ma[i][1], mb[j][1])
        out += max(0.0, hi - lo)
        if ma[i][1] < mb[j][1]:
            i += 1
        else:
            j += 1
    return out


@dataclass(frozen=True)
class AdsScore:
    """Predicted ad intervals against the true ones, over time and interval by interval."""

    precision: float  # seconds both predicted and true / seconds predicted (1.0 when nothing predicted)
    recall: float  # seconds both predicted and true / seconds true (1.0 when nothing true)
    iou: float  # seconds in both / seconds in either (1.0 when both are empty)
    matched: int  # true intervals matched one-to-one by a prediction with IoU >= threshold
    missed: int  # true intervals left unmatched
    false: int  # predicted intervals left unmatched
    best_iou: tuple[float, ...]  # per true interval (in the given order): its best IoU with any prediction


def score_ads(predicted: Sequence[Interval], truths: Sequence[Interval], threshold: float = 0.5) -> AdsScore:
    """Score ``predicted`` intervals against ``truths`` (greedy one-to-one matching by IoU)."""
    both = overlap(predicted, truths)
    p_total, t_total = total(predicted), total(truths)
    union = p_total + t_total - both
    pairs = sorted(((iou(p, t), i, j) for i, p in enumerate(predicted) for j, t in enumerate(truths)), reverse=True)
    used_p: set[int] = set()
    used_t: set[int] = set()
    for value, i, j in pairs:
        if value < threshold:
            break
        if i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
    best = tuple(max((iou(p, t) for p in predicted), default=0.0) for t in truths)
    return AdsScore(
        precision=both / p_total if p_total > 0 else 1.0,
        recall=both / t_total if t_total > 0 else 1.0,
        iou=both / union if union > 0 else 1.0,
        matched=len(used_t), missed=len(truths) - len(used_t), false=len(predicted) - len(used_p),
        best_iou=best,
    )
