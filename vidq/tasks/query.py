"""What a search query asks for, and how segment-level questions are answered on a timeline.

    intent = parse_intent("ad for soda")        # Intent(segment="ad", subject="soda", ...)
    intent = parse_intent("the sign that says gate 42")   # Intent(sources=("screen",), subject="gate 42")
    hits = segment_hits(tl, intent)             # list[SegmentHit]: ad spots / sponsor reads, scored 0..1

People ask for *kinds* of moments, not only words: "ad for X" is an ad spot whose product
is related to X (the cola ad never says "soda"), "sponsor" a sponsor read, "where they
talk about X" speech only, "the sign that says X" or "when X appears on screen" on-screen
text only.  :func:`parse_intent` maps those phrasings to the timeline's segment kinds and
evidence sources; anything else is a plain search for the words and their meaning.

Segment hits are ranked by meaning *within* the segments of that kind: each spot's
relevance is the best cosine similarity between the subject and the spot's own text
(speech and on-screen lines), or 1 when the spot's text contains every subject word.  The
score is calibrated against the rest of the video, so an absent product fails the
threshold however ad-like the spots are: it rises with the relevance's margin over the
most related programme sentence and over the other spots, not with the relevance alone
(:func:`calibrate`).

Shared by ``find`` and the library's search; not a job.  Knows nothing about Typer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from vidq.analysis import Timeline
from vidq.analysis.evidence import tokens
from vidq.analysis.segments import AdSegment, Spot

AD_WORDS = r"(?:tv\s+)?(?:ad|ads|advert|adverts|advertisement|advertisements|advertising|commercial|commercials|spot|promo)"
_AD_FOR = re.compile(rf"^(?:an?|the|any|all)?\s*{AD_WORDS}\s+(?:for|about|of|from|by|selling|with|on)\s+(?P<x>.+)$", re.I)
_X_AD = re.compile(r"^(?:an?|the|any)?\s*(?P<x>.+?)\s+(?:tv\s+)?(?:ad|ads|advert|adverts|advertisement|advertisements|"
                   r"commercial|commercials)$", re.I)  # "the soda ad" (not "a parking spot")
_BREAKS = re.compile(rf"^(?:an?|the|all|any)?\s*(?:{AD_WORDS}|(?:ad|commercial|advertising)\s+breaks?|breaks)$", re.I)
_SPONSOR = re.compile(r"^(?:an?|the|any)?\s*(?:sponsor(?:ed|ship|s)?(?:\s+(?:read|reads|segment|message|mention|"
                      r"spot|plug))?)(?:\s+(?:for|by|from|of|about)\s+(?P<x>.+))?$", re.I)
_SPEECH = re.compile(r"^(?:where|when|the\s+part\s+where|the\s+moment)?\s*(?:do\s+|does\s+|did\s+)?"
                     r"(?:they|he|she|someone|somebody|anyone|people|the\s+\w+|\w+)\s+"
                     r"(?:talks?|talked|speaks?|spoke|says?|said|mentions?|mentioned|discuss(?:es|ed)?|explains?|"
                     r"explained)\s+(?:about\s+)?(?P<x>.+)$", re.I)
_SCREEN = re.compile(r"^(?:the\s+|a\s+|an\s+)?(?:sign|caption|banner|text|title|card|poster|slide|lower\s+third|"
                     r"screen|headline|ticker)\s+(?:that\s+)?(?:says|saying|reads|reading|with|showing|shows|of)\s+"
                     r"(?P<x>.+)$", re.I)
_ON_SCREEN = re.compile(r"^(?:when|where)?\s*(?P<x>.+?)\s+(?:appears|is\s+shown|shows\s+up|is\s+written|"
                        r"is\s+displayed|comes\s+up)(?:\s+on(?:\s+the)?\s+screen)?$|^(?P<y>.+?)\s+on(?:\s+the)?\s+screen$",
                        re.I)

AD_RELEVANCE_FLOOR = 0.2  # cosine below which a spot is unrelated to the subject, whatever the margins
AD_MARGIN_SCALE = 0.12  # margin (cosine) over the background that takes a spot from 0.5 to 0.75
AD_BASE = 0.35  # score of a spot exactly as related as the background
LEXICAL_RELEVANCE = 0.9  # relevance of a spot whose text holds every subject word


@dataclass(frozen=True)
class Intent:
    """What a query asks for."""

    query: str  # as typed
    subject: str  # what to look for ("" for "all ad breaks")
    segment: str | None = None  # "ad" (spots), "break", "sponsor", or None (any moment)
    sources: tuple[str, ...] | None = None  # ("speech",), ("screen",) or None (both)

    @property
    def label(self) -> str:
        """How the CLI explains what it searched for."""
        what = {"ad": "an ad", "break": "ad breaks", "sponsor": "a sponsor read"}.get(self.segment or "", "")
        if what and self.subject:
            return f"{what} for \"{self.subject}\""
        if what:
            return what
        where = {("speech",): "said", ("screen",): "on screen"}.get(self.sources or (), "")
        return f"\"{self.subject}\"" + (f" ({where})" if where else "")


_ARTICLE = re.compile(r"^(?:an?|the|some|any)\s+", re.I)


def _clean(x: str | None) -> str:
    """The subject without quotes or a leading article ("a phone" -> "phone")."""
    text = " ".join((x or "").strip().strip("\"'“”‘’").split())
    return _ARTICLE.sub("", text)


def parse_intent(query: str) -> Intent:
    """The kind of moment ``query`` asks for (see the module docstring).

    >>> parse_intent("ad for soda")
    Intent(query='ad for soda', subject='soda', segment='ad', sources=None)
    >>> parse_intent("where they talk about bees").sources
    ('speech',)
    """
    q = " ".join(query.split()).rstrip("?.!")
    if _BREAKS.match(q):
        return Intent(query, "", "break")
    m = _AD_FOR.match(q)
    if m:
        return Intent(query, _clean(m.group("x")), "ad")
    m = _SPONSOR.match(q)
    if m:
        return Intent(query, _clean(m.group("x")), "sponsor")
    m = _X_AD.match(q)
    if m and len(q.split()) <= 6:
        return Intent(query, _clean(m.group("x")), "ad")
    m = _SCREEN.match(q)
    if m:
        return Intent(query, _clean(m.group("x")), None, ("screen",))
    m = _ON_SCREEN.match(q)
    if m:
        return Intent(query, _clean(m.group("x") or m.group("y")), None, ("screen",))
    m = _SPEECH.match(q)
    if m and tokens(m.group("x")):
        return Intent(query, _clean(m.group("x")), None, ("speech",))
    return Intent(query, q)


@dataclass(frozen=True)
class SegmentHit:
    """A segment of the timeline that answers a segment-level query."""

    start: float  # seconds
    end: float  # seconds
    score: float  # 0..1, calibrated (see calibrate)
    relevance: float  # how related the segment's own text is to the subject (cosine, or LEXICAL_RELEVANCE)
    background: float  # the best competitor's relevance (programme text or another spot)
    kind: str  # "ad" (a spot), "break", "sponsor"
    text: str  # the segment's text (what it says and shows)
    reason: str  # one line
    source: str  # "speech" or "screen": where the best evidence came from


def calibrate(relevance: float, background: float) -> float:
    """A 0..1 score from a segment's relevance and the background it must stand out from.

    ``background`` is the relevance of the best competitor (the most related programme
    sentence, or the best other spot when that is higher).  Exactly as related as the
    background scores ``AD_BASE``; every ``AD_MARGIN_SCALE`` of margin adds a quarter;
    below ``AD_RELEVANCE_FLOOR`` nothing passes.

    >>> round(calibrate(0.5, 0.2), 3)
    0.975
    >>> calibrate(0.15, 0.0)
    0.0
    """
    if relevance < AD_RELEVANCE_FLOOR:
        return 0.0
    return float(min(1.0, max(0.0, AD_BASE + 0.25 * (relevance - background) / AD_MARGIN_SCALE)))


def _spot_rows(tl: Timeline, start: float, end: float) -> list[int]:
    return [i for i, u in enumerate(tl.units)
            if ((start <= u.mid <= end) if u.source == "speech" else (u.start < end and start < u.end))]


def _relevance(tl: Timeline, rows: list[int], cos: np.ndarray, subject_terms: set[str]) -> tuple[float, int | None]:
    """Best relevance among ``rows`` (cosine, or LEXICAL_RELEVANCE when a unit holds every subject word)."""
    best, at = 0.0, None
    for r in rows:
        value = float(cos[r]) if cos.size else 0.0
        if subject_terms and subject_terms <= set(tokens(tl.units[r].text)):
            value = max(value, LEXICAL_RELEVANCE)
        if value > best:
            best, at = value, r
    return best, at


def segment_hits(tl: Timeline, intent: Intent) -> list[SegmentHit]:
    """Spots, breaks or sponsor reads answering ``intent``, best first (see the module docstring)."""
    segs = tl.segments
    if intent.segment == "break":
        return [SegmentHit(b.start, b.end, b.confidence, b.confidence, 0.0, "break", " ".join(s.text for s in b.spots),
                           f"ad break: {b.reason}", "speech") for b in segs.breaks]
    if intent.segment == "sponsor":
        pool: list[tuple[float, float, str, str]] = [(a.start, a.end, a.text, a.reason) for a in segs.sponsors]
        kind = "sponsor"
    else:
        pool = [(s.start, s.end, s.text, _spot_reason(b, k, s)) for b in segs.breaks for k, s in enumerate(b.spots)]
        kind = "ad"
    if not pool:
        return []
    if not intent.subject:  # "sponsor": every read, by confidence
        return [SegmentHit(s, e, a.confidence, a.confidence, 0.0, kind, text, why, "speech")
                for (s, e, text, why), a in zip(pool, segs.sponsors)]
    index = tl.index()
    cos = index.cosine(intent.subject) if index.vectors is not None else np.zeros(0)
    terms = set(tokens(intent.subject))
    inserted = [(s, e) for s, e, _, _ in pool] + [(b.start, b.end) for b in segs.breaks + segs.sponsors]
    programme = [i for i, u in enumerate(tl.units) if not any(s - 1.0 <= u.mid <= e + 1.0 for s, e in inserted)]
    rel = [_relevance(tl, _spot_rows(tl, s, e), cos, terms) for s, e, _, _ in pool]
    back_prog, _ = _relevance(tl, programme, cos, terms)
    out: list[SegmentHit] = []
    for k, ((s, e, text, why), (r, at)) in enumerate(zip(pool, rel)):
        others = [rel[j][0] for j in range(len(pool)) if j != k and not _same_text(pool[j][2], text)]
        back = max([back_prog, *others])
        score = calibrate(r, back)
        source = tl.units[at].source if at is not None else "speech"
        next_best = f"; next best {'spot' if others and max(others) >= back_prog else 'programme text'} {back:.2f}"
        reason = f'{why}: closest in meaning to "{intent.subject}" ({r:.2f}{next_best})'
        out.append(SegmentHit(s, e, round(score, 4), round(r, 4), round(back, 4), kind, text, reason, source))
    return sorted(out, key=lambda h: (-h.score, -h.relevance, h.start))


def _same_text(a: str, b: str) -> bool:
    """Two spots with the same words (one ad aired twice) do not compete with each other."""
    ta, tb = set(tokens(a)), set(tokens(b))
    return bool(ta) and len(ta & tb) >= 0.8 * min(len(ta), len(tb))


def _spot_reason(b: AdSegment, k: int, spot: Spot) -> str:
    quote = spot.text if len(spot.text) <= 70 else spot.text[:69].rstrip() + "…"
    return f"ad spot {k + 1} of {len(b.spots)} in a break ({quote!r})" if quote else f"ad spot {k + 1} of {len(b.spots)}"
