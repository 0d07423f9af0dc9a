"""Peak memory of ``--compress kv`` as the frame count grows (the cache stays bounded).

``kv`` prefills the video in windows of ``--window`` tokens (Video-XL's 1440 by default)
and keeps 1/r of each window's KV entries, so the cache, and with it memory, should grow
with N/r, not with N.  For each frame count this runs, in a fresh process, one answer of
a tiny random-weight model (built from a real transformers config, loaded offline from a
local folder) over N synthetic frames, and prints the KV entries kept, the peak resident
memory (``VmHWM``) and its growth from the smallest N.  The same answers with ``--compress
none`` (the whole context in the cache) are the baseline, measured in the same run.

    python benchmarks/kv_memory.py                              # llava_onevision, N = 256, 2048, r = 16
    python benchmarks/kv_memory.py --family qwen2_5_vl --frames 256,1024,2048 --ratio 8
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


def _vmhwm() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not in /proc/self/status")


def child(args: argparse.Namespace) -> dict:
    import numpy as np

    from vidq.compress import CompressOptions
    from vidq.media.types import FrameBatch
    from vidq.models.base import GenerateOptions, VideoInput
    from vidq.models.registry import load_backend
    from vidq.testing.tiny_models import tiny_model_dir

    backend = load_backend(str(tiny_model_dir(args.family, Path(args.models))), device="cpu", offline=True)
    backend.compress_options = CompressOptions(kv_window=args.window)
    rng = np.random.default_rng(0)
    n = args.n

    def batches():
        for s in range(0, n, 64):
            k = min(64, n - s)
            yield FrameBatch(images=rng.integers(0, 255, (k, 32, 32, 3), dtype=np.uint8),
                             pts=np.arange(s, s + k) * 1.0, indices=np.arange(s, s + k))

    video = VideoInput(batches=batches(), times=[float(i) for i in range(n)], subtitles=None, duration=float(n))
    before = _vmhwm()
    t0 = time.perf_counter()
    ratio = args.ratio if args.compress == "kv" else None
    meta = backend.answer(video, "What happens?", GenerateOptions(max_new_tokens=2, compress=args.compress,
                                                                  ratio=ratio)).meta
    return {"n": n, "compress": args.compress, "seconds": time.perf_counter() - t0, "peak_rss": _vmhwm(),
            "rss_before": before, "visual_tokens_in": meta.get("visual_tokens_in"),
            "kv_entries": meta.get("kv_entries", meta.get("context_length"))}


def run(args: argparse.Namespace, n: int, compress: str, models: str) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--n", str(n), "--compress", compress, "--models", models,
           "--family", args.family, "--ratio", str(args.ratio), "--window", str(args.window)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"worker failed for N={n} {compress}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", default="llava_onevision", help="tiny model family (vidq.testing.tiny_models.FAMILIES)")
    ap.add_argument("--frames", default="256,2048", help="comma-separated frame counts, smallest first")
    ap.add_argument("--ratio", type=int, default=16, help="kv compression ratio r")
    ap.add_argument("--window", type=int, default=1440, help="prefill window in tokens")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--compress", default="kv", help=argparse.SUPPRESS)
    ap.add_argument("--models", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(child(args)))
        return
    ns = [int(x) for x in args.frames.split(",")]
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"# {args.family} (tiny random weights), kv r={args.ratio}, window {args.window}; "
          f"{os.cpu_count()} CPUs, load average {load}")
    with tempfile.TemporaryDirectory() as models:
        rows = [run(args, n, compress, models) for compress in ("none", "kv") for n in ns]
    first = {r["compress"]: r for r in reversed(rows)}  # each strategy's smallest N
    print(f"| compress |     N | visual tokens | KV entries | peak RSS MB | {'RSS vs N=' + str(ns[0]):>15s} |   wall s |")
    print("|----------|-------|---------------|------------|-------------|-----------------|----------|")
    for r in rows:
        growth = f"{(r['peak_rss'] / first[r['compress']]['peak_rss'] - 1) * 100:+.1f}%"
        print(f"| {r['compress']:8s} | {r['n']:5d} | {r['visual_tokens_in'] or 0:13,d} | {r['kv_entries'] or 0:10,d} "
              f"| {r['peak_rss'] / 2**20:11.0f} | {growth:>15s} | {r['seconds']:8.1f} |")


if __name__ == "__main__":
    main()
