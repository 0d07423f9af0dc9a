"""Chapter lists players and DVR tools read: ffmpeg metadata, Matroska chapter XML, comskip.

    marks = ad_chapters(ads_result.segments, ads_result.duration)    # programme parts + ads
    marks = summary_chapters(summary_result)                         # chapters, ads cut out of them
    CHAPTER_WRITERS["mkvchapters"].write(ChapterList(marks, duration, fps), out)

A writer per format, each with its ``extension`` and ``write(chapters, out)``:

- ``ffmeta``: ffmpeg's ``;FFMETADATA1`` (``ffmpeg -i in -i chapters.txt -map_metadata 1
  -codec copy out.mkv``), one ``[CHAPTER]`` per mark, milliseconds;
- ``mkvchapters``: Matroska chapter XML as ``mkvmerge --chapters`` and mkvextract read and
  write it (one edition, one ``ChapterAtom`` per mark, nanosecond times);
- ``comskip``: comskip's ``.txt`` frame list: ``FILE PROCESSING COMPLETE <frames> FRAMES
  AT <fps x 100>``, a dashed line, then ``start<TAB>end`` frame numbers of every segment to
  skip (Kodi, MythTV and the comchap/comcut scripts read it; frame = time x fps).

Ad breaks are chapters titled ``Advertisement`` and sponsor reads ``Sponsor`` (with the
detector's confidence), the names skip-chapter player scripts and users look for.  Works
on plain data; knows nothing about Typer.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, TextIO
from xml.sax.saxutils import escape

from vidq.timefmt import hms

CHAPTER_TITLES = {"break": "Advertisement", "sponsor": "Sponsor", "programme": "Programme"}
CONTINUED = " (continued)"  # suffix of a chapter's part after an ad break cut into it
COMSKIP_RULE = "-------------------"  # the line under comskip's header, as comskip writes it
MKV_LANGUAGE = "und"  # ChapterLanguage (ISO 639-2) of every title: titles come from the video, any language


@dataclass(frozen=True)
class Mark:
    """One chapter: a span of the file with a title."""

    start: float  # seconds
    end: float  # seconds, > start
    title: str  # what a player shows
    kind: str = "programme"  # "programme" | "chapter" | "break" | "sponsor"

    @property
    def skippable(self) -> bool:
        return self.kind in ("break", "sponsor")


@dataclass(frozen=True)
class ChapterList:
    """Marks in time order (never overlapping) plus what frame-based formats need."""

    marks: tuple[Mark, ...]  # time order
    duration: float  # seconds: the whole file
    fps: float | None = None  # the file's frame rate (comskip); None when unknown


def ad_title(kind: str, confidence: float) -> str:
    """``Advertisement (0.98)`` / ``Sponsor (0.95)``."""
    return f"{CHAPTER_TITLES.get(kind, kind)} ({confidence:.2f})"


def ad_chapters(segments: Any, duration: float) -> list[Mark]:
    """Chapters covering ``[0, duration]``: numbered programme parts between the ad segments.

    ``segments``: ``AdSegment`` s (start, end, kind, confidence) in time order; times are
    rounded to milliseconds; a segment overlapping the previous one is cut to follow it.
    """
    total = max(0, round(duration * 1000))
    out: list[Mark] = []
    cursor = 0
    part = 0
    for s in segments:
        a, b = max(cursor, round(s.start * 1000)), min(total, round(s.end * 1000))
        if b <= a:
            continue
        if a > cursor:
            part += 1
            out.append(Mark(cursor / 1000, a / 1000, f"{CHAPTER_TITLES['programme']} {part}"))
        out.append(Mark(a / 1000, b / 1000, ad_title(s.kind, s.confidence), s.kind))
        cursor = b
    if cursor < total:
        part += 1
        out.append(Mark(cursor / 1000, total / 1000, f"{CHAPTER_TITLES['programme']} {part}"))
    return out


def summary_chapters(result: Any) -> list[Mark]:
    """A summary's chapters with the ad breaks and sponsor reads it left out as chapters of their own.

    A chapter an ad break falls into is cut around it; its part after the break is titled
    ``<title> (continued)``.  ``result``: a ``SummaryResult`` (chapters and skipped, time order).
    """
    spans = [(round(x.start, 3), round(x.end, 3), x.kind) for x in result.skipped]
    out: list[Mark] = []
    for c in result.chapters:
        title = c.title or f"Chapter {c.index + 1}"
        cursor, first = round(c.start, 3), True
        end = round(c.end, 3)
        for a, b, kind in spans:
            if b <= cursor or a >= end:
                continue
            if a > cursor:
                out.append(Mark(cursor, a, title if first else title + CONTINUED, "chapter"))
                first = False
            cursor = max(cursor, min(b, end))
        if end > cursor:
            out.append(Mark(cursor, end, title if first else title + CONTINUED, "chapter"))
    for a, b, kind in spans:
        out.append(Mark(a, b, CHAPTER_TITLES.get(kind, kind), kind))
    out.sort(key=lambda m: (m.start, m.end))
    return _no_overlap(out)


def _no_overlap(marks: list[Mark]) -> list[Mark]:
    """Cut each mark to start where the previous one ends; drop what is left empty."""
    out: list[Mark] = []
    for m in marks:
        start = max(m.start, out[-1].end) if out else m.start
        if m.end > start:
            out.append(Mark(start, m.end, m.title, m.kind))
    return out


# -- writers ------------------------------------------------------------------------------------
class ChapterWriter(ABC):
    """Writes a :class:`ChapterList` in one format (each format a subclass)."""

    name: ClassVar[str]  # the --format value
    extension: ClassVar[str]  # the usual file extension, with its dot

    @abstractmethod
    def write(self, chapters: ChapterList, out: TextIO) -> None:
        """Write ``chapters`` to ``out``."""


def _ffmeta_escape(text: str) -> str:
    for ch in ("\\", "=", ";", "#", "\n"):
        text = text.replace(ch, "\\" + ch)
    return text


class FFMetaWriter(ChapterWriter):
    """ffmpeg's metadata file: ``[CHAPTER]`` blocks, TIMEBASE 1/1000."""

    name = "ffmeta"
    extension = ".ffmeta"

    def write(self, chapters: ChapterList, out: TextIO) -> None:
        lines = [";FFMETADATA1"]
        for m in chapters.marks:
            lines.extend(["[CHAPTER]", "TIMEBASE=1/1000", f"START={round(m.start * 1000)}",
                          f"END={round(m.end * 1000)}", f"title={_ffmeta_escape(m.title)}"])
        out.write("\n".join(lines) + "\n")


def mkv_time(seconds: float) -> str:
    """``HH:MM:SS.nnnnnnnnn`` (Matroska chapter XML), rounded to the millisecond.

    >>> mkv_time(3723.4567)
    '01:02:03.457000000'
    """
    return hms(seconds) + "000000"


def _uid(*parts: Any) -> int:
    """A stable non-zero 63-bit UID from ``parts`` (the same chapters give the same file)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1 or 1


class MkvChaptersWriter(ChapterWriter):
    """Matroska chapter XML for ``mkvmerge --chapters FILE`` / ``mkvpropedit --chapters FILE``."""

    name = "mkvchapters"
    extension = ".xml"

    def write(self, chapters: ChapterList, out: TextIO) -> None:
        marks = chapters.marks
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', "", '<!DOCTYPE Chapters SYSTEM "matroskachapters.dtd">', "",
                 "<Chapters>", "  <EditionEntry>",
                 f"    <EditionUID>{_uid('edition', *((m.start, m.end, m.title) for m in marks))}</EditionUID>",
                 "    <EditionFlagDefault>1</EditionFlagDefault>"]
        for i, m in enumerate(marks):
            lines += ["    <ChapterAtom>",
                      f"      <ChapterUID>{_uid(i, m.start, m.end, m.title)}</ChapterUID>",
                      f"      <ChapterTimeStart>{mkv_time(m.start)}</ChapterTimeStart>",
                      f"      <ChapterTimeEnd>{mkv_time(m.end)}</ChapterTimeEnd>",
                      "      <ChapterFlagHidden>0</ChapterFlagHidden>",
                      "      <ChapterFlagEnabled>1</ChapterFlagEnabled>",
                      "      <ChapterDisplay>",
                      f"        <ChapterString>{escape(m.title)}</ChapterString>",
                      f"        <ChapterLanguage>{MKV_LANGUAGE}</ChapterLanguage>",
                      "      </ChapterDisplay>",
                      "    </ChapterAtom>"]
        lines += ["  </EditionEntry>", "</Chapters>"]
        out.write("\n".join(lines) + "\n")


def comskip_rate(fps: float) -> int:
    """The header's ``FRAMES AT`` value: fps x 100, truncated as comskip does (29.97 -> 2997)."""
    return math.floor(fps * 100 + 1e-6)


class ComskipWriter(ChapterWriter):
    """comskip's ``.txt``: the segments to skip as ``start<TAB>end`` frame numbers."""

    name = "comskip"
    extension = ".txt"

    def write(self, chapters: ChapterList, out: TextIO) -> None:
        if not chapters.fps:
            raise ValueError("comskip frame numbers need the file's frame rate")
        fps = chapters.fps
        out.write(f"FILE PROCESSING COMPLETE {round(chapters.duration * fps):6d} FRAMES AT {comskip_rate(fps):5d}\n")
        out.write(COMSKIP_RULE + "\n")
        out.writelines(f"{round(m.start * fps)}\t{round(m.end * fps)}\n" for m in chapters.marks if m.skippable)


CHAPTER_WRITERS: dict[str, ChapterWriter] = {w.name: w for w in (FFMetaWriter(), MkvChaptersWriter(), ComskipWriter())}
