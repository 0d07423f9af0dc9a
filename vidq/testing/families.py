"""The evaluation families of generated broadcasts: **tuning**, **held-out** and **fresh**.

    recipes = family_recipes("heldout", n=10)              # deterministic from (family, index, seed)
    scenarios = build_family(cache_dir, "heldout", n=10)   # cache_dir/heldout/<name>-<digest>.mp4 + .json
    write_eval_truth(scenarios, cache_dir / "heldout")     # find.jsonl, ads.jsonl, mc.jsonl, absent.jsonl
    absent_queries(scenario)                               # queries that must find nothing in that file

Thresholds and weights may be fitted on the tuning family and on nothing else; a quality
figure counts when it holds on the held-out family, and on the fresh family, whose content
nobody improving the jobs reads (only its aggregate figures).

- **tuning** (``tuning-00`` ..): :mod:`vidq.testing.tuning`: the classic content of the job
  tests (:mod:`vidq.testing.scenarios`: its 12 topics, needles, QA and four ads) plus eight
  ads that never name their category and three more sponsor reads, in looks and break styles
  drawn from a palette of its own (voices, speeds, fonts, logos, layouts, muted or calm
  spots, cut or black separators, speechless tails), so that what is fitted there has seen
  the variety broadcasts have.  File 7 of each ten has no ads.  Thresholds and weights are
  fitted on files 0-19.
- **held-out** (``heldout-00`` ..): :mod:`vidq.testing.heldout`, whose docstring lists
  everything that differs (voices, speeds, fonts, layouts, content, ads that never name
  their category, silent tails before breaks, one to four spots, cut or black separators,
  sponsor positions, files without ads).
- **fresh** (``fresh-00`` ..): :mod:`vidq.testing.fresh`, the blind family: new content and
  looks shared with neither family (its docstring lists the properties that differ, not the
  content); run it with ``benchmarks/families.py --family fresh`` and read the counts only.

The ground truth is each scenario's JSON (``vidq-scenario/2``) and, for ``vidq eval``, JSON
Lines beside the videos (paths relative to the folder)::

    find.jsonl    one row per needle and per advertised category:
                  {"id": "heldout-02/needle-1", "video": "heldout-02-<digest>.mp4", "query": "dock 9 open",
                   "start": 61.4, "end": 67.4, "kind": "needle", "channel": "screen", "group": "heldout"}
                  {"id": "heldout-02/ad-soda", "video": ..., "query": "ad for soda", "intervals": [[s, e], ...],
                   "kind": "ad", "category": "soda", "group": "heldout"}
    ads.jsonl     one row per video: breaks and sponsor reads as "intervals", and the spots:
                  {"id": "heldout-02", "video": ..., "intervals": [[s, e], ...], "breaks": [[s, e]],
                   "sponsors": [[s, e]], "spots": [[s, e, "Brisk Cola", "soda"], ...], "group": "heldout"}
    mc.jsonl      one row per QA item: {"id", "video", "question", "options", "answer": "B", "group": "heldout"}
    absent.jsonl  queries with no answer in their video (find must exit 1): {"id", "video", "query", "kind"}

``vidq eval find find.jsonl`` / ``vidq eval ads ads.jsonl`` / ``vidq eval mc mc.jsonl`` then give
the family's figures (each family has its own folder; ``mc`` also reports per ``group``, which
``find`` and ``ads`` rows carry too but ``vidq eval`` does not yet break down by).  ``absent.jsonl`` is read by
``benchmarks/families.py`` only.  Knows nothing about vidq's decoders, models or jobs.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidq.testing import fresh, heldout, tuning
from vidq.testing.scenarios import Recipe, Scenario, build_scenario

log = logging.getLogger("vidq.testing")

FAMILIES = ("tuning", "heldout", "fresh")
DEFAULT_FILES = 10  # files per family
TRUTH_FILES = ("find.jsonl", "ads.jsonl", "mc.jsonl", "absent.jsonl")


def family_recipes(family: str, n: int = DEFAULT_FILES, seed: int | None = None, first: int = 0) -> list[Recipe]:
    """Recipes ``first`` .. ``first + n - 1`` of ``family`` ("tuning", "heldout" or "fresh")."""
    files = range(first, first + n)
    if family == "tuning":
        return [tuning.tuning_recipe(i, tuning.DEFAULT_SEED if seed is None else seed) for i in files]
    if family == "heldout":
        return [heldout.heldout_recipe(i, heldout.DEFAULT_SEED if seed is None else seed) for i in files]
    if family == "fresh":
        return [fresh.fresh_recipe(i, fresh.DEFAULT_SEED if seed is None else seed) for i in files]
    raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")


def build_family(cache_dir: str | os.PathLike, family: str, n: int = DEFAULT_FILES,
                 seed: int | None = None, first: int = 0) -> list[Scenario]:
    """Build (or load) files ``first`` .. ``first + n - 1`` of ``family`` under ``cache_dir/family``
    and write their ``vidq eval`` truth files there (replacing those of an earlier call)."""
    folder = Path(cache_dir) / family
    scenarios = []
    for recipe in family_recipes(family, n, seed, first):
        sc = build_scenario(folder, recipe)
        log.info("%s: %.1f s of video (built in %.1f s)", sc.name, sc.duration, sc.build_seconds)
        scenarios.append(sc)
    write_eval_truth(scenarios, folder)
    return scenarios


def _catalogue(family: str) -> tuple[Sequence[Any], list[tuple[str, str]]]:
    """The family's needles and its (category, query) pairs of ads."""
    module = {"tuning": tuning, "heldout": heldout, "fresh": fresh}[family]
    ads = [(a.category, a.search) for a in module.ADS]
    return module.NEEDLES, ads + [(c, f"ad for {c}") for c in getattr(module, "ABSENT_CATEGORIES", ())]


def absent_queries(scenario: Scenario) -> list[tuple[str, str]]:
    """``(kind, query)`` pairs with no answer in ``scenario``: a needle of its family that it lacks,
    and an "ad for <category>" for a category it does not air (``kind``: "needle" or "ad")."""
    needles, ads = _catalogue(scenario.family)
    turn = zlib.crc32(scenario.name.encode())  # a stable choice per file
    present = {e.text for e in scenario.needles}
    missing = [n for n in needles if n.text not in present]
    aired = {e.category for e in scenario.ads}
    other = [q for c, q in ads if c not in aired]
    out = []
    if missing:
        out.append(("needle", missing[turn % len(missing)].query))
    if other:
        out.append(("ad", other[turn % len(other)]))
    return out


def eval_rows(scenario: Scenario) -> dict[str, list[dict[str, Any]]]:
    """The scenario's rows of each ``vidq eval`` truth file (keyed by file name)."""
    video = scenario.video.name
    find: list[dict[str, Any]] = []
    for k, e in enumerate(scenario.needles):
        find.append({"id": f"{scenario.name}/needle-{k}", "video": video, "query": e.query, "start": e.start,
                     "end": e.end, "kind": "needle", "channel": e.channel, "group": scenario.family})
    spots: dict[str, list[Any]] = {}
    for e in scenario.ads:
        spots.setdefault(e.category, [e.query, []])[1].append([e.start, e.end])
    for category, (query, intervals) in spots.items():
        find.append({"id": f"{scenario.name}/ad-{category.replace(' ', '-')}", "video": video, "query": query,
                     "intervals": intervals, "kind": "ad", "category": category, "group": scenario.family})
    breaks = [[e.start, e.end] for e in scenario.ad_breaks]
    sponsors = [[e.start, e.end] for e in scenario.sponsors]
    ads = [{"id": scenario.name, "video": video, "intervals": sorted(breaks + sponsors), "breaks": breaks,
            "sponsors": sponsors, "spots": [[e.start, e.end, e.label, e.category] for e in scenario.ads],
            "group": scenario.family}]
    mc = [{"id": f"{scenario.name}/q{k}", "video": video, "question": q.question, "options": list(q.options),
           "answer": q.answer, "group": scenario.family} for k, q in enumerate(scenario.qa)]
    absent = [{"id": f"{scenario.name}/absent-{k}", "video": video, "query": query, "kind": kind}
              for k, (kind, query) in enumerate(absent_queries(scenario))]
    return {"find.jsonl": find, "ads.jsonl": ads, "mc.jsonl": mc, "absent.jsonl": absent}


def write_eval_truth(scenarios: Sequence[Scenario], folder: str | os.PathLike) -> dict[str, Path]:
    """Write ``TRUTH_FILES`` for ``scenarios`` into ``folder`` (atomically); returns their paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TRUTH_FILES}
    for sc in scenarios:
        for name, part in eval_rows(sc).items():
            rows[name] += part
    paths = {}
    for name, part in rows.items():
        path = out / name
        tmp = out / f".{name}.tmp"
        tmp.write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
        os.replace(tmp, path)
        paths[name] = path
    return paths
