"""Soak test of the cache: random SIGKILLs, concurrent jobs, read-only and full caches.

    python benchmarks/soak.py                          # examples/sample.mp4, 20 kills
    python benchmarks/soak.py --kills 50 --seed 7
    python benchmarks/soak.py --video show.mp4 --query "ad for soda" --json soak.json

Phases, each checked against reference outputs made with ``--no-cache`` (see
``vidq.testing.soak``): N rounds of a random job (summarize, find, ads, transcribe) on one
shared cache, some of its entries evicted first, SIGKILLed at a random moment and then
run to the end; the four jobs at once on an empty cache; three ``summarize`` at once on an
empty cache against one alone (the issue's measurement: how many ran ASR, and the wall
time ratio); every job on the shared cache made read-only, and on a nearly full one; every
job on a copy of the cache with every entry damaged; ``vidq cache verify`` at the end.
Prints runs, kills and mismatches (exit 1 when there is any mismatch).

Wall times depend on the machine's load: the load average is printed first and the
concurrency figure is a ratio against a single run measured in the same session.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vidq.speech import TRANSCRIPT_STAGE  # noqa: E402
from vidq.testing.soak import Soak  # noqa: E402


def _load() -> str:
    with open("/proc/loadavg") as f:
        return "load average " + " ".join(f.read().split()[:3]) + f" on {os.cpu_count()} CPUs"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", type=Path, default=REPO / "examples" / "sample.mp4")
    ap.add_argument("--query", default="secret code", help="the find job's query")
    ap.add_argument("--kills", type=int, default=20, help="SIGKILL rounds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary directory")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    rng = random.Random(args.seed)
    print(_load(), flush=True)
    with tempfile.TemporaryDirectory(prefix="vidq-soak-") as tmp:
        work = args.workdir or Path(tmp)
        soak = Soak(args.video, work, query=args.query, say=lambda line: print(line, flush=True))
        t0 = time.monotonic()
        soak.references()
        shared = work / "shared-cache"
        soak.kills(shared, args.kills, rng)
        soak.concurrent(work / "concurrent-cache")
        one = soak.run("summarize", work / "single-cache", verbose=True)
        soak.check("single summarize", one)
        t1 = time.monotonic()
        asr = soak.concurrent(work / "three-cache", ["summarize"] * 3).get(TRANSCRIPT_STAGE, 0)
        three = time.monotonic() - t1
        figure = (f"3 concurrent summarize on one empty cache: ASR ran {asr} time(s); wall {three:.1f} s "
                  f"= {three / one.seconds:.2f} x one summarize alone ({one.seconds:.1f} s)")
        print(figure, flush=True)
        soak.report.notes.append(figure)
        soak.readonly(shared, rng)
        soak.full(shared)
        damaged = soak.damaged(shared, rng)
        soak.report.notes.append(f"damaged cache: {damaged} entries damaged")
        soak.verify(shared)
        report = soak.report
        print(_load())
        print(f"soak: {report.runs} runs, {report.kills} kills, {report.checked} outputs compared, "
              f"{len(report.mismatches)} mismatches in {time.monotonic() - t0:.0f} s")
        for line in report.mismatches:
            print("  " + line)
        if args.json:
            args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 1 if report.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
