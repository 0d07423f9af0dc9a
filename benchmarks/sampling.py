"""Sampling benchmark: N frames from a long 720p H.264 file, vidq against decord and naive PyAV.

    python benchmarks/sampling.py                      # 20-minute file, N = 64, 256, 2048
    python benchmarks/sampling.py --duration 3600      # the 1-hour file of the issue's targets

Contenders, each timed in its own subprocess (so peak RSS is its own), all on the same
plan (uniform N, segment centres) and the same output size (448 px longest side, RGB):

- ``vidq-exact``: ``vidq.media.decode`` with the exact plan (the frame shown at each time)
- ``vidq-fast``:  the fast plan (nearest decodable frame within half the sampling interval)
- ``decord``:     ``VideoReader(width, height).get_batch(indices)``, the indices of the exact answers
- ``pyav-naive``: for each target, ``container.seek`` then decode forward to it
- ``floor``:      decode only the keyframe nearest each target (a lower bound on keyframe cost)

Wall time covers opening the file, indexing/probing and decoding (imports excluded).  The
ratio column is decord's wall time over the contender's (``5.0x`` = five times faster).

The video (1280x720, 25 fps, 8 s GOP, 3 B-frames, distinct scenes, burned-in timestamps)
is cached in ``~/.cache/vidq-bench/``.  Files longer than 5 minutes are built by joining
copies of one 5-minute segment with ``-c copy`` (the timestamps burned into the picture
then repeat; the stream's own PTS do not), which makes the hour-long file cheap to build.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VIDQ_BENCH_CACHE", Path.home() / ".cache" / "vidq-bench"))
SEGMENT_SECONDS = 300  # longer files are copies of one segment of this length
SIZE = 448  # output longest side, pixels
CONTENDERS = ("vidq-exact", "vidq-fast", "decord", "pyav-naive", "floor")
VIDEO = {"size": (1280, 720), "fps": 25.0, "gop_seconds": 8.0, "bframes": 3, "crf": 23}


def bench_video(duration: int) -> Path:
    """The cached benchmark file of ``duration`` seconds (made on first use)."""
    sys.path.insert(0, str(ROOT))
    from vidq.testing.video import make_video

    CACHE.mkdir(parents=True, exist_ok=True)
    name = f"h264-720p-25fps-gop8-bf3-{duration}s.mp4"
    target = CACHE / name
    if target.exists():
        return target
    seg_len = min(duration, SEGMENT_SECONDS)
    segment = CACHE / f"segment-h264-720p-25fps-gop8-bf3-{seg_len}s.mp4"
    if not segment.exists():
        tmp = CACHE / f".partial-{segment.name}"
        t = time.perf_counter()
        make_video(tmp, duration=seg_len, n_scenes=max(1, seg_len // 40), scenecut=False, **VIDEO)
        os.replace(tmp, segment)
        print(f"# made {segment.name} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    if seg_len == duration:
        return segment
    copies = -(-duration // seg_len)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, dir=CACHE) as fh:
        fh.write("".join(f"file '{segment}'\n" for _ in range(copies)))
        listing = fh.name
    tmp = CACHE / f".partial-{name}"
    try:
        subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                        "-i", listing, "-c", "copy", "-t", str(duration), str(tmp)], check=True)
    finally:
        os.unlink(listing)
    os.replace(tmp, target)
    return target


# -- workers (each runs in its own process) ---------------------------------------------------

def _geometry(info):
    from vidq.media.resize import plan_geometry

    return plan_geometry(info.video.display_size, info.video.rotation, SIZE, "fit")


def work_vidq(path: str, n: int, accuracy: str) -> dict:
    from vidq.media import decode, plan_samples, probe

    info = probe(path)
    plan = plan_samples(info, frames=n, accuracy=accuracy)
    got = 0
    for batch in decode(path, plan, info=info, size=SIZE):
        got += len(batch)
    return {"frames": got}


def work_decord(path: str, n: int) -> dict:
    import decord

    from vidq.media import plan_samples, probe
    from vidq.media.decode import decord_indices

    info = probe(path)
    plan = plan_samples(info, frames=n)
    w, h = _geometry(info).decode_size
    reader = decord.VideoReader(path, ctx=decord.cpu(0), width=w, height=h, num_threads=0)
    indices, _ = decord_indices(reader, plan, info.video)
    arr = reader.get_batch(indices).asnumpy()
    return {"frames": int(arr.shape[0])}


def work_naive(path: str, n: int) -> dict:
    import av

    from vidq.media import plan_samples, probe

    info = probe(path)
    plan = plan_samples(info, frames=n)
    w, h = _geometry(info).decode_size
    got = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        tb = float(s.time_base)
        for t in plan.times:
            c.seek(int(t / tb), stream=s, backward=True)
            last = None
            for frame in c.decode(s):
                if frame.pts * tb > t + 1e-6:
                    break
                last = frame
            (last or frame).to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")
            got += 1
    return {"frames": got}


def work_floor(path: str, n: int) -> dict:
    import av
    import numpy as np

    from vidq.media import plan_samples, probe

    info = probe(path)
    plan = plan_samples(info, frames=n)
    keys = np.asarray(info.video.keyframes)
    chosen = sorted({float(keys[np.argmin(np.abs(keys - t))]) for t in plan.times})
    w, h = _geometry(info).decode_size
    got = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        tb = float(s.time_base)
        cc = s.codec_context
        for k in chosen:
            c.seek(round(k / tb), stream=s, backward=True)
            for packet in c.demux(s):
                if packet.is_keyframe:
                    frames = list(cc.decode(packet)) + list(cc.decode(None))
                    frames[0].to_ndarray(format="rgb24", width=w, height=h, interpolation="AREA")
                    got += 1
                    break
            cc.flush_buffers()
    return {"frames": got, "keyframes_decoded": len(chosen)}


def worker(name: str, path: str, n: int) -> None:
    import av  # noqa: F401  (imports are not timed)
    import numpy  # noqa: F401

    if name == "decord":
        import decord  # noqa: F401
    sys.path.insert(0, str(ROOT))
    import vidq.media  # noqa: F401

    t = time.perf_counter()
    if name == "vidq-exact":
        out = work_vidq(path, n, "exact")
    elif name == "vidq-fast":
        out = work_vidq(path, n, "fast")
    elif name == "decord":
        out = work_decord(path, n)
    elif name == "pyav-naive":
        out = work_naive(path, n)
    else:
        out = work_floor(path, n)
    out["wall_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


# -- driver -----------------------------------------------------------------------------------

def run_one(name: str, path: Path, n: int, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--file", str(path), "--n", str(n)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=1200, help="seconds of video (default 1200 = 20 min)")
    ap.add_argument("--ns", default="64,256,2048", help="comma-separated frame counts")
    ap.add_argument("--contenders", default=",".join(CONTENDERS), help="comma-separated subset of " + ", ".join(CONTENDERS))
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed per contender run")
    ap.add_argument("--skip", default="", help="name:N pairs to skip, e.g. pyav-naive:2048")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.file, args.n)
        return 0
    path = bench_video(args.duration)
    skip = {tuple(s.split(":")) for s in args.skip.split(",") if s}
    load = os.getloadavg()
    print(f"# {path.name}: {args.duration} s, output {SIZE} px longest side; {os.cpu_count()} CPUs, "
          f"load average at start {load[0]:.2f}")
    print(f"| {'N':>5} | {'contender':<10} | {'wall s':>8} | {'peak RSS MB':>11} | {'vs decord':>9} |")
    print(f"|{'-' * 7}|{'-' * 12}|{'-' * 10}|{'-' * 13}|{'-' * 11}|")
    for n in (int(x) for x in args.ns.split(",")):
        rows = {}
        for name in args.contenders.split(","):
            if (name, str(n)) in skip:
                rows[name] = {"error": "skipped"}
                continue
            rows[name] = run_one(name, path, n, args.timeout)
        base = rows.get("decord", {}).get("wall_s")
        for name, r in rows.items():
            if "error" in r:
                print(f"| {n:>5} | {name:<10} | {r['error']:>8} | {'':>11} | {'':>9} |", flush=True)
                continue
            ratio = f"{base / r['wall_s']:.2f}x" if base else "-"
            print(f"| {n:>5} | {name:<10} | {r['wall_s']:>8.2f} | {r['peak_rss_mb']:>11.0f} | {ratio:>9} |", flush=True)
    print(f"# load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
