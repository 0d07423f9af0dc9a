"""Fit (or check) how ``ask`` credits an option's words that the recogniser misheard, on one family.

For every multiple-choice item of a family of generated broadcasts (``vidq.testing.families``,
built and analysed once, cached), this scores the options as the lite ``ask`` does
(:func:`vidq.tasks.ask.score_options` on the file's timeline) and counts the right answers
with the sound-alike constants in ``vidq/analysis/evidence.py`` (``SOUND_CUTOFF``,
``SOUND_SPELLING_FLOOR``) and with sound-alikes off.  With ``--fit`` it grid-searches the two
constants on that family: the best count wins; among settings that tie, the strictest (the
highest cutoff, then the highest spelling floor: the fewest words taken for others).  Fit on
``tuning`` only; run ``heldout`` (or ``fresh``) to report, never to fit.

Usage::

    python benchmarks/calibrate_ask.py --family tuning -n 20 --fit
    python benchmarks/calibrate_ask.py --family heldout            # report with the current constants
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from contextlib import contextmanager
from pathlib import Path

CUTOFFS = (0.75, 0.8, 0.9, 1.0)  # SOUND_CUTOFF candidates
FLOORS = (0.3, 0.4, 0.5, 0.6)  # SOUND_SPELLING_FLOOR candidates


def items(family: str, root: Path, n: int) -> list[tuple[object, dict]]:
    """``(timeline, item)`` for the multiple-choice items of files ``0..n-1`` of ``family``."""
    from vidq.analysis import AnalysisOptions, analyze
    from vidq.store import Store
    from vidq.testing.families import build_family

    build_family(root, family, n=n)
    store = Store(root / "cache")
    rows = [json.loads(x) for x in (root / family / "mc.jsonl").read_text().splitlines() if x.strip()]
    timelines: dict[str, object] = {}
    out = []
    for r in rows:
        if r["video"] not in timelines:
            timelines[r["video"]] = analyze(root / family / r["video"], AnalysisOptions(), store=store)
        out.append((timelines[r["video"]], r))
    return out


@contextmanager
def constants(cutoff: float, floor: float):
    """The sound-alike constants set to these values (``cutoff`` above 1: sound-alikes off)."""
    from vidq.analysis import evidence

    saved = evidence.SOUND_CUTOFF, evidence.SOUND_SPELLING_FLOOR
    evidence.SOUND_CUTOFF, evidence.SOUND_SPELLING_FLOOR = cutoff, floor
    try:
        yield
    finally:
        evidence.SOUND_CUTOFF, evidence.SOUND_SPELLING_FLOOR = saved


def right(data: list[tuple[object, dict]], misses: list[str] | None = None) -> int:
    """How many items the lite scorer answers right with the constants as they are now."""
    from vidq.tasks.ask import LETTERS, score_options

    good = 0
    for tl, r in data:
        supports, _ = score_options(tl.index(), r["question"], r["options"])  # type: ignore[attr-defined]
        best = max(range(len(supports)), key=lambda i: (supports[i].score, -i))
        ok = LETTERS[best] == r["answer"]
        good += ok
        if not ok and misses is not None:
            misses.append(f"{r['id']} {r['question']!r}: chose {LETTERS[best]}, truth {r['answer']}")
    return good


def main() -> int:
    from vidq.analysis import evidence

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", choices=("tuning", "heldout", "fresh"), default="tuning")
    ap.add_argument("--root", type=Path, default=Path(".cache/families"), help="where the families are built")
    ap.add_argument("-n", type=int, default=10, help="files in the family")
    ap.add_argument("--fit", action="store_true", help="grid-search the constants (tuning family only)")
    args = ap.parse_args()
    if args.fit and args.family != "tuning":
        print("refusing to fit on a family that is not the tuning one", file=sys.stderr)
        return 2
    data = items(args.family, args.root, args.n)
    current = evidence.SOUND_CUTOFF, evidence.SOUND_SPELLING_FLOOR
    misses: list[str] = []
    good = right(data, misses)
    with constants(2.0, 1.0):
        off = right(data)
    print(f"{args.family}: {good}/{len(data)} right with SOUND_CUTOFF={current[0]} SOUND_SPELLING_FLOOR={current[1]}; "
          f"{off}/{len(data)} with sound-alikes off")
    for m in misses:
        print("  miss:", m)
    if args.fit:
        grid = {}
        for cutoff, floor in itertools.product(CUTOFFS, FLOORS):
            with constants(cutoff, floor):
                grid[cutoff, floor] = right(data)
            print(f"  cutoff {cutoff} floor {floor}: {grid[cutoff, floor]}/{len(data)}", flush=True)
        best = max(grid.values())
        strictest = max(k for k, v in grid.items() if v == best)
        print(f"fit: {best}/{len(data)} (off: {off}); settings reaching it: "
              f"{sorted(k for k, v in grid.items() if v == best)}; the strictest: {strictest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
