"""What the per-file analysis costs, against a plain transcription of the same file, and what a second question costs.

In one run, each step a fresh ``vidq`` process with no TTY (what a cron job pays), on a
generated spoken video (``vidq.testing.scenarios.hour_scenario``, or ``--minutes``):

1. **baseline**: ``vidq transcribe FILE`` into an empty cache (ASR only);
2. **cold job**: ``vidq summarize FILE`` into another empty cache: the whole analysis
   (ASR, the picture pass with OCR, loudness, sentence vectors, ad segments) plus the
   job;  the ratio ``cold / baseline`` is the analysis overhead;
3. **warm jobs**: ``summarize``, ``find``, ``ads``, ``ask`` on the analysed file, each in
   a fresh process: what a second question costs (no decoding, no ASR).

The CPU count and load average are printed first; run it on an idle machine.

Usage::

    python benchmarks/analysis.py                    # the 61-minute scenario (built once, cached)
    python benchmarks/analysis.py --minutes 10       # a shorter one
    python benchmarks/analysis.py --video talk.mp4   # any file
    python benchmarks/analysis.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WARM = (
    ("summarize", ["summarize", "{video}"]),
    ("find", ["find", "secret code", "{video}"]),
    ("find ad", ["find", "ad for soda", "{video}"]),
    ("ads", ["ads", "{video}"]),
    ("ask", ["ask", "{video}", "When was the lighthouse on Gull Island built?", "--choices", "A) 1887", "B) 1923",
             "C) 1850", "D) 1901"]),
)


def run(args: list[str], cache: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the child, exit code) of ``vidq --cache-dir CACHE ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vidq", "--cache-dir", str(cache), "--no-progress", *args],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        print(f"  ! vidq {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-400:]}", file=sys.stderr)
    return wall, cpu, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, help="a video to use instead of the generated scenario")
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the generated scenario (default 60)")
    ap.add_argument("--scenarios", type=Path, default=Path(".cache/bench-scenarios"),
                    help="where generated scenarios are kept between runs")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each warm job (median reported)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}", flush=True)
    if args.video is None:
        from vidq.testing.scenarios import hour_scenario

        t0 = time.perf_counter()
        sc = hour_scenario(args.scenarios, minutes=args.minutes)
        video = sc.video
        print(f"scenario: {video.name}, {sc.duration / 60:.1f} min (ready in {time.perf_counter() - t0:.0f} s)")
    else:
        video = args.video
    work = Path(tempfile.mkdtemp(prefix="vidq-bench-analysis-"))
    try:
        base_wall, base_cpu, _ = run(["transcribe", str(video)], work / "a")
        print(f"baseline  vidq transcribe              {base_wall:8.1f} s wall  {base_cpu:8.1f} s CPU", flush=True)
        cold_wall, cold_cpu, _ = run(["summarize", str(video)], work / "b")
        print(f"cold      vidq summarize (analysis)    {cold_wall:8.1f} s wall  {cold_cpu:8.1f} s CPU"
              f"   ratio {cold_wall / base_wall:.2f}x wall, {cold_cpu / base_cpu:.2f}x CPU", flush=True)
        warm: dict[str, list[float]] = {}
        for name, template in WARM:
            for _ in range(args.repeat):
                cmd = [a.replace("{video}", str(video)) for a in template]
                warm.setdefault(name, []).append(run(cmd, work / "b")[0])
            times = sorted(warm[name])
            print(f"warm      vidq {name:<22}  {times[len(times) // 2]:8.2f} s wall (median of {len(times)}, "
                  f"max {times[-1]:.2f})", flush=True)
        size = sum(p.stat().st_size for p in (work / "b").rglob("*") if p.is_file())
        print(f"cache after the analysis: {size / 1e6:.1f} MB")
        if args.json:
            args.json.write_text(json.dumps({
                "video": str(video), "baseline": {"wall": base_wall, "cpu": base_cpu},
                "cold": {"wall": cold_wall, "cpu": cold_cpu, "ratio_wall": cold_wall / base_wall},
                "warm": {k: sorted(v)[len(v) // 2] for k, v in warm.items()}, "cache_bytes": size,
                "load": os.getloadavg(),
            }, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
