"""``vidq find QUERY`` with no file: one search over every timeline in the library.

    result = search(Library(root), "ad for soda", top=5)   # a vidq.tasks.find.FindResult
    result.hits                                            # FindHit's, each naming its file

The query is understood as the single-file ``find`` understands it
(:func:`vidq.tasks.query.parse_intent`) and scored the same way, so a hit has the score it
would have in its own file:

* **ad / sponsor / break queries** rank the stored spots and sponsor reads with
  :func:`vidq.tasks.query.rank_segment` over their own vectors (a spot's text read as one, stored
  at index time; a sponsor read's units) and the ad categories'
  vectors (stored at index time), calibrated by :func:`~vidq.tasks.query.calibrate`;
* **everything else** takes candidates from both sides of the library's index (BM25 over
  the units' normalised tokens in FTS5, and an exact cosine search over the vector file),
  fuses them by reciprocal rank as :class:`vidq.analysis.evidence.EvidenceIndex` does, and
  verifies the best by their words (:func:`vidq.tasks.find.lite_verify`).

Hits of one file that overlap are reduced to the best one; ``threshold`` and ``top``
apply across the library.  The query's vector is computed once per model and text and kept
in the library, so a repeated query (a cron job's) loads no model at all.

Knows nothing about the CLI.
"""

from __future__ import annotations

import difflib
import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidq.analysis.evidence import FUZZY_CUTOFF, FUZZY_MIN_LEN, RRF_K, Hit, Unit, tokens
from vidq.errors import InputError
from vidq.library.library import CATEGORY_PREFIX, Library
from vidq.library.vectors import top_rows
from vidq.speech.types import Word
from vidq.tasks.find import (
    DEFAULT_THRESHOLD,
    DEFAULT_TOP,
    FindHit,
    FindResult,
    _dedupe,
    lite_verify,
    needle_terms,
)
from vidq.tasks.query import (
    AD_CATEGORIES,
    Intent,
    SegmentHit,
    lexical_hit,
    parse_intent,
    rank_segment,
    ranked_hit,
    rivals_of,
    sort_hits,
)

log = logging.getLogger("vidq.library")

RETRIEVED = 100  # units taken from each side (BM25, vectors) before fusion
VERIFIED = 50  # fused candidates verified by their words
LIMITS = ("the library is searched by the speech and on-screen text its analysis read (verified by the query's "
          "words, as lite does); pictures are not looked at")


@dataclass(frozen=True)
class _Query:
    """What one search needs besides the library."""

    intent: Intent
    files: dict[int, str]  # file id -> path, the files searched
    vector: np.ndarray | None  # the query's (or subject's) vector, None: lexical only
    categories: np.ndarray | None  # AD_CATEGORIES vectors (C, D)


def search(lib: Library, query: str, *, top: int = DEFAULT_TOP, threshold: float = DEFAULT_THRESHOLD,
           within: str | None = None, encoder: Any = None) -> FindResult:
    """Search every file of ``lib`` (those whose path matches the glob ``within``); see the module docstring.

    ``encoder`` embeds texts the library has no vector for (default: the lite MiniLM, loaded
    only when needed).  Raises ``InputError`` (exit 2) for an empty query, bad ``top`` or
    ``threshold``, or no library.
    """
    if not query.strip():
        raise InputError("the query is empty; say what to look for, e.g. vidq find \"secret code\"")
    if top < 1:
        raise InputError(f"--top must be at least 1, not {top}")
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold must be between 0 and 1, not {threshold:g}")
    if not lib.exists:
        raise InputError(f"no library at {lib.root} (index some recordings first: vidq index DIR)")
    intent = parse_intent(query)
    records = lib.files(within)
    meta: dict[str, Any] = {"model": "lite", "sees_images": False, "intent": intent.label, "library": str(lib.root),
                            "files_searched": len(records), "limits": LIMITS}
    if within is not None:
        meta["within"] = within
    if not records:
        log.info("the library %s holds no file%s", lib.root, f" matching {within}" if within else "")
        return FindResult(query, top, threshold, [], [], "lite", False, meta, intent.label)
    q = _prepare(lib, intent, {r.id: r.path for r in records}, encoder)
    with lib.snapshot() as (db, vecs):
        if intent.segment is not None:
            candidates = _segment_candidates(db, vecs, q)
        else:
            candidates = _text_candidates(db, vecs, q)
    candidates = _dedupe_by_file(candidates)
    candidates.sort(key=lambda h: (-h.score, -h.retrieval, h.file, h.start))
    passing = [h for h in candidates if h.score >= threshold][:top]
    meta["candidates"] = len(candidates)
    return FindResult(query, top, threshold, passing, candidates, "lite", False, meta, intent.label)


# -- vectors of the query -----------------------------------------------------------------------
def _model_label() -> str:
    from vidq.models.lite.embed import MODEL_LABEL

    return MODEL_LABEL


class _Encoder:
    """The encoder, loaded on first use."""

    def __init__(self, given: Any):
        self.given = given

    def encode(self, texts: list[str]) -> np.ndarray:
        if self.given is None:
            from vidq.models.lite.embed import load_embedder

            self.given = load_embedder()
        return np.asarray(self.given.encode(texts), np.float32)


def _prepare(lib: Library, intent: Intent, files: dict[int, str], encoder: Any) -> _Query:
    """The vectors a search needs, from the library's store of them or embedded now (and kept)."""
    with lib.reading() as db:
        dim = int(dict(db.execute("SELECT name, value FROM state").fetchall()).get("dim", 0))
    if dim == 0 or intent.segment == "break" or (intent.segment is not None and not intent.subject):
        return _Query(intent, files, None, None)
    label = _model_label()
    enc = _Encoder(encoder)
    text = intent.subject if intent.segment is not None else needle_terms(intent.subject)
    wanted = [text] + ([CATEGORY_PREFIX + c for c in AD_CATEGORIES] if intent.segment is not None else [])
    found = {t: np.frombuffer(v, np.float32) for t, v in lib.db.execute(
        f"SELECT text, vector FROM queries WHERE model = ? AND text IN ({','.join('?' * len(wanted))})",
        (label, *wanted))}
    missing = [t for t in wanted if t not in found]
    if missing:
        vecs = enc.encode([t.removeprefix(CATEGORY_PREFIX) for t in missing])
        found.update(zip(missing, vecs))
        try:
            with lib.writing() as db:
                db.executemany("INSERT OR REPLACE INTO queries VALUES (?, ?, ?)",
                               [(label, t, np.asarray(found[t], np.float32).tobytes()) for t in missing])
        except sqlite3.Error as e:  # a read-only library still answers
            log.debug("query vectors not kept (%s)", e)
    cats = np.stack([found[CATEGORY_PREFIX + c] for c in AD_CATEGORIES]) if intent.segment is not None else None
    return _Query(intent, files, np.asarray(found[text], np.float32), cats)


# -- ad spots, breaks, sponsor reads --------------------------------------------------------------
def _segment_candidates(db: sqlite3.Connection, vecs: np.ndarray, q: _Query) -> list[FindHit]:
    intent = q.intent
    kind = {"ad": "spot", "break": "break", "sponsor": "sponsor"}[intent.segment or ""]
    hit_kind = "ad" if kind == "spot" else kind
    rows = db.execute("SELECT id, file_id, start, end, confidence, text, reason, vec FROM segments WHERE kind = ? "
                      "ORDER BY file_id, start", (kind,)).fetchall()
    rows = [r for r in rows if r[1] in q.files]
    own = {r[0]: r[7] for r in rows if r[7] is not None}  # a spot's vector row, its text read as one
    rows = [r[:7] for r in rows]
    hits: list[tuple[int, SegmentHit]] = []
    if kind == "break" or not intent.subject:
        hits = [(fid, SegmentHit(s, e, c, c, 0, hit_kind, text, why, "speech")) for _, fid, s, e, c, text, why in rows]
    elif q.vector is None:
        terms = set(tokens(intent.subject))
        hits = [(fid, lexical_hit(intent, hit_kind, (s, e, text, why), terms)) for _, fid, s, e, _c, text, why in rows]
    else:
        assert q.categories is not None
        rivals = rivals_of(q.categories, q.vector)
        units: dict[int, list[tuple[int, int, str]]] = {}
        for seg, uid, vec, source in db.execute(
                "SELECT su.segment_id, u.id, u.vec, u.source FROM segment_units su JOIN units u ON u.id = su.unit_id "
                "JOIN segments s ON s.id = su.segment_id WHERE s.kind = ? ORDER BY su.segment_id, u.id", (kind,)):
            if vec is not None:
                units.setdefault(seg, []).append((uid, vec, source))
        saying = _units_saying(db, intent.subject)
        needed = sorted({m[1] for mine in units.values() for m in mine} | set(own.values()))
        gathered = np.asarray(vecs[needed]) if needed else np.zeros((0, vecs.shape[1]), np.float32)  # one read
        where = {r: k for k, r in enumerate(needed)}
        for sid, fid, s, e, _c, text, why in rows:
            mine = units.get(sid)
            if not mine:
                continue
            v = gathered[[where[m[1]] for m in mine]]  # (n, D)
            says = any(m[0] in saying for m in mine)
            rank, rel = rank_segment(v if sid not in own else gathered[[where[own[sid]]]], q.vector, rivals, says)
            source = mine[int(np.argmax(v @ q.vector))][2]  # where the evidence closest to the subject is
            hits.append((fid, ranked_hit(intent, hit_kind, (s, e, text, why), rank, rel, len(rivals), source)))
    order = {id(h): fid for fid, h in hits}
    return [FindHit(q.files[order[id(h)]], h.start, h.end, h.score, h.reason, h.kind, h.text, h.relevance, "segments")
            for h in sort_hits([h for _, h in hits])]


def _units_saying(db: sqlite3.Connection, subject: str) -> set[int]:
    """Ids of the units whose tokens hold every token of ``subject`` (``says_subject`` through FTS5)."""
    terms = sorted(set(tokens(subject)))
    if not terms:
        return set()
    match = " AND ".join('"' + t.replace('"', "") + '"' for t in terms)
    return {uid for (uid,) in db.execute("SELECT rowid FROM units_fts WHERE units_fts MATCH ?", (match,))}


def _dedupe_by_file(hits: list[FindHit]) -> list[FindHit]:
    """``vidq.tasks.find``'s merge of overlapping hits, file by file (it compares hits of one file only)."""
    by_file: dict[str, list[FindHit]] = {}
    for h in hits:
        by_file.setdefault(h.file, []).append(h)
    return [h for group in by_file.values() for h in _dedupe(group)]


# -- words and meaning -------------------------------------------------------------------------------
def _text_candidates(db: sqlite3.Connection, vecs: np.ndarray, q: _Query) -> list[FindHit]:
    intent = q.intent
    terms = needle_terms(intent.subject)
    sources = intent.sources
    lexical = _bm25(db, _expand(db, terms), q, sources)  # unit id -> (rank, score)
    dense_rank: dict[int, int] = {}
    if q.vector is not None and vecs.shape[0]:
        scores = np.asarray(vecs @ q.vector)  # (rows,)
        allowed = np.zeros(vecs.shape[0], bool)
        for lo, hi in db.execute(f"SELECT vec_lo, vec_hi FROM files WHERE id IN ({_ids(q.files)})"):
            allowed[lo:hi] = True
        scores = np.where(allowed, scores, -np.inf)
        best = [int(r) for r in top_rows(scores, RETRIEVED) if np.isfinite(scores[r])]
        found = db.execute(f"SELECT id, vec FROM units WHERE vec IN ({','.join(map(str, best)) or 'NULL'})"
                           + (f" AND source IN ({','.join('?' * len(sources))})" if sources else ""),
                           tuple(sources or ())).fetchall()
        where = {r: k for k, r in enumerate(best)}
        found.sort(key=lambda uv: (where[uv[1]], uv[0]))
        dense_rank = {uid: k + 1 for k, (uid, _) in enumerate(found[:RETRIEVED])}
    fused: dict[int, float] = {}
    for uid, k in dense_rank.items():
        fused[uid] = fused.get(uid, 0.0) + 1.0 / (RRF_K + k)
    for uid, (k, _) in lexical.items():
        fused[uid] = fused.get(uid, 0.0) + 1.0 / (RRF_K + k)
    if not fused:
        return []
    ranked = sorted(fused, key=lambda u: (-fused[u], u))
    units = _units(db, ranked)
    kept: list[tuple[int, Unit]] = []
    out: list[FindHit] = []
    for uid in ranked:
        fid, unit, vec = units[uid]
        if any(f == fid and u.source == unit.source and u.start <= unit.end and unit.start <= u.end for f, u in kept):
            continue  # overlaps a better unit of the same file and source
        kept.append((fid, unit))
        cos = float(np.asarray(vecs[vec]) @ q.vector) if vec is not None and q.vector is not None else 0.0
        hit = Hit(uid, unit, fused[uid], cos, lexical.get(uid, (0, 0.0))[1], ())
        out.append(lite_verify(terms, hit, q.files[fid]))
        if len(out) >= VERIFIED:
            break
    return out


def _ids(files: dict[int, str]) -> str:
    return ",".join(str(int(i)) for i in files)


def _expand(db: sqlite3.Connection, query: str) -> list[str]:
    """The query's tokens, plus close spellings (``FUZZY_CUTOFF``) of those no unit holds."""
    terms = list(dict.fromkeys(tokens(query)))
    out = list(terms)
    for t in terms:
        if t.isdigit() or len(t) < FUZZY_MIN_LEN:
            continue
        if db.execute("SELECT 1 FROM terms WHERE term = ?", (t,)).fetchone():
            continue
        vocab = [v for (v,) in db.execute("SELECT term FROM terms WHERE length(term) BETWEEN ? AND ? AND "
                                          "term GLOB '[a-z]*'", (len(t) - 2, len(t) + 2))]
        out.extend(c for c in difflib.get_close_matches(t, vocab, n=3, cutoff=FUZZY_CUTOFF) if c not in out)
    return out


def _bm25(db: sqlite3.Connection, terms: list[str], q: _Query,
          sources: tuple[str, ...] | None) -> dict[int, tuple[int, float]]:
    """Unit id -> (BM25 rank from 1, score) for the ``RETRIEVED`` best units holding a term."""
    if not terms:
        return {}
    match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
    sql = f"SELECT rowid, -bm25(units_fts) FROM units_fts WHERE units_fts MATCH ? AND file_id IN ({_ids(q.files)})"
    args: list[Any] = [match]
    if sources:
        sql += f" AND source IN ({','.join('?' * len(sources))})"
        args.extend(sources)
    sql += " ORDER BY bm25(units_fts) LIMIT ?"
    args.append(RETRIEVED)
    return {uid: (k + 1, score) for k, (uid, score) in enumerate(db.execute(sql, args))}


def _units(db: sqlite3.Connection, ids: list[int]) -> dict[int, tuple[int, Unit, int | None]]:
    """Unit id -> (file id, the Unit with its words, its vector row)."""
    out: dict[int, tuple[int, Unit, int | None]] = {}
    for lo in range(0, len(ids), 500):
        chunk = ids[lo:lo + 500]
        for uid, fid, s, e, source, kind, text, words, frames, conf, vec in db.execute(
                "SELECT id, file_id, start, end, source, kind, text, words, frames, confidence, vec FROM units "
                f"WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            ws = tuple(Word(a, b, t) for a, b, t in json.loads(words)) if words else ()
            out[uid] = (fid, Unit(s, e, text, source, kind, ws, frames, conf), vec)
    return out
