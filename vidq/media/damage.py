"""Damaged spans as the layers above see them: joined, summed up in one line, and as JSON.

    merge(spans) -> tuple[Damage, ...]      # overlapping or nearby spans of one stream joined
    behind_frontier(spans, end)             # a growing file: losses where the writer was dropped
    summary(path, spans) -> str             # the one warning line a command prints
    to_json(spans) -> list[dict]            # for ``meta.damaged`` and ``vidq probe --json``

Spans come from ``probe`` (what the container shows: corrupt or missing packets, a file
cut short), from the decode walk (``FrameBatch.damaged``: packets the decoder refused)
and from audio extraction (``AudioChunk.damaged``).  Knows nothing about where they go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vidq.media.types import Damage
from vidq.timefmt import hms

JOIN_GAP = 0.5  # seconds: spans of one stream closer than this are reported as one
FRONTIER_SECONDS = 2.0  # a file still being written: packet losses this close to its end are where writing was
FRONTIER_WHY = frozenset({"corrupt packets", "missing packets", "undecodable"})  # what a half-written packet looks like


def merge(spans: Iterable[Damage]) -> tuple[Damage, ...]:
    """Spans sorted by time, those of one stream that overlap or lie within ``JOIN_GAP`` joined (reasons too)."""
    out: list[Damage] = []
    for d in sorted(spans, key=lambda x: (x.stream, x.start, x.end)):
        if out and out[-1].stream == d.stream and d.start <= out[-1].end + JOIN_GAP:
            prev = out[-1]
            why = prev.why if d.why in prev.why.split("; ") else f"{prev.why}; {d.why}"
            out[-1] = Damage(prev.start, max(prev.end, d.end), prev.stream, why)
        else:
            out.append(d)
    return tuple(sorted(out, key=lambda x: (x.start, x.end, x.stream)))


def behind_frontier(spans: Iterable[Damage], end: float) -> tuple[Damage, ...]:
    """The spans of a file that grows while it is read, less those that are only the writer's
    frontier: packets lost or undecodable within ``FRONTIER_SECONDS`` of ``end``, where the file
    stopped when it was read (the next read finds them whole).

    >>> behind_frontier([Damage(3.0, 4.0, "video", "undecodable"), Damage(8.5, 9.0, "video", "undecodable"),
    ...                  Damage(8.0, 9.0, "file", "truncated: 10 of 20 bytes")], 9.5)
    (Damage(start=3.0, end=4.0, stream='video', why='undecodable'), Damage(start=8.0, end=9.0, stream='file', why='truncated: 10 of 20 bytes'))
    """
    return tuple(d for d in spans
                 if not (d.end >= end - FRONTIER_SECONDS and set(d.why.split("; ")) <= FRONTIER_WHY))


def covered(spans: Iterable[Damage]) -> float:
    """Seconds covered by at least one span, whatever its stream."""
    total, reach = 0.0, float("-inf")
    for d in sorted(spans, key=lambda x: x.start):
        lo = max(d.start, reach)
        if d.end > lo:
            total += d.end - lo
        reach = max(reach, d.end)
    return total


def summary(path: str, spans: Iterable[Damage]) -> str:
    """One line: how many spans, how long, where the first starts.

    >>> summary("a.ts", [Damage(8.0, 10.0, "video", "undecodable"), Damage(9.0, 9.5, "audio", "missing packets")])
    'a.ts: damaged: 2 spans (2.0 s in all, the first at 00:00:08.000) were skipped'
    """
    spans = list(spans)
    first = min(d.start for d in spans)
    many = "span" if len(spans) == 1 else "spans"
    verb = "was" if len(spans) == 1 else "were"
    return f"{path}: damaged: {len(spans)} {many} ({covered(spans):.1f} s in all, the first at {hms(first)}) {verb} skipped"


def to_json(spans: Iterable[Damage]) -> list[dict[str, Any]]:
    """``[{"start", "end", "stream", "why"}, ...]`` with times rounded to the millisecond."""
    return [{"start": round(d.start, 3), "end": round(d.end, 3), "stream": d.stream, "why": d.why} for d in spans]


def from_json(rows: Iterable[dict[str, Any]]) -> tuple[Damage, ...]:
    """Inverse of :func:`to_json`."""
    return tuple(Damage(float(r["start"]), float(r["end"]), str(r["stream"]), str(r["why"])) for r in rows)


def ffmpeg_reason(e: Exception) -> str:
    """FFmpeg's words for an error, without the file name and details after the first colon."""
    text = getattr(e, "strerror", None) or str(e)
    return str(text).split(":")[0].strip() or type(e).__name__
