"""Multiple-choice benchmarks from JSON Lines (Video-MME, MLVU, LongVideoBench, EgoSchema exports).

One row per question.  Field names are matched loosely, in this order (first present wins):

- id: ``id``, ``question_id``, ``qid``, ``uid``, ``q_uid``, ``key`` (else ``line-N``)
- video: ``video_path``, ``video``, ``video_file``, ``path``, ``file``, ``video_id``, ``videoID``,
  ``video_name`` (a name without a suffix also tries ``.mp4 .mkv .webm .mov .avi``)
- question: ``question``, ``query``, ``prompt``
- options: ``options``, ``candidates``, ``choices`` (a list; ``"A. cat"`` prefixes are dropped),
  else numbered fields ``option0..9`` / ``option 0..9`` / ``option_0..9`` / ``a0..a9``
- answer: ``answer``, ``correct_choice``, ``correct_answer``, ``answer_idx``, ``truth``, ``gt``,
  ``label`` (a letter, a 0-based index, or the text of an option)
- subtitles (optional): ``subtitle_path``, ``subtitles``, ``subtitle``, ``srt``
- group (optional): ``duration_group``, ``group``, ``duration`` (when text, as Video-MME's
  short/medium/long), ``task_type``, ``question_type``, ``category``

Relative paths resolve against the JSONL file's own folder, never the working directory.
Each item is answered by the ``ask`` job (``vidq.tasks.ask``: what ``vidq ask --choices``
does: retrieval, then the model, or lite's evidence scoring), or with ``direct`` by the
backend over the video's uniformly sampled frames and their subtitles with the Video-XL
multiple-choice prompt (see :mod:`vidq.eval.asking`), the published benchmarks' protocol.
An item whose video cannot be used is recorded with its ``error`` and scored wrong; a
model failure stops the run.  Knows nothing about the CLI.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vidq.errors import InputError
from vidq.eval.asking import USED_KEYS, Verdict, ask_choice
from vidq.eval.record import MeteredBackend, jsonable, measure
from vidq.eval.scoring import LETTERS, answer_index, rotations, strip_option_prefix
from vidq.eval.stats import accuracy
from vidq.models.base import Backend, GenerateOptions, VideoInput
from vidq.progress import ProgressFn, no_progress
from vidq.store import Store
from vidq.tasks.pipeline import JobOptions, frame_batches, open_video

log = logging.getLogger("vidq.eval")

DEFAULT_FRAMES = 32  # frames per item when --frames is not given
DEFAULT_SIZE = 448  # longest side (pixels) of decoded frames
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")
ID_KEYS = ("id", "question_id", "qid", "uid", "q_uid", "key")
VIDEO_KEYS = ("video_path", "video", "video_file", "path", "file", "video_id", "videoID", "video_name")
QUESTION_KEYS = ("question", "query", "prompt")
OPTION_KEYS = ("options", "candidates", "choices")
ANSWER_KEYS = ("answer", "correct_choice", "correct_answer", "answer_idx", "truth", "gt", "label")
SUBTITLE_KEYS = ("subtitle_path", "subtitles", "subtitle", "srt")
GROUP_KEYS = ("duration_group", "group", "duration", "task_type", "question_type", "category")


@dataclass(frozen=True)
class McItem:
    """One benchmark question."""

    id: str  # unique within the file
    video: Path  # resolved video path
    question: str  # the question text
    options: tuple[str, ...]  # the options, letter prefixes removed
    answer: int  # index of the right option
    subtitles: Path | None = None  # a subtitle file for this video, if the row names one
    group: str | None = None  # duration group / task type, for per-group accuracy
    line: int = 0  # 1-based line in the JSONL file


def first_field(row: dict[str, Any], keys: Sequence[str]) -> tuple[str | None, Any]:
    for k in keys:
        if k in row and row[k] is not None and row[k] != "":
            return k, row[k]
    return None, None


def _options(row: dict[str, Any]) -> list[str] | None:
    _, value = first_field(row, OPTION_KEYS)
    if isinstance(value, list):
        return [strip_option_prefix(str(v)) for v in value]
    if isinstance(value, dict):  # {"A": "cat", "B": "dog"}
        return [strip_option_prefix(str(value[k])) for k in sorted(value)]
    for pattern in ("option{}", "option {}", "option_{}", "a{}"):
        found = [row[pattern.format(i)] for i in range(10) if pattern.format(i) in row]
        if len(found) >= 2:
            return [strip_option_prefix(str(v)) for v in found]
    return None


def resolve_path(name: str, folder: Path) -> Path:
    p = Path(name).expanduser()
    p = p if p.is_absolute() else folder / p
    if not p.exists() and not p.suffix:
        for suffix in VIDEO_SUFFIXES:
            if p.with_name(p.name + suffix).exists():
                return p.with_name(p.name + suffix)
    return p


def parse_row(row: Any, folder: Path, line: int, where: str) -> McItem:
    """One JSONL row as an ``McItem``; ``InputError`` naming the line when it cannot be read."""
    if not isinstance(row, dict):
        raise InputError(f"{where}:{line}: each line must be a JSON object")
    _, vid = first_field(row, VIDEO_KEYS)
    _, question = first_field(row, QUESTION_KEYS)
    options = _options(row)
    _, answer = first_field(row, ANSWER_KEYS)
    missing = [name for name, v in (("video", vid), ("question", question), ("options", options), ("answer", answer))
               if v is None]
    if missing:
        raise InputError(f"{where}:{line}: no {', '.join(missing)} field (see 'vidq eval mc --help' for accepted names)")
    assert options is not None
    if not 2 <= len(options) <= len(LETTERS):
        raise InputError(f"{where}:{line}: needs 2..{len(LETTERS)} options, has {len(options)}")
    try:
        index = answer_index(answer, options)
    except ValueError as e:
        raise InputError(f"{where}:{line}: {e}") from e
    _, item_id = first_field(row, ID_KEYS)
    _, subs = first_field(row, SUBTITLE_KEYS)
    group = next((row[k] for k in GROUP_KEYS if row.get(k) not in (None, "")
                  and (k != "duration" or isinstance(row[k], str))), None)  # a numeric duration is a length, not a group
    return McItem(id=str(item_id) if item_id is not None else f"line-{line}", video=resolve_path(str(vid), folder),
                  question=str(question), options=tuple(options), answer=index,
                  subtitles=resolve_path(str(subs), folder) if isinstance(subs, str) else None,
                  group=None if group is None else str(group), line=line)


def load_items(path: str | os.PathLike) -> list[McItem]:
    """Every row of a JSONL benchmark file (blank lines and ``#`` comments skipped); ids must be unique."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    folder = p.resolve().parent
    items: list[McItem] = []
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read ({e})") from e
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not JSON ({e.msg})") from e
        items.append(parse_row(row, folder, n, str(path)))
    if not items:
        raise InputError(f"{path}: no questions in the file")
    seen: dict[str, int] = {}
    for it in items:
        if it.id in seen:
            raise InputError(f"{path}:{it.line}: id {it.id!r} repeats line {seen[it.id]}")
        seen[it.id] = it.line
    return items


def _ask_choice(item: McItem, job: JobOptions, backend: MeteredBackend, *, strict: bool,
                store: Store | None) -> Verdict:
    """Multiple choice through the ``ask`` job (retrieval, then the backend or lite's evidence scoring)."""
    from vidq.tasks.ask import ask

    asks = rotations(list(item.options), item.answer) if strict else [(list(item.options), item.answer)]
    n = len(item.options)
    replies: list[str] = []
    picks: list[str | None] = []
    meta: dict[str, Any] = {}
    ok = True
    backend.reset()
    for r, (opts, right) in enumerate(asks):
        res = ask(item.video, job, item.question, choices=[f"{LETTERS[i]}) {o}" for i, o in enumerate(opts)],
                  store=store, backend=backend)
        pick = LETTERS.index(res.letter) if res.letter and len(res.letter) == 1 and res.letter in LETTERS[:n] else None
        replies.append(res.answer)
        picks.append(None if pick is None else LETTERS[(pick + r) % n])  # back to the original order
        ok = ok and pick == right
        if not meta:
            meta = {"method": res.method, "model": res.model, "frames": res.meta.get("shown_frames", res.meta.get("frames"))}
            inner = res.meta.get("backend")
            if isinstance(inner, dict):
                meta.update({k: v for k, v in inner.items() if k in USED_KEYS and k not in meta})
    if backend.calls:  # the model was asked: its first call's meta has the stage timings
        meta = {**backend.calls[0][1], **meta}
    return Verdict(ok, replies, picks, meta, sum(seconds for seconds, _ in backend.calls))


def run_item(item: McItem, job: JobOptions, backend: Backend, *, size: int, strict: bool, device: str,
             store: Store | None, direct: bool = False) -> dict[str, Any]:
    """Answer one item; returns its record (``error`` set when its video could not be used).

    ``direct``: uniform frames and the Video-XL prompt straight to the backend (the published
    benchmarks' protocol); otherwise the ``ask`` job answers, as ``vidq ask`` would.
    """
    base = {"id": item.id, "video": str(item.video), "group": item.group, "question": item.question,
            "expected": LETTERS[item.answer]}
    options = job if item.subtitles is None else replace(job, subtitles=str(item.subtitles))
    gen_options = GenerateOptions(temperature=0.0, compress=job.compress, ratio=job.ratio)
    frames_used: int | None = None
    with measure(device) as m:
        try:  # a missing or broken video, a bad subtitle file: this item only
            if direct:
                ctx = open_video(item.video, options, default_frames=job.frames or DEFAULT_FRAMES, store=store)
                frames_used = len(ctx.plan.times)
                has_text = any(ctx.subtitles)

                def make_input() -> VideoInput:
                    return VideoInput(batches=frame_batches(ctx, size=size), times=ctx.plan.times,
                                      subtitles=ctx.subtitles if has_text else None, duration=ctx.end - ctx.start)

                verdict = ask_choice(backend, make_input, item.question, item.options, item.answer, strict=strict,
                                     options=gen_options)
            else:
                metered = backend if isinstance(backend, MeteredBackend) else MeteredBackend(backend)
                verdict = _ask_choice(item, options, metered, strict=strict, store=store)
                frames_used = verdict.meta.get("frames")
        except InputError as e:
            log.warning("%s: skipped: %s", item.id, e)
            return jsonable({**base, "error": str(e), "picks": [], "replies": [], "correct": False,
                             "timing": {}, "used": {}})
        if verdict.meta:
            m.note_backend(verdict.answer_s, verdict.meta)
    return jsonable({**base, "frames_used": frames_used, "picks": verdict.picks, "replies": verdict.replies,
                     "correct": verdict.correct, "timing": m.as_dict(), "used": verdict.used()})


def run_mc(items: Sequence[McItem], job: JobOptions, backend: Backend, *, size: int = DEFAULT_SIZE,
           strict: bool = False, direct: bool = False, device: str = "cpu", store: Store | None = None,
           skip: set[str] | frozenset[str] = frozenset(), progress: ProgressFn | None = None) -> Iterator[dict[str, Any]]:
    """Answer every item not in ``skip``, yielding each record as it finishes (file order)."""
    report = progress or no_progress
    done = sum(1 for it in items if it.id in skip)
    report("mc", done, len(items))
    metered = MeteredBackend(backend)
    for it in items:
        if it.id in skip:
            continue
        yield run_item(it, job, backend if direct else metered, size=size, strict=strict, device=device, store=store,
                       direct=direct)
        done += 1
        report("mc", done, len(items))


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall and per group, each with its 95% Wilson interval; error count."""
    groups = sorted({str(r["group"]) for r in records if r.get("group") is not None})
    return {"overall": accuracy([bool(r["correct"]) for r in records]).as_dict(),
            "by_group": {g: accuracy([bool(r["correct"]) for r in records if str(r.get("group")) == g]).as_dict()
                         for g in groups},
            "errors": sum(1 for r in records if r.get("error"))}
