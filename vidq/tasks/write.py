"""A model that writes but cannot see reads a video's text and answers from it.

    lines = evidence_lines(tl, start, end)               # what is said and written, stamped with times
    reply = write(backend, lambda budget: prompt_from(fit_lines(lines, budget)), max_new_tokens=120)
    verdict, reason = read(tl, backend, start, end, 'Does it say "X"?', store=store)

The tier between ``lite``'s extractive output and a vision-language model: a text LLM
(``Capabilities.writes_text`` without ``sees_images``, e.g. llama.cpp or Ollama serving a
7B model) is given the timeline's text -- transcript sentences with their times,
on-screen lines with the span they stayed visible, and the ad breaks and sponsor reads
the analysis labelled -- and writes from it.  What it writes is held to what was asked
(the jobs cut it to the sentences asked for, at sentence boundaries), sentences citing a
time the video does not have are left out (:func:`grounded`), and results are marked
:data:`TEXT_ONLY_NOTE`.

Shared by the jobs that use a text model (``summarize``, ``ask``, ``find``); not a job
itself.  Knows nothing about Typer or rendering.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidq.analysis import Timeline
from vidq.analysis.topics import readable_screen_units
from vidq.store import Store
from vidq.timefmt import clock as stamp

log = logging.getLogger("vidq.tasks")

TEXT_ONLY_NOTE = "text-only model: saw what was said and written, not the pictures"
READ_STAGE = "read/1"  # cache stage of a text model's verdict on a window's text
READ_PAD = 4.0  # seconds of text either side of a window a text model reads
READ_MAX_TOKENS = 40  # tokens of the yes/no and its reason
CHARS_PER_TOKEN = 3.5  # estimate for budgets (timestamps cost more tokens per character than prose)
PROMPT_RESERVE = 400  # tokens kept for the system prompt, the instructions and the question
MIN_BUDGET = 200  # evidence tokens at least, however small the context
SYSTEM = ("You read a video's transcript and the text shown on its screen, one line each, stamped with its time "
          "[mm:ss]. You cannot see the pictures. Answer only from these lines and cite times as [mm:ss].")
_KINDS = {"said": 0, "on screen": 1, "segment": 2}  # order of lines that start together
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_TIME_RE = re.compile(r"\b(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:\.\d+)?\b")


@dataclass(frozen=True)
class Line:
    """One line of evidence."""

    start: float  # seconds on the file timeline
    end: float  # seconds
    kind: str  # "said", "on screen" or "segment" (an ad break or sponsor read)
    text: str

    def render(self, long: bool = False) -> str:
        when = f"[{stamp(self.start, long)}]" if self.kind == "said" else \
            f"[{stamp(self.start, long)}-{stamp(self.end, long)}]"
        return f"{when} {self.kind}: {self.text}"


def cited_times(text: str) -> list[float]:
    """Times a reply cites (``[01:15]``, ``1:02:05``, ``00:12.5``), in seconds, in order.

    >>> cited_times("It is said at [01:15] and again at 1:02:05.")
    [75.0, 3725.0]
    """
    out = []
    for m in _TIME_RE.finditer(text):
        h, mm, ss = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
        if ss < 60 and (m.group(1) is None or mm < 60):
            out.append(float(h * 3600 + mm * 60 + ss))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of generated text (ends at ., ! or ? followed by a space).

    >>> split_sentences("They dance. They make honey! Why?")
    ['They dance.', 'They make honey!', 'Why?']
    """
    return [p.strip() for p in _SENTENCE_END.split(" ".join(text.split())) if p.strip()]


_LEADING_STAMP = re.compile(r"^\s*(?:\[[\d:.\s\-–]+\]\s*)+")


def strip_stamp(text: str) -> str:
    """``text`` without the time stamps a model echoes at its start (the evidence's format).

    >>> strip_stamp("[00:12] [00:12-00:15] Bees dance.")
    'Bees dance.'
    """
    return _LEADING_STAMP.sub("", text).strip()


def grounded(sentences: Sequence[str], span: tuple[float, float], slack: float = 1.0) -> tuple[list[str], int]:
    """The sentences that cite no time outside ``span`` (a time the video does not have is
    invented), each without a leading time stamp; and how many were dropped.

    >>> grounded(["[00:05] Bees dance.", "At [03:10] it ends."], (0.0, 66.0))
    (['Bees dance.'], 1)
    """
    kept = [strip_stamp(t) for t in sentences
            if all(span[0] - slack <= c <= span[1] + slack for c in cited_times(t))]
    kept = [t for t in kept if t]
    return kept, len(sentences) - len(kept)


def evidence_lines(tl: Timeline, start: float | None = None, end: float | None = None, *,
                   skip: Sequence[tuple[float, float]] = (), segments: bool = True) -> list[Line]:
    """The timeline's text in ``[start, end]`` (default: its span), time order.

    Speech sentences whose middle falls in the window and outside every ``skip`` span;
    readable on-screen lines that overlap it; with ``segments``, the ad breaks and sponsor
    reads the analysis found there, as labels.
    """
    lo = tl.start if start is None else start
    hi = tl.end if end is None else end

    def skipped(t: float) -> bool:
        return any(a <= t <= b for a, b in skip)

    out: list[Line] = []
    for u in tl.units:
        if u.source == "speech" and u.kind == "sentence" and lo <= u.mid <= hi and not skipped(u.mid):
            out.append(Line(float(u.start), float(u.end), "said", " ".join(u.text.split())))
    for u in readable_screen_units(tl.units):
        if u.start <= hi and lo <= u.end and not skipped(u.mid):
            out.append(Line(float(u.start), float(u.end), "on screen", " ".join(u.text.split())))
    if segments:
        segs = tl.segments
        for a in segs.breaks:
            if a.start <= hi and lo <= a.end:
                spots = f" of {len(a.spots)} spots" if len(a.spots) > 1 else ""
                out.append(Line(float(a.start), float(a.end), "segment", f"ad break{spots} (inserted commercials)"))
        for a in segs.sponsors:
            if a.start <= hi and lo <= a.end:
                out.append(Line(float(a.start), float(a.end), "segment", "sponsor read (a paid message)"))
    out.sort(key=lambda ln: (ln.start, _KINDS[ln.kind]))
    return out


def line_tokens(line: Line, long: bool = False) -> int:
    return int(len(line.render(long)) / CHARS_PER_TOKEN) + 1


def fit_lines(lines: Sequence[Line], budget: int, *, priority: Sequence[float] | None = None,
              long: bool = False) -> list[Line]:
    """The lines that fit ``budget`` tokens, in time order.

    With ``priority`` (one score per line) the highest-scored lines are kept; without it,
    lines spread evenly over the whole list.  Everything is kept when it fits.
    """
    costs = [line_tokens(ln, long) for ln in lines]
    if sum(costs) <= budget:
        return list(lines)
    if priority is not None:
        kept, used = [], 0
        for i in np.argsort(-np.asarray(priority, np.float64), kind="stable"):
            if used + costs[i] <= budget:
                kept.append(int(i))
                used += costs[i]
        return [lines[i] for i in sorted(kept)]
    lo, hi = 0, len(lines)  # the most evenly spread lines whose cost fits
    while lo < hi:
        m = (lo + hi + 1) // 2
        picks = sorted(set(np.linspace(0, len(lines) - 1, m).round().astype(int).tolist()))
        if sum(costs[i] for i in picks) <= budget:
            lo = m
        else:
            hi = m - 1
    picks = sorted(set(np.linspace(0, len(lines) - 1, lo).round().astype(int).tolist())) if lo else []
    return [lines[i] for i in picks]


def render_lines(lines: Sequence[Line], long: bool = False) -> str:
    return "\n".join(ln.render(long) for ln in lines) or "(nothing is said or written here)"


def budget_for(backend: Any, max_new_tokens: int) -> int:
    """Tokens of evidence a prompt to ``backend`` may carry."""
    return max(MIN_BUDGET, int(backend.capabilities.max_context) - max_new_tokens - PROMPT_RESERVE)


def write(backend: Any, build: Callable[[int], str], *, max_new_tokens: int, system: str = SYSTEM) -> Any:
    """Ask ``backend`` the prompt ``build(budget)`` makes for an evidence budget in tokens.

    A backend that refuses the prompt as longer than its context (``ContextExceeded``)
    gets it once more, rebuilt for the size it named.  Returns the ``Generation``.
    """
    from vidq.models.base import ContextExceeded, GenerateOptions

    options = GenerateOptions(max_new_tokens=max_new_tokens, system=system)
    try:
        return backend.answer(None, build(budget_for(backend, max_new_tokens)), options)
    except ContextExceeded as e:
        budget = max(MIN_BUDGET, e.context - max_new_tokens - PROMPT_RESERVE)
        log.warning("%s: its context is %d tokens; sending less of the video's text", backend.name, e.context)
        return backend.answer(None, build(budget), options)


def window_prompt(lines: Sequence[Line], start: float, end: float, question: str, *, long: bool = False) -> str:
    """A window's lines, then the question."""
    return (f"What is said and written on screen in a video from {stamp(start, long)} to {stamp(end, long)}:\n\n"
            f"{render_lines(lines, long)}\n\n{question}")


def read(tl: Timeline, backend: Any, start: float, end: float, question: str, *,
         store: Store | None = None) -> tuple[float, str]:
    """Ask a text model about the text of ``[start, end]``: (verdict 1 yes / 0 no / 0.5 unclear, reason).

    The counterpart of :func:`vidq.tasks.look.look` for a model that cannot see; cached by
    model and the exact prompt (``READ_STAGE``).
    """
    from vidq.tasks.look import parse_verdict

    lo, hi = max(tl.start, start - READ_PAD), min(tl.end, end + READ_PAD)
    long = tl.info.duration >= 3600
    lines = evidence_lines(tl, lo, hi)

    def build(budget: int) -> str:
        return window_prompt(fit_lines(lines, budget, long=long), lo, hi, question, long=long)

    digest = hashlib.sha256(build(budget_for(backend, READ_MAX_TOKENS)).encode()).hexdigest()[:32]
    params = {"model": backend.name, "prompt": digest}
    key = tl.file_key if store is not None and store.enabled else None
    cached = store.get_json(key, READ_STAGE, params) if key else None
    if cached is not None:
        return float(cached[0]), str(cached[1])
    reply = write(backend, build, max_new_tokens=READ_MAX_TOKENS)
    verdict, reason = parse_verdict(reply.text)
    if key:
        store.put_json(key, READ_STAGE, params, [verdict, reason])
    return verdict, reason
