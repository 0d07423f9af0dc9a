"""``summarize``: an overall summary plus chapters (start, end, title, one paragraph each).

    result = summarize(path, options, length="medium", chapters=None, store=store, progress=progress)
    result.summary            # tuple[Sentence]: the overall summary, time order
    result.chapters           # tuple[Chapter]: start, end, title, summary sentences

Two ways, chosen by the backend's capabilities:

- **lite** (no pixels understood): everything is *extractive*, so every sentence can be
  traced to the transcript or to on-screen text.  Chapters come from topic changes in the
  embedded transcript (TextTiling over MiniLM sentence vectors,
  :func:`vidq.models.lite.topics.segment_topics`), each boundary snapped to the speech
  pause it falls in and, when a shot change (2 fps picture signals shared with
  ``vidq.tasks.ads``, :func:`shot_changes`) or a title card happens in or next to that
  pause, to it (:func:`snap_boundaries`).  Ad breaks and sponsor reads that the ads
  detector finds are left out first.  A chapter's paragraph is its most central, least redundant
  sentences (MMR, centrality weighted by how sure Whisper was of the words: garbled
  sentences stay out); its title is on-screen text shown as it begins (a title card) or
  else its key phrases; the overall summary is chosen from the chapters' sentences (a
  summary of summaries).  SmolLM2 writes nothing here: ``benchmarks/lite.py`` measured it
  adding facts to free-form titles and summaries.
- **video LLM**: hierarchical.  The span is cut into segments (``--chapters N``, or about
  one per :data:`VLM_SEGMENT_SECONDS`), each segment's frames and subtitles go to the
  model for a title and a paragraph, and a text-only call summarizes those summaries.

Knows nothing about Typer or rendering; returns a :class:`SummaryResult`.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vidq.errors import InputError
from vidq.progress import ProgressFn, no_progress
from vidq.store import Store
from vidq.tasks.pipeline import (
    JobOptions,
    StageClock,
    VideoContext,
    base_meta,
    frame_batches,
    open_video,
)

if TYPE_CHECKING:
    from vidq.models.base import Backend
    from vidq.tasks.evidence import Unit

log = logging.getLogger("vidq.tasks")

SCHEMA = "vidq.summary/1"  # JSON schema name of a summary
Length = Literal["short", "medium", "long"]
LENGTHS = ("short", "medium", "long")
CHAPTER_SENTENCES = {"short": 1, "medium": 2, "long": 4}  # sentences per chapter paragraph
SUMMARY_SENTENCES = {"short": 2, "medium": 4, "long": 8}  # sentences in the overall summary
MAX_CHAPTERS = 40  # --chapters N upper bound
LITE_MIN_FRAMES = 64  # lite: at least this many frames read by OCR ...
LITE_MAX_FRAMES = 512  # ... at most this many, about one per second in between
MIN_SHOT_SPAN = 2.0  # seconds: shorter spans are not searched for cuts
SHOT_THRESHOLD = 0.35  # histogram distance that counts as a cut (vidq.media.signals.SHOT_THRESHOLD)
AUTO_CUTOFF = 1.0  # auto chapters: TextTiling gaps deeper than mean + AUTO_CUTOFF * std of all depths ...
MERGE_SIMILARITY = 0.6  # ... then neighbours whose mean sentence vectors have at least this cosine merge
MIN_CHAPTER_FRACTION = 1 / 8  # auto chapters are at least this fraction of the span ...
MIN_CHAPTER_RANGE = (8.0, 30.0)  # ... clamped to this many seconds
SNAP_SLACK = 0.5  # seconds: a cut (or title) this close to a pause counts as inside it
SNAP_REACH = 2  # a topic gap may move this many units to a better place
CUT_BONUS = 0.8  # snapping score of a shot change in a gap's pause (a gap's own depth scores 1)
TITLE_BONUS = 0.8  # ... of an on-screen title appearing in it (a title card plus a cut outweighs a deeper gap)
DISTANCE_PENALTY = 0.15  # ... minus this per unit moved
MIN_SENTENCE_WORDS = 4  # shorter sentences are chosen for a summary only when nothing else is left
TITLE_LEAD = 15.0  # seconds: on-screen text appearing this soon after a chapter starts can title it
TITLE_MAX_WORDS = 6  # ... if it is at most this many words
VLM_SEGMENT_SECONDS = 240.0  # video LLM: about one segment (chapter) per this many seconds
VLM_MAX_SEGMENTS = 12  # ... at most this many
MIN_ADS_SPAN = 20.0  # seconds: shorter spans are not searched for ads
VLM_DEFAULT_FRAMES = 64  # video LLM: frames over the whole span (the engine's planner may cut them)
VLM_SIDE = 448  # video LLM: decode size (longest side, pixels)
NO_TEXT = "no speech and no on-screen text were found"
LITE_LIMITS = ("the lite backend reads speech and on-screen text; it cannot see objects, people, "
               "actions or scenes, so the summary covers only what is said or written")


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sentence:
    """One sentence of a summary and where it comes from."""

    text: str  # the sentence (verbatim from its source when source is "speech" or "screen")
    start: float  # seconds: when it was said / shown (for "model": the span it summarizes)
    end: float  # seconds
    source: str  # "speech" (transcript), "screen" (OCR), or "model" (written by a video LLM)


@dataclass(frozen=True)
class Chapter:
    """A stretch of the video about one thing."""

    index: int  # 0-based
    start: float  # seconds
    end: float  # seconds
    title: str  # short title ("" when nothing could be said)
    title_source: str  # "screen" (on-screen text), "keyphrases" (words of the chapter), "model"
    sentences: tuple[Sentence, ...]  # the chapter's paragraph, time order

    @property
    def summary(self) -> str:
        return " ".join(s.text for s in self.sentences)


@dataclass(frozen=True)
class Skipped:
    """An inserted segment (ad break or sponsor read) left out of the summary."""

    start: float  # seconds
    end: float  # seconds
    kind: str  # "break" or "sponsor" (as ``vidq.tasks.ads`` names them)
    reason: str  # the ads detector's one line


@dataclass(frozen=True)
class SummaryResult:
    """What ``summarize`` returns; the CLI renders it as text, Markdown or JSON."""

    file: Path  # the video
    start: float  # seconds: span summarized
    end: float  # seconds
    duration: float  # seconds: the whole file
    length: str  # short | medium | long
    method: str  # "extractive" (lite) or "hierarchical" (video LLM)
    model: str  # backend name
    sees_images: bool  # False for lite
    sentences: tuple[Sentence, ...]  # the overall summary, time order (empty when nothing was found)
    chapters: tuple[Chapter, ...]  # time order, covering [start, end]
    notices: tuple[str, ...] = ()  # what the reader should know (nothing found, what could not be seen)
    skipped: tuple[Skipped, ...] = ()  # ad breaks and sponsor reads left out, time order
    meta: dict[str, Any] = field(default_factory=dict)  # models, frames, per-stage timings

    @property
    def summary(self) -> str:
        return " ".join(s.text for s in self.sentences)


# -- shot changes ---------------------------------------------------------------------------
def cut_intervals(times: Sequence[float], scores: Sequence[float], threshold: float = SHOT_THRESHOLD) -> list[tuple[float, float]]:
    """Shot changes as ``(after, before)`` seconds: the cut lies between these two sampled frames.

    ``scores[i]`` compares frame ``i`` with frame ``i - 1``.

    >>> cut_intervals([0, 1, 2, 3], [0, 0.1, 0.9, 0.2])
    [(1.0, 2.0)]
    """
    return [(float(times[i - 1]), float(times[i])) for i in range(1, len(times)) if scores[i] > threshold]


# -- chapters from topic changes ---------------------------------------------------------------
@dataclass(frozen=True)
class Boundary:
    """Where a chapter starts, and why there."""

    gap: int  # the unit gap it follows (between unit gap and gap + 1)
    time: float  # seconds
    reason: str  # "pause" (start of the next speech), "cut" (a shot change in the pause), "title" (on-screen title)


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
    :data:`DISTANCE_PENALTY` per unit moved.  The chapter then starts at the cut, else
    at the title, else where the next unit starts.
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
        cut = _in_pause(starts, ends, best, cuts)
        title = _in_pause(starts, ends, best, title_spans)
        if cut is not None:
            out.append(Boundary(best, cut, "cut"))
        elif title is not None:
            out.append(Boundary(best, title, "title"))
        else:
            out.append(Boundary(best, float(starts[best + 1]), "pause"))
    out.sort(key=lambda bd: bd.time)
    return out


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
                     span: tuple[float, float], chapters: int | None, titles: Sequence[float] = ()) -> list[Boundary]:
    """Chapter starts (after the first) for time-ordered units with unit-length ``vectors`` ``(N, D)``.

    ``chapters=None`` (auto): TextTiling gaps deeper than ``mean + AUTO_CUTOFF * std``,
    then neighbours about the same thing merged (:func:`merge_similar`); a number: the
    deepest gaps that give that many chapters.  Each gap is then placed in time by
    :func:`snap_boundaries`.
    """
    from vidq.models.lite.topics import (
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
    if chapters is None:
        gaps = merge_similar(vectors, gaps)
    depth = depth_scores(gap_similarity(vectors, block=block))
    bounds = snap_boundaries(starts, ends, gaps, depth, cuts, titles)
    log.debug("topic gaps %s (depth %s) -> chapters at %s", gaps, [round(float(depth[g]), 2) for g in gaps],
              [(round(b.time, 2), b.reason) for b in bounds])
    return bounds


# -- extractive selection ---------------------------------------------------------------------
def _word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


def recognition_confidence(u: Unit) -> float:
    """Mean ASR word probability of a speech unit (1.0 for on-screen text or words without one).

    Whisper is least sure of what it mishears, so weighting a sentence's relevance by this
    keeps garbled sentences out of summaries (on the sample: 0.67-0.77 for garbled ones,
    0.88-0.95 for clean ones).
    """
    probs = [w.probability for w in u.words if w.probability is not None]
    return float(sum(probs) / len(probs)) if probs else 1.0


def pick_sentences(vectors: np.ndarray, texts: Sequence[str], k: int, *, relevance: np.ndarray | None = None) -> list[int]:
    """``k`` central, non-redundant rows (MMR), preferring sentences of at least MIN_SENTENCE_WORDS words.

    Returns row indices in reading order.
    """
    from vidq.models.lite.extractive import centrality, select_sentences

    n = len(texts)
    if n == 0 or k <= 0:
        return []
    rel = centrality(vectors) if relevance is None else np.asarray(relevance, np.float32)
    full = [i for i in range(n) if _word_count(texts[i]) >= MIN_SENTENCE_WORDS]
    pool = full if len(full) >= min(k, n) else list(range(n))
    chosen = select_sentences(vectors[pool], min(k, len(pool)), relevance=rel[pool])
    return sorted(pool[i] for i in chosen)


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


def _title_from_screen(chapter_start: float, chapter_end: float, cards: Sequence[Unit]) -> str | None:
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


def lite_chapters(units: Sequence[Unit], vectors: np.ndarray, screen: Sequence[Unit],
                  cuts: Sequence[tuple[float, float]], *, span: tuple[float, float], length: str,
                  chapters: int | None) -> tuple[list[Chapter], list[Sentence]]:
    """Extractive chapters and overall summary from time-ordered text units.

    ``units`` are the sentences to summarize (speech sentences, or on-screen lines when
    nothing is said), ``vectors`` ``(N, D)`` their unit-length embeddings, ``screen`` the
    readable on-screen lines (for title cards), ``cuts`` the shot changes.  Returns the
    chapters and the overall summary (chosen among the chapters' sentences).
    """
    from vidq.models.lite.extractive import centrality, keyphrases, title_from_phrases

    cards = title_cards(screen)
    bounds = topic_boundaries(units, vectors, cuts, span=span, chapters=chapters, titles=[u.start for u in cards])
    edges = [span[0], *[b.time for b in bounds], span[1]]
    groups: list[list[int]] = [[] for _ in range(len(edges) - 1)]
    for i, u in enumerate(units):
        k = int(np.searchsorted(edges[1:-1], u.start, side="right"))
        groups[k].append(i)
    texts = [u.text for u in units]
    chapter_texts = [" ".join(texts[i] for i in g) for g in groups]
    heard = np.array([recognition_confidence(u) for u in units], np.float32)  # (N,)
    global_rel = centrality(vectors) * heard if len(units) else np.zeros(0, np.float32)
    out: list[Chapter] = []
    picked_all: list[int] = []
    for c, members in enumerate(groups):
        start, end = edges[c], edges[c + 1]
        rows = np.array(members, np.int64)
        local = centrality(vectors[rows]) * heard[rows] if members else None
        chosen = [members[i] for i in pick_sentences(vectors[rows], [texts[i] for i in members],
                                                     CHAPTER_SENTENCES[length], relevance=local)] if members else []
        picked_all.extend(chosen)
        title, how = _title_from_screen(start, end, cards), "screen"
        if title is None:
            others = [t for j, t in enumerate(chapter_texts) if j != c and t]
            title = title_from_phrases(keyphrases(chapter_texts[c], others, k=2)) if chapter_texts[c] else ""
            how = "keyphrases"
        out.append(Chapter(c, float(start), float(end), title, how,
                           tuple(_sentence(units[i]) for i in chosen)))
    picked_all.sort()
    k = SUMMARY_SENTENCES[length]
    if picked_all:
        rows = np.array(picked_all, np.int64)
        chosen = pick_sentences(vectors[rows], [texts[i] for i in picked_all], k, relevance=global_rel[rows])
        summary = [_sentence(units[picked_all[i]]) for i in chosen]
    else:
        summary = []
    return out, summary


def _sentence(u: Unit) -> Sentence:
    return Sentence(u.text.strip(), float(u.start), float(u.end), u.source)


# -- the job ----------------------------------------------------------------------------------
def lite_default_frames(span: float) -> int:
    """Frames a lite summary samples over ``span`` seconds: about one per second, within bounds."""
    return int(min(max(round(span), LITE_MIN_FRAMES), LITE_MAX_FRAMES))


def span_seconds(info: Any, options: JobOptions) -> float:
    """Seconds between ``--start`` and ``--end`` (or the file's ends)."""
    start = options.start or 0.0
    end = min(options.end, info.duration) if options.end is not None else info.duration
    return max(0.0, end - start)


def summarize(
    path: str | os.PathLike,
    options: JobOptions,
    *,
    length: str = "medium",
    chapters: int | None = None,
    skip_ads: bool = True,
    store: Store | None = None,
    progress: ProgressFn | None = None,
    backend: Backend | None = None,
) -> SummaryResult:
    """Summarize the video at ``path`` (see the module docstring).

    ``chapters``: an exact number of chapters, or None to choose from the content.
    ``skip_ads``: lite only: find ad breaks and sponsor reads (``vidq.tasks.ads``) and
    leave them out of the chapters and the summary.
    ``backend``: an already loaded backend (default: ``options.model`` through the registry).
    Raises ``InputError`` for bad flags, ``MediaError`` for unusable files (both exit 2),
    ``ModelError`` when a model fails (exit 3).
    """
    if length not in LENGTHS:
        raise InputError(f"--length must be short, medium or long, not {length!r}")
    if chapters is not None and not 1 <= chapters <= MAX_CHAPTERS:
        raise InputError(f"--chapters must be 'auto' or a number from 1 to {MAX_CHAPTERS}, not {chapters}")
    from vidq.media import probe
    from vidq.tasks.pipeline import load_job_backend

    clock = StageClock()
    report = progress or no_progress
    with clock.stage("load"):
        backend = backend or load_job_backend(options)
    lite = not backend.capabilities.sees_images and backend.name == "lite"
    with clock.stage("probe"):
        info = probe(path, store=store)
    span = span_seconds(info, options)
    default = lite_default_frames(span) if lite else VLM_DEFAULT_FRAMES
    ctx = open_video(path, options, default_frames=default, store=store, clock=clock, progress=report)
    if lite:
        return _summarize_lite(ctx, backend, length=length, chapters=chapters, skip_ads=skip_ads, store=store,
                               clock=clock, progress=report)
    return _summarize_vlm(ctx, backend, length=length, chapters=chapters, clock=clock, progress=report)


def shot_changes(ctx: VideoContext, *, store: Store | None, progress: ProgressFn) -> list[tuple[float, float]]:
    """Cuts over the context's span from the ads detector's picture signals (``SIGNAL_FPS`` frames a second).

    The signals are the ones ``vidq ads`` computes (and caches) for the same file and span,
    so after ad detection this costs nothing; their half-second resolution places a cut in
    the right speech pause, which the job's own sparse frames cannot.
    """
    from vidq.tasks.ads import default_frames, picture_signals

    if ctx.end - ctx.start < MIN_SHOT_SPAN:
        return []
    sig_ctx = open_video(ctx.path, replace(ctx.options, frames=None), default_frames=default_frames(ctx.info.duration),
                         store=store)
    pic = picture_signals(sig_ctx, store=store, progress=progress)
    return cut_intervals(pic.times.tolist(), pic.shot.tolist())


def inserted_segments(ctx: VideoContext, backend: Backend, *, store: Store | None,
                      progress: ProgressFn) -> list[Skipped]:
    """Ad breaks and sponsor reads in the context's span, from the ads detector (signals + text cues)."""
    from vidq.tasks.ads import detect_ads

    if ctx.end - ctx.start < MIN_ADS_SPAN:
        return []
    found = detect_ads(ctx.path, replace(ctx.options, frames=None), backend=backend, store=store, progress=progress)
    return [Skipped(float(a.start), float(a.end), a.kind, a.reason) for a in found.segments]


def _inside(t: float, spans: Sequence[Skipped]) -> bool:
    return any(s.start <= t <= s.end for s in spans)


def _summarize_lite(ctx: VideoContext, backend: Backend, *, length: str, chapters: int | None, skip_ads: bool,
                    store: Store | None, clock: StageClock, progress: ProgressFn) -> SummaryResult:
    from vidq.tasks.evidence import EvidenceIndex, collect

    key = store.file_key(ctx.path) if store is not None and store.enabled else None
    ocr_engine = getattr(backend, "ocr_engine", None)
    evidence = collect(ctx, store=store, clock=clock, engine=ocr_engine, windows=False, progress=progress)
    skipped: list[Skipped] = []
    if skip_ads:
        with clock.stage("ads"):
            skipped = inserted_segments(ctx, backend, store=store, progress=progress)
    with clock.stage("shots"):
        cuts = shot_changes(ctx, store=store, progress=progress)
    kept = [u for u in evidence.units if not _inside(u.mid, skipped)]
    cuts = [(a, b) for a, b in cuts if not (_inside(a, skipped) and _inside(b, skipped))]
    speech = [u for u in kept if u.source == "speech" and u.kind == "sentence"]
    screen = readable_screen_units(kept)
    units = speech if len(speech) >= 3 or not screen else sorted(speech + screen, key=lambda u: (u.start, u.end))
    notices: list[str] = []
    span = (ctx.start, ctx.end)
    with clock.stage("embed"):
        index = EvidenceIndex.build(units, store=store, file_key=key) if units else None
    with clock.stage("chapters"):
        if units and index is not None and index.vectors is not None:
            found, summary = lite_chapters(units, index.vectors, screen, cuts, span=span, length=length,
                                           chapters=chapters)
        else:
            notices.append(f"{NO_TEXT}; the lite backend cannot describe pictures "
                           "(use a video model with --model to summarize what is shown)")
            found, summary = [], []
    from vidq.models.lite.embed import MODEL_LABEL as EMBED_LABEL

    meta = base_meta(ctx, clock, model=backend.name, sees_images=False, limits=LITE_LIMITS, method="extractive",
                     embeddings=EMBED_LABEL, shot_changes=len(cuts), units=len(units), ads_skipped=skip_ads,
                     **evidence.meta)
    return SummaryResult(ctx.path, ctx.start, ctx.end, ctx.info.duration, length, "extractive", backend.name, False,
                         tuple(summary), tuple(found), notices=tuple(notices), skipped=tuple(skipped), meta=meta)


# -- the video-LLM path -----------------------------------------------------------------------
SEGMENT_PROMPT = (
    "This is part {part} of {parts} of a video, from {start} to {end}. Watch it and read its subtitles. "
    "Reply with a short title on the first line, written as 'Title: ...', then a summary of what happens "
    "in this part in at most {sentences} sentences."
)
FINAL_PROMPT = (
    "Here are summaries of the consecutive parts of a video, with their times:\n\n{parts}\n\n"
    "Write a summary of the whole video in at most {sentences} sentences."
)
_TITLE_RE = re.compile(r"^\s*(?:\**\s*)?title\s*[:\-]\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def parse_segment_reply(text: str, max_title_words: int = 12) -> tuple[str, str]:
    """``(title, summary)`` from a segment reply (``Title: ...`` line, or the first line's words).

    >>> parse_segment_reply("Title: Bees\\nThey dance. They make honey.")
    ('Bees', 'They dance. They make honey.')
    """
    text = text.strip()
    m = _TITLE_RE.search(text)
    if m:
        title = m.group(1).strip().strip("*#\"' ")
        body = (text[:m.start()] + text[m.end():]).strip()
    else:
        first, _, rest = text.partition("\n")
        title = " ".join(first.split()[:max_title_words])
        body = rest.strip() or first.strip()
    body = re.sub(r"^\s*summary\s*[:\-]\s*", "", body, flags=re.IGNORECASE)
    return " ".join(title.split()[:max_title_words]), " ".join(body.split())


def split_text_sentences(text: str) -> list[str]:
    """Sentences of generated text (ends at ., ! or ? followed by a space)."""
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def segment_edges(start: float, end: float, count: int) -> list[float]:
    """``count + 1`` equally spaced edges from ``start`` to ``end``."""
    return [start + (end - start) * i / count for i in range(count + 1)]


def _summarize_vlm(ctx: VideoContext, backend: Backend, *, length: str, chapters: int | None,
                   clock: StageClock, progress: ProgressFn) -> SummaryResult:
    from vidq.media import SamplePlan
    from vidq.models.base import GenerateOptions, VideoInput
    from vidq.timefmt import hms

    times = list(ctx.plan.times)
    span = ctx.end - ctx.start
    count = chapters or int(min(max(round(span / VLM_SEGMENT_SECONDS), 1), VLM_MAX_SEGMENTS))
    count = max(1, min(count, len(times)))
    edges = segment_edges(ctx.start, ctx.end, count)
    gen = GenerateOptions(max_new_tokens=48 + 40 * CHAPTER_SENTENCES[length], compress=ctx.options.compress,
                          ratio=ctx.options.ratio)
    used: list[dict[str, Any]] = []
    found: list[Chapter] = []
    for c in range(count):
        lo, hi = edges[c], edges[c + 1]
        idx = [i for i, t in enumerate(times) if (lo <= t < hi) or (c == count - 1 and t == hi)]
        if not idx:  # fewer frames than segments in this stretch: show the nearest frame
            idx = [int(np.argmin([abs(t - (lo + hi) / 2) for t in times]))]
        sub = SamplePlan(tuple(times[i] for i in idx), ctx.plan.mode, ctx.plan.accuracy, ctx.plan.tolerance, lo, hi)
        video = VideoInput(batches=frame_batches(ctx, size=VLM_SIDE, plan=sub), times=sub.times,
                           subtitles=[ctx.subtitles[i] for i in idx] if ctx.subtitles else None,
                           duration=ctx.info.duration)
        prompt = SEGMENT_PROMPT.format(part=c + 1, parts=count, start=hms(lo), end=hms(hi),
                                       sentences=CHAPTER_SENTENCES[length])
        with clock.stage("segments"):
            reply = backend.answer(video, prompt, gen)
        progress("segments", c + 1, count)
        title, body = parse_segment_reply(reply.text)
        sentences = tuple(Sentence(s, lo, hi, "model") for s in split_text_sentences(body))
        found.append(Chapter(c, lo, hi, title, "model", sentences))
        used.append({k: v for k, v in reply.meta.items() if k != "timings"} | {"frames": len(idx)})
    parts = "\n".join(f"[{hms(ch.start)} - {hms(ch.end)}] {ch.title}: {ch.summary}" for ch in found)
    with clock.stage("summary"):
        final = backend.answer(None, FINAL_PROMPT.format(parts=parts, sentences=SUMMARY_SENTENCES[length]),
                               replace(gen, max_new_tokens=40 * SUMMARY_SENTENCES[length] + 32))
    summary = tuple(Sentence(s, ctx.start, ctx.end, "model") for s in split_text_sentences(final.text))
    model_meta = {k: v for k, v in used[0].items()} if used else {}
    meta = base_meta(ctx, clock, model=backend.name, sees_images=bool(backend.capabilities.sees_images),
                     method="hierarchical", segments=count, backend=model_meta,
                     segment_frames=[u.get("frames") for u in used])
    return SummaryResult(ctx.path, ctx.start, ctx.end, ctx.info.duration, length, "hierarchical", backend.name,
                         bool(backend.capabilities.sees_images), summary, tuple(found), meta=meta)


__all__ = [
    "CHAPTER_SENTENCES", "LENGTHS", "SCHEMA", "SUMMARY_SENTENCES", "Boundary", "Chapter", "Sentence",
    "SummaryResult", "cut_intervals", "lite_chapters", "lite_default_frames", "min_chapter_seconds",
    "parse_segment_reply", "pick_sentences", "readable_screen_units", "segment_edges", "shot_changes",
    "snap_boundaries", "split_text_sentences", "summarize", "topic_boundaries",
]
