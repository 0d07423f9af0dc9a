"""Topic-change segmentation of an embedded transcript, for chapters (TextTiling with embeddings).

    gaps = gap_similarity(vectors, block=4)                   # (N-1,) similarity across each gap
    depth = depth_scores(gaps)                                # (N-1,) how deep a valley each gap is
    chapters = segment_topics(starts, ends, vectors, n=None)  # list[TopicSegment]

Units are sentences (or short windows) in time order with unit-length vectors.  For the
gap between unit ``g`` and ``g + 1``, the mean vector of the ``block`` units before is
compared with the mean of the ``block`` units after; a topic change is a valley in that
similarity.  Each valley's depth is how far the similarity climbs on both sides before
falling again (Hearst's TextTiling), so a change is judged against its neighbourhood,
not against a global threshold.  A chapter starts at the start of the first unit after
the chosen gap.

Pure NumPy; knows nothing about models, video, tasks or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 4  # units on each side of a gap
MIN_CHAPTER = 30.0  # seconds: no chapter is shorter than this
MAX_AUTO_CHAPTERS = 40  # upper bound on chapters chosen automatically


@dataclass(frozen=True)
class TopicSegment:
    """One chapter: a run of units about one topic."""

    start: float  # seconds: start of its first unit (0.0 for the first chapter)
    end: float  # seconds: end of its last unit
    first: int  # index of its first unit
    last: int  # index of its last unit (inclusive)
    depth: float  # depth score of the boundary that opened it (0.0 for the first chapter)


def gap_similarity(vectors: np.ndarray, *, block: int = BLOCK) -> np.ndarray:
    """Cosine similarity of the ``block`` units before each gap with the ``block`` after, ``(N-1,)``."""
    v = np.asarray(vectors, np.float64)
    n = v.shape[0]
    if n < 2:
        return np.zeros(0)
    csum = np.vstack([np.zeros((1, v.shape[1])), np.cumsum(v, axis=0)])  # (N+1, D)
    out = np.zeros(n - 1)
    for g in range(n - 1):
        lo, mid, hi = max(0, g + 1 - block), g + 1, min(n, g + 1 + block)
        left = csum[mid] - csum[lo]
        right = csum[hi] - csum[mid]
        denom = np.linalg.norm(left) * np.linalg.norm(right)
        out[g] = float(left @ right / denom) if denom > 0 else 0.0
    return out


def depth_scores(similarity: np.ndarray) -> np.ndarray:
    """TextTiling depth of every gap: (left peak - s) + (right peak - s), ``(N-1,)`` >= 0.

    The peaks are found by climbing from the gap while the similarity keeps rising.
    """
    s = np.asarray(similarity, np.float64)
    n = s.shape[0]
    depth = np.zeros(n)
    for g in range(n):
        left = g
        while left > 0 and s[left - 1] >= s[left]:
            left -= 1
        right = g
        while right < n - 1 and s[right + 1] >= s[right]:
            right += 1
        depth[g] = (s[left] - s[g]) + (s[right] - s[g])
    return depth


def segment_topics(
    starts: np.ndarray,
    ends: np.ndarray,
    vectors: np.ndarray,
    *,
    n: int | None = None,
    block: int = BLOCK,
    min_chapter: float = MIN_CHAPTER,
    cutoff: float = 0.5,
    span: tuple[float, float] | None = None,
) -> list[TopicSegment]:
    """Split units into chapters at topic changes.

    ``starts``/``ends`` ``(N,)`` seconds of each unit (time order), ``vectors`` ``(N, D)``.
    ``n`` chapters exactly when possible (the ``n - 1`` deepest gaps that keep chapters
    at least ``min_chapter`` seconds long); ``n=None`` picks gaps deeper than
    ``mean + cutoff * std`` of all depths (TextTiling's cut-off, stricter than Hearst's
    ``mean - std / 2`` because sentence embeddings are noisier than word counts).
    ``span`` (start, end) stretches the first chapter to ``span[0]`` and the last to
    ``span[1]`` (the video's extent); by default chapters cover the units only.
    """
    starts = np.asarray(starts, np.float64)
    ends = np.asarray(ends, np.float64)
    count = starts.shape[0]
    if count == 0:
        return []
    if ends.shape != (count,) or np.asarray(vectors).shape[0] != count:
        raise ValueError(f"{count} starts, {ends.shape[0]} ends and {np.asarray(vectors).shape[0]} vectors differ")
    lo_t = span[0] if span else float(starts[0])
    hi_t = span[1] if span else float(ends.max())
    depth = depth_scores(gap_similarity(vectors, block=block)) if count > 1 else np.zeros(0)
    if n is not None:
        wanted = max(0, min(n, count) - 1)
        threshold = -np.inf
    else:
        wanted = MAX_AUTO_CHAPTERS - 1
        threshold = float(depth.mean() + cutoff * depth.std()) if depth.size else np.inf
    cuts: list[int] = []
    for g in np.argsort(-depth, kind="stable"):
        if len(cuts) >= wanted or depth[g] <= threshold or depth[g] <= 0:
            break
        t = float(starts[g + 1])
        bounds = sorted([lo_t, hi_t] + [float(starts[c + 1]) for c in cuts])
        pos = np.searchsorted(bounds, t)
        if t - bounds[pos - 1] < min_chapter or bounds[pos] - t < min_chapter:
            continue
        cuts.append(int(g))
    cuts.sort()
    segments: list[TopicSegment] = []
    first = 0
    for last in [*cuts, count - 1]:
        seg_start = lo_t if not segments else float(starts[first])
        seg_end = float(ends[first:last + 1].max())
        segments.append(TopicSegment(seg_start, seg_end, first, last, float(depth[first - 1]) if segments else 0.0))
        first = last + 1
    if span:
        last_seg = segments[-1]
        segments[-1] = TopicSegment(last_seg.start, hi_t, last_seg.first, last_seg.last, last_seg.depth)
    return segments
