"""``find`` and ``ads`` against ground truth, through the jobs themselves (``vidq.tasks.find``,
``vidq.tasks.ads``), so the numbers are what ``vidq find`` / ``vidq ads`` deliver.

Ground truth is JSON Lines, one row per query (find) or per video (ads); relative paths
resolve against the JSONL file's folder::

    {"id": "code", "video": "talk.mp4", "query": "secret code", "start": 1234.5, "end": 1238.0}
    {"video": "talk.mp4", "query": "blue pelican", "intervals": [[60, 66], [900, 906]]}
    {"id": "ep1", "video": "show.ts", "intervals": [[300.0, 420.5], {"start": 1500, "end": 1620}]}

``find``: each query's candidates (verified, best first) are scored with
:func:`vidq.eval.intervals.score_find`: recall@1 and @5 (a hit counts when it lies within
``tolerance`` seconds of a true interval) and the IoU of the top hit.  ``ads``: each
video's detected segments against its true intervals (:func:`score_ads`): precision,
recall and IoU over time, and intervals matched one-to-one at IoU >= 0.5, missed, false.

Knows nothing about the CLI.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidq.errors import InputError
from vidq.eval.intervals import Interval, score_ads, score_find
from vidq.eval.mc import ID_KEYS, VIDEO_KEYS, first_field, resolve_path
from vidq.eval.record import MeteredBackend, jsonable, measure
from vidq.eval.stats import accuracy
from vidq.models.base import Backend
from vidq.progress import ProgressFn, no_progress
from vidq.store import Store
from vidq.tasks.pipeline import JobOptions

log = logging.getLogger("vidq.eval")

TOP_K = 5  # hits kept per find query (recall@5)
DEFAULT_TOLERANCE = 2.0  # seconds a find hit may miss its true interval by
MATCH_IOU = 0.5  # an ad interval counts as found at this IoU


@dataclass(frozen=True)
class TruthRow:
    """One row of ground truth."""

    id: str  # unique within the file
    video: Path  # resolved video path
    intervals: tuple[Interval, ...]  # true intervals, seconds
    query: str | None = None  # find: what to look for
    line: int = 0  # 1-based line in the JSONL file


def _interval(value: Any, where: str) -> Interval:
    if isinstance(value, dict):
        value = [value.get("start"), value.get("end")]
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise InputError(f"{where}: an interval is [start, end] or {{\"start\": s, \"end\": e}} in seconds")
    s, e = float(value[0]), float(value[1])
    if not 0 <= s <= e:
        raise InputError(f"{where}: interval [{s:g}, {e:g}] must have 0 <= start <= end")
    return s, e


def load_truth(path: str | os.PathLike, *, need_query: bool) -> list[TruthRow]:
    """Rows of a ground-truth JSONL (``need_query``: find rows; otherwise ads rows)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    folder = p.resolve().parent
    rows: list[TruthRow] = []
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})") from e
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: not JSON ({e.msg})") from e
        if not isinstance(row, dict):
            raise InputError(f"{where}: each line must be a JSON object")
        _, video = first_field(row, VIDEO_KEYS)
        if video is None:
            raise InputError(f"{where}: no video field")
        if "intervals" in row:
            if not isinstance(row["intervals"], list):
                raise InputError(f"{where}: 'intervals' must be a list")
            spans = tuple(_interval(v, where) for v in row["intervals"])
        elif "start" in row and "end" in row:
            spans = (_interval([row["start"], row["end"]], where),)
        else:
            raise InputError(f"{where}: give 'intervals' or 'start' and 'end'")
        query = row.get("query")
        if need_query:
            if not isinstance(query, str) or not query.strip():
                raise InputError(f"{where}: a find row needs a 'query'")
            if not spans:
                raise InputError(f"{where}: a find row needs at least one true interval")
        _, rid = first_field(row, ID_KEYS)
        rows.append(TruthRow(id=str(rid) if rid is not None else f"line-{n}", video=resolve_path(str(video), folder),
                             intervals=spans, query=query if need_query else None, line=n))
    if not rows:
        raise InputError(f"{path}: no rows in the file")
    seen: dict[str, int] = {}
    for r in rows:
        if r.id in seen:
            raise InputError(f"{path}:{r.line}: id {r.id!r} repeats line {seen[r.id]}")
        seen[r.id] = r.line
    return rows


def _costs(m: Any, metered: MeteredBackend) -> None:
    if metered.calls:
        m.note_backend(sum(s for s, _ in metered.calls), metered.calls[0][1])


def run_find(rows: Sequence[TruthRow], job: JobOptions, backend: Backend, *, tolerance: float = DEFAULT_TOLERANCE,
             device: str = "cpu", store: Store | None = None, skip: set[str] | frozenset[str] = frozenset(),
             progress: ProgressFn | None = None) -> Iterator[dict[str, Any]]:
    """Run ``vidq find`` for every row not in ``skip``; yield one record per query."""
    from vidq.tasks.find import find

    report = progress or no_progress
    metered = MeteredBackend(backend)
    done = sum(1 for r in rows if r.id in skip)
    report("find", done, len(rows))
    for row in rows:
        if row.id in skip:
            continue
        assert row.query is not None
        base = {"id": row.id, "video": str(row.video), "query": row.query, "truth": [list(t) for t in row.intervals]}
        metered.reset()
        with measure(device) as m:
            try:
                result = find(row.query, [row.video], job, top=TOP_K, threshold=0.0, backend=metered, store=store)
            except InputError as e:
                log.warning("%s: skipped: %s", row.id, e)
                yield jsonable({**base, "error": str(e), "hits": [], "first_hit_rank": None, "recall_at_1": False,
                                "recall_at_5": False, "iou": 0.0, "correct": False, "timing": {}})
                done += 1
                report("find", done, len(rows))
                continue
            _costs(m, metered)
        ranked = result.candidates[:TOP_K]
        score = score_find([(h.start, h.end) for h in ranked], row.intervals, tolerance)
        yield jsonable({**base, "hits": [{"start": round(h.start, 3), "end": round(h.end, 3), "score": round(h.score, 4),
                                          "source": h.source, "reason": h.reason} for h in ranked],
                        "passed_threshold": bool(result.hits), "first_hit_rank": score.first_hit_rank,
                        "recall_at_1": score.recall_at_1, "recall_at_5": score.recall_at_5, "iou": round(score.iou, 6),
                        "correct": score.recall_at_1, "timing": m.as_dict(), "used": {"model": result.model}})
        done += 1
        report("find", done, len(rows))


def summarize_find(records: Sequence[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """recall@1 and @5 with 95% intervals, mean IoU of the top hit, mean reciprocal rank."""
    n = len(records)
    ranks = [r.get("first_hit_rank") for r in records]
    return {"tolerance": tolerance,
            "recall_at_1": accuracy([bool(r["recall_at_1"]) for r in records]).as_dict(),
            "recall_at_5": accuracy([bool(r["recall_at_5"]) for r in records]).as_dict(),
            "mean_iou": round(sum(float(r.get("iou") or 0.0) for r in records) / n, 6) if n else 0.0,
            "mrr": round(sum(1.0 / k for k in ranks if k) / n, 6) if n else 0.0,
            "errors": sum(1 for r in records if r.get("error"))}


def run_ads(rows: Sequence[TruthRow], job: JobOptions, backend: Backend, *, kinds: Sequence[str] = ("break", "sponsor"),
            device: str = "cpu", store: Store | None = None, skip: set[str] | frozenset[str] = frozenset(),
            progress: ProgressFn | None = None) -> Iterator[dict[str, Any]]:
    """Run ``vidq ads`` on every row's video not in ``skip``; yield one record per video."""
    from vidq.tasks.ads import detect_ads

    report = progress or no_progress
    metered = MeteredBackend(backend)
    done = sum(1 for r in rows if r.id in skip)
    report("ads", done, len(rows))
    for row in rows:
        if row.id in skip:
            continue
        base = {"id": row.id, "video": str(row.video), "truth": [list(t) for t in row.intervals]}
        metered.reset()
        with measure(device) as m:
            try:
                result = detect_ads(row.video, job, backend=metered, store=store)
            except InputError as e:
                log.warning("%s: skipped: %s", row.id, e)
                score = score_ads([], row.intervals, MATCH_IOU)
                yield jsonable({**base, "error": str(e), "predicted": [], "duration": None, "precision": score.precision,
                                "recall": score.recall, "iou": score.iou, "matched": 0, "missed": len(row.intervals),
                                "false": 0, "best_iou": list(score.best_iou), "correct": False, "timing": {}})
                done += 1
                report("ads", done, len(rows))
                continue
            _costs(m, metered)
        segs = [s for s in result.segments if s.kind in kinds]
        score = score_ads([(s.start, s.end) for s in segs], row.intervals, MATCH_IOU)
        yield jsonable({**base, "predicted": [{"start": round(s.start, 3), "end": round(s.end, 3), "kind": s.kind,
                                               "confidence": round(s.confidence, 4)} for s in segs],
                        "duration": round(result.span[1] - result.span[0], 3),
                        "precision": round(score.precision, 6), "recall": round(score.recall, 6),
                        "iou": round(score.iou, 6), "matched": score.matched, "missed": score.missed,
                        "false": score.false, "best_iou": [round(v, 6) for v in score.best_iou],
                        "correct": score.missed == 0 and score.false == 0, "timing": m.as_dict(),
                        "used": {"model": result.model}})
        done += 1
        report("ads", done, len(rows))


def summarize_ads(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals over videos: true intervals matched (with a 95% interval), false intervals (and per hour
    of video), and time-weighted precision / recall / IoU."""
    from vidq.eval.intervals import overlap, total

    truths = sum(len(r["truth"]) for r in records)
    matched = sum(int(r["matched"]) for r in records)
    false = sum(int(r["false"]) for r in records)
    hours = sum(float(r.get("duration") or 0.0) for r in records) / 3600.0
    both = pred = true = 0.0
    for r in records:
        p = [(s["start"], s["end"]) for s in r["predicted"]]
        t = [tuple(x) for x in r["truth"]]
        both += overlap(p, t)
        pred += total(p)
        true += total(t)
    union = pred + true - both
    return {"intervals_found": accuracy([True] * matched + [False] * (truths - matched)).as_dict(),
            "false_intervals": false, "false_per_hour": round(false / hours, 3) if hours > 0 else None,
            "precision": round(both / pred, 6) if pred > 0 else 1.0, "recall": round(both / true, 6) if true > 0 else 1.0,
            "iou": round(both / union, 6) if union > 0 else 1.0, "videos": len(records),
            "errors": sum(1 for r in records if r.get("error"))}
