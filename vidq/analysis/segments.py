"""Where a programme is interrupted: ad breaks, the spots inside them, and sponsor reads.

    found = label_segments(signals, track, transcript, screen, span)
    found.breaks     # list[AdSegment] kind "break", each with its spots (start, end)
    found.sponsors   # list[AdSegment] kind "sponsor": read over the programme's own picture
    found.blocks     # every block between separators, with its features and scores

What comskip and MythTV's commercial flagging look at, plus what they cannot see:

1. **Signals** of the picture pass (:mod:`vidq.analysis.picture`: black frames, shot
   changes, station-logo presence, active aspect, dHash repeats of the same spot aired
   twice) and the loudness track (:mod:`vidq.analysis.sound`).
2. **Blocks**: the timeline is cut at separators — runs of black frames, silences, points
   where the logo or the aspect ratio changes, and the edges of a host's sponsor read (one
   that opens with a sponsor's phrase: the host's own talk, never part of a break) — into
   blocks.  A stretch of at most ``TYPICAL_SPOT`` s between two black pauses is also judged
   whole (:func:`black_spans`): a muted spot whose station logo flickers in and out is one
   spot, not three blocks.
3. **Block features and score**: logo absent, louder than the programme, another aspect
   ratio, a fast cut rate, a repeat of footage seen elsewhere, flanking separators, speech
   off the subject of the programme around it, its length, and text cues (prices, URLs,
   promo codes, offers, "sponsored by") in its speech and on-screen text.  A logistic model
   (``INTERCEPT`` + ``COEF`` over :func:`model_inputs`, fitted by ``benchmarks/fit_ads.py``
   on the tuning family only) gives its confidence; a block longer than ``MAX_SPOT`` seconds
   is programme.  (A job with a model that sees pictures may re-score candidate blocks and
   merge again with :func:`merge_breaks`.)
4. **Breaks** are runs of adjacent ad blocks (with the blocks between two of them when they
   last ``SHORT_SPOT`` s at most in all); each block of a run is a **spot**, except that a
   piece under ``MIN_SPOT`` s joins the neighbour it touches with no pause.  Edges
   snap to the picture: a break or spot starts at the first black frame of the run of
   black frames that opens it, or at the hard cut there, never at a silence that merely
   precedes it (a programme whose narration stops before the break keeps its quiet tail).
   Breaks never overlap.
5. **Sponsor reads**: runs of transcript sentences carrying sponsor cues (a "sponsored by
   X" / "brought to you by X" sentence, then sentences with offers, codes, URLs or X's
   name, or that talk about what the read talks about rather than the programme, up to its
   call to action), outside breaks — a read spoken over the programme's own picture, which
   no picture or sound signal shows.

SmolLM2 is not used to classify: asked "is this text an advertisement or a sponsored
message?" about the first scenarios' 7 ad and sponsor sentences and 41 programme
sentences, its P(yes) averaged 0.25 vs 0.23 (ROC AUC 0.64), against AUC 0.86 for the text
cues alone, at seconds per call.

Times are seconds on the file timeline.  Knows nothing about decoding, models, tasks or
the CLI.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vidq.analysis.evidence import Unit, speech_units
from vidq.analysis.picture import FrameSignals, cut_intervals
from vidq.media import signals
from vidq.speech import Transcript

log = logging.getLogger("vidq.analysis")

MIN_SILENCE = 0.3  # seconds: shorter quiet stretches are not separators
MIN_BLOCK = 2.0  # seconds: shorter blocks are merged into a neighbour
MAX_SPOT = 180.0  # seconds: a block longer than this is programme, whatever it looks like
MIN_BREAK = 5.0  # seconds: shorter ad runs are dropped
RUN_GAP = 2.5  # seconds: ad blocks further apart than this start a new break
EDGE_REACH = 1.0  # seconds: black frames or a cut this close to a block edge is that edge
ASPECT_TOLERANCE = 0.08  # relative difference of active aspect that counts as another framing
LOGO_ON = 0.5  # logo_presence above this: the logo is on screen
CUT_RATE_MIN = 12.0  # shot changes per minute that count as fast cutting (and at least 2x the file's median)
THRESHOLD = 0.5  # confidence at which a block is an ad
SPONSOR_GAP = 4.0  # seconds: sentences of one sponsor read are at most this far apart
SPONSOR_MIN_CUES = 2  # cue kinds a sponsor read must carry
NAMED_AGAIN = "named again"  # the cue kind of a read whose later sentences name its sponsor again
ON_ITS_SUBJECT = "on its subject"  # ... of a read whose later sentences talk about what it does, not the programme
CALL_TO_ACTION = frozenset({"url", "code", "offer"})  # two of these in a sentence and the next open a read
REPEAT_MATCHES = 6  # per second of sampling: frames matching more others are generic (signals.repeated_segments)

# The block model: a logistic regression over MODEL_INPUTS (see ``model_inputs``), fitted by
# ``benchmarks/fit_ads.py`` on the tuning family's blocks (files tuning-00..19) and on nothing else.
INTERCEPT = -4.01  # log-odds of a block with no feature at all
COEF = {  # log-odds each input adds per unit
    "logo_absent": 1.84,  # share of the block's frames without the station logo (0 in a file without one)
    "louder": 0.26,  # dB above the programme's median level / LOUDER_DB, clipped to -2..2
    "aspect": 0.56,  # share of frames framed differently from the programme
    "fast_cuts": 1.78,  # cut rate / max(CUT_RATE_MIN, 2 x the file's median), clipped to 0..2
    "repeated": 0.0,  # share of the block whose footage airs elsewhere in the file
    "separated": 3.24,  # a separator (black, silence, logo or framing change) on both sides; where silences are
    #                     not SPARSE, black frames on one side at least ("set apart on both sides" in reasons)
    "black_bounded": 1.5,  # black frames on both sides
    "off_topic": 0.3,  # (1 - cosine to the programme's speech around it - OFF_TOPIC_CENTER) / OFF_TOPIC_UNIT, -2..2
    "text_cue": 0.0,  # kinds of ad cue in its speech or on-screen text (at most 3), when they cover CUE_COVERAGE
    "long": -0.65,  # longer than TYPICAL_SPOT
    "lasting": -0.85,  # (duration - SHORT_SPOT) / SHORT_SPOT, clipped to 0..1: longer than most spots
    "sponsor_cue": -1.88,  # it says "sponsored by", "brought to you by" ...: a host's read, not an inserted spot
    "short": -1.33,  # (MIN_SPOT - duration) / MIN_SPOT, clipped to 0..1: shorter than any spot (a sentence between pauses)
}
FIRED = 0.3  # an input adding at least this many log-odds is named in the block's reason
LOUDER_DB = 4.0  # dB: the unit of the "louder" input
CUE_COVERAGE = 0.25  # share of a block that cue-bearing speech or on-screen text must cover for its cues to count
CONTEXT_SECONDS = 90.0  # seconds of programme speech either side a block's speech is compared with
TYPICAL_SPOT = 60.0  # seconds: ads run 10-60 s; a longer block's change of subject is the programme's own
OFF_TOPIC_CENTER = 0.55  # off_topic value that adds nothing either way ...
OFF_TOPIC_UNIT = 0.15  # ... and the step that adds its coefficient once
SHORT_SPOT = 30.0  # seconds: most spots run at most this long
SPARSE_SILENCES = 4.0  # per minute: in a file with more silences (speech without a music bed) they set no
#                        block apart on their own: "separated" there needs black frames on one side at least
#                        (the first or last spot of a break) (the tuning family's files with a bed have 0-1.8
#                        silences a minute, those without 7.3-8.7)
SPLIT_SIMILARITY = 0.3  # adjacent sentences of a spot less alike than this (cosine) belong to two spots (fitted)
MIN_SPOT = 8.0  # seconds: a spot is never split into pieces shorter than this
SPLIT_REACH = 1.5  # seconds: the cut that starts the next spot lies this close to its first sentence
VOICE_RANGE_DB = 25.0  # dB: windows this close to a file's loud level (95th percentile) carry its voices
VOICE_MIN_SECONDS = 2.0  # seconds of loud windows a stretch needs before its voice is judged
VOICE_CONTEXT = 45.0  # seconds of programme either side a stretch's voice is compared with
VOICED = "a spot at its edge sounds like the break, not the programme"  # said in the reason of a break voice_edges grew

CUE_PATTERNS: dict[str, re.Pattern[str]] = {  # ad cues in speech or on-screen text (lower-cased)
    "price": re.compile(r"\$\s?\d|\b\d+\.\d\d\b|\b\d+ (?:dollars|euros|pounds|bucks)\b|\bonly \d|"
                        r"\b(?:a|per) month\b|\bfor just\b"),
    "url": re.compile(r"\b[a-z0-9-]+\.(?:com|net|org|io|tv|co|app|ai|shop|store)\b|"
                      r"\bdot (?:com|net|org|app|io|co|tv)\b|\bwww\b|\.com/[a-z0-9]|"
                      r"\b(?:com|net|org|app|io|co|tv) slash [a-z0-9]"),
    "code": re.compile(r"\b(?:use|promo|discount|coupon|offer) code\b|\bcode [a-z]*\d[a-z0-9]*\b|"
                       r"\b(?:enter|apply|with) (?:the |my |our )?(?:code|coupon)\b|\bcode [a-z0-9]+ at checkout\b"),
    "offer": re.compile(r"(?:\b\d+|\b[a-z]+) ?(?:%|percent) off\b|\bhalf[ -]?off\b|\bfree trial\b|\border now\b|"
                        r"\bcall now\b|\bbuy now\b|\bapply online\b|\blimited time\b|\bsign up (?:today|now|at)\b|"
                        r"\bswitch to\b|\btoday only\b|\blink (?:is )?(?:in the description|below)\b|\bat checkout\b|"
                        r"\b(?:first|\d+|one|two|three) (?:month|months|week|weeks|box|boxes) (?:for )?free\b|"
                        r"\bfree (?:for|shipping|delivery)\b|"
                        # how creators put an offer: "your first box is free", "a month free", "off your first order"
                        r"\bfirst (?:box|month|order|week|lesson|class|year|delivery|meal|session)s? (?:is |are )?"
                        r"(?:free|on us|half off)\b|\b(?:a|one|two|three|six|\d+)[- ](?:day|week|month|year)s? "
                        r"(?:free|on us)\b|\boff your first\b|\bexclusive (?:offer|deal|discount)\b|\brisk[- ]free\b|"
                        r"\bmoney[- ]back guarantee\b|\bcancel any ?time\b|\bin the (?:show notes|bio)\b|"
                        r"\bfree (?:month|week|gift|box)\b|\btry (?:it|them) (?:for )?free\b|"
                        r"\b(?:click|tap|use) (?:the|my|our) link\b|\bfirst \d+ (?:people|listeners|viewers)\b|"
                        r"\bget started (?:today|at|for free)\b|\bdownload (?:it|the app) (?:today|now|for free)\b"),
    "sponsor": re.compile(r"\bsponsored by\b|\bbrought to you\b|\btoday'?s sponsor\b|\bfor sponsoring\b|"
                          r"\bpartnered with\b|\bpaid promotion\b|\bmade possible by\b|\bin partnership with\b|"
                          r"\bpresented by\b|\bthanks to our (?:partner|sponsor)s?\b|\ba word from our sponsors?\b|"
                          r"\bour sponsors? (?:today |for today |this week )?(?:is|are)\b|"
                          r"\bsupport for (?:this|the|today'?s)\b[a-z' -]{0,24}?\b(?:comes|is provided) (?:from|by)\b|"
                          # creators' other phrasings: "this video is supported by X", "thanks to X for
                          # supporting the channel", "today's partner", "we teamed up with X"; "brought to" alone
                          # because speech recognition garbles what follows ("brought to my green basket")
                          r"\b(?:video|episode|show|channel|podcast|programme|program|segment|stream|series) "
                          r"(?:is |was )?(?:(?:powered|supported|funded|underwritten) by|brought to)\b|"
                          r"\bthanks? (?:you )?to [a-z0-9&' -]{2,40}? for (?:supporting|partnering (?:with|on)|making this|"
                          r"their support|sponsoring)\b|\b(?:thank you|thanks) to (?:today'?s|this (?:video|episode)'?s) "
                          r"(?:partner|sponsor|supporter)s?\b|\btoday'?s (?:partner|supporter)\b|"
                          r"\ba (?:quick |short )?(?:word|message) from (?:today'?s |this (?:video|episode)'?s )?"
                          r"(?:sponsor|partner)s?\b|\bteamed up with\b|\bsponsor of (?:this|today'?s) "
                          r"(?:video|episode|show)\b|\b(?:i|we)(?: want| would like|'d like| also want) to thank "
                          r"[a-z0-9&' -]{2,40}? for (?:sponsoring|supporting|partnering)\b|"
                          # "X sponsored this video", "this episode's sponsor is X"
                          r"\b(?:sponsored|sponsors|sponsoring) (?:this|today'?s) (?:video|episode|show|"
                          r"podcast|stream)\b|\b(?:this|today'?s) (?:video|episode|show|podcast)'?s sponsor\b|"
                          # "our friends at X made this episode possible", "to support the channel, check out X"
                          r"\bmade this (?:video|episode|show|podcast|stream) possible\b|"
                          r"\bsupport (?:the|this|my|our) (?:channel|show|podcast)\b|"
                          r"\bthank (?:our|today'?s|this (?:video|episode)'?s) (?:sponsor|partner)s?\b|"
                          # public broadcasting's credits and other broadcast phrasings: "funding for this
                          # programme was provided by X", "additional support comes from X", "X, the official
                          # partner of ...", "this forecast is brought to you by X"
                          r"\b(?:funding|underwriting) for [a-z0-9' -]{2,30}? (?:is |was |has been )?(?:provided by|"
                          r"comes from)\b|\b(?:additional|major) (?:funding|support) (?:for [a-z0-9' -]{2,30}? )?"
                          r"(?:is |was )?(?:provided by|comes from)\b|"
                          r"\b(?:proud|official) (?:sponsor|partner|supporter)s?\b|\bin association with\b|"
                          r"\bpaid partnership\b|\bour (?:friends|partners) (?:at|from)\b|\bfrom our (?:sponsor|partner)s?\b|"
                          r"\b(?:hour|forecast|update|coverage|broadcast|bulletin|newscast|edition|portion|round-?up) "
                          r"(?:is |was )?(?:brought to you|(?:sponsored|powered|supported|funded|underwritten) by)\b"),
}
_SPONSOR_NAME = re.compile(r"(?:sponsored by|brought to(?: you| my| me)?,?(?: by)?|made possible by|presented by|"
                           r"in partnership with|"
                           r"thanks to(?: our (?:partner|sponsor)s?| today'?s (?:partner|sponsor|supporter)s?)?,?|"
                           r"comes from|provided by|(?:powered|supported|funded|underwritten) by|partnered with|"
                           r"teamed up with|today'?s (?:partner|supporter|sponsor),?(?: is)?|(?:want|like) to thank|"
                           r"thank (?:our|today'?s) (?:sponsor|partner)s?,?|"
                           r"our sponsors? (?:today |for today |this week )?(?:is|are)|in association with|"
                           r"our (?:friends|partners) (?:at|from)) "
                           r"([a-z0-9][a-z0-9 &'-]{1,40})")



# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spot:
    """One ad inside a break."""

    start: float  # seconds
    end: float  # seconds
    confidence: float  # 0..1: the block's confidence
    text: str = ""  # what it says and shows (speech and on-screen text), for search and reasons


@dataclass(frozen=True)
class AdSegment:
    """An inserted segment."""

    start: float  # seconds
    end: float  # seconds
    kind: str  # "break" (inserted ads, visible in picture/sound) or "sponsor" (read over the programme)
    confidence: float  # 0..1
    reason: str  # one line: the features or cues that decided it
    blocks: int = 1  # ad blocks (spots) merged into it; 0 for a sponsor read
    cues: tuple[str, ...] = ()  # text cue kinds found in it
    verified_by: str = "signals"  # "signals" (scored signals and cues) or the classifying model's name
    spots: tuple[Spot, ...] = ()  # break: the spots inside it, time order; sponsor: ()
    text: str = ""  # sponsor: what the read says

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Block:
    """A stretch between separators, with the features that score it."""

    start: float  # seconds
    end: float  # seconds
    features: dict[str, Any]  # name -> value (see ``block_features``)
    points: float  # weighted feature points
    prior: float  # confidence from the points alone, 0..1
    confidence: float  # after classification (== prior unless a model re-scored it)
    reason: str  # the features that fired
    text: str = ""  # its speech and on-screen text


@dataclass(frozen=True)
class Separator:
    """Something that separates blocks."""

    start: float  # seconds
    end: float  # seconds (== start for a point: a logo or framing change)
    kind: str  # "black", "silence", "logo", "aspect", or "read" (an edge of a host's sponsor read)

    @property
    def picture(self) -> bool:
        return self.kind in ("black", "logo", "aspect")


@dataclass
class FileStats:
    """What a block is compared with: the file's usual level and cut rate."""

    programme_db: float | None  # median dB of the non-silent loudness windows (None: no audio)
    median_cut_rate: float  # shot changes per minute over the whole file
    has_logo: bool  # a station logo was found
    silences_per_minute: float = 0.0  # silences of MIN_SILENCE s or more, per minute of the file


@dataclass
class Segments:
    """What :func:`label_segments` found."""

    breaks: list[AdSegment]
    sponsors: list[AdSegment]
    blocks: list[Block]
    separators: list[Separator]
    stats: FileStats
    repeats: int  # repeated-footage pairs found
    cuts: list[tuple[float, float]] = field(default_factory=list)  # shot changes (after, before) seconds

    @property
    def segments(self) -> list[AdSegment]:
        """Breaks and sponsor reads in time order."""
        return sorted(self.breaks + self.sponsors, key=lambda a: a.start)


# -- signals --------------------------------------------------------------------------------
def find_repeats(pic: FrameSignals) -> list[signals.RepeatPair]:
    """Footage aired twice; a frame may match more frames the denser the sampling (``REPEAT_MATCHES`` per s)."""
    if pic.times.size < 2:
        return []
    rate = (pic.times.size - 1) / max(float(pic.times[-1] - pic.times[0]), 1e-6)  # frames per second
    return signals.repeated_segments(pic.hashes, pic.times, colors=pic.colors, valid=~pic.black,
                                     max_matches=max(REPEAT_MATCHES, round(REPEAT_MATCHES * rate)))


# -- separators and blocks --------------------------------------------------------------------
def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], np.asarray(flags, bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def separators(pic: FrameSignals, track: signals.Loudness | None) -> list[Separator]:
    """What separates blocks: black-frame runs, silences, logo and framing changes, by start.

    A black run spans half a sampling step beyond its first and last black frame; a logo or
    aspect change is a zero-length separator between the two frames where it changes.
    """
    t = pic.times
    seps: list[Separator] = []
    step = pic.step
    for a, b in _runs(pic.black):
        seps.append(Separator(float(t[a] - step / 2), float(t[b - 1] + step / 2), "black"))
    if track is not None:
        seps.extend(Separator(s, e, "silence") for s, e in signals.silences(track, min_duration=MIN_SILENCE))
    for kind, flags in (("logo", _logo_on(pic)), ("aspect", _other_framing(pic))):
        if flags is None:
            continue
        for a, b in _runs(flags):
            for i in (a, b):
                if 0 < i < t.size:
                    mid = float((t[i - 1] + t[i]) / 2)
                    seps.append(Separator(mid, mid, kind))
    return sorted(seps, key=lambda s: (s.start, s.end))


def merge_intervals(seps: Sequence[Separator]) -> list[tuple[float, float]]:
    """Separators as merged ``(start, end)`` intervals (overlapping or touching ones joined)."""
    merged: list[tuple[float, float]] = []
    for s in sorted(seps, key=lambda x: (x.start, x.end)):
        if merged and s.start <= merged[-1][1] + 1e-6:
            merged[-1] = (merged[-1][0], max(merged[-1][1], s.end))
        else:
            merged.append((s.start, s.end))
    return merged


def _logo_on(pic: FrameSignals) -> np.ndarray | None:
    """Per frame: the logo is on screen (None when the file has no logo); black frames count as on."""
    if pic.logo.size == 0 or np.isnan(pic.logo).all():
        return None
    return (np.nan_to_num(pic.logo, nan=1.0) > LOGO_ON) | pic.black


def _other_framing(pic: FrameSignals) -> np.ndarray | None:
    """Per frame: framed differently from the file's usual aspect (black frames: False)."""
    valid = np.isfinite(pic.aspect)
    if not valid.any():
        return None
    usual = float(np.median(np.round(pic.aspect[valid], 2)))
    return valid & (np.abs(np.where(valid, pic.aspect, usual) - usual) > ASPECT_TOLERANCE * usual)


def blocks_between(seps: Sequence[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """The stretches between separators within ``[start, end]``; blocks under ``MIN_BLOCK`` s join a neighbour."""
    out: list[tuple[float, float]] = []
    cursor = start
    for s, e in seps:
        if s > cursor:
            out.append((cursor, min(s, end)))
        cursor = max(cursor, e)
        if cursor >= end:
            break
    if cursor < end:
        out.append((cursor, end))
    merged: list[tuple[float, float]] = []
    for s, e in out:
        if merged and (e - s < MIN_BLOCK or merged[-1][1] - merged[-1][0] < MIN_BLOCK) and s - merged[-1][1] < 1.0:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return [(s, e) for s, e in merged if e - s >= MIN_BLOCK / 2]


# -- edges that snap to the picture ------------------------------------------------------------
def snap_start(t: float, seps: Sequence[Separator], cuts: Sequence[tuple[float, float]]) -> float:
    """Where an ad run that begins at ``t`` (a block edge) really starts.

    The start of the black run ending at ``t`` (or within ``EDGE_REACH`` of it), else the
    hard cut nearest to ``t`` within the separator that ends there (or ``EDGE_REACH``),
    else ``t``.  Silences never move it: the programme may go quiet before a break.
    """
    black = [s for s in seps if s.kind == "black" and s.start - EDGE_REACH <= t <= s.end + EDGE_REACH]
    if black:
        return min(s.start for s in black)
    lo = min([t - EDGE_REACH] + [s.start for s in seps if s.start <= t <= s.end + 1e-6])
    near = [(a + b) / 2 for a, b in cuts if lo <= (a + b) / 2 <= t + EDGE_REACH]
    return min(near, key=lambda c: abs(c - t)) if near else t


def snap_end(t: float, seps: Sequence[Separator], cuts: Sequence[tuple[float, float]]) -> float:
    """Where an ad run that ends at ``t`` really ends: the mirror of :func:`snap_start`."""
    black = [s for s in seps if s.kind == "black" and s.start - EDGE_REACH <= t <= s.end + EDGE_REACH]
    if black:
        return max(s.end for s in black)
    hi = max([t + EDGE_REACH] + [s.end for s in seps if s.start - 1e-6 <= t <= s.end])
    near = [(a + b) / 2 for a, b in cuts if t - EDGE_REACH <= (a + b) / 2 <= hi]
    return min(near, key=lambda c: abs(c - t)) if near else t


# -- features ---------------------------------------------------------------------------------
def text_cues(text: str) -> tuple[str, ...]:
    """The cue kinds (``CUE_PATTERNS`` keys) present in ``text``."""
    low = " ".join(text.lower().split())
    return tuple(k for k, p in CUE_PATTERNS.items() if p.search(low))


def file_stats(pic: FrameSignals, track: signals.Loudness | None) -> FileStats:
    db = None
    if track is not None and len(track):
        loud = track.db[track.db > signals.SILENCE_DB]
        db = float(np.median(loud)) if loud.size else None
    span = float(pic.times[-1] - pic.times[0]) if pic.times.size > 1 else 0.0
    changes = int((pic.shot > signals.SHOT_THRESHOLD).sum())
    rate = changes * 60.0 / span if span > 0 else 0.0
    if span > 120:  # median of per-minute rates: robust to a few busy breaks
        _centres, rates = signals.change_rate(pic.times, pic.shot > signals.SHOT_THRESHOLD, window=60.0)
        rate = float(np.median(rates)) if rates.size else rate
    quiet = (len(signals.silences(track, min_duration=MIN_SILENCE)) * 60.0 / span
             if track is not None and len(track) and span > 0 else 0.0)
    return FileStats(db, rate, _logo_on(pic) is not None, round(quiet, 3))


def block_features(start: float, end: float, pic: FrameSignals, track: signals.Loudness | None,
                   stats: FileStats, seps: Sequence[tuple[float, float]], repeats: Sequence[signals.RepeatPair],
                   text: str) -> dict[str, Any]:
    """Feature values of one block (every value JSON-able)."""
    sel = (pic.times >= start) & (pic.times < end)
    visible = sel & ~pic.black
    f: dict[str, Any] = {"duration": round(end - start, 3), "frames": int(sel.sum())}
    logo_on = _logo_on(pic)
    f["logo_absent"] = (round(float(1 - logo_on[visible].mean()), 3)
                        if logo_on is not None and visible.any() else None)
    framing = _other_framing(pic)
    f["other_aspect"] = round(float(framing[visible].mean()), 3) if framing is not None and visible.any() else None
    if track is not None and stats.programme_db is not None:
        w = track.times
        wsel = (w >= start) & (w < end) & (track.db > signals.SILENCE_DB)
        f["loudness_delta_db"] = round(float(np.median(track.db[wsel]) - stats.programme_db), 2) if wsel.any() else None
    else:
        f["loudness_delta_db"] = None
    cuts = int((pic.shot[sel] > signals.SHOT_THRESHOLD).sum())
    f["cuts_per_minute"] = round(cuts * 60.0 / max(end - start, 1e-6), 2)
    covered = 0.0
    for r in repeats:
        for s, e in ((r.first_start, r.first_end), (r.second_start, r.second_end)):
            covered += max(0.0, min(e, end) - max(s, start))
    f["repeated"] = round(min(1.0, covered / max(end - start, 1e-6)), 3)
    f["separated"] = separated(start, end, seps)
    f["cues"] = list(text_cues(text))
    return f


def separated(start: float, end: float, seps: Sequence[tuple[float, float]]) -> bool:
    """A separator (merged interval) within 1 s of both edges, or over them."""
    return (any(abs(e - start) <= 1.0 or s <= start <= e for s, e in seps)
            and any(abs(s - end) <= 1.0 or s <= end <= e for s, e in seps))


OPTIMISTIC = {"louder": (-2.0, 2.0), "off_topic": (-2.0, 2.0), "repeated": (0.0, 1.0), "text_cue": (0.0, 3.0),
              "sponsor_cue": (0.0, 1.0)}  # model inputs window_bound takes at their most: sound, speech, text


def window_bound(pic: FrameSignals, stats: FileStats, merged: Sequence[tuple[float, float]],
                 seps: Sequence[Separator]) -> Callable[[float, float], float]:
    """An upper bound on the points :meth:`BlockContext.block` gives a stretch ``[a, b]``, from
    prefix sums over the frames: the picture inputs and length exactly, the ``OPTIMISTIC`` ones
    (sound, speech, text) at whatever value adds most.  Thousands of windows cost milliseconds;
    only those the bound lets through are scored in full (:func:`cut_windows`).
    """
    def prefix(x: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(x, dtype=np.int64)])

    visible = ~pic.black
    logo, framing = _logo_on(pic), _other_framing(pic)
    n_visible, cuts = prefix(visible), prefix(pic.shot > signals.SHOT_THRESHOLD)
    no_logo = prefix(visible & ~logo) if logo is not None else None
    other = prefix(visible & framing) if framing is not None else None
    most = sum(max(COEF[k] * lo, COEF[k] * hi) for k, (lo, hi) in OPTIMISTIC.items())

    def bound(a: float, b: float) -> float:
        i, j = (int(k) for k in np.searchsorted(pic.times, [a, b], side="left"))
        vis = int(n_visible[j] - n_visible[i])
        f = {"duration": round(b - a, 3), "frames": j - i, "loudness_delta_db": None, "repeated": 0.0, "cues": [],
             "logo_absent": round(float(no_logo[j] - no_logo[i]) / vis, 3) if no_logo is not None and vis else None,
             "other_aspect": round(float(other[j] - other[i]) / vis, 3) if other is not None and vis else None,
             "cuts_per_minute": round(float(cuts[j] - cuts[i]) * 60.0 / max(b - a, 1e-6), 2),
             "separated": separated(a, b, merged), "black_bounded": black_bounded(a, b, seps),
             "black_sides": black_sides(a, b, seps), "off_topic": None}
        x = model_inputs(f, stats)
        return INTERCEPT + sum(COEF[k] * x[k] for k in COEF if k not in OPTIMISTIC) + most

    return bound


def model_inputs(f: dict[str, Any], stats: FileStats) -> dict[str, float]:
    """The block model's inputs (``COEF`` keys) from a block's features (see ``COEF`` for each)."""
    delta = f["loudness_delta_db"]
    off = f.get("off_topic")
    fast = max(CUT_RATE_MIN, 2 * stats.median_cut_rate)
    covered = bool(f["cues"]) and f.get("cue_coverage", 1.0) >= CUE_COVERAGE
    return {
        "logo_absent": float(f["logo_absent"] or 0.0),
        "louder": 0.0 if delta is None else float(np.clip(delta / LOUDER_DB, -2.0, 2.0)),
        "aspect": float(f["other_aspect"] or 0.0),
        "fast_cuts": float(np.clip(f["cuts_per_minute"] / fast, 0.0, 2.0)),
        "repeated": float(f["repeated"]),
        "separated": float(bool(f["separated"]) and (stats.silences_per_minute <= SPARSE_SILENCES
                                                     or f.get("black_sides", 2 * bool(f.get("black_bounded"))) >= 1)),
        "black_bounded": float(bool(f.get("black_bounded"))),
        "off_topic": 0.0 if off is None else float(np.clip((off - OFF_TOPIC_CENTER) / OFF_TOPIC_UNIT, -2.0, 2.0)),
        "text_cue": float(min(3, len(f["cues"]))) if covered else 0.0,
        "long": float(f["duration"] > TYPICAL_SPOT),
        "lasting": float(np.clip((f["duration"] - SHORT_SPOT) / SHORT_SPOT, 0.0, 1.0)),
        "sponsor_cue": float("sponsor" in f["cues"]),
        "short": float(np.clip((MIN_SPOT - f["duration"]) / MIN_SPOT, 0.0, 1.0)),
    }


def fired_features(f: dict[str, Any], stats: FileStats) -> tuple[str, ...]:
    """The ``COEF`` keys that speak for an ad in this block (adding at least ``FIRED`` log-odds), in ``COEF`` order."""
    x = model_inputs(f, stats)
    return tuple(k for k in COEF if COEF[k] * x[k] >= FIRED)


def _label(key: str, values: Sequence[dict[str, Any]]) -> str:
    """Words for a fired feature over one or more blocks' features (numbers averaged)."""
    if key == "louder":
        return f"{np.mean([v['loudness_delta_db'] for v in values]):+.1f} dB louder"
    if key == "fast_cuts":
        return f"{np.mean([v['cuts_per_minute'] for v in values]):.0f} cuts/min"
    if key == "text_cue":
        return "ad text: " + ", ".join(sorted({c for v in values for c in v["cues"]}))
    if key == "off_topic":
        return f"speech off the programme's topic ({np.mean([v['off_topic'] for v in values]):.2f})"
    return {"logo_absent": "no station logo", "aspect": "different framing", "repeated": "footage repeated elsewhere",
            "separated": "set apart on both sides", "black_bounded": "black frames on both sides",
            "long": "long", "lasting": "long", "sponsor_cue": "sponsor phrasing", "short": "short"}[key]


def score_block(f: dict[str, Any], stats: FileStats) -> tuple[float, str]:
    """The block model's log-odds of an ad, and the reason listing the inputs that spoke for it."""
    if f["duration"] > MAX_SPOT:
        return round(INTERCEPT + COEF["long"], 3), f"{f['duration']:.0f} s: too long for an ad"
    x = model_inputs(f, stats)
    points = INTERCEPT + sum(COEF[k] * x[k] for k in COEF)
    fired = fired_features(f, stats)
    return round(points, 3), "; ".join(_label(k, [f]) for k in fired) if fired else "programme-like"


def break_reason(run: Sequence[Block], stats: FileStats) -> str:
    """One line for a run of ad blocks: the features that fired (in how many blocks) and the text cues."""
    parts = []
    for key in COEF:
        values = [b.features for b in run if key in fired_features(b.features, stats)]
        if values:
            share = "" if len(values) == len(run) else f" ({len(values)} of {len(run)})"
            parts.append(_label(key, values) + share)
    verdicts = [b.reason.rsplit("; ", 1)[-1] for b in run if b.confidence != b.prior]
    return "; ".join(parts + verdicts[:1]) or "ad-like blocks"


def prior_confidence(points: float) -> float:
    """The block model's probability from its log-odds."""
    return 1.0 / (1.0 + math.exp(-points))


# -- breaks -------------------------------------------------------------------------------------
def merge_breaks(blocks: Sequence[Block], seps: Sequence[Separator], stats: FileStats,
                 cuts: Sequence[tuple[float, float]], verified_by: str = "signals") -> list[AdSegment]:
    """Runs of ad blocks -> breaks with their spots, edges snapped to the picture, never overlapping."""
    out: list[AdSegment] = []
    run: list[Block] = []

    def flush() -> None:
        if not run:
            return
        # the break's outer edges snap to the picture; a spot inside it runs from separator to separator
        s, e = round(snap_start(run[0].start, seps, cuts), 3), round(snap_end(run[-1].end, seps, cuts), 3)
        spots = join_pieces([Spot(s if k == 0 else round(b.start, 3), e if k == len(run) - 1 else round(b.end, 3),
                                  b.confidence, b.text) for k, b in enumerate(run)], seps)
        if e - s >= MIN_BREAK:
            conf = round(float(np.mean([b.confidence for b in run])), 3)
            cues = tuple(sorted({c for b in run for c in b.features.get("cues", [])}))
            why = f"{len(run)} spot{'s' * (len(run) > 1)}: {break_reason(run, stats)}"
            out.append(AdSegment(s, e, "break", conf, why, blocks=len(run), cues=cues, verified_by=verified_by,
                                 spots=tuple(spots)))
        run.clear()

    ads = ad_blocks(blocks, stats)
    for b, is_ad in zip(blocks, ads):
        if is_ad and run and b.start - run[-1].end > RUN_GAP:
            flush()
        if is_ad:
            run.append(b)
        else:
            flush()
    flush()
    merged: list[AdSegment] = []  # snapping may make neighbours touch or overlap: join them
    for seg in out:
        if merged and seg.start <= merged[-1].end + 1e-6:
            prev = merged[-1]
            n = prev.blocks + seg.blocks
            merged[-1] = AdSegment(prev.start, max(prev.end, seg.end), "break",
                                   round((prev.confidence * prev.blocks + seg.confidence * seg.blocks) / n, 3),
                                   prev.reason, blocks=n, cues=tuple(sorted(set(prev.cues) | set(seg.cues))),
                                   verified_by=prev.verified_by, spots=prev.spots + seg.spots)
        else:
            merged.append(seg)
    return merged


def join_pieces(spots: Sequence[Spot], seps: Sequence[Separator]) -> list[Spot]:
    """``spots`` with each piece shorter than ``MIN_SPOT`` s joined to a neighbour it touches with no
    pause between them (no black frames, no silence: only a logo or framing change), the shortest
    piece first.  A spot's pack shot or end card changes the framing; it does not end the spot.

    >>> join_pieces([Spot(0.0, 10.0, 0.9), Spot(10.0, 13.0, 0.6), Spot(14.0, 26.0, 0.9)],
    ...             [Separator(10.0, 10.0, "aspect"), Separator(13.0, 14.0, "black")])
    [Spot(start=0.0, end=13.0, confidence=0.831, text=''), Spot(start=14.0, end=26.0, confidence=0.9, text='')]
    """
    def paused(a: Spot, b: Spot) -> bool:
        return any(x.kind in ("black", "silence") and x.start <= b.start + 1e-6 and x.end >= a.end - 1e-6
                   for x in seps)

    def shorter(k: int) -> float:
        return min(out[k].end - out[k].start, out[k + 1].end - out[k + 1].start)

    out = list(spots)
    while True:
        joins = [k for k in range(len(out) - 1) if shorter(k) < MIN_SPOT and not paused(out[k], out[k + 1])]
        if not joins:
            return out
        k = min(joins, key=shorter)
        a, b = out[k], out[k + 1]
        weight = (a.end - a.start) + (b.end - b.start)
        conf = round(((a.end - a.start) * a.confidence + (b.end - b.start) * b.confidence) / max(weight, 1e-6), 3)
        out[k:k + 2] = [Spot(a.start, b.end, conf, " ".join(t for t in (a.text, b.text) if t))]


def black_sides(start: float, end: float, seps: Sequence[Separator]) -> int:
    """On how many of its two sides the block meets black frames (0, 1 or 2)."""
    black = [x for x in seps if x.kind == "black"]
    return (int(any(x.start - EDGE_REACH <= start <= x.end + EDGE_REACH for x in black))
            + int(any(x.start - EDGE_REACH <= end <= x.end + EDGE_REACH for x in black)))


def black_bounded(start: float, end: float, seps: Sequence[Separator]) -> bool:
    """Black frames on both sides of the block: how broadcasters set an inserted spot apart."""
    return black_sides(start, end, seps) == 2


def off_topic(start: float, end: float, sentences: tuple[Sequence[Unit], np.ndarray]) -> float | None:
    """How far the block's speech is in meaning from the speech around it: 1 - cosine of their
    mean sentence vectors (None without speech on either side).

    The speech around is the sentences in ``CONTEXT_SECONDS`` before and after the block.
    An ad or a promo talks about its product, not about what the programme around it is
    discussing; a programme block continues the programme's subject.
    """
    units, vectors = sentences
    if vectors is None or len(units) == 0 or vectors.ndim != 2 or vectors.shape[1] == 0:
        return None
    mids = np.array([u.mid for u in units])
    inside = (mids >= start) & (mids < end)
    around = (((mids >= start - CONTEXT_SECONDS) & (mids < start)) | ((mids >= end) & (mids < end + CONTEXT_SECONDS)))
    if not inside.any() or not around.any():
        return None
    cos = _cosine(vectors[inside].mean(axis=0), vectors[around].mean(axis=0))
    return round(1.0 - cos, 3) if cos is not None else None


def _cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    """Cosine similarity of two vectors (None when one is all zeros)."""
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom > 0 else None


def cue_coverage(units: Sequence[Unit], start: float, end: float) -> float:
    """Share of ``[start, end]`` covered by speech or on-screen text that carries an ad cue.

    An ad says and shows its price, address and offer most of the time it is on; a sponsor
    read or a quoted price inside ten minutes of programme covers a sliver of it.
    """
    spans = sorted((max(start, u.start), min(end, u.end)) for u in units
                   if u.start < end and start < u.end and text_cues(u.text))
    covered, cursor = 0.0, start
    for a, b in spans:
        a = max(a, cursor)
        if b > a:
            covered += b - a
            cursor = b
    return round(covered / max(end - start, 1e-6), 3)


def ad_blocks(blocks: Sequence[Block], stats: FileStats) -> list[bool]:
    """Which blocks are ads: confidence at least ``THRESHOLD`` (the block model's, or a model
    that sees re-scored it).  Then the blocks between two ad blocks are spots too when together
    they last at most ``SHORT_SPOT`` s: a break does not pause for a few seconds of programme
    (and one spot's pack shot and end card may come as two or three short blocks, none sure of
    itself).  A host's sponsor read (``features["read"]``, :func:`as_read`) is neither."""
    out = [b.confidence >= THRESHOLD and not b.features.get("read") for b in blocks]
    ads = [k for k, is_ad in enumerate(out) if is_ad]
    for a, b in zip(ads, ads[1:]):
        between = blocks[a + 1:b]
        if (between and between[-1].end - between[0].start <= SHORT_SPOT
                and not any(y.features.get("read") for y in between)  # a host's read is never filled in
                and all(y.start - x.end <= RUN_GAP for x, y in zip(blocks[a:b], blocks[a + 1:b + 1]))):
            out[a + 1:b] = [True] * len(between)
    return out


def spot_cuts(start: float, end: float, sentences: tuple[Sequence[Unit], np.ndarray],
              cuts: Sequence[tuple[float, float]]) -> list[float]:
    """Where one spot hands over to the next inside ``[start, end]``: at a hard cut just before a
    sentence that is unlike the sentence before it (cosine below ``SPLIT_SIMILARITY``), when
    both pieces last at least ``MIN_SPOT`` s.  Spots joined by hard cuts alone (no black, no
    pause) show no separator; what they talk about does change.
    """
    units, vectors = sentences
    if vectors is None or vectors.ndim != 2 or vectors.shape[1] == 0 or end - start < 2 * MIN_SPOT:
        return []
    rows = [i for i, u in enumerate(units) if start <= u.mid < end]
    mids = [(a + b) / 2 for a, b in cuts if start < (a + b) / 2 < end]
    out: list[float] = []
    for i, j in zip(rows, rows[1:]):
        if float(vectors[i] @ vectors[j]) >= SPLIT_SIMILARITY:
            continue
        first = units[j].start
        near = [c for c in mids if first - SPLIT_REACH <= c <= first + 0.5 and c >= units[i].mid]
        if not near:
            continue
        c = min(near, key=lambda c: abs(c - first))
        if c - max([start, *out]) >= MIN_SPOT and end - c >= MIN_SPOT:
            out.append(round(c, 3))
    return out


def split_spots(brk: AdSegment, sentences: tuple[Sequence[Unit], np.ndarray],
                cuts: Sequence[tuple[float, float]], units: Sequence[Unit]) -> AdSegment:
    """``brk`` with each spot cut where :func:`spot_cuts` finds another spot starting."""
    spots: list[Spot] = []
    for sp in brk.spots:
        edges = [sp.start, *spot_cuts(sp.start, sp.end, sentences, cuts), sp.end]
        spots += [Spot(a, b, sp.confidence, _text_in(units, a, b)) for a, b in zip(edges, edges[1:])]
    if len(spots) == len(brk.spots):
        return brk
    return replace(brk, spots=tuple(spots), blocks=len(spots))


def black_spans(seps: Sequence[Separator], span: tuple[float, float]) -> list[tuple[float, float]]:
    """Stretches of ``MIN_BLOCK`` .. ``TYPICAL_SPOT`` s between two consecutive groups of
    separators that hold black frames: where one spot would sit between two black pauses,
    whatever logo flicker or pause splits it into several blocks.

    >>> black_spans([Separator(9.5, 10.0, "black"), Separator(14.0, 14.0, "logo"), Separator(25.0, 25.5, "black")],
    ...             (0.0, 60.0))
    [(10.0, 25.0)]
    """
    groups: list[tuple[float, float, bool]] = []  # merged separator intervals, and whether one holds black
    for x in sorted(seps, key=lambda x: (x.start, x.end)):
        if groups and x.start <= groups[-1][1] + 1e-6:
            a, b, black = groups[-1]
            groups[-1] = (a, max(b, x.end), black or x.kind == "black")
        else:
            groups.append((x.start, x.end, x.kind == "black"))
    ends = [(a, b) for a, b, black in groups if black]
    return [(max(p[1], span[0]), min(q[0], span[1])) for p, q in zip(ends, ends[1:])
            if MIN_BLOCK <= q[0] - p[1] <= TYPICAL_SPOT]


def cut_windows(blk: Block, cuts: Sequence[tuple[float, float]], block: Callable[[float, float], Block],
                bound: Callable[[float, float], float] | None = None) -> list[Block]:
    """``blk``, or ``blk`` cut in three where a spot sits inside it bounded by hard cuts alone.

    A spot spliced into a programme with no black frame, no pause and no logo change shows no
    separator, so it hides inside a programme block.  Every stretch of ``MIN_SPOT`` ..
    ``TYPICAL_SPOT`` s between two hard cuts inside a block that is not an ad is scored as a
    block of its own (``block``); where such windows reach ``THRESHOLD``, the stretch they cover
    together (the longest group of overlapping ones) is the spot, if it scores as an ad too and
    its speech is off the programme's subject (``off_topic`` at least ``OFF_TOPIC_CENTER``):
    with no separator to show the splice, what is said must, or a loud montage of fast cuts
    inside a programme would pass for a spot.  The threshold is the block model's own: nothing
    here is fitted.  ``bound``
    (:func:`window_bound`) skips the windows that cannot reach it.
    """
    if blk.confidence >= THRESHOLD or blk.features.get("read") or blk.end - blk.start < MIN_SPOT + 2 * EDGE_REACH:
        return [blk]
    mids = [(a + b) / 2 for a, b in cuts if blk.start + EDGE_REACH < (a + b) / 2 < blk.end - EDGE_REACH]
    hits = [(a, b) for i, a in enumerate(mids) for b in mids[i + 1:]
            if MIN_SPOT <= b - a <= TYPICAL_SPOT and (bound is None or prior_confidence(bound(a, b)) >= THRESHOLD)
            and block(a, b).prior >= THRESHOLD]
    if not hits:
        return [blk]
    groups: list[tuple[float, float]] = []
    for a, b in sorted(hits):
        if groups and a < groups[-1][1]:
            groups[-1] = (groups[-1][0], max(groups[-1][1], b))
        else:
            groups.append((a, b))
    a, b = max(groups, key=lambda g: g[1] - g[0])
    spot = block(round(a, 3), round(b, 3))
    off = spot.features.get("off_topic")
    if spot.prior < THRESHOLD or b - a > TYPICAL_SPOT or off is None or off < OFF_TOPIC_CENTER:
        return [blk]
    return [block(blk.start, spot.start), spot, block(spot.end, blk.end)]


class Voices:
    """The voice over any stretch of a file: the mean of its loud windows' cepstra, each coefficient
    standardised over the file's loud windows (those within ``VOICE_RANGE_DB`` of its loud level,
    the 95th percentile), so that every coefficient weighs the same whatever the file's channel.
    """

    def __init__(self, track: signals.Loudness):
        assert track.cepstra is not None
        db = track.db
        self.times = track.times
        self.loud = db > (np.percentile(db, 95) - VOICE_RANGE_DB if db.size else 0.0)
        c = track.cepstra[self.loud].astype(np.float64)
        mu, sd = (c.mean(axis=0), c.std(axis=0) + 1e-6) if len(c) else (0.0, 1.0)
        self.z = (track.cepstra.astype(np.float64) - mu) / sd
        self.need = VOICE_MIN_SECONDS / max(track.hop, 1e-6)

    def of(self, spans: Sequence[tuple[float, float]]) -> np.ndarray | None:
        """The voice over ``spans`` (None: under ``VOICE_MIN_SECONDS`` of loud windows there)."""
        rows = np.concatenate([np.arange(*np.searchsorted(self.times, (a, b))) for a, b in spans] or [[]]).astype(int)
        rows = rows[self.loud[rows]]
        return self.z[rows].mean(axis=0) if rows.size >= self.need else None

    def spread(self, spans: Sequence[tuple[float, float]], length: float) -> float:
        """How far the voice of a ``length`` s stretch of ``spans`` strays from theirs as a whole: the
        largest distance over such stretches, half a length apart (0.0 with no stretch to judge)."""
        whole = self.of(spans)
        step = max(length / 2, 1.0)
        pieces = [self.of([(t, min(t + length, e))])
                  for s, e in spans for t in np.arange(s, max(s, e - length) + 1e-6, step)]
        return max((d for p in pieces if (d := _apart(p, whole)) is not None), default=0.0)


def _apart(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    return None if a is None or b is None else float(np.linalg.norm(a - b))


def outside(start: float, end: float, breaks: Sequence[AdSegment]) -> list[tuple[float, float]]:
    """The parts of ``[start, end]`` outside every break.

    >>> outside(0.0, 100.0, [AdSegment(20.0, 30.0, "break", 1.0, ""), AdSegment(60.0, 120.0, "break", 1.0, "")])
    [(0.0, 20.0), (30.0, 60.0)]
    """
    parts = [(start, end)]
    for b in breaks:
        parts = [p for s, e in parts for p in ((s, min(e, b.start)), (max(s, b.end), e)) if p[1] > p[0]]
    return parts


def voice_edges(breaks: Sequence[AdSegment], cuts: Sequence[tuple[float, float]], track: signals.Loudness | None,
                span: tuple[float, float], units: Sequence[Unit]) -> list[AdSegment]:
    """``breaks``, each grown by the spots at its edges that sound like the break, not the programme.

    A spot that keeps the station logo and joins the break with a hard cut alone shows no
    separator, and its picture and level can be the programme's: the block model leaves it
    out, and the break starts or ends a spot early.  Its announcer is not the programme's
    voice.  So a stretch from a break's edge outward to a hard cut ``MIN_SPOT`` ..
    ``SHORT_SPOT`` s away joins the break when its voice (:class:`Voices`) is nearer to the
    break's than both to the programme's beyond it and to the programme's on the break's
    other side (``VOICE_CONTEXT`` s of each, outside breaks), and farther from the programme's
    than any stretch of the same length of that programme is from it (:meth:`Voices.spread`):
    a nearest-voice decision, with nothing fitted.  Without the second rule a break found in
    the programme by mistake grows over more programme, where every voice is the programme's.
    Of several such cuts (a spot has hard cuts inside it) the one whose stretch is nearest
    the break's voice by the widest margin wins: a stretch running on into the programme
    mixes the two voices.  Then the next stretch is judged from the new edge.  Someone new
    speaking in the programme stays out: that voice goes on beyond the stretch.  ``units``:
    speech sentences and screen lines, for the new spots' text.
    """
    if track is None or track.cepstra is None or not breaks:
        return list(breaks)
    voices = Voices(track)
    mids = sorted((a + b) / 2 for a, b in cuts)
    out = list(breaks)
    for i in range(len(out)):
        for side in ("end", "start"):
            while True:
                b = out[i]
                lo = out[i - 1].end if i else span[0]
                hi = out[i + 1].start if i + 1 < len(out) else span[1]
                edge = b.end if side == "end" else b.start
                reach = [m for m in mids if MIN_SPOT <= abs(m - edge) <= SHORT_SPOT
                         and (edge < m <= hi if side == "end" else lo <= m < edge)]
                inside = voices.of([(b.start, b.end)])
                around = (outside(b.start - VOICE_CONTEXT, b.start, out) if side == "end"
                          else outside(b.end, b.end + VOICE_CONTEXT, out))  # the programme on the other side
                other = voices.of(around)
                grown, best = None, 0.0
                for m in reach:
                    s, e = (edge, m) if side == "end" else (m, edge)
                    here = voices.of([(s, e)])
                    parts = (outside(e, e + VOICE_CONTEXT, out) if side == "end"
                             else outside(s - VOICE_CONTEXT, s, out))
                    near = _apart(here, inside)
                    far = [d for d in (_apart(here, voices.of(parts)), _apart(here, other)) if d is not None]
                    if near is None or not far or min(far) - near <= best:
                        continue
                    if min(far) > voices.spread(parts + around, e - s):
                        grown, best = (round(s, 3), round(e, 3)), min(far) - near
                if grown is None:
                    break
                piece = Spot(grown[0], grown[1], b.confidence, _text_in(units, *grown))
                spots = (b.spots + (piece,)) if side == "end" else ((piece,) + b.spots)
                why = b.reason if VOICED in b.reason else f"{b.reason}; {VOICED}"
                out[i] = replace(b, start=min(b.start, grown[0]), end=max(b.end, grown[1]), spots=spots,
                                 blocks=b.blocks + 1, reason=why)
    return out


def _text_in(units: Sequence[Unit], start: float, end: float) -> str:
    """Speech units whose middle lies in the span, and screen units that overlap it."""
    return " ".join(u.text for u in units
                    if ((start <= u.mid < end) if u.source == "speech" else (u.start < end and start <= u.end)))


@dataclass
class BlockContext:
    """What scoring a stretch of one file needs: its signals, separators and text (see :func:`block_context`)."""

    pic: FrameSignals
    track: signals.Loudness | None
    stats: FileStats
    seps: list[Separator]
    merged: list[tuple[float, float]]  # the separators as merged intervals
    repeats: list[signals.RepeatPair]
    units: list[Unit]  # speech sentences and screen lines
    sentences: tuple[Sequence[Unit], np.ndarray] | None
    reads: list[AdSegment] = field(default_factory=list)  # the host's reads (host_reads), which separate blocks
    sponsor: list[AdSegment] = field(default_factory=list)  # every sponsor read in the transcript

    def block(self, start: float, end: float) -> Block:
        """``[start, end]`` as a scored :class:`Block` (marked as a host's read by :func:`as_read`)."""
        text = _text_in(self.units, start, end)
        f = block_features(start, end, self.pic, self.track, self.stats, self.merged, self.repeats, text)
        f["cue_coverage"] = cue_coverage(self.units, start, end)
        f["black_bounded"] = black_bounded(start, end, self.seps)
        f["black_sides"] = black_sides(start, end, self.seps)
        f["off_topic"] = off_topic(start, end, self.sentences) if self.sentences is not None else None
        points, why = score_block(f, self.stats)
        prior = round(prior_confidence(points), 3)
        return as_read(Block(start, end, f, round(points, 3), prior, prior, why, text), self.reads)


def block_context(pic: FrameSignals, track: signals.Loudness | None, transcript: Transcript,
                  screen: Sequence[Unit], sentences: tuple[Sequence[Unit], np.ndarray] | None = None) -> BlockContext:
    """The :class:`BlockContext` of one file (``label_segments`` and ``benchmarks/fit_ads.py`` score with it).

    The sponsor reads that open with a sponsor's phrase are the host's own talk (:func:`host_reads`):
    their edges separate blocks as black frames do (separator kind "read"), and a block inside
    one is never an ad (:func:`as_read`).
    """
    seps = separators(pic, track)
    every = sponsor_reads(transcript, sentences=sentences)
    reads = host_reads(every, seps)
    seps = sorted(seps + [Separator(t, t, "read") for r in reads for t in (r.start, r.end)],
                  key=lambda s: (s.start, s.end))
    return BlockContext(pic, track, file_stats(pic, track), seps, merge_intervals(seps), find_repeats(pic),
                        speech_units(transcript, windows=False) + list(screen), sentences, reads, every)


def label_segments(pic: FrameSignals, track: signals.Loudness | None, transcript: Transcript,
                   screen: Sequence[Unit], span: tuple[float, float],
                   sentences: tuple[Sequence[Unit], np.ndarray] | None = None) -> Segments:
    """Blocks, ad breaks with their spots, and sponsor reads over ``span``; see the module docstring.

    ``sentences``: the transcript's sentence units with their unit-length vectors ``(N, D)``,
    for the ``off_topic`` feature (without them it is not measured).
    """
    cuts = cut_intervals(pic.times.tolist(), pic.shot.tolist())
    if pic.times.size < 4:
        return Segments([], sponsor_reads(transcript, sentences=sentences), [], [], file_stats(pic, track), 0, cuts)
    ctx = block_context(pic, track, transcript, screen, sentences)
    stats, seps, units, block = ctx.stats, ctx.seps, ctx.units, ctx.block
    blocks = [block(s, e) for s, e in blocks_between(ctx.merged, span[0], span[1])]
    for s, e in black_spans(seps, span):  # a spot the logo or a pause splits is judged whole too
        inside = [b for b in blocks if b.start >= s - 1e-6 and b.end <= e + 1e-6]
        straddling = [b for b in blocks if b.start < e - 1e-6 and b.end > s + 1e-6 and b not in inside]
        if len(inside) < 2 or straddling or any(b.features.get("read") for b in inside):
            continue  # judged whole only where it replaces whole blocks, and never over a host's read
        whole = block(s, e)
        if whole.prior >= THRESHOLD and whole.prior >= max(b.prior for b in inside):
            blocks = sorted([b for b in blocks if b not in inside] + [whole], key=lambda b: b.start)
    bound = window_bound(pic, stats, ctx.merged, seps)
    blocks = [piece for b in blocks for piece in cut_windows(b, cuts, block, bound)]
    breaks = merge_breaks(blocks, seps, stats, cuts)
    breaks = not_reads(breaks, ctx.sponsor, seps)
    breaks = voice_edges(breaks, cuts, track, span, units)
    if sentences is not None:
        breaks = [split_spots(b, sentences, cuts, units) for b in breaks]
    sponsors = clear_of(sponsor_reads(transcript, exclude=[(b.start, b.end) for b in breaks], sentences=sentences),
                        breaks)
    return Segments(breaks, sponsors, blocks, seps, stats, len(ctx.repeats), cuts)


def host_reads(reads: Sequence[AdSegment], seps: Sequence[Separator]) -> list[AdSegment]:
    """The ``reads`` a host speaks over the programme: those that open with a sponsor's phrase
    ("brought to you by X"; a call to action alone may be an inserted spot's) and do not sit
    between two black pauses at most ``TYPICAL_SPOT`` s apart (:func:`black_spans`), where a
    broadcaster's sponsor billboard ("the weather, brought to you by X") is an inserted spot.

    >>> r = AdSegment(30.0, 40.0, "sponsor", 0.8, "read", cues=("named again", "sponsor"))
    >>> boxed = [Separator(27.5, 28.0, "black"), Separator(45.0, 45.5, "black")]
    >>> len(host_reads([r], [])), len(host_reads([r], boxed)), len(host_reads([replace(r, cues=("offer", "url"))], []))
    (1, 0, 0)
    """
    boxed = black_spans(seps, (-math.inf, math.inf))
    return [r for r in reads if "sponsor" in r.cues
            and not any(s - EDGE_REACH <= r.start and r.end <= e + EDGE_REACH for s, e in boxed)]


def as_read(b: Block, reads: Sequence[AdSegment]) -> Block:
    """``b``, or where at least half of it lies inside one of ``reads`` (sponsor reads opened by
    a sponsor's phrase), ``b`` marked as the host's own talk: ``features["read"]``, prior and
    confidence 0 (its points stay what the signals gave).  A break never takes it in
    (:func:`ad_blocks`), whatever a model that sees says of it.

    >>> b = Block(50.0, 62.0, {"duration": 12.0}, 1.0, 0.7, 0.7, "no station logo")
    >>> r = AdSegment(49.5, 63.0, "sponsor", 0.8, "read", cues=("offer", "sponsor"))
    >>> x = as_read(b, [r]); (x.points, x.prior, x.confidence, x.features["read"], x.reason)
    (1.0, 0.0, 0.0, True, "a sponsor read: the host's own talk")
    >>> as_read(b, [replace(r, start=58.0)]) is b
    True
    """
    if not any(min(r.end, b.end) - max(r.start, b.start) >= (b.end - b.start) / 2 for r in reads):
        return b
    return replace(b, features={**b.features, "read": True}, prior=0.0, confidence=0.0,
                   reason="a sponsor read: the host's own talk")


def not_reads(breaks: Sequence[AdSegment], reads: Sequence[AdSegment], seps: Sequence[Separator]) -> list[AdSegment]:
    """``breaks`` without those that are a sponsor read: one spot, no black frames on both
    sides, and at least half of it inside a read that names its sponsor ("sponsored by X",
    "our sponsor today is X") — a host's read over a scene where the logo dropped out is not
    an inserted spot."""
    def is_read(b: AdSegment) -> bool:
        if len(b.spots) != 1 or black_bounded(b.start, b.end, seps):
            return False
        return any("sponsor" in r.cues and min(r.end, b.end) - max(r.start, b.start) >= b.duration / 2
                   for r in reads)

    return [b for b in breaks if not is_read(b)]


def clear_of(reads: Sequence[AdSegment], breaks: Sequence[AdSegment]) -> list[AdSegment]:
    """Sponsor reads cut back to the side of any break they reach into (reads shorter than
    ``MIN_BLOCK`` s after that are dropped): a read and a break never overlap.

    >>> r = AdSegment(10.0, 30.0, "sponsor", 0.8, "read")
    >>> [(x.start, x.end) for x in clear_of([r], [AdSegment(25.0, 60.0, "break", 0.9, "ads")])]
    [(10.0, 25.0)]
    """
    out = []
    for r in reads:
        s, e = r.start, r.end
        for b in breaks:
            if s < b.end and b.start < e:
                s, e = (s, min(e, b.start)) if s < b.start else (max(s, b.end), e)
        if e - s >= MIN_BLOCK:
            out.append(r if (s, e) == (r.start, r.end) else replace(r, start=s, end=e))
    return out


# -- sponsor reads ----------------------------------------------------------------------------
def sponsor_reads(transcript: Transcript, *, exclude: Sequence[tuple[float, float]] = (),
                  sentences: tuple[Sequence[Unit], np.ndarray] | None = None) -> list[AdSegment]:
    """Sponsor reads in the speech (see the module docstring), outside ``exclude`` intervals.

    A read starts at a sentence with a sponsor cue ("sponsored by X", "brought to you by X",
    "thanks to X for supporting the channel"), or at a call to action carrying at least two
    of an address, a promo code and an offer ("go to x.com and use code Y for 60% off":
    speech recognition may garble "sponsored") together with the sentences just before it
    that name the same brand.  It runs on through sentences with cues or the sponsor's name,
    and counts with ``SPONSOR_MIN_CUES`` kinds of cue; a read that opens with a sponsor cue
    and names its sponsor again later has two (``NAMED_AGAIN``).

    With the transcript's sentence vectors (``sentences``: units and unit-length rows, as
    :func:`label_segments` takes them), a read opened by a sponsor cue also runs on through
    the sentences that talk about what it talks about and not about the programme
    (:func:`on_the_read`): a host says "it keeps your notes in step" without naming the app,
    and speech recognition garbles a brand's name as often as it gets it.  Such a read has
    its second cue (``ON_ITS_SUBJECT``).
    """
    meaning = _sentence_vectors(sentences)
    sentences = [u for u in speech_units(transcript, windows=False) if not any(s <= u.mid <= e for s, e in exclude)]
    out: list[AdSegment] = []
    i = 0
    while i < len(sentences):
        u = sentences[i]
        low = u.text.lower()
        cues = set(text_cues(low))
        nxt = sentences[i + 1] if i + 1 < len(sentences) else None
        pair = (cues | set(text_cues(nxt.text))) if nxt is not None and nxt.start - u.end <= SPONSOR_GAP else cues
        if "sponsor" in cues:
            # the name after the phrase ("sponsored by X"), else the sentence's capitalised words ("X sponsors
            # this video", "X, the official partner of the show")
            names, first = _sponsor_names(low) or _proper_names(u.text), i
        elif cues & CALL_TO_ACTION and len(pair & CALL_TO_ACTION) >= 2:
            # two kinds of call to action in the sentence, or split over it and the next ("Go to x dot com."
            # "Use code Y for 20% off.")
            said = [low] + ([nxt.text.lower()] if pair != cues else [])
            names = (next((b for b in map(_brand_of, said) if b), [])
                     or _proper_names(u.text) or (_proper_names(nxt.text) if pair != cues else []))
            first = earlier_naming(sentences, i, names, out[-1].end if out else -1.0)
        else:
            i += 1
            continue
        run = sentences[first:i + 1]
        for v in run:
            cues |= set(text_cues(v.text))
        j = i + 1
        while j < len(sentences) and sentences[j].start - run[-1].end <= SPONSOR_GAP:
            nxt = sentences[j].text.lower()
            found = set(text_cues(nxt))
            if not found and not _names_in(names, nxt):
                # one sentence without a cue may sit inside a read ("X keeps you safe"): look past it
                after = sentences[j + 1] if j + 1 < len(sentences) else None
                # a read opened by a sponsor's phrase goes on through what it talks about until its call to
                # action, which ends it ("... free with the link in the description.")
                if "sponsor" in cues and not cues & CALL_TO_ACTION and on_the_read(meaning, run, sentences[j], sentences):
                    found = {ON_ITS_SUBJECT}
                elif after is None or after.start - sentences[j].end > SPONSOR_GAP or not text_cues(after.text):
                    break
            run.append(sentences[j])
            cues |= found
            j += 1
        if "sponsor" in cues and names and any(_names_in(names, v.text.lower()) for v in run[1:]):
            cues.add(NAMED_AGAIN)  # the read names its sponsor again: a host's plug, not a passing mention
        if len(cues) >= SPONSOR_MIN_CUES:
            kinds = tuple(sorted(cues))
            confidence = round(min(0.95, 0.45 + 0.15 * len(kinds) + 0.05 * (len(run) - 1)), 3)
            out.append(AdSegment(run[0].start, run[-1].end, "sponsor", confidence,
                                 "sponsor read: " + ", ".join(kinds) + f' — "{_clip(run[0].text)}"',
                                 blocks=0, cues=kinds, text=" ".join(v.text for v in run)))
        i = j
    return out


def _sentence_vectors(sentences: tuple[Sequence[Unit], np.ndarray] | None) -> dict[tuple[float, str], np.ndarray]:
    """``(start, text)`` of each sentence unit -> its vector (empty without vectors)."""
    if sentences is None or sentences[1] is None or np.ndim(sentences[1]) != 2 or not np.shape(sentences[1])[1]:
        return {}
    return {(round(u.start, 3), u.text): v for u, v in zip(sentences[0], sentences[1])}


def on_the_read(meaning: dict[tuple[float, str], np.ndarray], run: Sequence[Unit], u: Unit,
                every: Sequence[Unit]) -> bool:
    """Whether sentence ``u`` goes on with the read ``run`` (its sentences so far) rather than with
    the programme: its vector is closer (cosine) to the mean of the read's than to the mean of
    the sentences of ``every`` (the speech outside ad breaks) in the ``CONTEXT_SECONDS`` before
    the read, and than to the mean of those in the ``CONTEXT_SECONDS`` after ``u`` (where the
    programme comes back, on a subject of its own when the read sat between two).  False
    without vectors or without speech before the read.  Nothing here is fitted: cosines compared.
    """
    def vec(x: Unit) -> np.ndarray | None:
        return meaning.get((round(x.start, 3), x.text))

    def mean(units: Sequence[Unit]) -> np.ndarray | None:
        rows = [vec(x) for x in units]
        return None if not rows or any(r is None for r in rows) else np.mean(rows, axis=0)

    def cosine(a: np.ndarray, b: np.ndarray) -> float:
        return _cosine(a, b) or 0.0

    v, read = vec(u), mean(run)
    before = mean([x for x in every if run[0].start - CONTEXT_SECONDS <= x.start and x.end <= run[0].start])
    if v is None or read is None or before is None:
        return False
    after = mean([x for x in every if u.end <= x.start <= u.end + CONTEXT_SECONDS])
    rival = max(cosine(v, before), cosine(v, after) if after is not None else -1.0)
    return cosine(v, read) > rival


def earlier_naming(sentences: Sequence[Unit], i: int, names: Sequence[str], after: float) -> int:
    """The first of the sentences before ``sentences[i]`` that name the brand ``names`` (a call
    to action's read opens where the brand is first named), each within ``SPONSOR_GAP`` of the
    next, starting after ``after`` seconds; one sentence that does not name it may sit between
    two that do.  ``i`` when none does.
    """
    def near(k: int) -> bool:  # sentence k - 1 is close enough before sentence k to join it
        return k > 0 and sentences[k].start - sentences[k - 1].end <= SPONSOR_GAP and sentences[k - 1].start >= after

    def names_it(k: int) -> bool:
        return _names_in(names, sentences[k].text.lower())

    first = i
    while near(first):
        if names_it(first - 1):
            first -= 1
        elif near(first - 1) and names_it(first - 2):
            first -= 2
        else:
            break
    return first


_URL_BRAND = re.compile(r"((?:[a-z0-9-]+ ){0,2}[a-z0-9-]+)\s?(?:\.|dot )(?:com|net|org|io|tv|co)\b")


def _brand_of(low: str) -> list[str]:
    """Distinctive words of the brand in a sentence's web address ("right path.com" -> ["right", "path"])."""
    m = _URL_BRAND.search(low)
    if not m:
        return []
    words = [w for w in re.findall(r"[a-z0-9]+", m.group(1)) if len(w) >= 4 and w not in _NOT_BRAND]
    return words[-2:]


_NOT_BRAND = frozenset({"visit", "head", "over", "today", "online", "just", "check", "out", "www", "http", "https"})


def _proper_names(text: str) -> list[str]:
    """The capitalised words of at least 4 letters in a call to action without a web address,
    lower-cased ("Kelpie is offering 60% off with code KELP" -> ["kelpie"]): its brand, named
    in the sentences before it."""
    words = re.findall(r"\b[A-Z][a-z0-9]{3,}\b", text)
    return [w.lower() for w in words if w.lower() not in _NOT_BRAND and w.lower() not in _CTA_VERBS][:2]


_CTA_VERBS = frozenset({"use", "enter", "apply", "order", "call", "sign", "start", "join", "grab", "claim", "shop",
                        "download", "save", "this", "that", "your", "with", "plus", "only", "free", "every"})


def _names_in(names: Sequence[str], low: str) -> bool:
    """Whether a sentence names the sponsor, allowing the misspellings of speech recognition
    ("Wright Pass" heard again as "right past")."""
    import difflib

    words = re.findall(r"[a-z0-9]+", low)
    words += [a + b for a, b in zip(words, words[1:])]  # "kite box" is the "kitebox" of kitebox.com
    return any(n in low or difflib.get_close_matches(n, words, n=1, cutoff=0.8) for n in names)


def _sponsor_names(low: str) -> list[str]:
    """Distinctive words of the sponsor's name ("brightpath vpn" -> ["brightpath"])."""
    m = _SPONSOR_NAME.search(low)
    if not m:
        return []
    words = [w for w in re.findall(r"[a-z0-9]+", m.group(1))[:3] if len(w) >= 4 and w not in _NOT_NAME]
    return words[:2]


_NOT_NAME = frozenset({"today", "with", "this", "that", "their", "these", "those", "sponsoring", "supporting",
                       "partnering", "making", "video", "episode", "channel", "show", "part", "from", "support"})


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


