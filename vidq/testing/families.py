"""The two evaluation families of generated broadcasts: **tuning** and **held-out**.

    recipes = family_recipes("heldout", n=10)              # deterministic from (family, index, seed)
    scenarios = build_family(cache_dir, "heldout", n=10)   # cache_dir/heldout/<name>-<digest>.mp4 + .json
    write_eval_truth(scenarios, cache_dir / "heldout")     # find.jsonl, ads.jsonl, mc.jsonl, absent.jsonl
    absent_queries(scenario)                               # queries that must find nothing in that file

Thresholds and weights may be fitted on the tuning family and on nothing else; a quality
figure counts when it holds on the held-out family.

- **tuning** (``tuning-00`` ..): the classic scenarios of the job tests
  (:mod:`vidq.testing.scenarios`: its topics, needles, ads and sponsor read, the ``en-us``
  voice at 150 wpm, DejaVu Sans Mono, the classic colours and layout), varied only by seed,
  order and positions: 3-4 of the 12 topics (4 without ads) in any order, 55-65 s each, 2-4 needles at random
  depths, one or two breaks of one to three of the 4 spots at random places inside topics
  (file 7 of each ten has none), the sponsor read in a topic without a break in 8 of 10
  files.  Ads carry categories (soda, phone plan, cereal, mortgage) in the truth.
- **held-out** (``heldout-00`` ..): :mod:`vidq.testing.heldout`, whose docstring lists
  everything that differs (voices, speeds, fonts, layouts, content, ads that never name
  their category, silent tails before breaks, one to four spots, cut or black separators,
  sponsor positions, files without ads).

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
import random
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidq.testing import heldout
from vidq.testing.scenarios import (
    ADS,
    CAPTION_SECONDS,
    NEEDLES,
    TOPICS,
    BreakSpec,
    Recipe,
    Scenario,
    build_scenario,
)

log = logging.getLogger("vidq.testing")

FAMILIES = ("tuning", "heldout")
DEFAULT_FILES = 10  # files per family
TUNING_SEED = 1000  # tuning file i's recipe uses seed TUNING_SEED + i
TUNING_NO_AD_FILES = (7,)  # file indices (mod 10) of the tuning family without ads
TUNING_ABSENT_CATEGORIES = ("perfume", "a lawn mower")  # "ad for ..." queries no tuning file answers
TRUTH_FILES = ("find.jsonl", "ads.jsonl", "mc.jsonl", "absent.jsonl")


def tuning_recipe(i: int, seed: int = TUNING_SEED) -> Recipe:
    """File ``i`` of the tuning family: the classic content and look, other order and positions."""
    rng = random.Random(seed + i)
    n_breaks = 0 if i % 10 in TUNING_NO_AD_FILES else rng.choice((1, 1, 2))
    n_topics = 4 if n_breaks == 0 else rng.choice((3, 4))
    topics = tuple(TOPICS[k] for k in rng.sample(range(len(TOPICS)), n_topics))
    topic_seconds = float(rng.randint(55, 65))
    needles = rng.sample(NEEDLES, rng.randint(2, 4))
    depths = sorted(rng.uniform(0.05, 0.95) for _ in needles)
    break_topics = sorted(rng.sample(range(n_topics), n_breaks))
    breaks = tuple(BreakSpec(ti, float(rng.randint(int(CAPTION_SECONDS) + 5, int(topic_seconds) - 8)),
                             tuple(ADS[k] for k in rng.sample(sorted(ADS), rng.randint(1, 3))))
                   for ti in break_topics)
    free = [ti for ti in range(n_topics) if ti not in break_topics]
    sponsor = (rng.choice(free), float(rng.randint(4, int(topic_seconds) - 24))) if rng.random() < 0.8 else None
    return Recipe(
        name=f"tuning-{i:02d}", topics=topics, topic_seconds=topic_seconds, needles=tuple(zip(needles, depths)),
        breaks=breaks, sponsor=sponsor, gap=rng.choice(((1.2, 2.0), (1.5, 3.0), (2.0, 4.0))),
        spot_seconds=rng.choice((12.0, 15.0)), seed=seed + i, family="tuning",
    )


def family_recipes(family: str, n: int = DEFAULT_FILES, seed: int | None = None, first: int = 0) -> list[Recipe]:
    """Recipes ``first`` .. ``first + n - 1`` of ``family`` ("tuning" or "heldout")."""
    files = range(first, first + n)
    if family == "tuning":
        return [tuning_recipe(i, TUNING_SEED if seed is None else seed) for i in files]
    if family == "heldout":
        return [heldout.heldout_recipe(i, heldout.DEFAULT_SEED if seed is None else seed) for i in files]
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
    if family == "heldout":
        return heldout.NEEDLES, [(a.category, a.search) for a in heldout.ADS]
    ads = [(a.category, a.search) for a in ADS.values()]
    return NEEDLES, ads + [(c, f"ad for {c}") for c in TUNING_ABSENT_CATEGORIES]


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
