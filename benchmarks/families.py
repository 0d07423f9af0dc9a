"""Every job on both evaluation families, each call a fresh ``vidq`` process with the default lite settings.

The tuning family is where thresholds and weights may be fitted; the held-out family is
where a figure counts (:mod:`vidq.testing.families`, :mod:`vidq.testing.heldout`).  For each
file of each family this builds (or loads from ``--cache``) the video and its truth, writes
the family's ``vidq eval`` truth files (``find.jsonl``, ``ads.jsonl``, ``mc.jsonl``,
``absent.jsonl``) beside the videos, then runs:

* ``vidq find "<needle query>" FILE --json`` for every needle: **needle r@1** is the best
  candidate starting within 2 s of the needle (a second call with ``--threshold 0`` ranks
  the candidates when the default threshold passed none), **needle pass** is that plus the
  default threshold passing it (exit 0);
* ``vidq find "ad for <category>" FILE --json`` for every advertised category: **ad for X**
  counts the first hit lying within 2 s of one of that category's spots, above the default
  threshold (``edge`` also asks it to start within 2 s of the spot's first frame); **ad r@1**
  ranks without the threshold, as ``vidq eval find`` scores;
* ``vidq find`` for the file's absent queries (a needle and an ad category it lacks):
  **absent exit 1** counts exit status 1;
* ``vidq ads FILE --json``: true breaks matched one-to-one by a reported break at IoU >= 0.5,
  those with IoU >= 0.8, mean start / end error of the best-matching break (negative: early),
  true spots matched by listed spots (a break's ``spots`` list, or segments of kind ``spot``;
  ``-`` when the output lists none), **false** reported breaks and sponsor reads matching no
  truth at IoU >= 0.5, **overlapping** pairs of reported breaks and sponsor reads (and of
  listed spots among themselves), and sponsor reads matched;
* ``vidq summarize FILE --json``: topic changes with a chapter starting within 5 s (and the
  chapter count against the topic count);
* ``vidq ask FILE QUESTION --choices ... --json`` for every QA item: multiple-choice accuracy.

Usage::

    python benchmarks/families.py                                 # both families, 10 files each, every job
    python benchmarks/families.py --family heldout -n 3 --jobs find,ads
    python benchmarks/families.py --family heldout --first 3 -n 3   # files 3, 4 and 5
    python benchmarks/families.py --json > figures.json           # machine-readable, per file and per family
    python benchmarks/families.py --vidq-cache ~/.cache/vidq-fam  # reuse analyses between runs

Data goes to stdout (a per-file table, then one line per family); progress to stderr.  The
media are cached under ``--cache`` (default ``$XDG_CACHE_HOME/vidq-families``); vidq's own
cache is a fresh temporary folder per run unless ``--vidq-cache`` names one, so a run never
reads analyses made by older code.  Quality figures only: job times are recorded per call
in the JSON, but they are not a benchmark (the machine's load is printed with them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vidq.eval.intervals import gap, iou, score_ads
from vidq.testing.families import FAMILIES, absent_queries, build_family, eval_rows
from vidq.testing.scenarios import Scenario

TOLERANCE = 2.0  # seconds: a find hit must start (needles) or lie (ads) this close to the truth
CHAPTER_TOLERANCE = 5.0  # seconds: a chapter must start this close to a topic change
MATCH_IOU = 0.5  # a reported interval matches a true one at this IoU
GOOD_IOU = 0.8  # the bar for ad breaks
JOBS = ("find", "ads", "summarize", "ask")
MODEL = ("--model", "lite")


def vidq(args: list[str], cache: Path) -> dict[str, Any]:
    """Run ``vidq --cache-dir CACHE ARGS`` in a fresh process; its exit status, JSON output and time."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vidq", "--cache-dir", str(cache), *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, check=False)
    seconds = round(time.perf_counter() - t0, 2)
    doc = None
    if proc.stdout.strip():
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            doc = None
    error = proc.stderr.strip().splitlines()[-1] if proc.returncode not in (0, 1) and proc.stderr.strip() else None
    if error:
        print(f"  vidq {' '.join(args[:2])}...: exit {proc.returncode}: {error}", file=sys.stderr)
    return {"rc": proc.returncode, "doc": doc, "seconds": seconds, "error": error}


def _hits(call: dict[str, Any]) -> list[dict[str, Any]]:
    return (call["doc"] or {}).get("hits") or []


def _brief(hit: dict[str, Any] | None) -> dict[str, Any] | None:
    if hit is None:
        return None
    return {k: hit.get(k) for k in ("start", "end", "score", "source", "reason")}


def _on_spot(hit: dict[str, Any] | None, spans: list[tuple[float, float]]) -> bool:
    """The hit lies within ``TOLERANCE`` seconds of one of the spots."""
    return hit is not None and any(gap((hit["start"], hit["end"]), s) <= TOLERANCE for s in spans)


def run_find(sc: Scenario, cache: Path) -> dict[str, Any]:
    video = str(sc.video)
    needles = []
    for e in sc.needles:
        call = vidq(["find", e.query, video, "--json", "--top", "5", *MODEL], cache)
        hits = _hits(call)
        passed = call["rc"] == 0 and bool(hits) and abs(hits[0]["start"] - e.start) <= TOLERANCE
        first, ranked, seconds = passed, hits, call["seconds"]
        if not passed:  # rank the candidates the default threshold kept back
            again = vidq(["find", e.query, video, "--json", "--top", "5", "--threshold", "0", *MODEL], cache)
            ranked, seconds = _hits(again), seconds + again["seconds"]
            first = bool(ranked) and abs(ranked[0]["start"] - e.start) <= TOLERANCE
        needles.append({"query": e.query, "channel": e.channel, "start": e.start, "first": first, "passed": passed,
                        "rc": call["rc"], "top": _brief(ranked[0] if ranked else None), "seconds": seconds})
    ads = []
    for row in eval_rows(sc)["find.jsonl"]:
        if row["kind"] != "ad":
            continue
        call = vidq(["find", row["query"], video, "--json", "--top", "5", *MODEL], cache)
        hits = _hits(call)
        top = hits[0] if call["rc"] == 0 and hits else None
        spans = [tuple(x) for x in row["intervals"]]
        within, ranked, seconds = _on_spot(top, spans), hits, call["seconds"]
        first = within
        if not within:  # rank the candidates the default threshold kept back (what `vidq eval find` scores)
            again = vidq(["find", row["query"], video, "--json", "--top", "5", "--threshold", "0", *MODEL], cache)
            ranked, seconds = _hits(again), seconds + again["seconds"]
            first = _on_spot(ranked[0] if ranked else None, spans)
        edge = top is not None and any(abs(top["start"] - s[0]) <= TOLERANCE for s in spans)
        ads.append({"query": row["query"], "category": row["category"], "spots": row["intervals"], "first": first,
                    "passed": within, "edge": edge, "rc": call["rc"], "top": _brief(ranked[0] if ranked else None),
                    "seconds": seconds})
    absent = []
    for kind, query in absent_queries(sc):
        call = vidq(["find", query, video, "--json", "--top", "5", *MODEL], cache)
        hits = _hits(call)
        absent.append({"query": query, "kind": kind, "rc": call["rc"], "exit_1": call["rc"] == 1,
                       "top": _brief(hits[0] if hits else None), "seconds": call["seconds"]})
    return {"needles": needles, "ads": ads, "absent": absent}


def _listed_spots(segments: list[dict[str, Any]]) -> list[tuple[float, float]] | None:
    """Spots the ads output lists: a break's ``spots`` list or segments of kind ``spot`` (None: not listed)."""
    spots = [(float(s["start"]), float(s["end"])) for s in segments if s.get("kind") == "spot"]
    for seg in segments:
        for s in seg.get("spots") or []:
            spots.append((float(s["start"]), float(s["end"])))
    return spots if spots or any("spots" in s for s in segments) else None


def _overlapping(segments: list[tuple[float, float]]) -> int:
    ordered = sorted(segments)
    return sum(1 for i, a in enumerate(ordered) for b in ordered[i + 1:] if min(a[1], b[1]) - max(a[0], b[0]) > 0.04)


def run_ads(sc: Scenario, cache: Path) -> dict[str, Any]:
    call = vidq(["ads", str(sc.video), "--json", *MODEL], cache)
    segments = (call["doc"] or {}).get("segments") or []
    breaks = [(float(s["start"]), float(s["end"])) for s in segments if s["kind"] == "break"]
    sponsors = [(float(s["start"]), float(s["end"])) for s in segments if s["kind"] == "sponsor"]
    true_breaks = [(e.start, e.end) for e in sc.ad_breaks]
    true_sponsors = [(e.start, e.end) for e in sc.sponsors]
    b_score, s_score = score_ads(breaks, true_breaks, MATCH_IOU), score_ads(sponsors, true_sponsors, MATCH_IOU)
    edges = []
    for t in true_breaks:
        best = max(breaks, key=lambda p: iou(p, t), default=None)
        if best is not None and iou(best, t) > 0:
            edges.append((round(best[0] - t[0], 2), round(best[1] - t[1], 2)))
    listed = _listed_spots(segments)
    true_spots = [(e.start, e.end) for e in sc.ads]
    spots_matched = score_ads(listed, true_spots, MATCH_IOU).matched if listed is not None else None
    return {"rc": call["rc"], "seconds": call["seconds"], "error": call["error"],
            "breaks": len(true_breaks), "matched": b_score.matched, "good": sum(v >= GOOD_IOU for v in b_score.best_iou),
            "best_iou": [round(v, 3) for v in b_score.best_iou], "edges": edges,
            "spots": len(true_spots), "spots_listed": None if listed is None else len(listed),
            "spots_matched": spots_matched, "false": b_score.false + s_score.false,
            "overlapping": _overlapping(breaks + sponsors) + _overlapping(listed or []),
            "sponsors": len(true_sponsors), "sponsors_matched": s_score.matched,
            "reported": [{"kind": s["kind"], "start": s["start"], "end": s["end"]} for s in segments]}


def run_summarize(sc: Scenario, cache: Path) -> dict[str, Any]:
    call = vidq(["summarize", str(sc.video), "--json", *MODEL], cache)
    chapters = (call["doc"] or {}).get("chapters") or []
    starts = [float(c["start"]) for c in chapters][1:]
    errors = [round(min((abs(s - c) for s in starts), default=float("inf")), 2) for c in sc.topic_changes]
    return {"rc": call["rc"], "seconds": call["seconds"], "error": call["error"], "changes": len(errors),
            "hit": sum(e <= CHAPTER_TOLERANCE for e in errors), "errors": errors, "chapters": len(chapters),
            "topics": len(sc.topics)}


def run_ask(sc: Scenario, cache: Path) -> dict[str, Any]:
    items = []
    for q in sc.qa:
        call = vidq(["ask", str(sc.video), q.question, "--choices", *q.choices(), "--json", *MODEL], cache)
        letter = (call["doc"] or {}).get("letter")
        items.append({"question": q.question, "answer": q.answer, "letter": letter, "right": letter == q.answer,
                      "rc": call["rc"], "seconds": call["seconds"]})
    return {"items": items, "right": sum(i["right"] for i in items), "n": len(items)}


RUNNERS = {"find": run_find, "ads": run_ads, "summarize": run_summarize, "ask": run_ask}


def summarize_family(files: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts over the family's files (each figure as [count, out of])."""
    def total(job: str, key: str) -> int:
        return sum(f[job][key] for f in files if job in f)

    out: dict[str, Any] = {"files": len(files)}
    if all("find" in f for f in files):
        needles = [n for f in files for n in f["find"]["needles"]]
        ads = [a for f in files for a in f["find"]["ads"]]
        absent = [a for f in files for a in f["find"]["absent"]]
        out["find"] = {"needle_r1": [sum(n["first"] for n in needles), len(needles)],
                       "needle_pass": [sum(n["passed"] for n in needles), len(needles)],
                       "ad_for_x_r1": [sum(a["first"] for a in ads), len(ads)],
                       "ad_for_x": [sum(a["passed"] for a in ads), len(ads)],
                       "ad_for_x_edge": [sum(a["passed"] and a["edge"] for a in ads), len(ads)],
                       "absent_exit_1": [sum(a["exit_1"] for a in absent), len(absent)]}
    if all("ads" in f for f in files):
        edges = [e for f in files for e in f["ads"]["edges"]]
        listed = [f["ads"] for f in files if f["ads"]["spots_matched"] is not None]
        out["ads"] = {"breaks_iou_0.5": [total("ads", "matched"), total("ads", "breaks")],
                      "breaks_iou_0.8": [total("ads", "good"), total("ads", "breaks")],
                      "spots": [sum(a["spots_matched"] for a in listed), total("ads", "spots")] if listed else None,
                      "false": total("ads", "false"), "overlapping": total("ads", "overlapping"),
                      "sponsors": [total("ads", "sponsors_matched"), total("ads", "sponsors")],
                      "mean_start_error": round(sum(e[0] for e in edges) / len(edges), 2) if edges else None,
                      "mean_end_error": round(sum(e[1] for e in edges) / len(edges), 2) if edges else None}
    if all("summarize" in f for f in files):
        out["summarize"] = {"chapters_within_5s": [total("summarize", "hit"), total("summarize", "changes")],
                            "chapters": total("summarize", "chapters"), "topics": total("summarize", "topics")}
    if all("ask" in f for f in files):
        out["ask"] = {"mc": [total("ask", "right"), total("ask", "n")]}
    out["job_seconds"] = round(sum(f["seconds"] for f in files), 1)
    return out


def _frac(pair: list[int] | None) -> str:
    return "-" if pair is None else f"{pair[0]}/{pair[1]}"


def file_line(f: dict[str, Any]) -> str:
    cells = [f"{f['name']:<11}", f"{f['duration']:6.1f}s", f"{f['build_seconds']:5.1f}s"]
    if "find" in f:
        fd = f["find"]
        cells += [f"{sum(n['first'] for n in fd['needles'])}/{len(fd['needles'])}",
                  f"{sum(n['passed'] for n in fd['needles'])}/{len(fd['needles'])}",
                  f"{sum(a['first'] for a in fd['ads'])}/{len(fd['ads'])} {sum(a['passed'] for a in fd['ads'])}",
                  f"{sum(a['exit_1'] for a in fd['absent'])}/{len(fd['absent'])}"]
    if "ads" in f:
        a = f["ads"]
        cells += [f"{a['matched']}/{a['breaks']} {a['good']}/{a['breaks']}",
                  "-" if a["spots_matched"] is None else f"{a['spots_matched']}/{a['spots']}",
                  str(a["false"]), str(a["overlapping"]), f"{a['sponsors_matched']}/{a['sponsors']}",
                  " ".join(f"{s:+.1f}/{e:+.1f}" for s, e in a["edges"]) or "-"]
    if "summarize" in f:
        s = f["summarize"]
        cells.append(f"{s['hit']}/{s['changes']} ({s['chapters']} ch)")
    if "ask" in f:
        cells.append(f"{f['ask']['right']}/{f['ask']['n']}")
    return "  ".join(cells)


def header(jobs: list[str]) -> str:
    cells = ["file       ", "  video", " build"]
    if "find" in jobs:
        cells += ["r@1", "pass", "ad r@1 pass", "absent"]
    if "ads" in jobs:
        cells += ["breaks .5 .8", "spots", "false", "overlap", "sponsor", "edge err start/end"]
    if "summarize" in jobs:
        cells.append("chapters")
    if "ask" in jobs:
        cells.append("ask")
    return "  ".join(cells)


def family_line(name: str, s: dict[str, Any]) -> str:
    parts = [f"{name}: {s['files']} files"]
    if "find" in s:
        f = s["find"]
        parts.append(f"find needle r@1 {_frac(f['needle_r1'])}, above threshold {_frac(f['needle_pass'])}; "
                     f"'ad for X' r@1 {_frac(f['ad_for_x_r1'])}, first+above {_frac(f['ad_for_x'])} "
                     f"(starting at the spot {_frac(f['ad_for_x_edge'])}); "
                     f"absent exit 1 {_frac(f['absent_exit_1'])}")
    if "ads" in s:
        a = s["ads"]
        parts.append(f"ads breaks IoU>=0.5 {_frac(a['breaks_iou_0.5'])}, IoU>=0.8 {_frac(a['breaks_iou_0.8'])}, "
                     f"spots {_frac(a['spots'])}, false {a['false']}, overlapping {a['overlapping']}, "
                     f"sponsors {_frac(a['sponsors'])}, mean edge error start {a['mean_start_error']} s "
                     f"end {a['mean_end_error']} s")
    if "summarize" in s:
        m = s["summarize"]
        parts.append(f"summarize chapters within 5 s {_frac(m['chapters_within_5s'])} "
                     f"({m['chapters']} chapters for {m['topics']} topics)")
    if "ask" in s:
        parts.append(f"ask MC {_frac(s['ask']['mc'])}")
    return "\n  ".join(parts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--family", choices=(*FAMILIES, "both"), default="both")
    p.add_argument("-n", type=int, default=10, help="files per family")
    p.add_argument("--first", type=int, default=0, help="index of the first file (files FIRST .. FIRST+N-1)")
    p.add_argument("--jobs", default=",".join(JOBS), help="comma-separated subset of find,ads,summarize,ask")
    p.add_argument("--json", action="store_true", help="print everything as one JSON document")
    p.add_argument("--cache", type=Path,
                   default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vidq-families",
                   help="where the generated videos and truth files are cached")
    p.add_argument("--vidq-cache", type=Path, default=None, help="vidq's --cache-dir (default: a fresh temporary one)")
    p.add_argument("--seed", type=int, default=None, help="family seed (default: each family's own)")
    p.add_argument("--build-only", action="store_true", help="build the families and their truth files, run no job")
    args = p.parse_args()
    jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    bad = [j for j in jobs if j not in JOBS]
    if bad or args.n < 1 or args.first < 0:
        p.error(f"--jobs takes {','.join(JOBS)}" if bad else "-n must be at least 1 and --first at least 0")
    families = list(FAMILIES) if args.family == "both" else [args.family]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="vidq-families-") as tmp:
        vcache = args.vidq_cache or Path(tmp)
        report: dict[str, Any] = {"schema": "vidq.bench.families/1", "jobs": jobs, "load": os.getloadavg()[0],
                                  "families": {}}
        for family in families:
            t0 = time.perf_counter()
            scenarios = build_family(args.cache, family, args.n, args.seed, args.first)
            print(f"{family}: {len(scenarios)} files ready in {time.perf_counter() - t0:.1f} s under "
                  f"{args.cache / family}", file=sys.stderr)
            files = []
            for sc in scenarios:
                row: dict[str, Any] = {"name": sc.name, "video": str(sc.video), "duration": sc.duration,
                                       "build_seconds": sc.build_seconds, "info": sc.info}
                t1 = time.perf_counter()
                for job in [] if args.build_only else jobs:
                    row[job] = RUNNERS[job](sc, vcache)
                row["seconds"] = round(time.perf_counter() - t1, 1)
                print(f"  {file_line(row)}  [{row['seconds']:.0f} s]", file=sys.stderr)
                files.append(row)
            report["families"][family] = {"files": files, "summary": summarize_family(files)}
        if args.json:
            json.dump(report, sys.stdout, indent=1)
            sys.stdout.write("\n")
            return
        for family, data in report["families"].items():
            print(f"{family}\n{header(jobs)}")
            for f in data["files"]:
                print(file_line(f))
            print()
        for family, data in report["families"].items():
            print(family_line(family, data["summary"]))


if __name__ == "__main__":
    main()
