"""``vidq eval niah|mc|find|ads|compare``: measure quality and speed instead of claiming them.

Each subcommand parses flags, loads the backend once, runs a ``vidq.eval`` runner and
renders what it returns (text, or JSON with ``--json``; ``-o`` writes the JSON result
atomically).  Runs that write ``-o RESULTS.json`` are resumable: every finished item is
appended to ``RESULTS.json.items.jsonl`` first, and a rerun skips what is there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from vidq.cli.jobopts import (
    AccuracyOpt,
    ApiBaseOpt,
    AsrEngineOpt,
    AsrModelOpt,
    CompressOpt,
    FramesOpt,
    LanguageOpt,
    ModelOpt,
    QuantOpt,
    RatioOpt,
    SubtitlesOpt,
    TrustRemoteCodeOpt,
    job_options,
)
from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import Settings, current_settings
from vidq.errors import InputError

log = logging.getLogger("vidq.eval")

GIB = 1 << 30

SizeOpt = Annotated[int, typer.Option("--size", min=32, max=4096,
                                      help="Longest side in pixels of the decoded frames handed to the model.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="VNBench scoring: ask each question once per rotation of its options; right only if every rotation is right.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=0, show_default=False, help="Only the first N items of the file.")]
ShardOpt = Annotated[str | None, typer.Option("--shard", show_default=False, metavar="I/N",
                                              help="Run shard I of N (1-based): items I, I+N, I+2N, ... of the (limited) file.")]


# -- helpers shared by the subcommands ------------------------------------------------------

def _load_backend(job: Any):
    from vidq.models.registry import load_backend

    return load_backend(job.model, device=job.device, quant=job.quant, offline=job.offline,
                        trust_remote_code=job.trust_remote_code, api_base=job.api_base,
                        remote_vision=job.remote_vision, context=job.context, request_timeout=job.request_timeout,
                        retries=job.retries)


def _device(job: Any, backend: Any) -> str:
    from vidq.models.loading import resolve_device

    caps = getattr(backend, "capabilities", None)
    if caps is not None and not caps.sees_images:
        return "cpu"  # lite and other text backends run on the CPU
    try:
        return resolve_device(job.device)
    except InputError:
        return job.device


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def _acc_line(label: str, acc: dict[str, Any]) -> str:
    lo, hi = acc["ci95"]
    return f"{label}: {_pct(acc['accuracy'])} ({acc['correct']}/{acc['n']}, 95% CI {_pct(lo)}-{_pct(hi)})"


def _bytes(n: int | None) -> str:
    return "-" if n is None else f"{n / GIB:.2f} GiB"


def _seconds(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g} s"


def _speed_line(speed: dict[str, Any]) -> str:
    parts = [f"{speed['items']} items in {speed['total_wall_s']:.1f} s"]
    if speed.get("median_wall_s") is not None:
        parts.append(f"median {speed['median_wall_s']:.2f} s/item")
    if speed.get("median_ttft_s") is not None:
        parts.append(f"time to first token {speed['median_ttft_s']:.2f} s")
    if speed.get("peak_gpu_bytes") is not None:
        parts.append(f"peak GPU {_bytes(speed['peak_gpu_bytes'])}")
    if speed.get("peak_rss_bytes") is not None:
        parts.append(f"peak RSS {_bytes(speed['peak_rss_bytes'])}")
    return "speed: " + ", ".join(parts)


def _run_logged(settings: Settings, identity: dict[str, Any], wanted: list[str],
                produce: Callable[[set[str]], Iterator[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Run ``produce(skip)``; with ``-o``, log each record to the sidecar and skip logged ones.

    Returns the records of ``wanted`` ids, in that order.
    """
    from vidq.eval.runlog import ItemLog, sidecar_path

    records: dict[str, dict[str, Any]] = {}
    if settings.to_stdout:
        for rec in produce(set()):
            records[str(rec["id"])] = rec
    else:
        assert settings.output is not None
        if Path(settings.output).is_dir():
            raise InputError(f"-o {settings.output}: is a directory; give a file name")
        item_log = ItemLog(sidecar_path(settings.output), identity)
        done = item_log.open()
        try:
            records.update({k: v for k, v in done.items() if k in set(wanted)})
            for rec in produce(set(records)):
                item_log.append(rec)
                records[str(rec["id"])] = rec
        finally:
            item_log.close()
    return [records[i] for i in wanted if i in records]


def _emit(settings: Settings, command: str, doc: dict[str, Any], render_text: Callable[[TextIO], None]) -> None:
    """JSON to -o (always JSON there) or stdout; text to stdout unless --json."""
    default = "json" if not settings.to_stdout else "text"
    fmt = resolve_format(settings, ("text", "json"), default, command)
    with output_stream(settings) as out:
        if fmt == "json":
            dump_json(doc, out)
        else:
            render_text(out)


# -- niah ---------------------------------------------------------------------------------

def _niah_text(out: TextIO, doc: dict[str, Any]) -> None:
    run, summary = doc["run"], doc["summary"]
    kinds = sorted({n["kind"] for n in doc["needles"]})
    out.write(f"needle in a haystack: {run['model']}, {len(doc['needles'])} needles ({', '.join(kinds)}), "
              f"{doc['mode']} mode{', strict' if doc['strict'] else ''}; haystack {doc['haystack']['file']} "
              f"({doc['haystack']['duration']:.0f} s)\n\n")
    frames = doc["frames"]
    width = max(6, *(len(str(n)) + 1 for n in frames))
    out.write("depth \\ frames" + "".join(f"{n:>{width}}" for n in frames) + "\n")
    for d, row in zip(doc["depths"], summary["grid"]):
        cells = "".join(f"{('-' if v is None else f'{v * 100:.0f}%'):>{width}}" for v in row)
        out.write(f"{d * 100:>13.0f}%{cells}\n")
    out.write("\n" + _acc_line("overall", summary["overall"]) + "\n")
    out.writelines("  " + _acc_line(f"{n} frames", acc) + "\n" for n, acc in summary["by_frames"].items())
    out.write(_speed_line(doc["speed"]) + "\n")
    decoded = doc["speed"].get("haystack_decode_s") or {}
    if decoded:
        out.write("haystack decode: " + ", ".join(f"{n} frames {t:.1f} s" for n, t in decoded.items()) + "\n")
    if doc.get("png"):
        out.write(f"heat map: {doc['png']}\n")


def niah_cmd(
    haystack: Annotated[Path, typer.Option("--haystack", help="The video the needles are hidden in.", show_default=False)],
    needles: Annotated[Path | None, typer.Option("--needles", show_default=False, help="A folder with needles.json and the media it names (or the JSON file). Default: generated needles (--kinds, --count).")] = None,
    depths: Annotated[int, typer.Option("--depths", help="Number of needle depths, evenly from 0% to 100%.")] = 5,
    frames: Annotated[str, typer.Option("--frames", "-n", help="Frame counts of the grid, comma separated.")] = "64,256,1024,2048",
    png: Annotated[Path | None, typer.Option("--png", show_default=False, help="Write the depth x frames heat map to this PNG.")] = None,
    kinds: Annotated[str, typer.Option("--kinds", help="Generated needles: text (rendered onto a frame), speech (a subtitle line, or espeak-ng speech with --into-file), or text,speech.")] = "text",
    count: Annotated[int, typer.Option("--count", help="Generated needles per kind.")] = 5,
    open_: Annotated[bool, typer.Option("--open", help="Generated needles ask an open question (the reply must contain the secret word) instead of four options.")] = False,
    into_file: Annotated[bool, typer.Option("--into-file", help="Splice each needle into the video file (ffmpeg, cached) so decoding, sampling and speech recognition are tested too.")] = False,
    strict: StrictOpt = False,
    match: Annotated[str, typer.Option("--match", help="Open answers: exact or contains.")] = "contains",
    size: SizeOpt = 448,
    model: ModelOpt = "auto",
    exact: AccuracyOpt = False,
    compress: CompressOpt = "auto",
    ratio: RatioOpt = None,
    subtitles: SubtitlesOpt = "auto",
    asr_model: AsrModelOpt = "tiny.en",
    asr_engine: AsrEngineOpt = "faster-whisper",
    language: LanguageOpt = None,
    quant: QuantOpt = None,
    trust_remote_code: TrustRemoteCodeOpt = False,
    api_base: ApiBaseOpt = None,
) -> None:
    """Needle in a haystack: accuracy over needle depths x frame counts, as a table, JSON and a heat map.

    The haystack is decoded once per frame count; each needle takes the sampled frame at int(N x depth), as Video-XL's NIAH does, or with --into-file is spliced into the video file itself. Multiple choice is scored like Video-XL (greedy, prompt ending "Best option:(", first option letter); open answers by exact or contains match. With -o the run is resumable.
    """
    from vidq.eval.needles import default_needles, load_needles
    from vidq.eval.niah import (
        NiahOptions,
        case_id,
        cases,
        depth_steps,
        parse_frames,
        run_niah,
        summarize,
    )
    from vidq.eval.record import run_block, speed_summary
    from vidq.media import probe

    settings = current_settings()
    resolve_format(settings, ("text", "json"), "text", "eval niah")
    job = job_options(settings, model=model, exact=exact, compress=compress, ratio=ratio, subtitles=subtitles,
                      asr_model=asr_model, asr_engine=asr_engine, language=language, quant=quant,
                      trust_remote_code=trust_remote_code, api_base=api_base)
    if match not in ("exact", "contains"):
        raise InputError(f"--match must be exact or contains, not {match!r}")
    grid = NiahOptions(depths=depth_steps(depths), frames=parse_frames(frames), size=size, strict=strict, match=match,
                       into_file=into_file)
    if into_file and min(grid.frames) < 2:
        raise InputError("--into-file needs frame counts of at least 2")
    found = load_needles(needles) if needles is not None else default_needles(
        tuple(k.strip() for k in kinds.split(",") if k.strip()), count, open_answers=open_)
    if png is not None and png.is_dir():
        raise InputError(f"--png {png}: is a directory; give a file name")
    info = probe(haystack, store=settings.store)
    if info.video is None:
        raise InputError(f"{haystack}: has no video stream; a haystack must be a video")
    backend = _load_backend(job)
    device = _device(job, backend)
    identity = {"command": "eval niah", "haystack": str(haystack.resolve()), "haystack_bytes": info.size_bytes,
                "needles": [[n.id, n.kind, n.question, list(n.options), n.answer_label] for n in found],
                "model": job.model, "quant": job.quant, "compress": job.compress, "ratio": job.ratio,
                "subtitles": job.subtitles, "accuracy": job.accuracy, "size": size, "strict": strict, "match": match,
                "mode": "file" if into_file else "sequence"}
    wanted = [case_id(nd, d, n) for n, d, nd in cases(found, grid)]
    with progress_reporter(settings) as report:
        items = _run_logged(settings, identity, wanted, lambda skip: run_niah(
            haystack, found, job, backend, grid, device=device, store=settings.store, skip=skip, progress=report))
    summary = summarize(items, grid.depths, grid.frames)
    doc = {
        "schema": "vidq.eval.niah/1",
        "haystack": {"file": str(haystack), "duration": round(info.duration, 3)},
        "mode": "file" if into_file else "sequence", "strict": strict, "match": match, "size": size,
        "depths": list(grid.depths), "frames": list(grid.frames),
        "needles": [{"id": n.id, "kind": n.kind, "question": n.question, "options": list(n.options),
                     "answer": n.answer_label, **({"text": n.text} if n.text else {}),
                     **({"file": str(n.media)} if n.media else {})} for n in found],
        "summary": summary, "speed": {**speed_summary(items), "haystack_decode_s": _decode_times(items)},
        "run": run_block(backend=backend, options=job, device=device,
                         extra={"size": size, "strict": strict, "mode": "file" if into_file else "sequence",
                                "frames": list(grid.frames), **_used_setup(items)}),
        "png": str(png) if png is not None else None,
        "items": items,
    }
    if png is not None:
        from vidq.eval.heatmap import write_heatmap

        write_heatmap(png, summary["grid"], grid.depths, grid.frames,
                      title=f"NIAH: {doc['run']['model']} ({summary['overall']['correct']}/{summary['overall']['n']})")
    _emit(settings, "eval niah", doc, lambda out: _niah_text(out, doc))


def _decode_times(items: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds the haystack took to decode, per frame count (sequence mode: once per count)."""
    out: dict[str, float] = {}
    for it in items:
        t = (it.get("timing") or {}).get("haystack_decode_s")
        if t is not None:
            out.setdefault(str(it["frames"]), t)
    return out


def _used_setup(items: list[dict[str, Any]]) -> dict[str, Any]:
    """What the backend reported using (quantization, compression) on the first scored item."""
    for it in items:
        used = it.get("used") or {}
        if used:
            return {f"used_{k}": used[k] for k in ("quant", "compression", "ratio", "device", "model") if k in used}
    return {}


# -- mc -------------------------------------------------------------------------------------

def _mc_text(out: TextIO, doc: dict[str, Any]) -> None:
    run, summary = doc["run"], doc["summary"]
    out.write(f"{doc['benchmark']}: {run['model']}, {summary['overall']['n']} questions, {doc['protocol']} protocol"
              f"{', strict' if doc['strict'] else ''}\n")
    out.write(_acc_line("accuracy", summary["overall"]) + "\n")
    out.writelines("  " + _acc_line(g, acc) + "\n" for g, acc in summary["by_group"].items())
    if summary["errors"]:
        out.write(f"errors: {summary['errors']} item(s) could not be run (scored wrong; see items[].error)\n")
    out.write(_speed_line(doc["speed"]) + "\n")


def mc_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE.jsonl", show_default=False, help="Questions as JSON Lines (Video-MME, MLVU, LongVideoBench, EgoSchema field names are understood).")],
    direct: Annotated[bool, typer.Option("--direct", help="Show --frames uniformly sampled frames and the Video-XL prompt straight to the model (the published benchmarks' protocol) instead of answering through the ask job.")] = False,
    limit: LimitOpt = None,
    shard: ShardOpt = None,
    strict: StrictOpt = False,
    size: SizeOpt = 448,
    model: ModelOpt = "auto",
    frames: FramesOpt = None,
    exact: AccuracyOpt = False,
    compress: CompressOpt = "auto",
    ratio: RatioOpt = None,
    subtitles: SubtitlesOpt = "auto",
    asr_model: AsrModelOpt = "tiny.en",
    asr_engine: AsrEngineOpt = "faster-whisper",
    language: LanguageOpt = None,
    quant: QuantOpt = None,
    trust_remote_code: TrustRemoteCodeOpt = False,
    api_base: ApiBaseOpt = None,
) -> None:
    """Multiple-choice benchmark from JSON Lines: accuracy overall and per group with 95% intervals.

    Each row: a video (relative paths resolve against the JSONL's folder), question, options and answer (letter, index or option text); optional subtitle path and duration group.

    With -o RESULTS.json the run is resumable: each finished item is appended to RESULTS.json.items.jsonl, and a rerun skips the items already there.
    """
    from vidq.eval.mc import DEFAULT_FRAMES, load_items, run_mc, summarize
    from vidq.eval.record import run_block, speed_summary
    from vidq.eval.runlog import parse_shard, select

    settings = current_settings()
    resolve_format(settings, ("text", "json"), "text", "eval mc")
    job = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                      subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language, quant=quant,
                      trust_remote_code=trust_remote_code, api_base=api_base)
    chosen = select(load_items(file), limit=limit, shard=parse_shard(shard))
    if not chosen:
        raise InputError(f"{file}: no items left after --limit/--shard")
    backend = _load_backend(job)
    device = _device(job, backend)
    identity = {"command": "eval mc", "file": str(file.resolve()), "model": job.model, "frames": job.frames,
                "quant": job.quant, "compress": job.compress, "ratio": job.ratio, "subtitles": job.subtitles,
                "accuracy": job.accuracy, "size": size, "strict": strict, "direct": direct}
    with progress_reporter(settings) as report:
        items = _run_logged(settings, identity, [it.id for it in chosen], lambda skip: run_mc(
            chosen, job, backend, size=size, strict=strict, direct=direct, device=device, store=settings.store,
            skip=skip, progress=report))
    doc = {
        "schema": "vidq.eval.mc/1", "benchmark": file.name, "file": str(file), "strict": strict,
        "protocol": "direct" if direct else "ask",
        "limit": limit, "shard": shard, "summary": summarize(items), "speed": speed_summary(items),
        "run": run_block(backend=backend, options=job, device=device,
                         extra={"size": size, "strict": strict, "protocol": "direct" if direct else "ask",
                                "frames": job.frames or (DEFAULT_FRAMES if direct else None), **_used_setup(items)}),
        "items": items,
    }
    _emit(settings, "eval mc", doc, lambda out: _mc_text(out, doc))


# -- find and ads ----------------------------------------------------------------------------

def _find_text(out: TextIO, doc: dict[str, Any]) -> None:
    s = doc["summary"]
    out.write(f"{doc['benchmark']}: {doc['run']['model']}, {s['recall_at_1']['n']} queries, "
              f"tolerance {s['tolerance']:g} s\n")
    out.write(_acc_line("recall@1", s["recall_at_1"]) + "\n")
    out.write(_acc_line("recall@5", s["recall_at_5"]) + "\n")
    out.write(f"mean IoU of the top hit: {s['mean_iou']:.3f}; mean reciprocal rank: {s['mrr']:.3f}\n")
    if s["errors"]:
        out.write(f"errors: {s['errors']} query(ies) could not be run (scored as misses)\n")
    for it in doc["items"]:
        top = it["hits"][0] if it["hits"] else None
        where = f"{top['start']:.1f}-{top['end']:.1f} s" if top else "no hit"
        truth = ", ".join(f"{a:.1f}-{b:.1f}" for a, b in it["truth"])
        rank = f"rank {it['first_hit_rank']}" if it["first_hit_rank"] else "not in top 5"
        out.write(f"  {it['id']}: {it['query']!r} truth {truth} s; top hit {where}; {rank}\n")
    out.write(_speed_line(doc["speed"]) + "\n")


def find_cmd(
    file: Annotated[Path, typer.Argument(metavar="TRUTH.jsonl", show_default=False, help="One query per line: video, query, and its true interval(s) (start/end or intervals).")],
    tolerance: Annotated[float, typer.Option("--tolerance", min=0.0, help="Seconds a hit may lie outside its true interval and still count.")] = 2.0,
    limit: LimitOpt = None,
    shard: ShardOpt = None,
    model: ModelOpt = "auto",
    frames: FramesOpt = None,
    exact: AccuracyOpt = False,
    compress: CompressOpt = "auto",
    ratio: RatioOpt = None,
    subtitles: SubtitlesOpt = "auto",
    asr_model: AsrModelOpt = "tiny.en",
    asr_engine: AsrEngineOpt = "faster-whisper",
    language: LanguageOpt = None,
    quant: QuantOpt = None,
    trust_remote_code: TrustRemoteCodeOpt = False,
    api_base: ApiBaseOpt = None,
) -> None:
    """Score 'vidq find' against ground truth: recall@1 and @5 within a tolerance, IoU of the top hit."""
    from vidq.eval.record import run_block, speed_summary
    from vidq.eval.retrieval import load_truth, run_find, summarize_find
    from vidq.eval.runlog import parse_shard, select

    settings = current_settings()
    resolve_format(settings, ("text", "json"), "text", "eval find")
    job = job_options(settings, model=model, frames=frames, exact=exact, compress=compress, ratio=ratio,
                      subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine, language=language, quant=quant,
                      trust_remote_code=trust_remote_code, api_base=api_base)
    rows = select(load_truth(file, need_query=True), limit=limit, shard=parse_shard(shard))
    if not rows:
        raise InputError(f"{file}: no rows left after --limit/--shard")
    backend = _load_backend(job)
    device = _device(job, backend)
    identity = {"command": "eval find", "file": str(file.resolve()), "model": job.model, "frames": job.frames,
                "quant": job.quant, "compress": job.compress, "subtitles": job.subtitles, "accuracy": job.accuracy,
                "tolerance": tolerance}
    with progress_reporter(settings) as report:
        items = _run_logged(settings, identity, [r.id for r in rows], lambda skip: run_find(
            rows, job, backend, tolerance=tolerance, device=device, store=settings.store, skip=skip, progress=report))
    doc = {"schema": "vidq.eval.find/1", "benchmark": file.name, "file": str(file), "limit": limit, "shard": shard,
           "summary": summarize_find(items, tolerance), "speed": speed_summary(items),
           "run": run_block(backend=backend, options=job, device=device, extra={"tolerance": tolerance}),
           "items": items}
    _emit(settings, "eval find", doc, lambda out: _find_text(out, doc))


def _ads_text(out: TextIO, doc: dict[str, Any]) -> None:
    s = doc["summary"]
    out.write(f"{doc['benchmark']}: {doc['run']['model']}, {s['videos']} videos\n")
    out.write(_acc_line("true intervals found (IoU >= 0.5)", s["intervals_found"]) + "\n")
    per_hour = "-" if s["false_per_hour"] is None else f"{s['false_per_hour']:.2f}"
    out.write(f"false intervals: {s['false_intervals']} ({per_hour} per hour)\n")
    out.write(f"over time: precision {_pct(s['precision'])}, recall {_pct(s['recall'])}, IoU {_pct(s['iou'])}\n")
    if s["errors"]:
        out.write(f"errors: {s['errors']} video(s) could not be run\n")
    for it in doc["items"]:
        ious = ", ".join(f"{v:.2f}" for v in it["best_iou"]) or "-"
        out.write(f"  {it['id']}: {len(it['truth'])} true, {len(it['predicted'])} found, best IoU per true interval "
                  f"{ious}; {it['false']} false\n")
    out.write(_speed_line(doc["speed"]) + "\n")


def ads_cmd(
    file: Annotated[Path, typer.Argument(metavar="TRUTH.jsonl", show_default=False, help="One video per line with its true ad intervals (intervals: [[start, end], ...]).")],
    kinds: Annotated[str, typer.Option("--kinds", help="Detected kinds that count: break, sponsor, or break,sponsor.")] = "break,sponsor",
    limit: LimitOpt = None,
    shard: ShardOpt = None,
    model: ModelOpt = "auto",
    frames: FramesOpt = None,
    exact: AccuracyOpt = False,
    subtitles: SubtitlesOpt = "auto",
    asr_model: AsrModelOpt = "tiny.en",
    asr_engine: AsrEngineOpt = "faster-whisper",
    language: LanguageOpt = None,
    quant: QuantOpt = None,
    trust_remote_code: TrustRemoteCodeOpt = False,
    api_base: ApiBaseOpt = None,
) -> None:
    """Score 'vidq ads' against ground truth: intervals found at IoU >= 0.5, false intervals, precision/recall/IoU over time."""
    from vidq.eval.record import run_block, speed_summary
    from vidq.eval.retrieval import load_truth, run_ads, summarize_ads
    from vidq.eval.runlog import parse_shard, select

    settings = current_settings()
    resolve_format(settings, ("text", "json"), "text", "eval ads")
    wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
    if not wanted or any(k not in ("break", "sponsor") for k in wanted):
        raise InputError(f"--kinds must be break, sponsor or break,sponsor, not {kinds!r}")
    job = job_options(settings, model=model, frames=frames, exact=exact, subtitles=subtitles, asr_model=asr_model,
                      asr_engine=asr_engine, language=language, quant=quant, trust_remote_code=trust_remote_code,
                      api_base=api_base)
    rows = select(load_truth(file, need_query=False), limit=limit, shard=parse_shard(shard))
    if not rows:
        raise InputError(f"{file}: no rows left after --limit/--shard")
    backend = _load_backend(job)
    device = _device(job, backend)
    identity = {"command": "eval ads", "file": str(file.resolve()), "model": job.model, "frames": job.frames,
                "quant": job.quant, "subtitles": job.subtitles, "accuracy": job.accuracy, "kinds": list(wanted)}
    with progress_reporter(settings) as report:
        items = _run_logged(settings, identity, [r.id for r in rows], lambda skip: run_ads(
            rows, job, backend, kinds=wanted, device=device, store=settings.store, skip=skip, progress=report))
    doc = {"schema": "vidq.eval.ads/1", "benchmark": file.name, "file": str(file), "kinds": list(wanted),
           "limit": limit, "shard": shard, "summary": summarize_ads(items), "speed": speed_summary(items),
           "run": run_block(backend=backend, options=job, device=device, extra={"kinds": list(wanted)}),
           "items": items}
    _emit(settings, "eval ads", doc, lambda out: _ads_text(out, doc))


# -- compare --------------------------------------------------------------------------------

def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return "-" if v is None else str(v)


def _compare_text(out: TextIO, comp: Any, a: Path, b: Path) -> None:
    out.write(f"A: {a}\nB: {b}\n")
    if comp.setup:
        out.write("setup differences:\n")
        out.writelines(f"  {key}: {_fmt_value(va)} -> {_fmt_value(vb)}\n" for key, va, vb in comp.setup)
    else:
        out.write("setup: identical\n")
    out.write("accuracy (A -> B):\n")
    for d in comp.slices:
        test = (f"McNemar on {d.paired} paired items ({d.only_a} only A right, {d.only_b} only B right)"
                if d.test == "mcnemar" else "two-proportion z-test")
        verdict = "significant" if d.significant else "not significant"
        out.write(f"  {d.label}: {_pct(d.acc_a)} -> {_pct(d.acc_b)} ({d.delta * 100:+.1f} points), "
                  f"p = {d.p_value:.3g} {verdict} at 0.05; {test}\n")
    if comp.speed:
        out.write("speed (A -> B):\n")
        for key, va, vb in comp.speed:
            fmt = _bytes if key.endswith("bytes") else _seconds
            out.write(f"  {key}: {fmt(va)} -> {fmt(vb)}\n")


def compare_cmd(
    a: Annotated[Path, typer.Argument(metavar="A.json", show_default=False, help="The first result (the baseline).")],
    b: Annotated[Path, typer.Argument(metavar="B.json", show_default=False, help="The second result.")],
) -> None:
    """Compare two eval results: setup differences, accuracy deltas with significance, speed.

    Items present in both are paired (exact McNemar test); otherwise the two accuracies are compared with a two-proportion z-test.
    """
    from vidq.eval.compare import compare, load_result

    settings = current_settings()
    fmt = resolve_format(settings, ("text", "json"), "text", "eval compare")
    comp = compare(load_result(a), load_result(b))
    with output_stream(settings) as out:
        if fmt == "json":
            dump_json({"schema": "vidq.eval.compare/1", "a": str(a), "b": str(b), "results": comp.schema,
                       "setup": [{"key": k, "a": va, "b": vb} for k, va, vb in comp.setup],
                       "slices": [d.as_dict() for d in comp.slices],
                       "speed": [{"metric": k, "a": va, "b": vb} for k, va, vb in comp.speed]}, out)
        else:
            _compare_text(out, comp, a, b)


def register(app: typer.Typer) -> None:
    ev = typer.Typer(help="Measure quality and speed: needle in a haystack, multiple-choice benchmarks, find and ads against ground truth, run comparison.",
                     no_args_is_help=True)
    ev.command("niah")(niah_cmd)
    ev.command("mc")(mc_cmd)
    ev.command("find")(find_cmd)
    ev.command("ads")(ads_cmd)
    ev.command("compare")(compare_cmd)
    app.add_typer(ev, name="eval")
