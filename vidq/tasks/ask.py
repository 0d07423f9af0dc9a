"""``ask``: answer a question about a video, open or multiple choice, citing the times it rests on.

    result = ask(path, options, "When was the lighthouse built?", choices=["A) 1850", "B) 1887"], store=store)
    result.letter, result.answer, result.citations

Three ways, chosen by the backend's capabilities:

- **a backend that cannot see** (``lite``: reads speech and on-screen text): retrieval over
  the text evidence of the file's timeline (:mod:`vidq.analysis`: transcript sentences and
  windows, on-screen lines; MiniLM + BM25 fused), then

  - *multiple choice*: every option is scored against the evidence most relevant to the
    question (:func:`score_options`): how much of what the option says that the question
    does not (its *distinctive* terms, numbers normalised: "two thousand" = "2,000"; close
    spellings, and words that sound like a term, count for less) a relevant unit contains,
    plus the option's cosine similarity to it, weighted by that unit's relevance to the
    question.  The best option wins; its citations are the units that made it win
    (:func:`cited`).
  - *open*: the best evidence sentence is the answer (extractive), with its time.

  SmolLM2 is not consulted: on the generated spoken items the evidence scorer misses only
  where Whisper misheard the name or number an option names, which a model reading the
  same transcript cannot repair; there is nothing left for it to add.
- **a text model** (writes but cannot see): it reads the timeline's time-stamped transcript
  and on-screen lines -- all of them when they fit its context, else those retrieval ranks
  most relevant first -- and writes the option's letter (asked once more, for the letter
  alone, when its reply names none) or a short open answer citing times; the lines it
  cites are the citations.
- **a video LLM**: the same retrieval (over the transcript, when there is one) picks
  windows around the best evidence; frames from those windows plus a few from the whole
  span go to the model with their subtitles and the question; the reply's letter (or
  text) is the answer, and the windows are the citations.

Knows nothing about Typer or rendering; returns an :class:`AskResult`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidq.analysis import Timeline
from vidq.errors import InputError
from vidq.progress import ProgressFn, StageClock, no_progress
from vidq.tasks.pipeline import (
    JobOptions,
    base_meta,
    frame_batches,
    frames_context,
    open_timeline,
    shown_frames,
    shown_side,
)

if TYPE_CHECKING:
    from vidq.analysis.evidence import EvidenceIndex, Unit
    from vidq.models.base import Backend
    from vidq.store import Store

log = logging.getLogger("vidq.tasks")

SCHEMA = "vidq.answer/1"  # JSON schema name of an answer
LETTERS = "ABCDEFGHIJ"  # option letters, in order
MAX_QUESTION_CHARS = 2000  # longer questions are refused as input errors
RETRIEVE_K = 8  # evidence units retrieved for the question (and for each option)
CITE_K = 3  # citations kept
CITE_SHARE = 0.5  # a multiple-choice answer also cites units that support it at least this share of its best one
OPTION_DENSE_WEIGHT = 0.3  # weight of an option's cosine similarity next to its term coverage
QUESTION_LEX_WEIGHT = 0.5  # weight of question-term coverage next to cosine in a unit's relevance
SOFTMAX_SCALE = 8.0  # option scores -> probabilities: softmax(scale * score)
VLM_DEFAULT_FRAMES = 32  # video LLM: frames shown per question
VLM_WINDOW = 10.0  # seconds each side of a retrieved moment shown to a video LLM
VLM_WINDOWS = 3  # retrieved moments shown
VLM_CONTEXT_FRAMES = 8  # frames spread over the whole span, for context
LITE_LIMITS = ("the lite backend reads speech and on-screen text; it cannot see objects, people, actions "
               "or scenes, so questions about what is shown are answered only from what is said or written")

_CHOICE_RE = re.compile(r"^\s*\(?([A-Ja-j])\s*[).:\]-]\s*(.*)$", re.DOTALL)


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Citation:
    """A moment the answer rests on."""

    start: float  # seconds
    end: float  # seconds
    text: str  # what was said / shown there ("" for frames a video LLM looked at without speech)
    source: str  # "speech", "screen" or "frames" (a window of frames shown to a video LLM)
    score: float  # how strongly it supports the answer (comparable within one answer only)


@dataclass(frozen=True)
class Choice:
    """One multiple-choice option and how it scored."""

    letter: str  # "A", "B", ...
    text: str  # the option without its letter
    score: float  # evidence support (lite) or 1/0 for the option a video LLM named
    probability: float  # softmax of the scores over the options


@dataclass(frozen=True)
class AskResult:
    """What ``ask`` returns; the CLI renders it as text or JSON."""

    file: Path  # the video
    question: str  # as asked
    start: float  # seconds: span searched
    end: float  # seconds
    choices: tuple[Choice, ...]  # empty for an open question
    letter: str | None  # the chosen option's letter (None: open question, or no option named)
    answer: str  # the chosen option's text, or the open answer
    citations: tuple[Citation, ...]  # best first
    method: str  # "evidence" (lite), "text-model" (a text LLM) or "video-llm"
    model: str  # backend name
    sees_images: bool  # False for lite
    notices: tuple[str, ...] = ()  # what the reader should know
    meta: dict[str, Any] = field(default_factory=dict)  # models, frames, timings
    thumbs: tuple[tuple[float, bytes], ...] = field(default=(), repr=False, compare=False)  # the timeline's stills


# -- choices --------------------------------------------------------------------------------
def parse_choices(raw: Sequence[str]) -> list[tuple[str, str]]:
    """``["A) 1887", "B) 1923"]`` -> ``[("A", "1887"), ("B", "1923")]``.

    Options without a letter get A, B, C... by position; given letters must be distinct.
    Raises ``InputError`` for fewer than two options, empty ones, or repeated letters.

    >>> parse_choices(["red", "(b) blue"])
    [('A', 'red'), ('B', 'blue')]
    """
    items = [c for c in (str(r).strip() for r in raw) if c]
    if len(items) != len(raw):
        raise InputError("a choice is empty; give each option as 'A) text'")
    if len(items) < 2:
        raise InputError(f"multiple choice needs at least two options, got {len(items)}")
    if len(items) > len(LETTERS):
        raise InputError(f"at most {len(LETTERS)} options, got {len(items)}")
    out: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        m = _CHOICE_RE.match(item)
        if m and m.group(2).strip():
            out.append((m.group(1).upper(), m.group(2).strip()))
        else:
            out.append((LETTERS[i], item))
    letters = [letter for letter, _ in out]
    if len(set(letters)) != len(letters):
        raise InputError(f"option letters repeat: {', '.join(letters)}")
    return out


def _softmax(scores: Sequence[float]) -> list[float]:
    s = np.asarray(scores, np.float64) * SOFTMAX_SCALE
    e = np.exp(s - s.max()) if s.size else s
    return (e / e.sum()).tolist() if s.size else []


# -- lite: evidence scoring ---------------------------------------------------------------------
@dataclass(frozen=True)
class OptionSupport:
    """An option's support in the evidence."""

    score: float  # relevance(unit) * (coverage + OPTION_DENSE_WEIGHT * cosine), max over units
    unit: int | None  # index (in the index) of the unit that gave it
    coverage: float  # fraction of the option's distinctive terms found in that unit
    cosine: float  # option-to-unit cosine similarity
    units: tuple[tuple[int, float], ...] = ()  # every supporting unit (index, score) with coverage > 0, best first


_HUNDREDS_AND = re.compile(r"\b(\d{1,2})00 and (\d{1,2})\b")


def spoken_numbers(text: str) -> str:
    """Numbers as Whisper writes them when they are spoken, joined: ``200 and 70`` -> ``270``.

    >>> spoken_numbers("turn their heads about 200 and 70 degrees")
    'turn their heads about 270 degrees'
    """
    return _HUNDREDS_AND.sub(lambda m: str(int(m.group(1)) * 100 + int(m.group(2))), text)


def distinctive_terms(option: str, question: str, others: Sequence[str] = ()) -> str:
    """The option's search tokens that tell it apart: not in the question, nor in most options.

    A token that half or more of the options share (``degrees`` in "About 90 degrees",
    "About 270 degrees", ...) says nothing about which one is right.  When nothing is
    left, the tokens not in the question, else all of the option's tokens.
    """
    from vidq.analysis.evidence import tokens

    q = set(tokens(question))
    own = list(dict.fromkeys(tokens(option)))
    rest = [t for t in own if t not in q]
    if others:
        sets = [set(tokens(o)) for o in others]
        shared = {t for t in rest if 2 * (1 + sum(t in s for s in sets)) > len(others) + 1}
        kept = [t for t in rest if t not in shared]
        rest = kept or rest
    return " ".join(rest or own)


def score_options(index: EvidenceIndex, question: str, options: Sequence[str], *,
                  k: int = RETRIEVE_K) -> tuple[list[OptionSupport], dict[int, float]]:
    """Each option's support in the units most relevant to ``question`` (see the module docstring).

    Candidates are the ``k`` best units for the question and for "question + option" each.
    Returns one :class:`OptionSupport` per option and every candidate's relevance to the
    question (unit index -> relevance).
    """
    from vidq.analysis.evidence import match_terms, tokens

    candidates: dict[int, None] = {}
    for query in [question, *(f"{question} {o}" for o in options)]:
        for hit in index.search(query, k=k, dedupe=False):
            candidates.setdefault(hit.index)
    if not candidates:
        return [OptionSupport(0.0, None, 0.0, 0.0) for _ in options], {}
    rows = list(candidates)
    q_cos = index.cosine(question)[rows]  # (C,)
    relevance = {}
    for r, c in zip(rows, q_cos):
        cover = match_terms(question, index.units[r]).coverage
        relevance[r] = float(max(0.0, c) + QUESTION_LEX_WEIGHT * cover)
    said = {r: replace(index.units[r], text=spoken_numbers(index.units[r].text), words=()) for r in rows}
    asked = set(tokens(question))
    out = []
    for option in options:
        terms = distinctive_terms(option, question, [o for o in options if o is not option]).split()
        o_cos = index.cosine(option)[rows]  # (C,); zeros without vectors
        best = OptionSupport(0.0, None, 0.0, 0.0)
        supporting: list[tuple[int, float]] = []
        for r, oc in zip(rows, o_cos):
            cover = match_terms(terms, said[r], joined=True, sounds=True, besides=asked).coverage
            score = relevance[r] * (cover + OPTION_DENSE_WEIGHT * max(0.0, float(oc)))
            if cover > 0:
                supporting.append((r, round(score, 6)))
            if score > best.score:
                best = OptionSupport(round(score, 6), r, cover, float(oc))
        supporting.sort(key=lambda x: -x[1])
        out.append(OptionSupport(best.score, best.unit, best.coverage, best.cosine, tuple(supporting)))
    return out, relevance


def cited(support: OptionSupport) -> list[tuple[int, float]]:
    """``(unit, score)`` an option's answer cites, best first: its supporting units that score at
    least ``CITE_SHARE`` of the best one (a unit that merely holds a word sounding like the
    option's, somewhere the question does not point, is not what the answer rests on).

    >>> cited(OptionSupport(0.27, 4, 0.32, 0.1, ((4, 0.27), (9, 0.14), (2, 0.11))))
    [(4, 0.27), (9, 0.14)]
    >>> cited(OptionSupport(0.2, 3, 0.0, 0.5)), cited(OptionSupport(0.0, None, 0.0, 0.0))
    ([(3, 0.2)], [])
    """
    ranked = list(support.units) or ([(support.unit, support.score)]
                                     if support.unit is not None and support.score > 0 else [])
    return [(u, score) for u, score in ranked if score >= CITE_SHARE * ranked[0][1]]


def _citation(u: Unit, score: float) -> Citation:
    return Citation(float(u.start), float(u.end), u.text.strip(), u.source, round(float(score), 6))


def _sentence_around(units: Sequence[Unit], hit: Unit) -> Unit:
    """The speech sentence(s) a window hit falls in (the window itself for screen text)."""
    if hit.source != "speech" or hit.kind == "sentence":
        return hit
    inside = [u for u in units if u.source == "speech" and u.kind == "sentence" and u.start < hit.end and hit.start < u.end]
    if not inside:
        return hit
    best = max(inside, key=lambda u: min(u.end, hit.end) - max(u.start, hit.start))
    return best


def _answer_text(tl: Timeline, backend: Backend, question: str, choices: list[tuple[str, str]], *,
                 clock: StageClock) -> AskResult:
    """Score the options (or pick the answer sentence) in the timeline's text evidence."""
    units = tl.units
    index = tl.index()
    notices: list[str] = []
    with clock.stage("answer"):
        if not units:
            notices.append("no speech and no on-screen text were found, so there is no evidence to answer from; "
                           "the lite backend cannot see pictures (use a video model with --model)")
        if choices:
            supports, _ = score_options(index, question, [t for _, t in choices])
            probs = _softmax([s.score for s in supports])
            scored = tuple(Choice(letter, text, s.score, round(p, 4))
                           for (letter, text), s, p in zip(choices, supports, probs))
            best = max(range(len(scored)), key=lambda i: (scored[i].score, -i))
            letter, answer = scored[best].letter, scored[best].text
            if supports[best].score <= 0:
                notices.append("no option is supported by what is said or shown; the letter is a guess")
            win = supports[best]
            ranked = cited(win)
            cites: list[Citation] = []
            for u, score in ranked:
                c = _citation(_sentence_around(units, index.units[u]), score)
                if all((c.start, c.end, c.source) != (x.start, x.end, x.source) for x in cites):
                    cites.append(c)
            citations = tuple(cites[:CITE_K])
        else:
            scored = ()
            letter = None
            hits = index.search(question, k=CITE_K) if units else []
            citations = tuple(_citation(_sentence_around(units, h.unit), h.score) for h in hits)
            answer = citations[0].text if citations else ""
    meta = base_meta(tl, clock, model=backend.name, sees_images=False, limits=LITE_LIMITS, method="evidence",
                     units=len(units))
    return AskResult(tl.path, question, tl.start, tl.end, scored, letter, answer, citations, "evidence",
                     backend.name, False, tuple(notices), meta, tuple(tl.thumbs))


# -- video LLM --------------------------------------------------------------------------------
MC_PROMPT = ("{question}\n{options}\nAnswer with the option's letter from the given choices directly.")
OPEN_PROMPT = "{question}\nAnswer briefly, and say at what time in the video it happens if you can."
_LETTER_RE = re.compile(r"(?<![A-Za-z])([A-J])(?![A-Za-z])")


def parse_letter(text: str, choices: Sequence[tuple[str, str]]) -> str | None:
    """The option a reply names: its first standalone letter among the choices, else an option's text.

    >>> parse_letter("The answer is (B).", [("A", "red"), ("B", "blue")])
    'B'
    >>> parse_letter("blue, clearly", [("A", "red"), ("B", "blue")])
    'B'
    """
    letters = {letter for letter, _ in choices}
    for m in _LETTER_RE.finditer(text):
        if m.group(1) in letters:
            return m.group(1)
    low = text.lower()
    found = [(low.find(t.lower()), letter) for letter, t in choices if t and t.lower() in low]
    return min(found)[1] if found else None


def moment_windows(centres: Sequence[tuple[float, float]], span: tuple[float, float],
                   pad: float = VLM_WINDOW) -> list[tuple[float, float]]:
    """``(start, end)`` moments padded by ``pad`` seconds, clipped to ``span`` and merged where they overlap.

    >>> moment_windows([(20, 22), (25, 26), (90, 91)], (0, 100), pad=5)
    [(15, 31), (85, 96)]
    """
    out: list[list[float]] = []
    for a, b in sorted((max(span[0], s - pad), min(span[1], e + pad)) for s, e in centres):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def window_times(windows: Sequence[tuple[float, float]], span: tuple[float, float], frames: int,
                 context: int = VLM_CONTEXT_FRAMES) -> list[float]:
    """Frame times: ``context`` spread over ``span``, the rest split over ``windows`` by length."""
    lo, hi = span
    times = [lo + (hi - lo) * (i + 0.5) / context for i in range(context)] if context else []
    left = max(0, frames - len(times))
    total = sum(b - a for a, b in windows)
    for a, b in windows:
        n = max(1, round(left * (b - a) / total)) if total > 0 else 1
        times.extend(a + (b - a) * (i + 0.5) / n for i in range(n))
    return sorted({round(t, 3) for t in times})


def _answer_vlm(tl: Timeline, backend: Backend, question: str, choices: list[tuple[str, str]], *,
                options: JobOptions, clock: StageClock, progress: ProgressFn) -> AskResult:
    from vidq.media import SamplePlan
    from vidq.models.base import GenerateOptions, VideoInput
    from vidq.speech import align_to_frames

    ctx = frames_context(tl, options, frames=shown_frames(backend, options.frames or VLM_DEFAULT_FRAMES, options))
    span = (ctx.start, ctx.end)
    frames = len(ctx.plan.times)
    with clock.stage("retrieve"):
        rows = tl.rows(source="speech")
        hits = tl.index(rows).search(" ".join([question, *(t for _, t in choices)]), k=VLM_WINDOWS) if rows else []
        windows = moment_windows([(h.unit.start, h.unit.end) for h in hits], span)
        context = VLM_CONTEXT_FRAMES if windows else frames
        times = window_times(windows, span, frames, context=min(context, frames))
        tolerance = min(ctx.plan.tolerance or 0.5, 0.5)
        plan = SamplePlan(tuple(times), "uniform", ctx.plan.accuracy, tolerance, span[0], span[1])
        subtitles = align_to_frames(ctx.transcript, plan.times, start=span[0], end=span[1]) if times else []
    options_text = "\n".join(f"{letter}. {text}" for letter, text in choices)
    prompt = (MC_PROMPT.format(question=question, options=options_text) if choices
              else OPEN_PROMPT.format(question=question))
    gen = GenerateOptions(max_new_tokens=16 if choices else 128, compress=ctx.options.compress, ratio=ctx.options.ratio)
    video = VideoInput(batches=frame_batches(ctx, size=shown_side(backend), plan=plan), times=plan.times,
                       subtitles=subtitles if ctx.subtitles else None, duration=ctx.info.duration, span=span)
    with clock.stage("answer"):
        reply = backend.answer(video, prompt, gen)
    progress("answer", 1, 1)
    notices: list[str] = []
    if choices:
        letter = parse_letter(reply.text, choices)
        if letter is None:
            notices.append(f"the model's reply names no option: {reply.text[:200]!r}")
        scored = tuple(Choice(lt, t, 1.0 if lt == letter else 0.0, 1.0 if lt == letter else 0.0) for lt, t in choices)
        answer = next((t for lt, t in choices if lt == letter), "")
    else:
        letter, scored, answer = None, (), reply.text.strip()
    cites = []
    for a, b in windows:
        said = " ".join(h.unit.text for h in hits if h.unit.start < b and a < h.unit.end)
        score = max((h.score for h in hits if h.unit.start < b and a < h.unit.end), default=0.0)
        cites.append(Citation(a, b, said, "frames", round(score, 6)))
    cites.sort(key=lambda c: -c.score)
    backend_meta = {k: v for k, v in reply.meta.items() if k != "timings"}
    meta = base_meta(tl, clock, model=backend.name, sees_images=bool(backend.capabilities.sees_images),
                     method="video-llm", shown_frames=len(plan.times), windows=len(windows), reply=reply.text,
                     backend=backend_meta)
    return AskResult(ctx.path, question, span[0], span[1], scored, letter, answer, tuple(cites), "video-llm",
                     backend.name, bool(backend.capabilities.sees_images), tuple(notices), meta, tuple(tl.thumbs))


# -- text model -------------------------------------------------------------------------------
TEXT_MC_PROMPT = ("Question: {question}\nOptions:\n{options}\n"
                  "Answer with the letter of the best option first, then say in one sentence why, citing the time "
                  "[mm:ss] of the line it rests on.")
TEXT_MC_RETRY = ("Question: {question}\nOptions:\n{options}\nReply with one letter only: {letters}.")
TEXT_OPEN_PROMPT = ("Question: {question}\nAnswer in at most {sentences} sentences, using only the lines above, "
                    "and cite the time [mm:ss] of the line the answer rests on. If the lines do not say, answer "
                    "\"The video does not say.\"")
TEXT_OPEN_SENTENCES = 2  # an open answer from a text model is held to this many sentences
TEXT_RETRIEVE_K = 12  # evidence units that get priority when the whole text does not fit


def _text_citations(reply: str, lines: Sequence[Any], hits: Sequence[Any], units: Sequence[Unit]) -> tuple[Citation, ...]:
    """The lines a reply cites by time; else the moments retrieval ranked best for the question."""
    from vidq.tasks.write import cited_times

    out: list[Citation] = []
    for t in cited_times(reply):
        near = [ln for ln in lines if ln.kind != "segment" and ln.start - 1.0 <= t <= ln.end + 1.0]
        if near:
            ln = min(near, key=lambda x: abs(x.start - t))
            cite = Citation(ln.start, ln.end, ln.text, "speech" if ln.kind == "said" else "screen", 1.0)
            if cite not in out:
                out.append(cite)
    if out:
        return tuple(out[:CITE_K])
    cites: list[Citation] = []
    for h in hits:
        c = _citation(_sentence_around(units, h.unit), h.score)
        if all((c.start, c.end) != (x.start, x.end) for x in cites):
            cites.append(c)
    return tuple(cites[:CITE_K])


def _answer_write(tl: Timeline, backend: Backend, question: str, choices: list[tuple[str, str]], *,
                  clock: StageClock) -> AskResult:
    """A text model answers from the timeline's text: everything when it fits the context, else
    the lines retrieval ranks most relevant to the question (and options) first."""
    from vidq.tasks.write import TEXT_ONLY_NOTE, evidence_lines, fit_lines, grounded, render_lines, split_sentences, write

    long = tl.info.duration >= 3600
    lines = evidence_lines(tl)
    with clock.stage("retrieve"):
        hits = tl.index().search(" ".join([question, *(t for _, t in choices)]), k=TEXT_RETRIEVE_K) if tl.units else []
        priority = [max((h.score for h in hits if h.unit.start < ln.end + 0.5 and ln.start < h.unit.end + 0.5),
                        default=0.0) for ln in lines]
    kept: list[Any] = []

    def prompt(template: str, **fields: Any) -> Any:
        def build(budget: int) -> str:
            kept[:] = fit_lines(lines, budget, priority=priority, long=long)
            return f"{render_lines(kept, long)}\n\n" + template.format(question=question, **fields)
        return build

    notices = [TEXT_ONLY_NOTE]
    replies: list[str] = []
    with clock.stage("answer"):
        if choices:
            listed = "\n".join(f"{letter}. {text}" for letter, text in choices)
            reply = write(backend, prompt(TEXT_MC_PROMPT, options=listed), max_new_tokens=64)
            replies.append(reply.text)
            letter = parse_letter(reply.text, choices)
            if letter is None:  # held to what was asked: once more, for the letter alone
                letters = ", ".join(lt for lt, _ in choices)
                reply = write(backend, prompt(TEXT_MC_RETRY, options=listed, letters=letters), max_new_tokens=4)
                replies.append(reply.text)
                letter = parse_letter(reply.text, choices)
            if letter is None:
                notices.append(f"the model's reply names no option: {replies[0][:200]!r}")
            scored = tuple(Choice(lt, t, 1.0 if lt == letter else 0.0, 1.0 if lt == letter else 0.0)
                           for lt, t in choices)
            answer = next((t for lt, t in choices if lt == letter), "")
        else:
            reply = write(backend, prompt(TEXT_OPEN_PROMPT, sentences=TEXT_OPEN_SENTENCES), max_new_tokens=120)
            replies.append(reply.text)
            kept_sentences, invented = grounded(split_sentences(reply.text), (tl.start, tl.end))
            if invented:
                notices.append(f"{invented} sentence(s) of the answer cited times the video does not have and were "
                               "left out")
            letter, scored, answer = None, (), " ".join(kept_sentences[:TEXT_OPEN_SENTENCES])
    citations = _text_citations(" ".join(replies), kept or lines, hits, tl.units)
    backend_meta = {k: v for k, v in reply.meta.items() if k != "timings"}
    meta = base_meta(tl, clock, model=backend.name, sees_images=False, method="text-model", text_only=True,
                     limits=TEXT_ONLY_NOTE, reply=replies[0], replies=len(replies), backend=backend_meta,
                     evidence_lines={"sent": len(kept), "left_out_to_fit": len(lines) - len(kept)})
    return AskResult(tl.path, question, tl.start, tl.end, scored, letter, answer, citations, "text-model",
                     backend.name, False, tuple(notices), meta, tuple(tl.thumbs))


# -- the job ----------------------------------------------------------------------------------
def ask(
    path: str | os.PathLike,
    options: JobOptions,
    question: str,
    *,
    choices: Sequence[str] = (),
    store: Store | None = None,
    progress: ProgressFn | None = None,
    backend: Backend | None = None,
) -> AskResult:
    """Answer ``question`` about the video at ``path`` (see the module docstring).

    ``choices``: multiple-choice options (``"A) text"`` or plain text, lettered in order);
    empty for an open question.  Raises ``InputError`` / ``MediaError`` (exit 2) and
    ``ModelError`` (exit 3).
    """
    question = " ".join(str(question).split())
    if not question:
        raise InputError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(f"the question is {len(question)} characters long; at most {MAX_QUESTION_CHARS}")
    parsed = parse_choices(choices) if choices else []
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
        return _answer_write(tl, backend, question, parsed, clock=clock)
    if not sees:
        return _answer_text(tl, backend, question, parsed, clock=clock)
    return _answer_vlm(tl, backend, question, parsed, options=options, clock=clock, progress=report)


__all__ = [
    "SCHEMA", "AskResult", "Choice", "Citation", "OptionSupport", "ask", "distinctive_terms", "moment_windows",
    "cited", "parse_choices", "parse_letter", "score_options", "window_times",
]
