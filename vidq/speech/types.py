"""Plain data of the speech layer: words, segments, transcripts.

Times are seconds on the file's presentation timeline (0-based like PTS), also for a
transcript of a ``--start/--end`` clip.  This module knows nothing about engines, files,
models or tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Word:
    """One spoken (or subtitled) word."""

    start: float  # seconds
    end: float  # seconds, >= start
    text: str  # the word as written, punctuation attached, no surrounding spaces
    probability: float | None = None  # engine confidence in [0, 1]; None for subtitle text

    @property
    def mid(self) -> float:
        """The midpoint, which decides the frame bin a word belongs to."""
        return (self.start + self.end) / 2


@dataclass(frozen=True)
class Segment:
    """A sentence-like run of words (an ASR segment or one subtitle cue)."""

    start: float  # seconds
    end: float  # seconds, >= start
    text: str  # the text, stripped; cue line breaks become spaces
    words: tuple[Word, ...] = ()  # word timings when known (ASR with word timestamps), else ()


@dataclass(frozen=True)
class Transcript:
    """Everything said in a file (or a clip of it), in time order."""

    segments: tuple[Segment, ...]  # ordered by start time
    language: str | None  # ISO 639-1 code when known ("en")
    source: str  # where the text came from: "asr:faster-whisper:tiny.en", "stream:2", "sidecar:/x.srt", "file:/x.vtt", "none"

    @property
    def text(self) -> str:
        """All segment texts joined by single spaces."""
        return " ".join(s.text for s in self.segments if s.text)

    @property
    def empty(self) -> bool:
        return not any(s.text for s in self.segments)


def transcript_to_dict(t: Transcript) -> dict[str, Any]:
    """A JSON-able form (what the cache stores); inverse of :func:`transcript_from_dict`."""
    return {
        "language": t.language,
        "source": t.source,
        "segments": [
            {
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "words": [[w.start, w.end, w.text, w.probability] for w in s.words],
            }
            for s in t.segments
        ],
    }


def transcript_from_dict(data: Mapping[str, Any]) -> Transcript:
    """Rebuild a Transcript from :func:`transcript_to_dict` output."""
    segments = tuple(
        Segment(
            start=float(s["start"]),
            end=float(s["end"]),
            text=str(s["text"]),
            words=tuple(Word(float(w[0]), float(w[1]), str(w[2]), None if w[3] is None else float(w[3]))
                        for w in s.get("words", ())),
        )
        for s in data["segments"]
    )
    return Transcript(segments=segments, language=data.get("language"), source=str(data["source"]))
