"""Fit (or check) the ad-block model of ``vidq/analysis/segments.py`` on one family of generated broadcasts.

For every file of the family (built and analysed once, cached), the segment labelling is run
again from the cached timeline's signals, loudness, transcript and screen lines, and every
candidate block (the blocks between separators, and the stretches between two black pauses)
is labelled from the truth: an ad when true spots cover at least half of it, programme when
they cover at most a tenth (blocks in between are left out).  It prints how well the current
``INTERCEPT``/``COEF`` separate them (log-loss, blocks right at the 0.5 threshold) and, with
``--fit``, an L2-regularised logistic regression over the same inputs, as Python to paste.
Fit on ``tuning`` only; run ``heldout`` to report, never to fit.

Usage::

    python benchmarks/fit_ads.py --root /tmp/fam --family tuning -n 20 --fit
    python benchmarks/fit_ads.py --root /tmp/fam --family heldout          # report only
    python benchmarks/fit_ads.py --root /tmp/fam --family tuning -n 20 --spots   # spot splitting per threshold
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

AD_SHARE = 0.5  # a block this much covered by true spots is an ad
PROGRAMME_SHARE = 0.1  # ... this little: programme


def relabel(tl):
    """The timeline's segments computed again with the current code (from its cached stages)."""
    from vidq.analysis.segments import label_segments

    screen = [u for u in tl.units if u.source == "screen"]
    return label_segments(tl.signals, tl.sound, tl.transcript, screen, tl.span, sentences=tl.sentences())


def candidates(tl):
    """Every candidate block of the timeline (the blocks between separators and the stretches between
    two black pauses), scored as ``label_segments`` scores them, with the file's stats."""
    from vidq.analysis import segments as sg

    screen = [u for u in tl.units if u.source == "screen"]
    ctx = sg.block_context(tl.signals, tl.sound, tl.transcript, screen, tl.sentences())
    spans = set(sg.blocks_between(ctx.merged, *tl.span)) | set(sg.black_spans(ctx.seps, tl.span))
    return [(b.start, b.end, b.features, ctx.stats) for b in (ctx.block(s, e) for s, e in sorted(spans))]


def covered(s: float, e: float, spots: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(e, b) - max(s, a)) for a, b in spots) / max(e - s, 1e-6)


def table(root: Path, family: str, n: int, first: int):
    from vidq.analysis import AnalysisOptions, analyze
    from vidq.analysis import segments as sg
    from vidq.store import Store
    from vidq.testing.families import family_recipes
    from vidq.testing.scenarios import build_scenario

    scenarios = [build_scenario(root / family, r) for r in family_recipes(family, n=n, first=first)]
    store = Store(root / "cache")
    X, y, names = [], [], []
    for sc in scenarios:
        tl = analyze(sc.video, AnalysisOptions(), store=store)
        spots = [(a.start, a.end) for a in sc.ads]
        for s, e, f, stats in candidates(tl):
            share = covered(s, e, spots)
            if PROGRAMME_SHARE < share < AD_SHARE:
                continue
            x = sg.model_inputs(f, stats) if f["duration"] <= sg.MAX_SPOT else None
            if x is None:
                continue
            X.append([x[k] for k in sg.COEF])
            y.append(1.0 if share >= AD_SHARE else 0.0)
            names.append(f"{sc.name} {s:.1f}-{e:.1f}")
    return np.array(X), np.array(y), names


NEGATIVE = ("long", "lasting", "sponsor_cue", "short")  # inputs that speak against an ad; every other one may only speak for it


def fit(X: np.ndarray, y: np.ndarray, l2: float, names: tuple[str, ...]) -> tuple[float, np.ndarray]:
    """L2-regularised logistic regression; an input whose coefficient comes out with the wrong sign
    (the tuning family too small to show what it means) is left out (0) and the rest refitted."""
    keep = np.ones(X.shape[1], bool)
    while True:
        b, w = _newton(X[:, keep], y, l2)
        full = np.zeros(X.shape[1])
        full[keep] = w
        wrong = [i for i, k in enumerate(names) if keep[i] and (full[i] < 0) != (k in NEGATIVE) and full[i] != 0]
        if not wrong:
            return b, full
        keep[wrong] = False


def _newton(X: np.ndarray, y: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """L2-regularised logistic regression by Newton's method (the intercept is not penalised)."""
    A = np.hstack([np.ones((len(X), 1)), X])
    w = np.zeros(A.shape[1])
    reg = np.full(A.shape[1], l2)
    reg[0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-A @ w))
        grad = A.T @ (p - y) + reg * w
        H = (A * (p * (1 - p))[:, None]).T @ A + np.diag(reg) + 1e-9 * np.eye(A.shape[1])
        step = np.linalg.solve(H, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), w[1:]


def report(X, y, names, intercept, coef, label: str) -> None:
    z = intercept + X @ coef
    p = 1 / (1 + np.exp(-z))
    loss = float(-np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
    right = int(((p >= 0.5) == (y == 1)).sum())
    print(f"{label}: {len(y)} blocks ({int(y.sum())} ads), log-loss {loss:.3f}, right at 0.5: {right}/{len(y)}")
    for i in np.flatnonzero((p >= 0.5) != (y == 1)):
        print(f"  wrong: {names[i]} truth {'ad' if y[i] else 'programme'} p {p[i]:.2f}")


def spot_grid(root: Path, family: str, n: int, first: int) -> None:
    """True spots matched (IoU >= 0.5) by the listed spots, and spots listed, per ``SPLIT_SIMILARITY``."""
    from vidq.analysis import AnalysisOptions, analyze
    from vidq.analysis import segments as sg
    from vidq.eval.intervals import score_ads
    from vidq.store import Store
    from vidq.testing.families import family_recipes
    from vidq.testing.scenarios import build_scenario

    store = Store(root / "cache")
    timelines = []
    for r in family_recipes(family, n=n, first=first):
        sc = build_scenario(root / family, r)
        timelines.append((analyze(sc.video, AnalysisOptions(), store=store), [(a.start, a.end) for a in sc.ads]))
    saved = sg.SPLIT_SIMILARITY
    try:
        for value in (-1.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4):
            sg.SPLIT_SIMILARITY = value
            matched = listed = true = 0
            for tl, spots in timelines:
                found = [(p.start, p.end) for b in relabel(tl).breaks for p in b.spots]
                matched += score_ads(found, spots, 0.5).matched
                listed += len(found)
                true += len(spots)
            print(f"SPLIT_SIMILARITY {value:5.2f}: {matched}/{true} true spots matched, {listed} listed")
    finally:
        sg.SPLIT_SIMILARITY = saved


def main() -> int:
    from vidq.analysis import segments as sg

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="family cache root (videos under ROOT/FAMILY, vidq cache ROOT/cache)")
    ap.add_argument("--family", choices=("tuning", "heldout"), default="tuning")
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--fit", action="store_true", help="fit the model (tuning family only)")
    ap.add_argument("--l2", type=float, default=1.0, help="L2 penalty of the fit")
    ap.add_argument("--spots", action="store_true", help="report spot splitting per SPLIT_SIMILARITY instead")
    args = ap.parse_args()
    if args.spots:
        spot_grid(args.root, args.family, args.n, args.first)
        return 0
    if args.fit and args.family != "tuning":
        print("fit_ads.py: fit on the tuning family only", file=sys.stderr)
        return 2
    X, y, names = table(args.root, args.family, args.n, args.first)
    coef = np.array([sg.COEF[k] for k in sg.COEF])
    report(X, y, names, sg.INTERCEPT, coef, "current")
    if args.fit:
        b, w = fit(X, y, args.l2, tuple(sg.COEF))
        report(X, y, names, b, w, "fitted")
        print(f"INTERCEPT = {b:.2f}")
        print(json.dumps({k: round(float(v), 2) for k, v in zip(sg.COEF, w)}, indent=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
