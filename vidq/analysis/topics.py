"""Where topics change: chapter boundaries from a timeline's sentences, snapped to the picture.

    bounds = topic_boundaries(units, vectors, cuts, span=(0, 600), chapters=None, titles=[...])
    cards = title_cards(screen_units)       # short on-screen lines shown once: chapter titles

Chapters come from topic changes in the embedded transcript (TextTiling over sentence
vectors, :mod:`vidq.analysis.tiling`), each boundary placed in the speech pause it falls
in and, when a shot change or an on-screen title happens in or next to that pause, at it
(:func:`snap_boundaries`); with no fixed count, neighbours about the same thing merge
(:func:`merge_similar`).

Pure NumPy over plain data; knows nothing about decoding, models, tasks or the CLI.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidq.analysis.evidence import Unit

log = logging.getLogger("vidq.analysis")

AUTO_CUTOFF = 1.0  # auto chapters: TextTiling gaps deeper than mean + AUTO_CUTOFF * std of all depths ...
MERGE_SIMILARITY = 0.6  # ... then neighbours whose mean sentence vectors have at least this cosine merge
MIN_CHAPTER_FRACTION = 1 / 8  # auto chapters are at least this fraction of the span ...
MIN_CHAPTER_RANGE = (8.0, 30.0)  # ... clamped to this many seconds
SNAP_SLACK = 0.5  # seconds: a cut (or title) this close to a pause counts as inside it
SNAP_REACH = 2  # a topic gap may move this many units to a better place
CUT_BONUS = 0.8  # snapping score of a shot change in a gap's pause (a gap's own depth scores 1)
TITLE_BONUS = 0.8  # ... of an on-screen title appearing in it (a title card plus a cut outweighs a deeper gap)
DISTANCE_PENALTY = 0.15  # ... minus this per unit moved
TITLE_LEAD = 15.0  # seconds: on-screen text appearing this soon after a chapter starts can title it
TITLE_MAX_WORDS = 6  # ... if it is at most this many words


# -- chapters from topic changes ---------------------------------------------------------------
@dataclass(frozen=True)
class Boundary:
    """Where a chapter starts, and why there."""

    gap: int  # the unit gap it follows (between unit gap and gap + 1)
    time: float  # seconds
    reason: str  # "pause" (next speech starts), "cut" (shot change in the pause), "title", "break" (programme resumes)


def _in_pause(starts: Sequence[float], ends: Sequence[float], g: int,
              spans: Sequence[tuple[float, float]]) -> float | None:
    """The time of the first of ``spans`` (``(after, before)`` seconds) that meets the pause after unit ``g``.

    The time is the span's midpoint, kept inside the pause; None when none meets it.
    """
    lo, hi = sorted((float(ends[g]), float(starts[g + 1])))
    for a, b in spans:
        if a <= hi + SNAP_SLACK and b >= lo - SNAP_SLACK:
            return float(min(max((a + b) / 2, lo), hi))
    return None


def _near(spans: Sequence[tuple[float, float]], t: float) -> list[tuple[float, float]]:
    """The ``(after, before)`` spans that reach within ``SNAP_SLACK`` s of ``t``.

    >>> _near([(70.8, 71.2), (75.8, 76.4)], 76.4)
    [(75.8, 76.4)]
    """
    return [(a, b) for a, b in spans if a - SNAP_SLACK <= t <= b + SNAP_SLACK]


def snap_boundaries(starts: Sequence[float], ends: Sequence[float], gaps: Sequence[int], depth: Sequence[float],
                    cuts: Sequence[tuple[float, float]], titles: Sequence[float] = ()) -> list[Boundary]:
    """Place each chosen topic gap in time, moving it to a better gap nearby.

    ``starts``/``ends`` ``(N,)`` are the units' seconds, ``gaps`` the chosen gaps (gap ``g``
    lies between units ``g`` and ``g + 1``), ``depth`` ``(N-1,)`` every gap's TextTiling
    depth, ``cuts`` the shot changes as ``(after, before)`` frame times, ``titles`` the
    times on-screen titles appear.  Sentence embeddings often blur a topic change by a
    sentence or two (a transition like "now let us turn to bees" still reads like the old
    topic), so each gap competes with the gaps up to :data:`SNAP_REACH` units away:
    relative depth, plus :data:`CUT_BONUS` when its pause holds a shot change, plus
    :data:`TITLE_BONUS` when an on-screen title appears in it, minus
    :data:`DISTANCE_PENALTY` per unit moved.  The chapter then starts at the title's cut
    (the shot change the title appears at) or at the title, else at the first cut in the
    pause, else where the next unit starts.
    """
    n = len(starts)
    chosen: set[int] = set(gaps)
    out: list[Boundary] = []
    title_spans = [(t, t) for t in titles]
    for g in sorted(gaps):
        ref = max(float(depth[g]), 1e-6)
        best, best_score = g, -np.inf
        for c in range(g - SNAP_REACH, g + SNAP_REACH + 1):
            if not 0 <= c < n - 1 or (c != g and c in chosen):
                continue
            score = (min(float(depth[c]) / ref, 1.0)
                     + CUT_BONUS * (_in_pause(starts, ends, c, cuts) is not None)
                     + TITLE_BONUS * (_in_pause(starts, ends, c, title_spans) is not None)
                     - DISTANCE_PENALTY * abs(c - g))
            if score > best_score + 1e-9:
                best, best_score = c, score
        chosen.discard(g)
        chosen.add(best)
        title = _in_pause(starts, ends, best, title_spans)
        # with a title in the pause, the cut it appears at (a pause may hold the old topic's last shot
        # change too); else the first cut in the pause
        cut = _in_pause(starts, ends, best, cuts if title is None else _near(cuts, title))
        if cut is not None:
            out.append(Boundary(best, cut, "cut"))
        elif title is not None:
            out.append(Boundary(best, title, "title"))
        else:
            out.append(Boundary(best, float(starts[best + 1]), "pause"))
    out.sort(key=lambda bd: bd.time)
    return out


def resume_after_breaks(bounds: Sequence[Boundary], starts: Sequence[float], ends: Sequence[float],
                        breaks: Sequence[tuple[float, float]]) -> list[Boundary]:
    """Chapter starts moved to where the programme resumes when their pause holds an ad break.

    The text around a break is all the topic model sees, so a topic change across a break
    lands somewhere in the pause that holds it (often at the cut that opens the break, giving
    the next chapter the ads for a start).  ``breaks`` are ``(start, end)`` seconds of the
    segments left out; a boundary whose pause (from the end of unit ``gap`` to the start of
    the next) holds one starts at the end of the last of them instead (reason ``"break"``).

    >>> b = resume_after_breaks([Boundary(0, 181.0, "cut")], [170.0, 205.0], [175.5, 207.0], [(189.0, 204.0)])
    >>> [(x.time, x.reason) for x in b]
    [(204.0, 'break')]
    """
    out = []
    for bd in bounds:
        lo, hi = float(ends[bd.gap]), float(starts[bd.gap + 1])
        inside = [e for s, e in breaks if s >= lo - SNAP_SLACK and e <= hi + SNAP_SLACK]
        out.append(Boundary(bd.gap, min(max(inside), hi), "break") if inside else bd)
    return sorted(out, key=lambda bd: bd.time)


def min_chapter_seconds(span: float) -> float:
    """The shortest chapter allowed for a span of ``span`` seconds."""
    lo, hi = MIN_CHAPTER_RANGE
    return float(min(max(span * MIN_CHAPTER_FRACTION, lo), hi))


def merge_similar(vectors: np.ndarray, gaps: Sequence[int], threshold: float = MERGE_SIMILARITY) -> list[int]:
    """Drop chapter gaps between neighbours about the same thing, most similar pair first.

    ``vectors`` ``(N, D)`` are the units' unit-length embeddings, ``gaps`` the chosen gaps
    (gap ``g`` lies between units ``g`` and ``g + 1``).  Two adjacent chapters whose mean
    vectors have a cosine of at least ``threshold`` become one; repeat until no pair does.
    """
    kept = sorted(gaps)
    n = vectors.shape[0]
    while kept:
        edges = [-1, *kept, n - 1]
        means = []
        for lo, hi in itertools.pairwise(edges):
            m = vectors[lo + 1:hi + 1].mean(axis=0)
            means.append(m / max(float(np.linalg.norm(m)), 1e-12))
        sims = [float(means[i] @ means[i + 1]) for i in range(len(kept))]
        best = int(np.argmax(sims))
        if sims[best] < threshold:
            break
        kept.pop(best)
    return kept


def topic_boundaries(units: Sequence[Unit], vectors: np.ndarray, cuts: Sequence[tuple[float, float]], *,
                     span: tuple[float, float], chapters: int | None, titles: Sequence[float] = (),
                     breaks: Sequence[tuple[float, float]] = ()) -> list[Boundary]:
    """Chapter starts (after the first) for time-ordered units with unit-length ``vectors`` ``(N, D)``.

    ``chapters=None`` (auto): TextTiling gaps deeper than ``mean + AUTO_CUTOFF * std``,
    then neighbours about the same thing merged (:func:`merge_similar`), plus the pauses
    where the picture cuts and a title appears (:func:`titled_cuts`); a number: the deepest
    gaps that give that many chapters.  Each gap is then placed in time by
    :func:`snap_boundaries`, and after the ad ``breaks`` left out of ``units`` when its pause
    holds one (:func:`resume_after_breaks`).
    """
    from vidq.analysis.tiling import (
        BLOCK,
        depth_scores,
        gap_similarity,
        segment_topics,
    )

    if len(units) < 2 or chapters == 1:
        return []
    starts = np.array([u.start for u in units])
    ends = np.array([u.end for u in units])
    block = max(2, min(BLOCK, len(units) // 6))
    minimum = min_chapter_seconds(span[1] - span[0])
    if chapters is not None:  # an explicit count may need shorter chapters
        minimum = min(minimum, (span[1] - span[0]) / (2 * chapters))
    segments = segment_topics(starts, ends, vectors, n=chapters, block=block, min_chapter=minimum, span=span,
                              cutoff=AUTO_CUTOFF)
    gaps = [s.first - 1 for s in segments[1:]]
    depth = depth_scores(gap_similarity(vectors, block=block))
    if chapters is None:
        gaps = merge_similar(vectors, gaps)
        titled = titled_cuts(starts, ends, cuts, titles, minimum)
        # a titled cut is the surer place: a text-only gap within a short chapter of one gives way
        gaps = sorted(set(titled) | {g for g in gaps
                                     if all(abs(float(starts[g + 1]) - float(starts[t + 1])) >= minimum
                                            for t in titled)})
    bounds = resume_after_breaks(snap_boundaries(starts, ends, gaps, depth, cuts, titles), starts, ends, breaks)
    log.debug("topic gaps %s (depth %s) -> chapters at %s", gaps, [round(float(depth[g]), 2) for g in gaps],
              [(round(b.time, 2), b.reason) for b in bounds])
    return bounds


def titled_cuts(starts: Sequence[float], ends: Sequence[float], cuts: Sequence[tuple[float, float]],
                titles: Sequence[float], minimum: float) -> list[int]:
    """Gaps whose speech pause holds a shot change and, with it or after it, the appearance of an
    on-screen title.

    A programme that cuts to new pictures *and* puts up a title (a chapter card, a lower
    third naming the next segment) has announced a new chapter, whatever its words say:
    speech recognition garbles the sentences around such changes often enough for
    TextTiling to miss them.  The title must come up on the new pictures (no earlier than
    ``SNAP_SLACK`` before the cut): text that appeared before the cut belongs to the shot
    that ends there (a sign in the scene), and announces nothing.  A gap closer than
    ``minimum`` seconds to an earlier titled cut is left out.
    """
    taken: list[float] = []
    out: list[int] = []
    for g in range(len(starts) - 1):
        cut_times = [c[0] for c in cuts if _in_pause(starts, ends, g, [c]) is not None]
        if not any(_in_pause(starts, ends, g, [(t, t)]) is not None and any(t >= c - SNAP_SLACK for c in cut_times)
                   for t in titles):
            continue
        t = float(starts[g + 1])
        if all(abs(t - x) >= minimum for x in taken):
            out.append(g)
            taken.append(t)
    return out


def title_cards(screen: Sequence[Unit]) -> list[Unit]:
    """Short on-screen lines shown once (a title card or caption), not recurring text like a logo."""
    counts: dict[str, int] = {}
    for u in screen:
        counts[u.text.strip().lower()] = counts.get(u.text.strip().lower(), 0) + 1
    out = []
    for u in screen:
        words = re.findall(r"[A-Za-z][A-Za-z'-]+", u.text)
        if 1 <= len(words) <= TITLE_MAX_WORDS and _mostly_letters(u.text) and counts[u.text.strip().lower()] == 1:
            out.append(u)
    return out


def title_from_screen(chapter_start: float, chapter_end: float, cards: Sequence[Unit]) -> str | None:
    """The title card that appears as the chapter begins (all-capitals text in title case)."""
    lead = min(TITLE_LEAD, (chapter_end - chapter_start) / 3)
    for u in cards:
        if chapter_start - SNAP_SLACK - 1.0 <= u.start <= chapter_start + lead:
            text = " ".join(u.text.split())
            return text.title() if text.isupper() else text
    return None


def _mostly_letters(text: str) -> bool:
    letters = sum(c.isalpha() for c in text)
    return letters >= 3 and letters >= 0.6 * sum(not c.isspace() for c in text)


def readable_screen_units(units: Sequence[Unit]) -> list[Unit]:
    """On-screen lines that read as words (drops burned-in clocks, counters and OCR speckle)."""
    return [u for u in units if u.source == "screen" and _mostly_letters(u.text)]


