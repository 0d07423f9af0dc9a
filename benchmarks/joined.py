"""Files joined with ffmpeg's concat demuxer against their parts: same pictures, same cost.

    python benchmarks/joined.py PART.mp4 PART.mp4 ... [--frames 64] [--summarize] [--work DIR]

The parts are joined the way people join recordings (``ffmpeg -f concat -safe 0 -i list
-c copy joined.mp4``; they must share codec settings).  Then, in this process:

- ``frames``: for ``exact`` and ``fast``, a uniform plan of ``--frames`` targets over the
  joined file is decoded from the joined file, and the same targets, moved to each part's
  own clock, from the parts.  Every picture from the joined file is compared with the
  part's (mean absolute difference under 1 level counts as the same picture); the wall
  time of the joined file over the parts' summed is the ratio (the issue's bound: 2x).
- ``--summarize``: a cold ``vidq summarize`` (fresh cache) of the joined file, each in a
  fresh process, against the parts' cold summarizes summed: wall and CPU seconds.

The load average is printed with each figure, since the machine may be shared.
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

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def format_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def join(parts: list[Path], target: Path) -> None:
    listing = target.with_suffix(".txt")
    listing.write_text("".join(f"file '{p.resolve()}'\n" for p in parts))
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                    "-i", str(listing), "-c", "copy", str(target)], check=True)


def decode_all(path: Path, times: list[float], accuracy: str, tolerance: float) -> tuple[dict[float, np.ndarray], float]:
    """The pictures at ``times`` (seconds on ``path``'s clock) and the wall time, probe included."""
    from vidq.media import decode, probe
    from vidq.media.types import SamplePlan

    t0 = time.perf_counter()
    info = probe(path)
    plan = SamplePlan(times=tuple(times), mode="uniform", accuracy=accuracy, tolerance=tolerance,
                      start=0.0, end=info.duration)
    got: dict[float, np.ndarray] = {}
    for batch in decode(path, plan, info=info, size=320):
        for i, img in zip(batch.indices, batch.images):
            got[plan.times[int(i)]] = img
    return got, time.perf_counter() - t0


def frames(joined: Path, parts: list[Path], n: int) -> dict:
    from vidq.media import plan_samples, probe

    offsets, acc = [], 0.0
    for p in parts:  # the concat demuxer starts each part where the previous one's duration ends
        offsets.append(acc)
        acc += format_duration(p)
    info = probe(joined)
    out: dict = {"targets": n, "parts": len(parts), "joined_seconds": round(info.duration, 1)}
    for accuracy in ("exact", "fast"):
        plan = plan_samples(info, frames=n, accuracy=accuracy)
        whole, t_joined = decode_all(joined, list(plan.times), accuracy, plan.tolerance)
        same = compared = 0
        t_parts = 0.0
        for k, part in enumerate(parts):
            hi = offsets[k + 1] if k + 1 < len(parts) else float("inf")
            mine = [t for t in plan.times if offsets[k] <= t < hi]
            if not mine:
                continue
            local = [round(t - offsets[k], 6) for t in mine]
            got, dt = decode_all(part, local, accuracy, plan.tolerance)
            t_parts += dt
            for t, lt in zip(mine, local):
                if t in whole and lt in got:
                    compared += 1
                    diff = np.abs(whole[t].astype(np.int16) - got[lt].astype(np.int16)).mean()
                    same += int(diff < 1.0)
        out[accuracy] = {"joined_s": round(t_joined, 2), "parts_s": round(t_parts, 2),
                         "ratio": round(t_joined / t_parts, 2), "same_picture": f"{same}/{compared}",
                         "load": load_avg()}
    return out


def cold_summarize(path: Path, cache: Path) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), HF_HUB_OFFLINE="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "vidq", "--cache-dir", str(cache), "--no-progress", "summarize",
                           str(path), "--json"], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"vidq summarize {path} failed ({proc.returncode}): {proc.stderr[-600:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def summarize(joined: Path, parts: list[Path], work: Path) -> dict:
    wall_j, cpu_j = cold_summarize(joined, work / "cache-joined")
    load_j = load_avg()
    wall_p = cpu_p = 0.0
    for k, part in enumerate(parts):
        w, c = cold_summarize(part, work / f"cache-part{k}")
        wall_p, cpu_p = wall_p + w, cpu_p + c
    return {"joined": {"wall_s": round(wall_j, 1), "cpu_s": round(cpu_j, 1), "load": load_j},
            "parts_summed": {"wall_s": round(wall_p, 1), "cpu_s": round(cpu_p, 1), "load": load_avg()},
            "wall_ratio": round(wall_j / wall_p, 2), "cpu_ratio": round(cpu_j / cpu_p, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("parts", nargs="+", type=Path)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--summarize", action="store_true", help="also time cold summarizes (minutes)")
    ap.add_argument("--work", type=Path, help="keep the joined file and caches here")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="vidq-bench-joined-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        joined = work / "joined.mp4"
        if not joined.exists():
            join(args.parts, joined)
        result = {"frames": frames(joined, args.parts, args.frames)}
        print(json.dumps(result["frames"]), file=sys.stderr)
        if args.summarize:
            result["summarize"] = summarize(joined, args.parts, work)
        print(json.dumps(result, indent=2))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
