"""Time-stamped text evidence from a video, and hybrid retrieval over it.

What a job can *read* in a video, as :class:`Unit` s (a piece of text with the seconds it
belongs to), and a search that ranks them for a query::

    units = speech_units(transcript)                 # sentences + sliding windows of words
    units += screen_units(lines)                     # on-screen lines (vidq.analysis.screen) over their spans
    index = EvidenceIndex(units, vectors, encoder)   # MiniLM vectors (the timeline's) + BM25 statistics
    hits = index.search("secret code", k=10)         # list[Hit], best first
    hits = search(units, "secret code", k=10)        # build (embedding the units) + search in one call

Retrieval is hybrid: MiniLM cosine similarity (dense) and BM25 over normalised tokens
(lexical), fused by reciprocal rank (``1 / (RRF_K + rank)`` summed over the two lists;
units without a lexical match get no lexical rank).  Overlapping hits of one source are
reduced to the best one (``dedupe=True``), so ten hits are ten places, not ten windows
over the same sentence.

Tokens (:func:`tokens`) are what makes spoken and written numbers meet: lower case,
letters and digits split (``FIZZ10`` -> ``fizz 10``), number words become digits with
tens and hundreds combined (``ninety nine`` -> ``99``, ``seven hundred forty one`` ->
``741``), and adjacent digit tokens join (``7 4 1``, ``7-4-1``, ``seven four one`` and
``741`` all give ``741``; ``1.99`` and ``one ninety nine`` give ``199``); English stop
words are dropped and plurals lightly stemmed.  A query term that no unit contains is
expanded to close spellings that do (ASR and OCR misspell names), at reduced weight.

Units carry times in seconds on the file timeline.  Speech units keep their words (with
times), so a caller can narrow a hit to the words that matched (:func:`matched_span`).

This module knows nothing about decoding, Typer, rendering, or which job uses it; the one
model it touches is the lite stack's MiniLM (``vidq.models.lite.embed``), imported on first
use to embed units or a query.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from vidq.analysis.extractive import stem
from vidq.speech import Transcript, Word, split_segment_words
from vidq.store import Store, params_digest

log = logging.getLogger("vidq.analysis")

EMBED_STAGE = "evidence-embed/1"  # cache stage of unit vectors
SENTENCE_MAX_WORDS = 40  # longer sentences are cut into pieces of this many words
WINDOW_WORDS = 8  # words per sliding window
WINDOW_STRIDE = 4  # words between window starts
WINDOW_MAX_PAUSE = 3.0  # seconds: a window never spans a longer silence between two words
RRF_K = 60.0  # reciprocal-rank fusion constant (Cormack et al. 2009)
BM25_K1 = 1.2  # BM25 term-frequency saturation
BM25_B = 0.75  # BM25 length normalisation
FUZZY_CUTOFF = 0.8  # difflib ratio for a query term to match a close spelling
FUZZY_MIN_LEN = 4  # shorter query terms are never expanded
JOIN_MIN_LEN = 6  # letters: a term this long may match adjacent words run together (match_terms(joined=True))
JOIN_MOST = 3  # words in the longest run
# SOUND_*: a multiple-choice option's term may also meet a word that sounds like it ("Dara" heard as "dark",
# "Harlow" as "hollow", "apricots" as "pre-cuts"): fitted on the tuning family's ask items by
# `benchmarks/calibrate_ask.py --fit` (the strictest of the settings that tie at the best score)
SOUND_CUTOFF = 0.8  # difflib ratio of the two words' sound keys (sound_key) for them to sound alike ...
SOUND_SPELLING_FLOOR = 0.5  # ... when their spellings are at least this close too
SOUND_WEIGHT = 0.8  # a sound-alike counts this share of its key ratio (a close spelling counts its whole ratio)

STOP_WORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does",
    "for", "from", "had", "has", "have", "he", "her", "his", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "no", "not", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "those", "to", "too", "us", "was", "we", "were",
    "what", "when", "where", "which", "who", "will", "with", "would", "you", "your", "about", "just",
    "also", "very", "show", "shows", "say", "says", "said",
])

_UNIT_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS)}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"))}
_SCALES = {"hundred": 100, "thousand": 1000}
_TOKEN_RE = re.compile(r"[a-z]+|[0-9]+")
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*$")


# -- units ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """A piece of text and the time span it belongs to."""

    start: float  # seconds on the file timeline
    end: float  # seconds, >= start
    text: str  # what was said or shown
    source: str  # "speech" or "screen"
    kind: str  # "sentence" | "window" (speech) | "line" (screen)
    words: tuple[Word, ...] = ()  # speech: the words with their times; screen: ()
    frames: int = 0  # screen: sampled frames the line was seen on; speech: 0
    confidence: float | None = None  # screen: OCR score of the reading kept; speech: None

    @property
    def mid(self) -> float:
        return (self.start + self.end) / 2


def _segment_words(transcript: Transcript) -> list[list[Word]]:
    """Words per segment (cue text split by time when the segment has no word times)."""
    return [words for words, _ in _spelled_segments(transcript)]


def _spelled_segments(transcript: Transcript) -> list[tuple[list[Word], dict[int, tuple[str, int, int]]]]:
    """Words per segment, each mapped (by ``id``) to where it stands in its segment's text.

    Whisper's words lose their spacing ("keepers'" "cottage", "$2" ",000"); the segment text
    keeps it, so a unit's text is cut from it (see :func:`_spelling`).
    """
    out = []
    for seg in transcript.segments:
        words = list(seg.words) if seg.words else split_segment_words(seg.start, seg.end, seg.text)
        words = [w for w in words if w.text.strip()]
        if not words:
            continue
        where: dict[int, tuple[str, int, int]] = {}
        cursor = 0
        for w in words:
            pos = seg.text.find(w.text.strip(), cursor)
            if pos < 0:
                break  # the text does not spell these words: the rest is joined by join_words
            cursor = pos + len(w.text.strip())
            where[id(w)] = (seg.text, pos, cursor)
        out.append((words, where))
    return out


_ATTACH_AFTER = re.compile(r"^[,.;:!?%)\]}'’…]")  # a word starting like this continues the one before
_ATTACH_BEFORE = re.compile(r"[$£€(\[{-]$")  # ... as does any word after one ending like this


def join_words(texts: Sequence[str]) -> str:
    """Words (as Whisper splits them) back into text when their segment's spelling is unknown:
    ``["$2", ",000"]`` -> ``"$2,000"``.

    >>> join_words(["The", "queen", "lays", "$2", ",000", "eggs."])
    'The queen lays $2,000 eggs.'
    """
    out = ""
    for t in (w.strip() for w in texts):
        if not t:
            continue
        glue = not out or _ATTACH_AFTER.match(t) or _ATTACH_BEFORE.search(out)
        out += t if glue else " " + t
    return out


def _spelling(words: Sequence[Word], where: dict[int, tuple[str, int, int]]) -> str:
    """The words' text as their segments spell it (pieces from different segments joined by a space)."""
    pieces: list[str] = []
    run: list[Word] = []

    def flush() -> None:
        if not run:
            return
        first, last = where.get(id(run[0])), where.get(id(run[-1]))
        if first is not None and last is not None and first[0] is last[0] and all(id(w) in where for w in run):
            pieces.append(first[0][first[1]:last[2]].strip())
        else:
            pieces.append(join_words([w.text for w in run]))
        run.clear()

    for w in words:
        if run and (id(w) not in where or id(run[-1]) not in where or where[id(w)][0] is not where[id(run[-1])][0]):
            flush()
        run.append(w)
    flush()
    return " ".join(p for p in pieces if p)


def _unit(words: Sequence[Word], kind: str, where: dict[int, tuple[str, int, int]] | None = None) -> Unit:
    text = _spelling(words, where) if where else join_words([w.text for w in words])
    return Unit(words[0].start, max(words[-1].end, words[0].start), text, "speech", kind, tuple(words))


def speech_units(transcript: Transcript, *, windows: bool = True, window: int = WINDOW_WORDS,
                 stride: int = WINDOW_STRIDE) -> list[Unit]:
    """Sentences of the transcript, plus (``windows=True``) sliding windows of ``window`` words.

    A sentence ends at ``.``, ``!`` or ``?`` or at the end of a segment, and is cut every
    ``SENTENCE_MAX_WORDS`` words.  Windows run over all words in time order, every
    ``stride`` words, never across a pause longer than ``WINDOW_MAX_PAUSE`` seconds (a
    final shorter window covers the tail of each run).  Returns units ordered by start
    (sentences before windows at equal start).
    """
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be positive, got {window} and {stride}")
    units: list[Unit] = []
    every: list[Word] = []
    where: dict[int, tuple[str, int, int]] = {}  # id(word) -> (its segment's text, start, end)
    for words, spelled in _spelled_segments(transcript):
        every.extend(words)
        where.update(spelled)
        current: list[Word] = []
        for w in words:
            current.append(w)
            if _SENTENCE_END.search(w.text) or len(current) >= SENTENCE_MAX_WORDS:
                units.append(_unit(current, "sentence", where))
                current = []
        if current:
            units.append(_unit(current, "sentence", where))
    if windows:
        for run in _runs_without_pauses(every):
            if len(run) <= window:
                continue  # the run's sentences already cover it
            starts = list(range(0, len(run) - window + 1, stride))
            if starts[-1] + window < len(run):
                starts.append(len(run) - window)
            units.extend(_unit(run[s:s + window], "window", where) for s in starts)
    units.sort(key=lambda u: (u.start, u.kind != "sentence", u.end))
    return units


def _runs_without_pauses(words: Sequence[Word]) -> list[list[Word]]:
    runs: list[list[Word]] = []
    for w in words:
        if runs and w.start - runs[-1][-1].end <= WINDOW_MAX_PAUSE:
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs


def screen_units(lines: Sequence[Any]) -> list[Unit]:
    """Each on-screen line (``start``, ``end``, ``text``, ``frames``, ``score``) as one unit over its span."""
    return [Unit(ln.start, ln.end, ln.text, "screen", "line", frames=ln.frames, confidence=round(ln.score, 4))
            for ln in lines]


# -- tokens -----------------------------------------------------------------------------------
def _small(raw: list[str], i: int) -> tuple[int | None, int]:
    """A value below 100 starting at ``raw[i]``: ``ninety nine`` -> 99, ``seven`` -> 7."""
    w = raw[i] if i < len(raw) else ""
    if w in _TENS:
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in _UNITS and 0 < _UNITS[nxt] < 10:
            return _TENS[w] + _UNITS[nxt], i + 2
        return _TENS[w], i + 1
    if w in _UNITS:
        return _UNITS[w], i + 1
    return None, i


def _number_phrase(raw: list[str], i: int) -> tuple[int, int]:
    value, i = _small(raw, i)
    assert value is not None
    total = 0
    while i < len(raw) and raw[i] in _SCALES and 0 < value < 1000:
        scale = _SCALES[raw[i]]
        i += 1
        if scale == 1000:
            total += value * 1000
            value = 0
        else:
            value *= 100
        j = i + 1 if i < len(raw) and raw[i] == "and" else i
        rest, k = _small(raw, j)
        if rest is not None and (raw[j] not in _UNITS or _UNITS[raw[j]] != 0):
            if raw[k:k + 1] and raw[k] in _SCALES:  # "two thousand three hundred": the next scale multiplies it
                total += value
                value = rest
                i = k
                continue
            value += rest
            i = k
    return total + value, i


def _token_stream(pieces: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """Normalise raw ``(token, origin)`` pairs into ``(token, first origin, last origin)``.

    Number words become digits (one value per number phrase), adjacent digit tokens join,
    stop words go, plurals are stemmed; origins (e.g. word positions) follow the tokens.
    """
    raw = [t for t, _ in pieces]
    numbered: list[tuple[str, int, int]] = []
    i = 0
    while i < len(raw):
        if raw[i] in _UNITS or raw[i] in _TENS:
            value, j = _number_phrase(raw, i)
            numbered.append((str(value), pieces[i][1], pieces[j - 1][1]))
            i = j
        else:
            numbered.append((raw[i], pieces[i][1], pieces[i][1]))
            i += 1
    merged: list[tuple[str, int, int]] = []
    for tok, lo, hi in numbered:
        if tok.isdigit() and merged and merged[-1][0].isdigit():
            merged[-1] = (merged[-1][0] + tok, merged[-1][1], hi)
        else:
            merged.append((tok, lo, hi))
    return [(tok if tok.isdigit() else stem(tok), lo, hi) for tok, lo, hi in merged if tok not in STOP_WORDS]


def _raw_tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(re.sub(r"['\u2019]s\b", "", text.lower()))


def tokens(text: str) -> list[str]:
    """Normalised search tokens of ``text`` (see the module docstring); stop words removed."""
    return [t for t, _, _ in _token_stream([(r, 0) for r in _raw_tokens(text)])]


# -- retrieval --------------------------------------------------------------------------------
class TextEncoder(Protocol):
    """What the index needs from an embedder (``vidq.models.lite.embed.Embedder`` is one)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(N, D)`` float32, unit-length rows."""


@dataclass(frozen=True)
class Hit:
    """One retrieved unit and why it ranked where it did."""

    index: int  # position of the unit in the index
    unit: Unit  # the unit
    score: float  # fused reciprocal-rank score (higher is better; comparable within one search only)
    dense: float  # cosine similarity of unit and query (0 when the index has no vectors)
    lexical: float  # BM25 score (0: no query term in the unit)
    matched: tuple[str, ...]  # unit tokens that matched query terms (exactly or by close spelling)


class _LazyMiniLM:
    """The lite MiniLM, loaded on the first ``encode`` (an index whose vectors are cached never loads it)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from vidq.models.lite.embed import load_embedder

        return load_embedder().encode(texts)


def embed_units(units: Sequence[Unit], *, encoder: TextEncoder | None = None, store: Store | None = None,
                file_key: str | None = None) -> tuple[np.ndarray, TextEncoder]:
    """The ``(N, D)`` float32 vectors of ``units`` (MiniLM unless ``encoder`` is given) and the
    encoder; with ``store`` and ``file_key`` cached under ``EMBED_STAGE``, keyed by the texts."""
    label = type(encoder).__name__ if encoder is not None else None
    if encoder is None:
        from vidq.models.lite.embed import MODEL_LABEL

        encoder, label = _LazyMiniLM(), MODEL_LABEL
    texts = [u.text for u in units]
    params = {"model": label, "texts": params_digest({"t": texts}), "n": len(texts)}
    cached = store.get_arrays(file_key, EMBED_STAGE, params) if store is not None and file_key else None
    if cached is not None and cached.get("vectors") is not None and cached["vectors"].shape[0] == len(texts):
        return cached["vectors"].astype(np.float32), encoder
    vectors = np.asarray(encoder.encode(texts), np.float32) if texts else np.zeros((0, 1), np.float32)
    if store is not None and file_key:
        store.put_arrays(file_key, EMBED_STAGE, params, {"vectors": vectors})
    return vectors, encoder


class EvidenceIndex:
    """Units with their vectors (``(N, D)`` float32) and BM25 statistics."""

    def __init__(self, units: Sequence[Unit], vectors: np.ndarray | None, encoder: TextEncoder | None):
        self.units = list(units)  # in the order given
        self.vectors = vectors  # (N, D) float32 unit rows, or None for lexical-only search
        self.encoder = encoder  # encodes queries (None when vectors is None)
        self.docs = [Counter(tokens(u.text)) for u in self.units]  # token counts per unit
        self.lengths = np.array([sum(d.values()) for d in self.docs], np.float64)  # (N,)
        self.avg_length = float(self.lengths.mean()) if self.units else 0.0
        self.df: Counter[str] = Counter()  # units containing each token
        for d in self.docs:
            self.df.update(d.keys())
        if vectors is not None and vectors.shape[0] != len(self.units):
            raise ValueError(f"{len(self.units)} units but vectors of shape {vectors.shape}")

    @classmethod
    def build(cls, units: Sequence[Unit], *, encoder: TextEncoder | None = None, dense: bool = True,
              store: Store | None = None, file_key: str | None = None) -> EvidenceIndex:
        """Embed every unit (MiniLM unless ``encoder`` is given; none with ``dense=False``).

        With ``store`` and ``file_key`` the vectors are cached under ``EMBED_STAGE``, keyed
        by the unit texts, so a second job on the same video does not embed again.
        """
        if not dense:
            return cls(units, None, None)
        vectors, encoder = embed_units(units, encoder=encoder, store=store, file_key=file_key)
        return cls(units, vectors, encoder)

    def __len__(self) -> int:
        return len(self.units)

    # -- scores -------------------------------------------------------------------------------
    def query_terms(self, query: str) -> dict[str, float]:
        """Query tokens with weights: 1 for each token, ratio (< 1) for close spellings in the index."""
        terms: dict[str, float] = {}
        vocab = None
        for t in tokens(query):
            terms[t] = max(terms.get(t, 0.0), 1.0)
            if t in self.df or len(t) < FUZZY_MIN_LEN or t.isdigit():
                continue
            vocab = vocab if vocab is not None else [v for v in self.df if not v.isdigit()]
            for close in difflib.get_close_matches(t, vocab, n=3, cutoff=FUZZY_CUTOFF):
                ratio = difflib.SequenceMatcher(None, t, close).ratio()
                terms[close] = max(terms.get(close, 0.0), ratio)
        return terms

    def bm25(self, terms: dict[str, float]) -> np.ndarray:
        """BM25 of every unit for weighted ``terms``: ``(N,)`` float64."""
        n = len(self.units)
        scores = np.zeros(n, np.float64)
        if n == 0:
            return scores
        norm = BM25_K1 * (1 - BM25_B + BM25_B * self.lengths / max(self.avg_length, 1e-9))  # (N,)
        for term, weight in terms.items():
            df = self.df.get(term, 0)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = np.array([d.get(term, 0) for d in self.docs], np.float64)
            scores += weight * idf * tf * (BM25_K1 + 1) / (tf + norm)
        return scores

    def cosine(self, query: str) -> np.ndarray:
        """Cosine similarity of every unit to the query: ``(N,)`` float32 (zeros without vectors)."""
        if self.vectors is None or self.encoder is None or not self.units:
            return np.zeros(len(self.units), np.float32)
        q = np.asarray(self.encoder.encode([query]), np.float32).reshape(-1)
        return self.vectors @ q

    def search(self, query: str, k: int = 10, *, sources: Sequence[str] | None = None,
               dedupe: bool = True) -> list[Hit]:
        """The ``k`` best units for ``query``, best first.

        ``sources`` keeps only units from those sources (``"speech"``, ``"screen"``).
        ``dedupe`` drops a unit that overlaps in time a better-ranked unit of the same source.
        """
        if not self.units or k <= 0:
            return []
        terms = self.query_terms(query)
        lexical = self.bm25(terms)
        dense = self.cosine(query)
        allowed = np.ones(len(self.units), bool)
        if sources is not None:
            allowed = np.array([u.source in sources for u in self.units])
        fused = np.zeros(len(self.units), np.float64)
        if self.vectors is not None:
            order = np.argsort(-dense, kind="stable")
            ranks = np.empty(len(order), np.int64)
            ranks[order] = np.arange(1, len(order) + 1)
            fused += 1.0 / (RRF_K + ranks)
        has_lex = lexical > 0
        if has_lex.any():
            order = np.argsort(-lexical, kind="stable")
            ranks = np.empty(len(order), np.int64)
            ranks[order] = np.arange(1, len(order) + 1)
            fused += np.where(has_lex, 1.0 / (RRF_K + ranks), 0.0)
        fused = np.where(allowed, fused, -np.inf)
        hits: list[Hit] = []
        kept: list[Unit] = []
        for i in np.argsort(-fused, kind="stable"):
            if not np.isfinite(fused[i]) or fused[i] <= 0:
                break
            unit = self.units[int(i)]
            if dedupe and any(u.source == unit.source and u.start <= unit.end and unit.start <= u.end for u in kept):
                continue
            kept.append(unit)
            matched = tuple(t for t in self.docs[int(i)] if t in terms)
            hits.append(Hit(int(i), unit, float(fused[i]), float(dense[i]), float(lexical[i]), matched))
            if len(hits) >= k:
                break
        return hits


def search(units: Sequence[Unit] | EvidenceIndex, query: str, k: int = 10, **kwargs: Any) -> list[Hit]:
    """``EvidenceIndex.build(units).search(query, k)``; pass an index to reuse its vectors.

    Keyword arguments go to :meth:`EvidenceIndex.search` (``sources``, ``dedupe``) or, when
    ``units`` is a list, to :meth:`EvidenceIndex.build` (``encoder``, ``dense``, ``store``,
    ``file_key``).
    """
    search_kw = {k_: kwargs.pop(k_) for k_ in ("sources", "dedupe") if k_ in kwargs}
    index = units if isinstance(units, EvidenceIndex) else EvidenceIndex.build(units, **kwargs)
    return index.search(query, k, **search_kw)


# -- matching (the lite verifier) -------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """How well a unit's text contains a query's terms."""

    coverage: float  # weighted fraction of query terms found in the unit (0..1); close spellings count by ratio
    start: float  # seconds: first matched word (speech) or the unit's start (screen)
    end: float  # seconds: last matched word (speech) or the unit's end (screen)
    quote: str  # the unit's text around the matched words
    terms: tuple[str, ...]  # query terms that were found


def joined_words(text: str, *, most: int = JOIN_MOST) -> set[str]:
    """Runs of two to ``most`` adjacent words of ``text`` written as one, stop words included.

    Speech recognition splits a word it does not know into words it does ("overnight" heard
    as "over height", "annealer" as "an eel"); a term can match the run.  Runs shorter than
    ``JOIN_MIN_LEN`` letters, or holding a number, are left out.

    >>> sorted(joined_words("Cool over height in it", most=2))
    ['coolover', 'heightin', 'overheight']
    """
    raw = _raw_tokens(text)
    out = set()
    for n in range(2, most + 1):
        for i in range(len(raw) - n + 1):
            run = raw[i:i + n]
            if any(w.isdigit() for w in run):
                continue
            joined = "".join(run)
            if len(joined) >= JOIN_MIN_LEN:
                out.add(joined)
    return out


_SOUND_RULES = tuple((re.compile(a), b) for a, b in (
    (r"^[gkp]n", "n"), (r"^wr", "r"), (r"^x", "s"), (r"^wh", "w"), (r"ph", "f"), (r"ck", "k"), (r"sch", "sk"),
    (r"t?ch|sh", "X"), (r"th", "0"), (r"gh", ""), (r"qu?", "k"), (r"x", "ks"), (r"z", "s"), (r"dg", "j"),
    (r"mb$", "m"), (r"c(?=[eiy])", "s"), (r"c", "k"), (r"g(?=[eiy])", "j")))
_SOUND_SAME = {"d": "t", "b": "p", "v": "f"}  # voiced and voiceless pairs a recogniser confuses


@lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """A rough English sound key of ``word`` (after Metaphone): consonant sounds, upper case,
    vowels dropped but a leading one (``A``), doubled sounds once, voiced and voiceless pairs
    alike.

    >>> sound_key("Harlow"), sound_key("hollow"), sound_key("apricots"), sound_key("precuts")
    ('HRL', 'HL', 'APRKTS', 'PRKTS')
    """
    w = re.sub(r"[^a-z]", "", word.lower())
    for rule, sub in _SOUND_RULES:
        w = rule.sub(sub, w)
    out: list[str] = []
    for i, ch in enumerate(w):
        if ch in "aeiou":
            if i == 0:
                out.append("A")
            continue
        if ch == "y" or (ch in "wh" and (i + 1 >= len(w) or w[i + 1] not in "aeiou")):
            continue
        ch = _SOUND_SAME.get(ch, ch).upper()
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def sounds_like(term: str, word: str) -> float:
    """Credit (0..``SOUND_WEIGHT``) for ``word`` as a mishearing of ``term``: their sound keys
    (:func:`sound_key`, two sounds or more each) at least ``SOUND_CUTOFF`` alike and their
    spellings at least ``SOUND_SPELLING_FLOOR``; 0 otherwise.

    >>> sounds_like("dara", "dark"), sounds_like("nine", "hind"), sounds_like("dates", "days")
    (0.64, 0.0, 0.8)
    """
    a, b = sound_key(term), sound_key(word)
    if len(a) < 2 or len(b) < 2 or difflib.SequenceMatcher(None, term, word).ratio() < SOUND_SPELLING_FLOOR:
        return 0.0
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return round(SOUND_WEIGHT * ratio, 4) if ratio >= SOUND_CUTOFF else 0.0


def match_terms(query: str | Sequence[str], unit: Unit, *, joined: bool = False, sounds: bool = False,
                besides: Collection[str] = ()) -> Match:
    """Exact or close-spelling match of ``query``'s tokens in ``unit`` (no model).

    ``query`` is text, or tokens already normalised by :func:`tokens` (taken as they are:
    joined into text again, two numbers side by side would read as one, "10 20" as 1020).

    Each query token counts 1 if the unit has it, else the best difflib ratio against the
    unit's tokens when that is at least ``FUZZY_CUTOFF`` (never for numbers: a wrong code is
    a wrong code), else 0; ``coverage`` is their mean.  With ``joined``, a term of at least
    ``JOIN_MIN_LEN`` letters also meets runs of adjacent words written as one
    (:func:`joined_words`: a word the recogniser split); with ``sounds``, a term no close
    spelling meets counts what a word (or run) that sounds like it earns (:func:`sounds_like`),
    except the words in ``besides`` (a question's own words: the evidence repeats them where
    the question points, which says nothing of the answer: "cold" must not win by "cool").
    Speech units narrow ``start``/``end`` to the matched words (close spellings; a sound-alike
    leaves the whole unit); ``quote`` is those words with a little context.
    """
    q = list(dict.fromkeys(tokens(query) if isinstance(query, str) else query))
    if not q:
        return Match(0.0, unit.start, unit.end, unit.text, ())
    unit_tokens = set(tokens(unit.text))
    runs: set[str] | None = None
    found: dict[str, float] = {}
    for t in q:
        if t in unit_tokens:
            found[t] = 1.0
        elif not t.isdigit() and len(t) >= FUZZY_MIN_LEN:
            best = max((difflib.SequenceMatcher(None, t, u).ratio() for u in unit_tokens if not u.isdigit()),
                       default=0.0)
            if joined and best < FUZZY_CUTOFF and len(t) >= JOIN_MIN_LEN:
                runs = joined_words(unit.text) if runs is None else runs
                best = max([best, *(difflib.SequenceMatcher(None, t, r).ratio() for r in runs)])
            if best >= FUZZY_CUTOFF:
                found[t] = best
            elif sounds:
                alike = [u for u in unit_tokens if not u.isdigit() and u not in besides]
                alike += sorted(runs or ()) if joined and len(t) >= JOIN_MIN_LEN else []
                heard = max((sounds_like(t, u) for u in alike), default=0.0)
                if heard > 0:
                    found[t] = heard
    coverage = sum(found.values()) / len(q)
    start, end, quote = matched_span(unit, set(found))
    return Match(round(coverage, 4), start, end, quote, tuple(found))


def matched_span(unit: Unit, terms: set[str], *, context: int = 3) -> tuple[float, float, str]:
    """Times of the words of a speech unit that carry ``terms`` (whole unit for screen units).

    Returns ``(start, end, quote)``; the quote is the matched words plus ``context`` words
    each side.  A number spoken over several words (``seven four one``) matches as the
    words that form it.
    """
    if not unit.words or not terms:
        return unit.start, unit.end, unit.text
    pieces = [(r, i) for i, w in enumerate(unit.words) for r in _raw_tokens(w.text)]
    spans = [(lo, hi) for tok, lo, hi in _token_stream(pieces) if _close_to(tok, terms)]
    if not spans:
        return unit.start, unit.end, unit.text
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    words = unit.words
    quote = " ".join(w.text for w in words[max(0, lo - context):hi + context + 1])
    return words[lo].start, max(words[hi].end, words[lo].start), quote


def _close_to(token: str, terms: set[str]) -> bool:
    if token in terms:
        return True
    if token.isdigit():
        return False
    return any(not t.isdigit() and difflib.SequenceMatcher(None, token, t).ratio() >= FUZZY_CUTOFF for t in terms)
