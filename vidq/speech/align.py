"""Alignment of transcript words to sampled frames (MiniGPT4-Video's per-frame subtitles).

The rule: the frame at time ``t[i]`` gets the words whose midpoint ``m`` satisfies
``t[i-1] < m <= t[i]`` — the words spoken since the previous sampled frame.  Two edges:

* the **first** frame also takes every word from the clip ``start`` (or the beginning of
  the file) up to its own time: ``start <= m <= t[0]``;
* the **last** frame also takes the words spoken *after* it, up to the clip ``end`` (or
  the end of the file): ``t[-2] < m <= end``.

So with ``start``/``end`` given, every word whose midpoint lies in ``[start, end]`` lands in
exactly one bin, bins keep transcript order, and words outside the clip are dropped.  A
subtitle cue without word times is split into words first (:func:`words_of`), so a cue
spanning several frames is shared out by time instead of repeated.

This module knows nothing about engines, files, models or tasks.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from vidq.errors import InputError
from vidq.speech.types import Segment, Transcript, Word

DEFAULT_BIN_SECONDS = 2.0  # bin length when no sampling plan is given (MiniGPT4-Video's choice)


def split_segment_words(start: float, end: float, text: str) -> list[Word]:
    """Split a cue's text into words with times proportional to their length.

    Each word gets a share of ``[start, end]`` proportional to its character count plus
    one (for the space after it), so ``"a bb"`` over 0-5 s gives ``a`` 0-2 s, ``bb`` 2-5 s.
    """
    tokens = text.split()
    if not tokens:
        return []
    span = max(0.0, end - start)
    weights = [len(t) + 1 for t in tokens]
    total = sum(weights)
    words: list[Word] = []
    acc = 0
    for tok, w in zip(tokens, weights):
        w_start = start + span * acc / total
        acc += w
        w_end = start + span * acc / total
        words.append(Word(w_start, w_end, tok))
    return words


def words_of(transcript: Transcript) -> list[Word]:
    """Every word of the transcript, in order.

    Segments with word timings contribute those; segments without (subtitle cues, ASR
    without ``word_timestamps``) are split by :func:`split_segment_words`.
    """
    out: list[Word] = []
    for seg in transcript.segments:
        if seg.words:
            out.extend(seg.words)
        else:
            out.extend(split_segment_words(seg.start, seg.end, seg.text))
    return out


def clip_transcript(transcript: Transcript, start: float | None, end: float | None) -> Transcript:
    """The part of a transcript whose words have their midpoint in ``[start, end]``.

    Uses the same rule as the frame bins, so clipping and then binning keeps every word
    that binning the whole transcript with ``start``/``end`` keeps.  A segment cut by the
    clip keeps only its inside words (its text and times shrink to them); a segment
    without word times is split by :func:`split_segment_words` to decide.
    """
    if start is None and end is None:
        return transcript
    lo = -math.inf if start is None else start
    hi = math.inf if end is None else end
    kept: list[Segment] = []
    for seg in transcript.segments:
        words = list(seg.words) if seg.words else split_segment_words(seg.start, seg.end, seg.text)
        inside = [w for w in words if lo <= w.mid <= hi]
        if not inside:
            continue
        if len(inside) == len(words):
            kept.append(seg)
            continue
        text = " ".join(w.text for w in inside)
        kept.append(Segment(inside[0].start, inside[-1].end, text, tuple(inside) if seg.words else ()))
    return Transcript(tuple(kept), transcript.language, transcript.source)


def _check_times(frame_times: Sequence[float]) -> list[float]:
    times = [float(t) for t in frame_times]
    for i, t in enumerate(times):
        if not math.isfinite(t):
            raise InputError(f"frame time #{i} is not a finite number ({t})")
        if i and t < times[i - 1]:
            raise InputError(f"frame times must be ascending: #{i - 1} is {times[i - 1]:.3f} s, #{i} is {t:.3f} s")
    return times


def bin_words(
    words: Sequence[Word],
    frame_times: Sequence[float],
    *,
    start: float | None = None,
    end: float | None = None,
) -> list[list[Word]]:
    """Share ``words`` out to frames: one list per frame, by the rule in the module docstring.

    ``frame_times`` must be ascending.  With no frames, returns ``[]``.  Within a bin the
    words keep their order in ``words``.
    """
    times = _check_times(frame_times)
    bins: list[list[Word]] = [[] for _ in times]
    if not times:
        return bins
    for w in words:
        m = w.mid
        if (start is not None and m < start) or (end is not None and m > end):
            continue
        i = bisect.bisect_left(times, m)  # first frame with t >= m, so t[i-1] < m <= t[i]
        bins[min(i, len(times) - 1)].append(w)
    return bins


def align_to_frames(
    transcript: Transcript,
    frame_times: Sequence[float],
    *,
    start: float | None = None,
    end: float | None = None,
) -> list[str]:
    """The text spoken since the previous sampled frame, one string per frame.

    The first frame takes everything from ``start`` (or 0) up to its time; the last frame
    also takes the words after it up to ``end`` (or the end of the transcript).  Words are
    joined by single spaces; a frame with no words gets ``""``.
    """
    return [" ".join(w.text for w in b) for b in bin_words(words_of(transcript), frame_times, start=start, end=end)]


def bin_times(start: float, end: float, seconds: float = DEFAULT_BIN_SECONDS) -> tuple[float, ...]:
    """Frame times for fixed bins of ``seconds`` over ``[start, end]``: the end of each bin.

    ``bin_times(0, 5, 2)`` is ``(2.0, 4.0, 5.0)``: the bins are [0, 2], (2, 4], (4, 5].
    Returns ``()`` when the clip is empty.
    """
    if not seconds > 0 or not math.isfinite(seconds):
        raise InputError(f"bin length must be a positive number of seconds, got {seconds}")
    if not end > start:
        return ()
    times: list[float] = []
    k = 1
    while start + k * seconds < end - 1e-9:
        times.append(round(start + k * seconds, 9))
        k += 1
    times.append(float(end))
    return tuple(times)
