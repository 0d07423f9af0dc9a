"""One self-contained HTML page of job results: a timeline, thumbnails, and a player that seeks.

    page = build_page(summary=summary_result, ads=ads_result, link=lambda p: "talk.mp4")
    add_thumbnails(page, store=store)          # small JPEGs, inlined as data: URIs
    HtmlWriter().write(page, out)
    write_html(settings, summary=summary_result)   # all three, to -o or stdout (what the commands call)

What a page holds, per video: a ``<video>`` pointing at the file (a URL relative to the
page, so it plays from ``file://`` when the page sits where it was written); a timeline of
the whole file with lanes for chapters, ad breaks and sponsor reads, and search hits or an
answer's citations (hover or focus shows time and title); a thumbnail strip; and lists of
the chapters (frame, times, title, paragraph), ad segments, hits and citations.  Page-wide:
the summary or the answer, notes, and each job's ``meta`` in a collapsed ``<details>``.

Every time is printed as text and every seek target is a link ``VIDEO#t=SECONDS``, so the
page reads and works without JavaScript; with it, a click (or Enter) on a chapter, hit,
citation, thumbnail or timeline point seeks the player instead, and the timeline follows
the playback.  CSS and JS are inline; nothing is fetched from the network.

Works on the jobs' result objects and plain data; the pictures come from
:func:`vidq.cli.thumbnails.thumbnails_for`.  Knows nothing about Typer.
"""

from __future__ import annotations

import base64
import bisect
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, ClassVar, TextIO
from urllib.parse import quote

from vidq import timefmt
from vidq.cli.output import dump_json

LEAD = 2.0  # seconds: a chapter's / break's frame is taken this far in (past a cut, a fade, black)
THUMB_MATCH = 3.0  # seconds: a thumbnail this close to a moment may stand for it
STRIP_MAX = 40  # at most this many frames in the strip
NICE_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)  # seconds: strip and tick spacing
MAX_TICKS = 10  # timeline axis labels at most
KIND_LABELS = {"chapter": "Chapter", "programme": "Programme", "break": "Ad break", "sponsor": "Sponsor read",
               "hit": "Hit", "citation": "Citation"}
JOB_NAMES = {"summarize": "summary", "ads": "ad detection", "find": "search", "ask": "answer"}
LANES = (("chapters", "Chapters"), ("segments", "Ads"), ("hits", "Hits"), ("citations", "Cited"))


# -- plain data of a page ----------------------------------------------------------------------
@dataclass(frozen=True)
class Moment:
    """Something placed on a timeline: a chapter, ad break, sponsor read, hit or citation."""

    kind: str  # "chapter" | "programme" | "break" | "sponsor" | "hit" | "citation"
    start: float  # seconds
    end: float  # seconds, >= start
    title: str  # short label (chapter title, "Ad break", the hit's quote)
    text: str = ""  # paragraph or quoted evidence
    detail: str = ""  # one line: confidence, score, source, reason

    @property
    def frame_time(self) -> float:
        """When its thumbnail is taken: a little way in, never past its middle."""
        return self.start + min(LEAD, max(0.0, self.end - self.start) / 2)


@dataclass
class Track:
    """One video on the page and everything placed on its timeline."""

    file: Path  # the video as given
    duration: float  # seconds
    src: str | None  # URL of the video relative to the page; None: no player
    span: tuple[float, float] | None = None  # the part a job looked at (--start/--end); None: all
    chapters: list[Moment] = field(default_factory=list)
    segments: list[Moment] = field(default_factory=list)  # ad breaks and sponsor reads
    hits: list[Moment] = field(default_factory=list)
    citations: list[Moment] = field(default_factory=list)
    thumbnails: list[tuple[float, bytes]] = field(default_factory=list)  # (pts, JPEG), time order

    def lanes(self) -> Iterator[tuple[str, str, list[Moment]]]:
        for name, label in LANES:
            items = getattr(self, name)
            if items:
                yield name, label, items

    def strip_times(self) -> list[float]:
        """Frame times of the thumbnail strip: the middle of every ``strip_step`` seconds."""
        step = strip_step(self.duration)
        n = int(self.duration // step)
        return [round((k + 0.5) * step, 3) for k in range(n)] or [round(self.duration / 2, 3)]

    def thumbnail_times(self) -> list[float]:
        """Every time this track shows a picture: the strip plus each moment's frame."""
        moments = [*self.chapters, *self.segments, *self.hits, *self.citations]
        return sorted({*self.strip_times(), *(round(m.frame_time, 3) for m in moments)})

    def thumbnail(self, t: float) -> bytes | None:
        """The thumbnail nearest ``t`` if one is within ``THUMB_MATCH`` seconds."""
        times = [p for p, _ in self.thumbnails]
        i = bisect.bisect_left(times, t)
        best = min((j for j in (i - 1, i) if 0 <= j < len(times)), key=lambda j: abs(times[j] - t), default=None)
        if best is None or abs(times[best] - t) > THUMB_MATCH:
            return None
        return self.thumbnails[best][1]


@dataclass
class Page:
    """Everything one HTML page shows."""

    kind: str  # "summary" | "ads" | "find" | "ask" | "report"
    title: str  # the page's heading (the file name, or the query)
    tracks: list[Track]  # one per video
    summary: str = ""  # the overall summary
    query: str = ""  # find: what was searched for
    question: str = ""  # ask: the question
    answer: str = ""  # ask: the answer's text
    letter: str | None = None  # ask: the chosen option's letter
    choices: list[tuple[str, str, float]] = field(default_factory=list)  # ask: (letter, text, probability)
    notes: list[str] = field(default_factory=list)  # what the reader should know
    subtitle: str = ""  # one line under the heading: model, method
    meta: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (job, its meta) per job run


# -- from job results -----------------------------------------------------------------------------
def strip_step(duration: float) -> float:
    """Seconds between strip frames: the smallest nice step giving at most ``STRIP_MAX`` frames."""
    return next((s for s in NICE_STEPS if duration / s <= STRIP_MAX), NICE_STEPS[-1])


def video_link(video: str | os.PathLike, page: str | os.PathLike | None) -> str:
    """The URL of ``video`` from a page written to ``page`` (None: a page in the working directory).

    Relative where one exists (so the two can move together), else a ``file://`` URI.
    """
    target = Path(video).resolve()
    base = Path(page).resolve().parent if page is not None else Path.cwd()
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive (Windows)
        return target.as_uri()
    return quote(rel.replace(os.sep, "/"))


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _segment_moments(segments: Any) -> list[Moment]:
    out = []
    for s in segments:
        conf = getattr(s, "confidence", None)
        detail = f"confidence {conf:.2f}; {s.reason}" if conf is not None else s.reason
        out.append(Moment(s.kind, float(s.start), float(s.end), KIND_LABELS.get(s.kind, s.kind), detail=detail))
    return out


def _summary_part(page: Page, track: Track, result: Any, *, with_skipped: bool) -> None:
    track.span = (float(result.start), float(result.end))
    track.chapters = [Moment("chapter", float(c.start), float(c.end), c.title or f"Chapter {c.index + 1}",
                             text=c.summary) for c in result.chapters]
    if with_skipped:
        track.segments = _segment_moments(result.skipped)
    page.summary = result.summary
    page.notes.extend(result.notices)
    page.meta.append(("summarize", result.meta))


def _ads_part(page: Page, track: Track, result: Any) -> None:
    track.span = track.span or (float(result.span[0]), float(result.span[1]))
    track.segments = _segment_moments(result.segments)
    page.meta.append(("ads", result.meta))


def _hit_moment(h: Any) -> Moment:
    quote_ = f"“{h.text}”" if h.text else ""
    return Moment("hit", float(h.start), float(h.end), h.text or h.reason, text=quote_,
                  detail=f"score {h.score:.2f} · {h.source} · {h.reason}")


def _limits(meta: dict[str, Any]) -> str:
    limits = meta.get("limits")
    return str(limits) if limits else ""


def build_page(*, summary: Any = None, ads: Any = None, find: Any = None, ask: Any = None,
               link: Callable[[Path], str | None]) -> Page:
    """A page of whichever results are given (a summary, ads, a search, an answer) about one file.

    A search may span several files: each gets its own player and timeline.  ``link``
    turns a video path into the URL the page plays it from.
    """
    given = [name for name, r in (("summary", summary), ("ads", ads), ("find", find), ("ask", ask)) if r is not None]
    if not given:
        raise ValueError("build_page needs at least one result")
    kind = given[0] if len(given) == 1 else "report"
    tracks: dict[str, Track] = {}

    def track_for(file: Any, duration: float) -> Track:
        key = os.fspath(Path(file))  # "./a.mp4" and "a.mp4" are one track
        if key not in tracks:
            tracks[key] = Track(Path(file), float(duration), link(Path(file)))
        return tracks[key]

    page = Page(kind=kind, title="", tracks=[])
    if summary is not None:
        _summary_part(page, track_for(summary.file, summary.duration), summary, with_skipped=ads is None)
        page.subtitle = f"{summary.model} · {summary.method}"
    if ads is not None:
        _ads_part(page, track_for(ads.file, ads.duration), ads)
        page.subtitle = page.subtitle or f"{ads.model} · {'signals and a vision-language model' if ads.sees_images else 'signals and text cues'}"
    if ask is not None:
        track = track_for(ask.file, float(ask.meta.get("duration") or ask.end))
        track.span = track.span or (float(ask.start), float(ask.end))
        track.citations = [Moment("citation", float(c.start), float(c.end), c.text or KIND_LABELS["citation"],
                                  text=f"“{c.text}”" if c.text else "", detail=c.source) for c in ask.citations]
        page.question, page.answer, page.letter = ask.question, ask.answer, ask.letter
        page.choices = [(c.letter, c.text, float(c.probability)) for c in ask.choices]
        page.notes.extend(ask.notices)
        page.meta.append(("ask", ask.meta))
        page.subtitle = page.subtitle or f"{ask.model} · {ask.method}"
    if find is not None:
        durations = {os.fspath(Path(f["file"])): float(f.get("duration") or 0.0) for f in find.meta.get("files", [])}
        for f, duration in durations.items():
            track_for(f, duration)
        for h in find.hits:
            track_for(h.file, durations.get(os.fspath(Path(h.file)), h.end)).hits.append(_hit_moment(h))
        page.query = find.query
        page.meta.append(("find", find.meta))
        page.subtitle = page.subtitle or f"{find.model} · {len(find.hits)} hit(s) at score ≥ {find.threshold:g}"
        if not find.hits:
            page.notes.append(f"no hit scored at least {find.threshold:g} for “{find.query}”")
    page.tracks = list(tracks.values())
    page.title = page.tracks[0].file.name if len(page.tracks) == 1 else f"“{page.query}”"
    for _, meta in page.meta:
        note = _limits(meta)
        if note and note not in page.notes:
            page.notes.append(note)
    return page


def timeline_thumbnails(results: Iterable[Any]) -> Callable[..., list[tuple[float, bytes]]]:
    """A thumbnail source that takes the stills the file's analysis kept (``result.thumbs``),
    nearest to each time, and decodes frames only for a file without them."""
    known: dict[str, list[tuple[float, bytes]]] = {}
    for r in results:
        thumbs = getattr(r, "thumbs", None)
        if isinstance(thumbs, dict):
            known.update({os.fspath(k): list(v) for k, v in thumbs.items() if v})
        elif thumbs:
            known[os.fspath(r.file)] = list(thumbs)

    def source(file: Any, times: Iterable[float], *, store: Any = None) -> list[tuple[float, bytes]]:
        stills = known.get(os.fspath(file))
        if not stills:
            from vidq.cli.thumbnails import thumbnails_for

            return thumbnails_for(file, times, store=store)
        at = [t for t, _ in stills]
        picked = {}
        for t in times:
            i = bisect.bisect_left(at, t)
            j = min((k for k in (i - 1, i) if 0 <= k < len(at)), key=lambda k: abs(at[k] - t))
            picked[at[j]] = stills[j][1]
        return sorted(picked.items())

    return source


def add_thumbnails(page: Page, *, store: Any = None,
                   source: Callable[..., list[tuple[float, bytes]]] | None = None) -> None:
    """Fill each track's thumbnails (strip + every moment) from ``source`` (default ``thumbnails_for``)."""
    if source is None:
        from vidq.cli.thumbnails import thumbnails_for as source
    for track in page.tracks:
        track.thumbnails = source(track.file, track.thumbnail_times(), store=store)


# -- rendering ---------------------------------------------------------------------------------
def clock(seconds: float, long: bool = False) -> str:
    """``4:05`` or, for a file of an hour or more, ``1:04:05`` (whole seconds, as players show)."""
    return timefmt.clock(seconds, long, pad=False)


def _time(seconds: float, long: bool) -> str:
    return f'<time datetime="PT{seconds:.3f}S">{clock(seconds, long)}</time>'


def _span(m: Moment, long: bool) -> str:
    return f"{_time(m.start, long)}–{_time(m.end, long)}" if m.end > m.start else _time(m.start, long)


def _img(jpeg: bytes | None, alt: str) -> str:
    """An inline JPEG (a grey box with the same label when there is none)."""
    if jpeg is None:
        return f'<span class="noimg" role="img" aria-label="{escape(alt)}"></span>'
    data = base64.b64encode(jpeg).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/jpeg;base64,{data}">'


class _Html:
    """Renders one :class:`Page` (helpers share the page's clock style and player ids)."""

    def __init__(self, page: Page):
        self.page = page
        self.long = any(t.duration >= 3600 for t in page.tracks)

    def seek(self, track: int, t: float, inner: str, *, cls: str = "seek", label: str = "", attrs: str = "") -> str:
        """A link that plays video ``track`` from ``t``: the player seeks (JS) or the file opens there."""
        src = self.page.tracks[track].src
        href = f"{escape(src)}#t={t:.3f}" if src else f"#video-{track}"
        aria = f' aria-label="{escape(label)}"' if label else ""
        return (f'<a class="{cls}" href="{href}" data-video="video-{track}" data-t="{t:.3f}"{aria}{attrs}>'
                f"{inner}</a>")

    # page parts
    def render(self) -> str:
        p = self.page
        body = [self.header()]
        aside = self.answer() if p.question else ""
        if p.summary:
            aside += f'<section class="summary"><h2>Summary</h2><p>{escape(p.summary)}</p></section>'
        for i, track in enumerate(p.tracks):
            body.append(self.track(i, track, aside if i == 0 else ""))
        if p.notes:
            body.append('<section class="notes"><h2>Notes</h2><ul>'
                        + "".join(f"<li>{escape(n)}</li>" for n in p.notes) + "</ul></section>")
        body.extend(self.meta(job, meta) for job, meta in p.meta)
        title = f"{p.title} · vidq {p.kind}"
        return ("<!DOCTYPE html>\n"
                f'<html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<meta name="generator" content="vidq"><title>{escape(title)}</title>'
                f"<style>{CSS}</style></head>\n"
                f'<body class="page-{p.kind}">\n' + "\n".join(body) + f"\n<script>{JS}</script>\n</body></html>\n")

    def header(self) -> str:
        p = self.page
        what = {"summary": "Summary", "ads": "Ad breaks and sponsor reads", "find": "Search",
                "ask": "Question", "report": "Report"}[p.kind]
        lengths = " · ".join(clock(t.duration, self.long) for t in p.tracks)
        sub = " · ".join(x for x in (what, lengths, p.subtitle) if x)
        query = f'<p class="query">Searched for <q>{escape(p.query)}</q></p>' if p.query else ""
        return f"<header><h1>{escape(p.title)}</h1><p class=\"sub\">{escape(sub)}</p>{query}</header>"

    def answer(self) -> str:
        p = self.page
        out = [f'<section class="answer"><h2>Question</h2><p class="question">{escape(p.question)}</p>']
        if p.choices:
            items = []
            for letter, text, prob in p.choices:
                chosen = letter == p.letter
                mark = ' class="chosen" aria-current="true"' if chosen else ""
                items.append(f"<li{mark}><b>{escape(letter)})</b> {escape(text)} "
                             f'<span class="prob">{prob:.0%}</span></li>')
            out.append('<ol class="choices">' + "".join(items) + "</ol>")
        ans = f"{p.letter}) {p.answer}" if p.letter else (p.answer or "(no answer found)")
        out.append(f'<p class="answer-text"><span class="label">Answer</span> {escape(ans)}</p></section>')
        return "".join(out)

    def track(self, i: int, t: Track, aside: str = "") -> str:
        several = len(self.page.tracks) > 1
        head = f"<h2>{escape(t.file.name)}</h2>" if several else ""
        stage = (f'<div class="stage{" with-aside" if aside else ""}">{self.player(i, t)}'
                 f'{f"<aside>{aside}</aside>" if aside else ""}</div>')
        parts = [f'<section class="track" id="track-{i}">{head}', stage, self.timeline(i, t), self.strip(i, t)]
        if t.chapters:
            parts.append(self.entries(i, t, t.chapters, "Chapters", "chapters"))
        if t.segments:
            parts.append(self.entries(i, t, t.segments, "Ad breaks and sponsor reads", "segments"))
        if t.hits:
            parts.append(self.entries(i, t, t.hits, "Hits", "hits"))
        if t.citations:
            parts.append(self.entries(i, t, t.citations, "Where the answer comes from", "citations"))
        parts.append("</section>")
        return "\n".join(parts)

    def player(self, i: int, t: Track) -> str:
        if t.src is None:
            return ""
        return (f'<figure class="player"><video id="video-{i}" controls preload="metadata" src="{escape(t.src)}">'
                f'<a href="{escape(t.src)}">Open the video</a></video>'
                f'<figcaption><code>{escape(t.src)}</code>, found relative to this page'
                f"</figcaption></figure>")

    def timeline(self, i: int, t: Track) -> str:
        d = max(t.duration, 1e-6)
        lanes = []
        for name, label, items in t.lanes():
            segs = []
            for k, m in enumerate(items):
                left, width = m.start / d, max(0.0, min(m.end, d) - m.start) / d
                what = KIND_LABELS.get(m.kind, m.kind)
                title = m.title if m.kind in ("chapter", "hit", "citation") else what
                tip = f"{clock(m.start, self.long)}–{clock(m.end, self.long)} · {_short(title)}"
                label_ = f"{what} {k + 1}: {title}, {clock(m.start, self.long)} to {clock(m.end, self.long)}"
                inner = (f'<span class="seg-label">{escape(title) if name == "chapters" else ""}</span>'
                         f'<span class="tip" role="tooltip">{escape(tip)}</span>')
                attrs = (f' data-kind="{m.kind}" data-start="{m.start:.3f}" data-end="{m.end:.3f}"'
                         f' style="left:{_pct(left)};width:{_pct(width)}"')
                segs.append(self.seek(i, m.start, inner, cls=f"seg {m.kind} n{k % 2}", label=label_, attrs=attrs))
            lanes.append(f'<div class="lane lane-{name}"><span class="lane-label">{label}</span>'
                         f'<div class="lane-bar" data-video="video-{i}" data-duration="{d:.3f}">'
                         f"{self.outside(t)}{''.join(segs)}</div></div>")
        step = next((s for s in NICE_STEPS if d / s <= MAX_TICKS), NICE_STEPS[-1])
        ticks = "".join(f'<span class="tick" style="left:{_pct(k * step / d)}">{clock(k * step, self.long)}</span>'
                        for k in range(int(d // step) + 1))
        axis = (f'<div class="lane axis-lane"><span class="lane-label"></span>'
                f'<div class="axis lane-bar" role="slider" tabindex="0" aria-label="Position in the video '
                f'(arrow keys move 5 s, with Shift 60 s)" aria-valuemin="0" aria-valuemax="{d:.0f}" '
                f'aria-valuenow="0" aria-valuetext="{clock(0, self.long)}" data-video="video-{i}" '
                f'data-duration="{d:.3f}">{ticks}<span class="playhead" aria-hidden="true"></span></div></div>')
        return (f'<section class="timeline" aria-label="Timeline of {escape(t.file.name)}">'
                + "".join(lanes) + axis + "</section>")

    def outside(self, t: Track) -> str:
        """Dim the parts of the file the job did not look at (--start/--end)."""
        if t.span is None:
            return ""
        d = max(t.duration, 1e-6)
        a, b = t.span
        out = ""
        if a > 0.5:
            out += f'<span class="outside" style="left:0;width:{_pct(a / d)}"></span>'
        if b < t.duration - 0.5:
            out += f'<span class="outside" style="left:{_pct(b / d)};width:{_pct(1 - b / d)}"></span>'
        return out

    def strip(self, i: int, t: Track) -> str:
        items = []
        for s in t.strip_times():
            jpeg = t.thumbnail(s)
            if jpeg is None:
                continue
            label = f"Frame at {clock(s, self.long)}"
            items.append("<li>" + self.seek(i, s, _img(jpeg, label) + _time(s, self.long), cls="thumb",
                                            label=f"Play from {clock(s, self.long)}") + "</li>")
        if not items:
            return ""
        return f'<section class="strip-box"><h2 class="vh">Frames</h2><ol class="strip">{"".join(items)}</ol></section>'

    def entries(self, i: int, t: Track, items: Sequence[Moment], heading: str, name: str) -> str:
        rows = []
        for k, m in enumerate(items):
            what = KIND_LABELS.get(m.kind, m.kind)
            title = m.title if m.kind in ("chapter",) else what
            frame = self.seek(i, m.start, _img(t.thumbnail(m.frame_time), f"{what} at {clock(m.start, self.long)}"),
                              cls="frame", label=f"Play {what.lower()} {k + 1} from {clock(m.start, self.long)}")
            times = self.seek(i, m.start, _span(m, self.long), cls="times")
            text = f"<p>{escape(m.text)}</p>" if m.text else ""
            detail = f'<p class="detail">{escape(m.detail)}</p>' if m.detail else ""
            rows.append(f'<li class="entry {m.kind}" id="{name}-{i}-{k + 1}" data-kind="{m.kind}" '
                        f'data-start="{m.start:.3f}" data-end="{m.end:.3f}">{frame}<div class="body">'
                        f"<h3>{times} <span class=\"title\">{escape(title)}</span></h3>{text}"
                        f"{detail}</div></li>")
        return f'<section class="{name}"><h2>{heading}</h2><ol class="entries">{"".join(rows)}</ol></section>'

    def meta(self, job: str, meta: dict[str, Any]) -> str:
        rows = []
        for key, label in (("model", "Model"), ("method", "Method"), ("sees_images", "Sees pictures"),
                           ("frames", "Frames sampled"), ("accuracy", "Frame accuracy"),
                           ("embeddings", "Sentence vectors")):
            if key in meta:
                rows.append((label, meta[key]))
        transcript = meta.get("transcript")
        if isinstance(transcript, dict):
            rows.append(("Transcript", f"{transcript.get('source')} ({transcript.get('words')} words)"))
        timings = meta.get("timings") or {}
        if timings:
            rows.append(("Time", ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if isinstance(v, (int, float)))))
        dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)
        buf = io.StringIO()
        dump_json(meta, buf)
        raw = escape(buf.getvalue())
        what = JOB_NAMES.get(job, job)
        return (f'<details class="meta"><summary>How the {escape(what)} was made</summary><dl>{dl}</dl>'
                f"<pre>{raw}</pre></details>")


class HtmlWriter:
    """Writes a :class:`Page` as one self-contained HTML document."""

    name: ClassVar[str] = "html"
    extension: ClassVar[str] = ".html"

    def write(self, page: Page, out: TextIO) -> None:
        out.write(_Html(page).render())


CSS = """
:root{--fg:#1d232b;--muted:#5b6672;--bg:#fbfbfa;--card:#fff;--line:#d9dde2;--ch0:#3d6fb6;--ch1:#5b8fd6;
--brk:#c8452f;--spo:#d99a1c;--hit:#7a3db8;--cit:#23875a;--focus:#f0a400}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#9aa4ae;--bg:#15181c;--card:#1e2227;--line:#39414a}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:1rem 1.25rem 3rem;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;
color:var(--fg);background:var(--bg)}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.4rem 0 .5rem}h3{font-size:1rem;margin:0 0 .2rem}
.sub,.detail,figcaption,.prob{color:var(--muted);font-size:.88rem}.query{margin:.2rem 0}
a{color:inherit}time{font-variant-numeric:tabular-nums}
a:focus-visible,.axis:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.stage{display:grid;gap:1.2rem;margin:.8rem 0;align-items:start}
.stage.with-aside{grid-template-columns:minmax(0,3fr) minmax(0,2fr)}.stage aside h2:first-child{margin-top:0}
.player{margin:0}.player video{width:100%;max-height:60vh;background:#000;border-radius:6px;display:block}
.stage:not(.with-aside) .player{max-width:720px}
.timeline{margin:.6rem 0 1rem;user-select:none}
.lane{display:flex;align-items:center;gap:.5rem;margin:3px 0}
.lane-label{flex:0 0 4.5rem;font-size:.78rem;color:var(--muted);text-align:right}
.lane-bar{position:relative;flex:1;height:26px;background:var(--card);border:1px solid var(--line);border-radius:4px;cursor:pointer}
.lane-hits .lane-bar,.lane-citations .lane-bar{height:18px}
.seg{position:absolute;top:0;bottom:0;min-width:3px;display:block;text-decoration:none;overflow:visible}
.seg-label{display:block;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;color:#fff;font-size:.75rem;
padding:4px 5px;line-height:18px}
.seg.chapter.n0{background:var(--ch0)}.seg.chapter.n1{background:var(--ch1)}
.seg.programme{background:var(--line)}
.seg.break{background:repeating-linear-gradient(45deg,var(--brk) 0 6px,#e0735f 6px 12px)}
.seg.sponsor{background:repeating-linear-gradient(45deg,var(--spo) 0 6px,#ecc064 6px 12px)}
.seg.hit{background:var(--hit);min-width:5px;border-radius:2px}.seg.citation{background:var(--cit);min-width:5px;border-radius:2px}
.seg.current{box-shadow:inset 0 0 0 2px var(--focus)}
.tip{display:none;position:absolute;bottom:calc(100% + 6px);left:0;z-index:3;white-space:nowrap;background:#111;color:#fff;
font-size:.78rem;padding:3px 7px;border-radius:4px;pointer-events:none}
.seg:hover .tip,.seg:focus .tip{display:block}.seg:hover,.seg:focus{filter:brightness(1.15);z-index:2}
.outside{position:absolute;top:0;bottom:0;background:repeating-linear-gradient(-45deg,transparent 0 4px,rgba(128,128,128,.25) 4px 8px)}
.axis{height:20px;border:0;background:transparent}
.tick{position:absolute;top:2px;font-size:.72rem;color:var(--muted);transform:translateX(-50%);white-space:nowrap}
.tick:first-child{transform:none}
.playhead{position:absolute;top:-4px;bottom:0;left:0;width:2px;background:var(--focus);display:none}
.strip{display:flex;gap:6px;overflow-x:auto;list-style:none;padding:0 0 6px;margin:0}
.strip li{flex:0 0 auto}.thumb{display:block;text-decoration:none;text-align:center;font-size:.75rem;color:var(--muted)}
.thumb img{display:block;height:72px;width:auto;border-radius:3px}
.entries{list-style:none;padding:0;margin:0}
.entry{display:flex;gap:.9rem;padding:.6rem 0;border-top:1px solid var(--line)}
.entry.current{background:linear-gradient(90deg,rgba(240,164,0,.12),transparent)}
.frame{flex:0 0 auto}.frame img,.noimg{display:block;width:160px;height:90px;object-fit:cover;border-radius:4px;background:var(--line)}
.entry .body{min-width:0}.entry p{margin:.15rem 0}.times{text-decoration:none;font-weight:600}
.entry.break .title{color:var(--brk)}.entry.sponsor .title{color:var(--spo)}
.answer{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.2rem 1rem .6rem}
.answer-text{font-size:1.1rem}.label{font-size:.8rem;text-transform:uppercase;color:var(--muted);margin-right:.4rem}
.choices .chosen{font-weight:600}
.meta{margin-top:1.2rem;border:1px solid var(--line);border-radius:6px;padding:.4rem .8rem;background:var(--card)}
.meta summary{cursor:pointer;font-weight:600}.meta dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
.meta dt{color:var(--muted)}.meta dd{margin:0}.meta pre{max-height:24rem;overflow:auto;font-size:.78rem}
@media (max-width:800px){.stage.with-aside{grid-template-columns:1fr}}
@media (max-width:640px){.frame img,.noimg{width:112px;height:63px}.lane-label{flex-basis:3rem}}
"""

JS = """
(function () {
  "use strict";
  function video(el) { return el && document.getElementById(el.getAttribute("data-video")); }
  function fmt(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(r).padStart(2, "0");
  }
  function seek(v, t) {
    if (!v) return;
    v.currentTime = t;
    var played = v.play();
    if (played && played.catch) played.catch(function () {});
    v.scrollIntoView({block: "nearest"});
  }
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("a[data-t]");
    if (link) {
      var v = video(link);
      if (v) { ev.preventDefault(); seek(v, parseFloat(link.getAttribute("data-t"))); }
      return;
    }
    var bar = ev.target.closest(".lane-bar");
    if (bar) {
      var box = bar.getBoundingClientRect();
      var f = Math.min(1, Math.max(0, (ev.clientX - box.left) / box.width));
      seek(video(bar), f * parseFloat(bar.getAttribute("data-duration")));
    }
  });
  document.querySelectorAll(".axis").forEach(function (axis) {
    axis.addEventListener("keydown", function (ev) {
      var v = video(axis); if (!v) return;
      var d = parseFloat(axis.getAttribute("data-duration")), step = ev.shiftKey ? 60 : 5, t = v.currentTime;
      if (ev.key === "ArrowRight" || ev.key === "ArrowUp") t += step;
      else if (ev.key === "ArrowLeft" || ev.key === "ArrowDown") t -= step;
      else if (ev.key === "Home") t = 0;
      else if (ev.key === "End") t = d;
      else return;
      ev.preventDefault();
      v.currentTime = Math.min(d, Math.max(0, t));
    });
  });
  document.querySelectorAll("video").forEach(function (v) {
    var track = v.closest(".track"); if (!track) return;
    var axis = track.querySelector(".axis"), head = track.querySelector(".playhead");
    var d = parseFloat(axis.getAttribute("data-duration"));
    var marked = track.querySelectorAll(".seg[data-start], .entry[data-start]");
    v.addEventListener("timeupdate", function () {
      var t = v.currentTime;
      head.style.display = "block";
      head.style.left = (100 * Math.min(1, t / d)) + "%";
      axis.setAttribute("aria-valuenow", t.toFixed(1));
      axis.setAttribute("aria-valuetext", fmt(t));
      marked.forEach(function (el) {
        var on = t >= parseFloat(el.getAttribute("data-start")) && t < parseFloat(el.getAttribute("data-end"));
        el.classList.toggle("current", on);
      });
    });
  });
})();
"""


def write_html(settings: Any, **results: Any) -> None:
    """Build the page of ``results`` (``summary=``, ``ads=``, ``find=``, ``ask=``), add thumbnails,
    and write it to ``-o`` (atomically) or stdout; video links are relative to where it goes."""
    from vidq.cli.output import output_stream

    page_file = None if settings.to_stdout else settings.output
    page = build_page(**results, link=lambda video: video_link(video, page_file))
    add_thumbnails(page, store=settings.store, source=timeline_thumbnails(results.values()))
    with output_stream(settings) as out:
        HtmlWriter().write(page, out)
