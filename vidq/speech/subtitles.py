"""SubRip (.srt) and WebVTT (.vtt) text: a tolerant parser and the two writers.

The parser takes what real files contain: a UTF-8/UTF-16 byte-order mark or a legacy
8-bit encoding, CRLF or CR line ends, no final newline, cue numbers or WebVTT cue
identifiers (or neither), hour-less timestamps (``01:02.500``), ``,`` or ``.`` before the
milliseconds, cue settings after the end time, ``NOTE``/``STYLE``/``REGION`` blocks,
styling tags (``<i>``, ``<font>``, ``<c.x>``, ``<v Name>``, ASS ``{\\an8}``), HTML
entities, overlapping cues (kept, ordered by start), and "rolling" captions that repeat
the previous cue's last line (the repeat is dropped).

This module knows nothing about media files, engines, models or tasks: text in, cues out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from vidq.errors import InputError
from vidq.speech.types import Segment
from vidq.timefmt import hms

_TS = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d+))?"
_TIMING_RE = re.compile(rf"^\s*{_TS}\s*-+>\s*{_TS}(?:\s.*)?$")
_TAG_RE = re.compile(r"<[^<>]*>")  # <i>, </font>, <c.yellow>, <v Roger>, <00:00:01.000>
_ASS_OVERRIDE_RE = re.compile(r"\{\\[^{}]*\}")  # {\an8}, {\i1}
_WS_RE = re.compile(r"\s+")
_VTT_SKIP = ("NOTE", "STYLE", "REGION")
ROLLING_GAP = 0.05  # seconds; cues closer than this count as adjacent for rolling-caption repeats


def decode_subtitle_bytes(data: bytes) -> str:
    """Bytes of a subtitle file as text: BOM-aware, UTF-8 first, then CP1252 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _seconds(h: str | None, m: str, s: str, frac: str | None) -> float:
    value = int(h or 0) * 3600 + int(m) * 60 + int(s)
    if frac:
        value += int(frac) / 10 ** len(frac)
    return round(float(value), 6)  # 1.672, not 1.6720000000000002


def clean_cue_text(lines: Iterable[str]) -> str:
    """One line of plain text from cue lines: tags and entities removed, whitespace collapsed."""
    parts = []
    for line in lines:
        line = _ASS_OVERRIDE_RE.sub("", line).replace("\\N", " ").replace("\\n", " ")
        line = html.unescape(_TAG_RE.sub("", line))
        line = line.replace("\u200e", "").replace("\u200f", "").replace("\xa0", " ")
        line = re.sub(r"^\s*-\s+", "", line)  # dialogue dash: "- Hi." / "- Hello."
        parts.append(line)
    return _WS_RE.sub(" ", " ".join(parts)).strip()


def parse_subtitles(text: str, *, name: str = "subtitles") -> list[Segment]:
    """Parse SRT or WebVTT text into cues ordered by start time.

    Cues whose text is empty after cleaning are dropped.  A cue with its end before its
    start gets ``end = start``.  ``name`` is used in error messages only.

    Raises
    ------
    InputError : the text has no timing line at all (not a subtitle file).
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    is_vtt = bool(lines) and lines[0].strip().startswith("WEBVTT")
    raw: list[tuple[float, float, list[str]]] = []
    saw_timing = False
    i = 0
    n = len(lines)
    while i < n:
        # gather one block: consecutive non-blank lines
        while i < n and not lines[i].strip():
            i += 1
        block: list[str] = []
        while i < n and lines[i].strip():
            block.append(lines[i])
            i += 1
        if not block:
            break
        first = block[0].strip()
        if is_vtt and (first.startswith("WEBVTT") or first.split(" ", 1)[0].split("\t", 1)[0] in _VTT_SKIP):
            continue
        t = next((k for k, line in enumerate(block) if _TIMING_RE.match(line)), None)
        if t is None:
            # SRT text that continued after a stray blank line belongs to the previous cue
            if not is_vtt and raw and not first.isdigit():
                raw[-1][2].extend(block)
            continue
        saw_timing = True
        m = _TIMING_RE.match(block[t])
        assert m is not None
        g = m.groups()
        start, end = _seconds(*g[0:4]), _seconds(*g[4:8])
        # lines after a second timing line inside the same block start a new cue
        body: list[str] = []
        for line in block[t + 1:]:
            m2 = _TIMING_RE.match(line)
            if m2:
                if body and body[-1].strip().isdigit():
                    body.pop()  # the next cue's number, with no blank line before it
                raw.append((start, end, body))
                g = m2.groups()
                start, end, body = _seconds(*g[0:4]), _seconds(*g[4:8]), []
            else:
                body.append(line)
        raw.append((start, end, body))
    if not saw_timing:
        if not text.strip() or (is_vtt and not any(_TIMING_RE.match(line) for line in lines)):
            return []
        raise InputError(f"{name}: not an SRT or WebVTT file (no 'start --> end' timing line)")
    cues: list[Segment] = []
    prev_lines: list[str] = []
    prev_end = float("-inf")
    for start, end, body in sorted(raw, key=lambda c: c[0]):
        cleaned = [clean_cue_text([b]) for b in body]
        cleaned = [c for c in cleaned if c]
        if cleaned and prev_lines and start <= prev_end + ROLLING_GAP and cleaned[0] == prev_lines[-1] and len(cleaned) > 1:
            cleaned = cleaned[1:]  # rolling caption: first line repeats the previous cue's last
        if cleaned:
            prev_lines, prev_end = cleaned, max(end, start)
        joined = " ".join(cleaned)
        if not joined:
            continue
        if cues and cues[-1].text == joined and start <= cues[-1].end + ROLLING_GAP:
            last = cues[-1]
            cues[-1] = Segment(last.start, max(last.end, end), last.text)  # the same text, continued
            continue
        cues.append(Segment(start=start, end=max(start, end), text=joined))
    return cues


def format_srt(segments: Iterable[Segment]) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm`` times, a blank line after each cue."""
    out = []
    for k, s in enumerate(segments, 1):
        out.append(f"{k}\n{hms(s.start, ',')} --> {hms(max(s.end, s.start), ',')}\n{s.text}\n")
    return "\n".join(out)


def format_vtt(segments: Iterable[Segment]) -> str:
    """WebVTT text: the ``WEBVTT`` header, then cues with ``HH:MM:SS.mmm`` times."""
    out = ["WEBVTT\n"]
    for s in segments:
        text = s.text.replace("-->", "->")  # "-->" may not appear in cue text
        out.append(f"{hms(s.start)} --> {hms(max(s.end, s.start))}\n{text}\n")
    return "\n".join(out)
