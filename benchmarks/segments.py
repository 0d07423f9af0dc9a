"""What looking for spots bounded by hard cuts alone costs: ``label_segments`` on a synthetic hour.

    python benchmarks/segments.py                       # 8 and 30 cuts a minute
    python benchmarks/segments.py --rates 4,12,60 --minutes 30

A spot spliced into a programme with hard cuts alone hides inside a programme block, so
``label_segments`` scores every 8-60 s window between two cuts of a block that is not an ad
(:func:`vidq.analysis.segments.cut_windows`).  :func:`~vidq.analysis.segments.window_bound`
rules out, from prefix sums over the frames, the windows that cannot reach the threshold.
This times both in one process on the same signals: the baseline scores every window in
full (``bound=None``), the branch lets the bound skip them; the ratio is baseline over branch.

The signals are an hour of one programme block: two frames a second with evenly spaced hard
cuts, the station logo on throughout, a loudness track with no silence, a spoken sentence every
4 s with a random unit vector each (the ``off_topic`` feature is measured).  No media, no models.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import numpy as np

from vidq.analysis import segments as sg
from vidq.analysis.evidence import speech_units
from vidq.analysis.picture import FrameSignals
from vidq.media import signals
from vidq.speech import Segment, Transcript


def synthetic(minutes: float, rate: float, seed: int = 0):
    """Frame signals, loudness, transcript and sentence vectors of ``minutes`` of programme."""
    rng = np.random.default_rng(seed)
    seconds = minutes * 60.0
    times = np.arange(0.0, seconds, 0.5)
    n = len(times)
    shot = np.zeros(n, np.float32)
    shot[:: max(1, int(round(120.0 / rate)))] = 1.0
    pic = FrameSignals(times, np.zeros(n, bool), np.full(n, 100.0), shot, np.full(n, 16 / 9), np.ones(n),
                       np.zeros(n, np.uint64), np.zeros((n, 48), np.float32))
    track = signals.Loudness(0.0, 0.1, 0.1, -30.0 + rng.normal(0.0, 2.0, int(seconds * 10)), "rms")
    words = ("the", "river", "mill", "stone", "water", "valley", "wheel", "grain")
    segs = tuple(Segment(t, t + 3.5, " ".join(rng.choice(words, 8)) + ".") for t in np.arange(1.0, seconds - 4, 4.0))
    transcript = Transcript(segs, "en", "synthetic")
    units = speech_units(transcript, windows=False)
    vectors = rng.normal(size=(len(units), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return pic, track, transcript, (units, vectors)


def timed(pic, track, transcript, sentences, span, bounded: bool) -> tuple[float, int]:
    """Seconds ``label_segments`` takes, and how many windows it scored in full."""
    calls = 0
    block = sg.BlockContext.block

    def counting(self, a, b):
        nonlocal calls
        calls += 1
        return block(self, a, b)

    patches = [mock.patch.object(sg.BlockContext, "block", counting)]
    if not bounded:
        patches.append(mock.patch.object(sg, "window_bound", lambda *a, **k: None))
    for p in patches:
        p.start()
    try:
        t = time.perf_counter()
        sg.label_segments(pic, track, transcript, [], span, sentences=sentences)
        return time.perf_counter() - t, calls
    finally:
        for p in patches:
            p.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--rates", default="8,30", help="comma-separated hard cuts per minute")
    args = p.parse_args()
    print(f"{'cuts/min':>8} {'every window':>14} {'bounded':>10} {'ratio':>7}  stretches scored in full (every / bounded)")
    for rate in (float(r) for r in args.rates.split(",")):
        pic, track, transcript, sentences = synthetic(args.minutes, rate)
        span = (0.0, args.minutes * 60.0)
        base, n_base = timed(pic, track, transcript, sentences, span, bounded=False)
        branch, n_branch = timed(pic, track, transcript, sentences, span, bounded=True)
        print(f"{rate:>8.0f} {base:>12.2f} s {branch:>8.2f} s {base / branch:>6.1f}x  {n_base} / {n_branch}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
