"""What the robustness of the media layer costs: probe and decode, this tree against a baseline tree.

    python benchmarks/robust.py --baseline /path/to/other/checkout     # e.g. the main branch
    python benchmarks/robust.py --baseline ../main --duration 600 --frames 256

For an MP4 file, the same streams remuxed to MPEG-TS, and a spliced MPEG-TS (two halves with
clocks 50 minutes apart, joined byte for byte), each tree runs in its own subprocess (no
cache, a fresh process per step): ``probe``, then a uniform plan of N frames decoded at 448
px in ``exact`` and ``fast`` mode.  The ratio is branch time over baseline time (1.00x: no
cost; the baseline cannot map the spliced file, so its row there is what it did, not a
reference).  A third column times the spliced file against the unspliced TS on this tree.

The video (640x360, 25 fps, 2 s GOP, 2 B-frames, AAC) is cached in ``~/.cache/vidq-bench/``.
Timings on a shared machine are noisy: run it twice and read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VIDQ_BENCH_CACHE", Path.home() / ".cache" / "vidq-bench"))
VIDEO = {"size": (640, 360), "fps": 25.0, "gop_seconds": 2.0, "bframes": 2, "audio": "tone"}
STEPS = ("probe", "exact", "fast")

CHILD = """
import json, sys, time
from vidq.media import decode, plan_samples, probe
path, frames = sys.argv[1], int(sys.argv[2])
out = {}
t = time.perf_counter(); info = probe(path); out["probe"] = time.perf_counter() - t
for accuracy in ("exact", "fast"):
    plan = plan_samples(info, frames=frames, accuracy=accuracy)
    t = time.perf_counter(); n = sum(len(b) for b in decode(path, plan, info=info, size=448))
    out[accuracy] = time.perf_counter() - t
    assert n == len(plan)
print(json.dumps(out))
"""


def files(duration: int) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from vidq.testing.video import make_video

    CACHE.mkdir(parents=True, exist_ok=True)
    mp4 = CACHE / f"robust-360p-{duration}s.mp4"
    if not mp4.exists():
        make_video(CACHE / f".partial-{mp4.name}", duration=duration, n_scenes=max(1, duration // 30), **VIDEO)
        os.replace(CACHE / f".partial-{mp4.name}", mp4)
    ts = mp4.with_suffix(".ts")
    spliced = mp4.with_name(mp4.stem + "-spliced.ts")
    if not ts.exists() or not spliced.exists():
        ff = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        subprocess.run([*ff, "-i", str(mp4), "-c", "copy", "-f", "mpegts", str(ts)], check=True)
        half = duration / 2
        parts = []
        for i, (start, offset) in enumerate(((0.0, 3600.0), (half, 600.0))):
            part = CACHE / f".half{i}-{spliced.name}"
            subprocess.run([*ff, "-ss", f"{start}", "-t", f"{half}", "-i", str(mp4), "-c", "copy",
                            "-output_ts_offset", f"{offset}", "-f", "mpegts", str(part)], check=True)
            parts.append(part)
        spliced.write_bytes(b"".join(p.read_bytes() for p in parts))
        for p in parts:
            p.unlink()
    return {"mp4": mp4, "ts": ts, "spliced-ts": spliced}


def run(tree: Path, path: Path, frames: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(frames)], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="another checkout of vidq to compare with")
    ap.add_argument("--duration", type=int, default=300, help="seconds of video")
    ap.add_argument("--frames", type=int, default=128, help="frames per decode plan")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    found = files(args.duration)
    t0 = time.perf_counter()
    table = {name: {"branch": run(ROOT, path, args.frames), "baseline": run(args.baseline.resolve(), path, args.frames)}
             for name, path in found.items()}
    print(f"# {args.duration} s of 640x360, {args.frames} frames per plan; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end ({time.perf_counter() - t0:.0f} s)")
    print(f"{'file':12s} {'step':6s} {'baseline s':>11s} {'branch s':>9s} {'ratio':>7s} {'vs ts':>7s}")
    for name, row in table.items():
        for step in STEPS:
            base, mine = row["baseline"].get(step), row["branch"].get(step)
            ts = table["ts"]["branch"].get(step)
            ratio = f"{mine / base:.2f}x" if base and mine else "-"
            versus = f"{mine / ts:.2f}x" if name == "spliced-ts" and mine and ts else ""
            base_txt = f"{base:.3f}" if base else row["baseline"].get("error", "-")[:40]
            print(f"{name:12s} {step:6s} {base_txt:>11s} {mine if mine is None else round(mine, 3)!s:>9s} "
                  f"{ratio:>7s} {versus:>7s}")


if __name__ == "__main__":
    main()
