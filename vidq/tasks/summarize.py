"""``summarize``: an overall summary plus chapters (start, end, title, one paragraph each).

    result = summarize(path, options, length="medium", chapters=None, store=store, progress=progress)
    result.summary            # tuple[Sentence]: the overall summary, time order
    result.chapters           # tuple[Chapter]: start, end, title, summary sentences

Three ways, chosen by the backend's capabilities:

- **a backend that cannot see** (``lite``): everything is *extractive*, so every sentence
  can be traced to the transcript or to on-screen text, all read off the file's timeline
  (:mod:`vidq.analysis`).  Chapters come from topic changes in the embedded transcript
  (:func:`vidq.analysis.topics.topic_boundaries`: TextTiling over MiniLM sentence vectors),
  each boundary snapped to the speech pause it falls in and, when a shot change (the
  timeline's 2 fps picture signals) or a title card happens in or next to that pause, to
  it.  The ad breaks and sponsor reads the analysis found are left out first.  A chapter's paragraph is its most central, least redundant
  sentences (MMR, centrality weighted by how sure Whisper was of the words: garbled
  sentences stay out); its title is on-screen text shown as it begins (a title card) or
  else its key phrases; the overall summary is chosen from the chapters' sentences (a
  summary of summaries).  SmolLM2 writes nothing here: ``benchmarks/lite.py`` measured it
  adding facts to free-form titles and summaries.
- **a text model** (writes but cannot see: a text LLM on an OpenAI-compatible server): the
  same chapters (topic changes, ad breaks and sponsor reads left out), and for each the
  model reads the chapter's time-stamped transcript and on-screen lines
  (:mod:`vidq.tasks.write`) and writes its title and paragraph; then a summary of those
  summaries.  Replies are held to the sentences asked for; the result says the model saw
  what was said and written, not the pictures.
- **a video LLM** (sees pictures): hierarchical.  The span is cut into segments (``--chapters N``, or about
  one per :data:`VLM_SEGMENT_SECONDS`), each segment's frames and subtitles go to the
  model for a title and a paragraph, and a text-only call summarizes those summaries.

Knows nothing about Typer or rendering; returns a :class:`SummaryResult`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vidq.analysis import Timeline
from vidq.analysis.topics import readable_screen_units, title_cards, title_from_screen, topic_boundaries
from vidq.errors import InputError
from vidq.progress import ProgressFn, StageClock, no_progress
from vidq.store import Store
from vidq.tasks.pipeline import (
    JobOptions,
    VideoContext,
    base_meta,
    frame_batches,
    frames_context,
    open_timeline,
    shown_frames,
    shown_side,
)

if TYPE_CHECKING:
    from vidq.analysis.evidence import Unit
    from vidq.models.base import Backend

log = logging.getLogger("vidq.tasks")

SCHEMA = "vidq.summary/1"  # JSON schema name of a summary
Length = Literal["short", "medium", "long"]
LENGTHS = ("short", "medium", "long")
CHAPTER_SENTENCES = {"short": 1, "medium": 2, "long": 4}  # sentences per chapter paragraph
SUMMARY_SENTENCES = {"short": 2, "medium": 4, "long": 8}  # sentences in the overall summary
MAX_CHAPTERS = 40  # --chapters N upper bound
MIN_SENTENCE_WORDS = 4  # shorter sentences are chosen for a summary only when nothing else is left
VLM_SEGMENT_SECONDS = 240.0  # video LLM: about one segment (chapter) per this many seconds
VLM_MAX_SEGMENTS = 12  # ... at most this many
VLM_DEFAULT_FRAMES = 64  # video LLM: frames over the whole span (the engine's planner may cut them)
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
    source: str  # "speech" (transcript), "screen" (OCR), or "model" (written by a text or video LLM)


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
    method: str  # "extractive" (lite), "text-model" (a text LLM) or "hierarchical" (video LLM)
    model: str  # backend name
    sees_images: bool  # False for lite
    sentences: tuple[Sentence, ...]  # the overall summary, time order (empty when nothing was found)
    chapters: tuple[Chapter, ...]  # time order, covering [start, end]
    notices: tuple[str, ...] = ()  # what the reader should know (nothing found, what could not be seen)
    skipped: tuple[Skipped, ...] = ()  # ad breaks and sponsor reads left out, time order
    meta: dict[str, Any] = field(default_factory=dict)  # models, frames, per-stage timings
    thumbs: tuple[tuple[float, bytes], ...] = field(default=(), repr=False, compare=False)  # the timeline's stills

    @property
    def summary(self) -> str:
        return " ".join(s.text for s in self.sentences)


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
    from vidq.analysis.extractive import centrality, select_sentences

    n = len(texts)
    if n == 0 or k <= 0:
        return []
    rel = centrality(vectors) if relevance is None else np.asarray(relevance, np.float32)
    full = [i for i in range(n) if _word_count(texts[i]) >= MIN_SENTENCE_WORDS]
    pool = full if len(full) >= min(k, n) else list(range(n))
    chosen = select_sentences(vectors[pool], min(k, len(pool)), relevance=rel[pool])
    return sorted(pool[i] for i in chosen)


def chapter_edges(units: Sequence[Unit], vectors: np.ndarray, screen: Sequence[Unit],
                  cuts: Sequence[tuple[float, float]], *, span: tuple[float, float], chapters: int | None,
                  breaks: Sequence[tuple[float, float]] = ()) -> list[float]:
    """Chapter edges from ``span[0]`` to ``span[1]``: topic changes in ``units`` (see the module docstring);
    a change across one of the ad ``breaks`` left out starts where the programme resumes."""
    titles = [u.start for u in title_cards(screen)]
    bounds = topic_boundaries(units, vectors, cuts, span=span, chapters=chapters, titles=titles, breaks=breaks)
    return [span[0], *[b.time for b in bounds], span[1]]


def lite_chapters(units: Sequence[Unit], vectors: np.ndarray, screen: Sequence[Unit],
                  cuts: Sequence[tuple[float, float]], *, span: tuple[float, float], length: str,
                  chapters: int | None, breaks: Sequence[tuple[float, float]] = (),
                  aside: Sequence[bool] = ()) -> tuple[list[Chapter], list[Sentence]]:
    """Extractive chapters and overall summary from time-ordered text units.

    ``units`` are the sentences to summarize (speech sentences, or on-screen lines when
    nothing is said), ``vectors`` ``(N, D)`` their unit-length embeddings, ``screen`` the
    readable on-screen lines (for title cards), ``cuts`` the shot changes, ``breaks`` the ad
    breaks left out, ``aside`` per unit whether it places the chapters only (a sponsor read's
    sentence: never quoted nor titled from).  Returns the chapters and the overall summary
    (chosen among the chapters' sentences).
    """
    from vidq.analysis.extractive import centrality, keyphrases, title_from_phrases

    cards = title_cards(screen)
    edges = chapter_edges(units, vectors, screen, cuts, span=span, chapters=chapters, breaks=breaks)
    groups: list[list[int]] = [[] for _ in range(len(edges) - 1)]
    for i, u in enumerate(units):
        if i < len(aside) and aside[i]:
            continue
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
        title, how = title_from_screen(start, end, cards), "screen"
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
    ``skip_ads``: leave the ad breaks and sponsor reads the analysis found out of the
    chapters and the summary (extractive summaries).
    ``backend``: an already loaded backend (default: ``options.model`` through the registry).
    Raises ``InputError`` for bad flags, ``MediaError`` for unusable files (both exit 2),
    ``ModelError`` when a model fails (exit 3).
    """
    if length not in LENGTHS:
        raise InputError(f"--length must be short, medium or long, not {length!r}")
    if chapters is not None and not 1 <= chapters <= MAX_CHAPTERS:
        raise InputError(f"--chapters must be 'auto' or a number from 1 to {MAX_CHAPTERS}, not {chapters}")
    options.validate()
    from vidq.media import probe
    from vidq.tasks.pipeline import job_path, load_job_backend

    clock = StageClock()
    report = progress or no_progress
    with clock.stage("probe"):
        probe(path, store=store)  # a bad file fails before any model loads
    with clock.stage("load"):
        backend = backend or load_job_backend(options, store=store)
    way = job_path(backend)
    sees = way == "see"
    tl = open_timeline(path, options, store=store, clock=clock, progress=report,
                       frames=None if sees else options.frames)
    if way == "write":
        return _summarize_write(tl, backend, length=length, chapters=chapters, skip_ads=skip_ads, clock=clock,
                                progress=report)
    if not sees:
        return _summarize_text(tl, backend, length=length, chapters=chapters, skip_ads=skip_ads, clock=clock)
    ctx = frames_context(tl, options, frames=shown_frames(backend, options.frames or VLM_DEFAULT_FRAMES, options))
    return _summarize_vlm(tl, ctx, backend, length=length, chapters=chapters, clock=clock, progress=report)


def _breaks(skipped: Sequence[Skipped]) -> list[tuple[float, float]]:
    """The inserted ad breaks among the segments left out: the programme resumes after them (a
    sponsor read is the programme's own talk, and a new topic may open before it)."""
    return [(s.start, s.end) for s in skipped if s.kind == "break"]


def _inside(t: float, spans: Sequence[Skipped]) -> bool:
    return any(s.start <= t <= s.end for s in spans)


def _summary_units(tl: Timeline, skip_ads: bool) -> tuple[list[Skipped], list[tuple[float, float]], list[int],
                                                           list[Unit], list[bool]]:
    """What a summary is made from: the segments left out, the shot changes outside the ad
    breaks, the rows of the units chapters are found in (speech sentences; on-screen lines too
    when little is said; none inside an ad break), the readable on-screen lines (title cards),
    and per row whether it lies inside a sponsor read (it places the chapters, as the
    programme's own talk, but is never quoted)."""
    skipped = [Skipped(float(a.start), float(a.end), a.kind, a.reason) for a in tl.segments.segments] if skip_ads else []
    breaks = [s for s in skipped if s.kind == "break"]
    cuts = [(a, b) for a, b in tl.cuts if not (_inside(a, breaks) and _inside(b, breaks))]
    kept = [i for i, u in enumerate(tl.units) if u.kind != "window" and not _inside(u.mid, breaks)]
    speech = [i for i in kept if tl.units[i].source == "speech"]
    screen_rows = [i for i in kept if tl.units[i].source == "screen" and readable_screen_units([tl.units[i]])]
    rows = speech if len(speech) >= 3 or not screen_rows else sorted(speech + screen_rows,
                                                                    key=lambda i: (tl.units[i].start, tl.units[i].end))
    aside = [_inside(tl.units[i].mid, skipped) for i in rows]
    return skipped, cuts, rows, [tl.units[i] for i in screen_rows], aside


def _summarize_text(tl: Timeline, backend: Backend, *, length: str, chapters: int | None, skip_ads: bool,
                    clock: StageClock) -> SummaryResult:
    """Extractive chapters and summary from the timeline's text (a backend that cannot see)."""
    skipped, cuts, rows, screen, aside = _summary_units(tl, skip_ads)
    units = [tl.units[i] for i in rows]
    notices: list[str] = []
    span = (tl.start, tl.end)
    with clock.stage("chapters"):
        if units and tl.vectors.shape[1] > 0:
            found, summary = lite_chapters(units, tl.vectors[rows], screen, cuts, span=span, length=length,
                                           chapters=chapters, breaks=_breaks(skipped), aside=aside)
        else:
            notices.append(f"{NO_TEXT}; the lite backend cannot describe pictures "
                           "(use a video model with --model to summarize what is shown)")
            found, summary = [], []
    meta = base_meta(tl, clock, model=backend.name, sees_images=False, limits=LITE_LIMITS, method="extractive",
                     embeddings=tl.meta.get("embeddings"), shot_changes=len(cuts), units=len(units),
                     ads_skipped=skip_ads)
    return SummaryResult(tl.path, tl.start, tl.end, tl.info.duration, length, "extractive", backend.name, False,
                         tuple(summary), tuple(found), notices=tuple(notices), skipped=tuple(skipped), meta=meta,
                         thumbs=tuple(tl.thumbs))


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
    from vidq.tasks.write import split_sentences

    return split_sentences(text)


def segment_edges(start: float, end: float, count: int) -> list[float]:
    """``count + 1`` equally spaced edges from ``start`` to ``end``."""
    return [start + (end - start) * i / count for i in range(count + 1)]


def _summarize_vlm(tl: Timeline, ctx: VideoContext, backend: Backend, *, length: str, chapters: int | None,
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
        video = VideoInput(batches=frame_batches(ctx, size=shown_side(backend), plan=sub), times=sub.times,
                           subtitles=[ctx.subtitles[i] for i in idx] if ctx.subtitles else None,
                           duration=ctx.info.duration, span=(lo, hi))
        prompt = SEGMENT_PROMPT.format(part=c + 1, parts=count, start=hms(lo), end=hms(hi),
                                       sentences=CHAPTER_SENTENCES[length])
        with clock.stage("segments"):
            reply = backend.answer(video, prompt, gen)
        progress("segments", c + 1, count)
        title, body = parse_segment_reply(reply.text)
        sentences = tuple(Sentence(s, lo, hi, "model")
                          for s in split_text_sentences(body)[:CHAPTER_SENTENCES[length]])
        found.append(Chapter(c, lo, hi, title, "model", sentences))
        used.append({k: v for k, v in reply.meta.items() if k != "timings"} | {"frames": len(idx)})
    parts = "\n".join(f"[{hms(ch.start)} - {hms(ch.end)}] {ch.title}: {ch.summary}" for ch in found)
    with clock.stage("summary"):
        final = backend.answer(None, FINAL_PROMPT.format(parts=parts, sentences=SUMMARY_SENTENCES[length]),
                               replace(gen, max_new_tokens=40 * SUMMARY_SENTENCES[length] + 32))
    summary = tuple(Sentence(s, ctx.start, ctx.end, "model")
                    for s in split_text_sentences(final.text)[:SUMMARY_SENTENCES[length]])
    model_meta = {k: v for k, v in used[0].items()} if used else {}
    meta = base_meta(tl, clock, model=backend.name, sees_images=bool(backend.capabilities.sees_images),
                     method="hierarchical", segments=count, backend=model_meta,
                     segment_frames=[u.get("frames") for u in used])
    return SummaryResult(ctx.path, ctx.start, ctx.end, ctx.info.duration, length, "hierarchical", backend.name,
                         bool(backend.capabilities.sees_images), summary, tuple(found), meta=meta,
                         thumbs=tuple(tl.thumbs))


# -- the text-model path ----------------------------------------------------------------------
TEXT_SEGMENT_PROMPT = (
    "Above is what is said and written on screen in part {part} of {parts} of a video, from {start} to {end}. "
    "Reply with a short title on the first line, written as 'Title: ...', then a summary of this part in at most "
    "{sentences} sentences, using only these lines."
)
TITLE_WORDS = 8  # a chapter title a text model writes is cut to this many words


def _chapter_spans(tl: Timeline, rows: list[int], screen: list[Unit], cuts: list[tuple[float, float]], *,
                   chapters: int | None, breaks: Sequence[tuple[float, float]] = ()) -> list[float]:
    """Chapter edges for a text model: the timeline's topic changes (as for lite), or equal
    parts (about one per ``VLM_SEGMENT_SECONDS``) when there is no text to find them in."""
    span = (tl.start, tl.end)
    if rows and tl.vectors.shape[1] > 0:
        return chapter_edges([tl.units[i] for i in rows], tl.vectors[rows], screen, cuts, span=span,
                             chapters=chapters, breaks=breaks)
    count = chapters or int(min(max(round((span[1] - span[0]) / VLM_SEGMENT_SECONDS), 1), VLM_MAX_SEGMENTS))
    return segment_edges(span[0], span[1], count)


def _summarize_write(tl: Timeline, backend: Backend, *, length: str, chapters: int | None, skip_ads: bool,
                     clock: StageClock, progress: ProgressFn) -> SummaryResult:
    """A text model writes each chapter's title and paragraph from the chapter's text, then the summary."""
    from vidq.tasks.write import (
        TEXT_ONLY_NOTE,
        evidence_lines,
        fit_lines,
        grounded,
        render_lines,
        write,
    )
    from vidq.timefmt import clock as stamp

    skipped, cuts, rows, screen, _aside = _summary_units(tl, skip_ads)
    spans = [(s.start, s.end) for s in skipped]
    with clock.stage("chapters"):
        edges = _chapter_spans(tl, rows, screen, cuts, chapters=chapters, breaks=_breaks(skipped))
    long = tl.info.duration >= 3600
    count = len(edges) - 1
    found: list[Chapter] = []
    used: list[dict[str, Any]] = []
    sent = dropped = invented = 0
    span = (tl.start, tl.end)
    for c in range(count):
        lo, hi = edges[c], edges[c + 1]
        lines = evidence_lines(tl, lo, hi, skip=spans, segments=False)
        if not lines:
            found.append(Chapter(c, lo, hi, "", "model", ()))
            continue
        sentences = CHAPTER_SENTENCES[length]
        ask = TEXT_SEGMENT_PROMPT.format(part=c + 1, parts=count, start=stamp(lo, long), end=stamp(hi, long),
                                         sentences=sentences)
        kept: list = []

        def build(budget: int, lines: list = lines, ask: str = ask, kept: list = kept) -> str:
            kept[:] = fit_lines(lines, budget, long=long)
            return f"{render_lines(kept, long)}\n\n{ask}"

        with clock.stage("segments"):
            reply = write(backend, build, max_new_tokens=48 + 40 * sentences)
        progress("segments", c + 1, count)
        sent += len(kept)
        dropped += len(lines) - len(kept)
        title, body = parse_segment_reply(reply.text)
        kept_sentences, bad = grounded(split_text_sentences(body), span)
        invented += bad
        said = tuple(Sentence(s, lo, hi, "model") for s in kept_sentences[:sentences])
        titles, _ = grounded([title], span)  # a title citing a time the video lacks is dropped too
        found.append(Chapter(c, lo, hi, " ".join((titles or [""])[0].split()[:TITLE_WORDS]), "model", said))
        used.append({k: v for k, v in reply.meta.items() if k != "timings"})
    notices = [TEXT_ONLY_NOTE]
    summary: tuple[Sentence, ...] = ()
    written = [ch for ch in found if ch.sentences]
    if written:
        parts = "\n".join(f"[{stamp(ch.start, long)} - {stamp(ch.end, long)}] {ch.title}: {ch.summary}" for ch in written)
        with clock.stage("summary"):
            final = write(backend, lambda budget: FINAL_PROMPT.format(parts=parts, sentences=SUMMARY_SENTENCES[length]),
                          max_new_tokens=40 * SUMMARY_SENTENCES[length] + 32)
        said = parse_segment_reply(final.text)[1] if _TITLE_RE.search(final.text) else final.text  # a title it added
        kept_sentences, bad = grounded(split_text_sentences(said), span)
        invented += bad
        summary = tuple(Sentence(s, tl.start, tl.end, "model") for s in kept_sentences[:SUMMARY_SENTENCES[length]])
    else:
        notices.append(f"{NO_TEXT}, so the text model had nothing to read (a video model sees what is shown)")
    if invented:
        notices.append(f"{invented} sentence(s) the model wrote cited times the video does not have and were left out")
    meta = base_meta(tl, clock, model=backend.name, sees_images=False, method="text-model", text_only=True,
                     limits=TEXT_ONLY_NOTE, segments=count, backend=used[0] if used else {},
                     evidence_lines={"sent": sent, "left_out_to_fit": dropped}, invented_sentences=invented,
                     ads_skipped=skip_ads)
    return SummaryResult(tl.path, tl.start, tl.end, tl.info.duration, length, "text-model", backend.name, False,
                         summary, tuple(found), notices=tuple(notices), skipped=tuple(skipped), meta=meta,
                         thumbs=tuple(tl.thumbs))


__all__ = [
    "CHAPTER_SENTENCES", "LENGTHS", "SCHEMA", "SUMMARY_SENTENCES", "Chapter", "Sentence", "Skipped",
    "SummaryResult", "chapter_edges", "lite_chapters", "parse_segment_reply", "pick_sentences", "segment_edges",
    "split_text_sentences", "summarize",
]
