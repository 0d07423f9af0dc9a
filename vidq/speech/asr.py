"""Streaming speech recognition over a file: audio windows cut in pauses, fed to an engine.

Long files never sit in memory whole: audio is decoded in 30 s chunks and gathered into
windows of about ``window_seconds`` (10 minutes by default).  Each window ends at the
quietest 0.3 s within the last ``SEARCH_SECONDS`` before its nominal end, so a cut falls
in a pause between words and no word is split, lost or transcribed twice at a seam.
Each window is transcribed on its own and its times are shifted by the window's start.
Memory is bounded by the window length, not the file length.

This module knows nothing about subtitles, caching, tasks or the CLI.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from vidq.media.audio import AudioChunk
from vidq.progress import ProgressFn, no_progress
from vidq.speech.engines import SAMPLE_RATE, Engine
from vidq.speech.types import Segment, Word

DEFAULT_WINDOW_SECONDS = 600.0  # audio per engine call; bounds memory on long files
SEARCH_SECONDS = 30.0  # a window may end up to this much before its nominal length
QUIET_SPAN = 0.3  # seconds: the cut is the centre of the quietest span of this length
FRAME_SECONDS = 0.01  # energy is measured over frames of this length
PAUSE_SPLIT = 0.8  # seconds: a pause this long between words starts a new segment
MAX_SEGMENT = 12.0  # seconds: longer segments are split at their largest pause
SENTENCE_END = (".", "?", "!", "。", "？", "！")  # a word ending so closes a segment
NO_SPACE_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "km", "yue"})  # not split: words join without spaces


def quiet_cut(samples: np.ndarray, lo: int, hi: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Index in ``[lo, hi)`` at the centre of the quietest ``QUIET_SPAN`` of ``samples[lo:hi]``.

    ``samples`` has shape (n,).  Among equally quiet spans the earliest wins.
    """
    frame = max(1, int(sample_rate * FRAME_SECONDS))
    n_frames = (hi - lo) // frame
    span = max(1, round(QUIET_SPAN / FRAME_SECONDS))
    if n_frames <= span:
        return (lo + hi) // 2
    region = samples[lo: lo + n_frames * frame].astype(np.float64)
    energy = (region.reshape(n_frames, frame) ** 2).mean(axis=1)  # (n_frames,)
    smooth = np.convolve(energy, np.ones(span) / span, mode="valid")  # (n_frames - span + 1,)
    best = int(np.argmin(smooth))
    return lo + (best + span // 2) * frame


def windows(
    chunks: Iterable[AudioChunk],
    *,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    sample_rate: int = SAMPLE_RATE,
) -> Iterator[AudioChunk]:
    """Regroup contiguous audio chunks into windows of about ``window_seconds``, cut in pauses.

    The windows are contiguous and cover every input sample exactly once.  A window is at
    most ``window_seconds`` long and at least ``window_seconds - search`` (except the last),
    where ``search = min(SEARCH_SECONDS, window_seconds / 4)``.
    """
    window = max(1, round(window_seconds * sample_rate))
    search = max(1, round(min(SEARCH_SECONDS, window_seconds / 4) * sample_rate))
    parts: list[np.ndarray] = []
    size = 0
    start: float | None = None
    for chunk in chunks:
        if start is None:
            start = chunk.start
        if chunk.samples.size:
            parts.append(chunk.samples)
            size += chunk.samples.size
        while size >= window:
            joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
            cut = quiet_cut(joined, window - search, window, sample_rate)
            yield AudioChunk(start, joined[:cut])
            start += cut / sample_rate
            rest = joined[cut:]
            parts, size = ([rest], rest.size) if rest.size else ([], 0)
    if size and start is not None:
        yield AudioChunk(start, np.concatenate(parts) if len(parts) > 1 else parts[0])


def _split_at(words: list[Word]) -> list[int]:
    """Indices ``i`` where a new segment starts at ``words[i]``: sentence ends and pauses."""
    cuts = []
    for i in range(1, len(words)):
        pause = words[i].start - words[i - 1].end
        if pause >= PAUSE_SPLIT or words[i - 1].text.endswith(SENTENCE_END):
            cuts.append(i)
    return cuts


def _split_long(words: list[Word]) -> list[list[Word]]:
    """Halve a run of words at its largest pause until every part is at most MAX_SEGMENT long."""
    if len(words) < 2 or words[-1].end - words[0].start <= MAX_SEGMENT:
        return [words]
    gaps = [words[i].start - words[i - 1].end for i in range(1, len(words))]
    i = 1 + max(range(len(gaps)), key=lambda k: (gaps[k], -abs(2 * k + 2 - len(words))))
    return _split_long(words[:i]) + _split_long(words[i:])


def resegment(segments: Iterable[Segment], language: str | None = None) -> list[Segment]:
    """Split long ASR segments at sentence ends and pauses, using word times.

    Batched decoding returns one segment per ~30 s of speech; subtitles and per-segment
    output read better one sentence at a time.  A segment is cut after a word ending in
    ``.``, ``?`` or ``!``, before a pause of ``PAUSE_SPLIT`` seconds or more, and any part
    still longer than ``MAX_SEGMENT`` at its largest pause.  Segments without word times,
    and languages written without spaces, are left whole.
    """
    out: list[Segment] = []
    for seg in segments:
        if len(seg.words) < 2 or (language or "") in NO_SPACE_LANGUAGES:
            out.append(seg)
            continue
        words = list(seg.words)
        bounds = [0, *_split_at(words), len(words)]
        parts = [p for a, b in itertools.pairwise(bounds) for p in _split_long(words[a:b])]
        if len(parts) == 1:
            out.append(seg)
            continue
        spans = word_spans(seg.text, words)
        k = 0
        for part in parts:
            text = " ".join(w.text for w in part)
            if spans is not None:  # the segment's own spacing: French "t'en" is two words, not "t 'en"
                text = seg.text[spans[k][0]: spans[k + len(part) - 1][1]]
            k += len(part)
            out.append(Segment(part[0].start, part[-1].end, text, tuple(part)))
    return out


def word_spans(text: str, words: list[Word]) -> list[tuple[int, int]] | None:
    """(start, end) character offsets of each word in ``text``, found left to right; None if one is missing."""
    spans, at = [], 0
    for w in words:
        i = text.find(w.text, at)
        if i < 0:
            return None
        spans.append((i, i + len(w.text)))
        at = i + len(w.text)
    return spans


def shift(segments: Iterable[Segment], offset: float) -> list[Segment]:
    """The same segments with every time moved by ``offset`` seconds."""
    out = []
    for s in segments:
        words = tuple(Word(w.start + offset, w.end + offset, w.text, w.probability) for w in s.words)
        out.append(Segment(s.start + offset, s.end + offset, s.text, words))
    return out


def transcribe_chunks(
    chunks: Iterable[AudioChunk],
    engine: Engine,
    *,
    language: str | None = None,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    span: tuple[float, float | None] = (0.0, None),
    progress: ProgressFn | None = None,
    check_first: Callable[[np.ndarray], None] | None = None,
) -> tuple[list[Segment], str | None]:
    """Run ``engine`` over a stream of audio chunks, window by window.

    ``span`` is (start, end-or-None) of the audio in seconds, for progress only.  The
    language found in the first window with speech is kept for the later windows.
    ``check_first`` sees the first window's samples (shape (n,)) before it is decoded and
    may raise to stop (``vidq.speech.language.EnglishCheck.before``).
    Returns all segments in time order, on the file timeline, and the language.
    """
    report = progress or no_progress
    start, end = span
    total = None if end is None else max(0.0, end - start)
    report("transcribe", 0.0, total)
    segments: list[Segment] = []
    seen = language
    for k, win in enumerate(windows(chunks, window_seconds=window_seconds)):
        if k == 0 and check_first is not None:
            check_first(win.samples)
        found, lang = engine.transcribe(win.samples, language=language)
        seen = seen or lang
        if found and language is None:
            language = lang
        segments.extend(shift(resegment(found, language or lang), win.start))
        report("transcribe", win.start + win.samples.size / SAMPLE_RATE - start, total)
    return segments, language or seen
