"""The MiniLM sentence encoder: torch (sentence-transformers, the old path) against ONNX
Runtime fp32 and int8 (``vidq.models.lite.onnx_embed``).

* **export**: the one-time export of each precision, in seconds (into a temporary models
  folder, so it is really done; ``--models-dir`` reuses one);
* **load**: a fresh ``python`` per runtime, ``--repeats`` times, median: the import of
  ``vidq.models.lite.embed`` plus loading the model, and whether torch got imported;
* **speed**: sentences/s over ``--speed-texts`` texts, every runtime in this process,
  interleaved, best of ``--repeats`` (wall; CPU seconds beside it), as a ratio to the old
  path (sentence-transformers, batches of 64); torch with batches of 16 is shown too, so
  the share of the gain that comes from small batches is visible.  ``--sweep`` adds
  sentences/s of each ONNX precision by ``BATCH_TOKENS``;
* **agreement** with the torch vectors over ``--texts`` real sentences (the scenario
  programme, ads, questions and options, 1-3 sentence transcript windows, README and
  CHANGELOG sentences, then Python standard-library docstrings to fill up): cosine mean
  and min; for each text, its 10 nearest other texts under torch vs under ONNX (recall@10)
  and whether the nearest is the same; and retrieval of the scenario queries (needles,
  questions, ad concepts) over the scenario texts: same top hit, recall@10, largest score
  change.  **batch**: the smallest cosine between a text encoded alone and in its batch
  (int8's dynamic activation scales depend on the batch).

Timing depends on what else runs: the ratios are measured in one run; the load average is
printed at the start and the end.

Usage::

    python benchmarks/embed.py                      # 2000 texts, 500 for speed, 3 repeats
    python benchmarks/embed.py --quick              # 600 texts, 200 for speed, 2 repeats
    python benchmarks/embed.py --sweep --json out.json
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vidq.testing import scenarios as SC

ROOT = Path(__file__).resolve().parent.parent
STDLIB = ("json", "argparse", "pathlib", "subprocess", "logging", "collections", "typing", "functools", "itertools",
          "os", "shutil", "tempfile", "threading", "asyncio", "email", "http.client", "urllib.request", "unittest",
          "doctest", "inspect", "dataclasses", "enum", "csv", "sqlite3", "zipfile", "tarfile", "textwrap", "string",
          "random", "statistics", "decimal", "fractions", "datetime", "calendar")  # docstrings to fill up the corpus
AD_QUERIES = ("ad for soda", "an ad for a phone plan", "breakfast cereal commercial", "bank loan advert",
              "who sponsors the video", "cheap mobile data")
RUNTIMES = ("torch", "onnx-fp32", "onnx-int8")
SWEEP = (64, 128, 256, 512, 1024, 4096, 16384)  # BATCH_TOKENS values for --sweep
CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from vidq.models.lite import embed as E
runtime = sys.argv[1]
folder = Path(E.model_path())
model = E.load_torch(folder) if runtime == "torch" else E.load_onnx(folder, runtime.split("-")[1])
t1 = time.perf_counter()
model.encode(["The lighthouse on Gull Island was built in 1887."])
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "first_encode": t2 - t1, "torch_imported": "torch" in sys.modules}))
"""


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return "load average " + " ".join(f.read().split()[:3]) + f" on {os.cpu_count()} CPUs"


def sentences(text: str, min_words: int = 3, max_words: int = 80) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n\s*\n", text)
    return [" ".join(p.split()) for p in parts if min_words <= len(p.split()) <= max_words]


def scenario_texts() -> list[str]:
    """What the generated broadcasts say and show, and what users ask about them."""
    texts = []
    for topic in SC.TOPICS:
        texts += list(topic.sentences)
        texts += [" ".join(topic.sentences[i:i + n]) for n in (2, 3) for i in range(len(topic.sentences) - n + 1)]
        for _, question, options in topic.questions:
            texts += [question, *options]
    for ad in SC.ADS.values():
        texts += [ad.speech, *sentences(ad.speech, 1), *ad.cards]
    texts += [SC.SPONSOR_READ, *sentences(SC.SPONSOR_READ)]
    texts += [n.text for n in SC.NEEDLES] + [n.query for n in SC.NEEDLES]
    return list(dict.fromkeys(texts))


def corpus(n: int) -> list[str]:
    """``n`` distinct real sentences: the scenarios, the README and CHANGELOG, then stdlib docstrings."""
    texts = scenario_texts()
    for doc in ("README.md", "CHANGELOG.md"):
        texts += sentences(re.sub(r"[`*#|]", " ", (ROOT / doc).read_text()))
    for name in STDLIB:
        module = importlib.import_module(name)
        for attr, obj in sorted(vars(module).items()):
            doc = inspect.getdoc(obj) if not attr.startswith("_") else None
            texts += sentences(doc) if isinstance(doc, str) else []
        if len(dict.fromkeys(texts)) >= n:
            break
    return list(dict.fromkeys(texts))[:n]


# -- export and load ----------------------------------------------------------------------
def export_all(models_dir: Path) -> dict[str, float]:
    from vidq.models.lite import embed as E
    from vidq.models.lite import onnx_embed as O

    os.environ["VIDQ_MODELS_DIR"] = str(models_dir)
    folder = Path(E.model_path())
    seconds = {}
    for precision in O.PRECISIONS:
        t0 = time.perf_counter()
        O.cached_export(folder, models_dir, precision)
        seconds[precision] = time.perf_counter() - t0
    return seconds


def fresh_loads(models_dir: Path, repeats: int) -> dict[str, dict]:
    env = dict(os.environ, VIDQ_MODELS_DIR=str(models_dir), PYTHONPATH=str(ROOT))
    out: dict[str, dict] = {}
    runs: dict[str, list[dict]] = {r: [] for r in RUNTIMES}
    for _ in range(repeats):
        for runtime in RUNTIMES:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", CHILD, runtime], capture_output=True, text=True, env=env,
                                  check=True)
            rec = json.loads(proc.stdout.strip().splitlines()[-1])
            rec["process"] = time.perf_counter() - t0
            runs[runtime].append(rec)
    for runtime, recs in runs.items():
        out[runtime] = {"load_s": statistics.median(r["load"] for r in recs),
                        "process_s": statistics.median(r["process"] for r in recs),
                        "first_encode_s": statistics.median(r["first_encode"] for r in recs),
                        "torch_imported": any(r["torch_imported"] for r in recs)}
    return out


# -- speed and agreement ------------------------------------------------------------------
def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, texts: list[str]) -> tuple[float, float]:
    c, t = cpu_seconds(), time.perf_counter()
    fn(texts)
    return time.perf_counter() - t, cpu_seconds() - c


def speed(encoders: dict, texts: list[str], repeats: int) -> dict[str, dict]:
    for fn in encoders.values():
        fn(texts[:16])  # warm up
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeats):
        for name, fn in encoders.items():
            wall, cpu = timed(fn, texts)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, cpu)
    base = best["torch"][0]
    return {name: {"sentences_per_s": len(texts) / wall, "cpu_s": cpu, "wall_s": wall, "speedup": base / wall}
            for name, (wall, cpu) in best.items()}


def neighbours(vectors: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's k nearest other rows (cosine), nearest first: ``(N, k)``."""
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def agreement(ref: np.ndarray, got: np.ndarray, k: int = 10) -> dict:
    cos = (ref * got).sum(axis=1)
    a, b = neighbours(ref, k), neighbours(got, k)
    recall = np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)])
    return {"cos_mean": float(cos.mean()), "cos_min": float(cos.min()), "recall_at_10": float(recall),
            "nearest_same": float(np.mean(a[:, 0] == b[:, 0]))}


def retrieval(ref_docs, ref_q, got_docs, got_q, k: int = 10, tie: float = 1e-5) -> dict:
    """How the ONNX ranking of ``got_docs`` for each query compares with torch's.

    A top hit counts as the same when its torch score is within ``tie`` of torch's best
    (some scenario texts score exactly alike: the order of a tie is not a difference).
    """
    s_ref, s_got = ref_q @ ref_docs.T, got_q @ got_docs.T  # (Q, D)
    top_ref, top_got = np.argsort(-s_ref, axis=1)[:, :k], np.argsort(-s_got, axis=1)[:, :k]
    rows = np.arange(len(s_ref))
    same = s_ref[rows, top_got[:, 0]] >= s_ref[rows, top_ref[:, 0]] - tie
    return {"queries": len(ref_q), "top1_same": float(np.mean(same)),
            "recall_at_10": float(np.mean([len(set(x) & set(y)) / k for x, y in zip(top_ref, top_got)])),
            "max_score_change": float(np.abs(s_ref - s_got).max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=2000, help="sentences for the agreement figures")
    parser.add_argument("--speed-texts", type=int, default=500, help="sentences for the speed figures")
    parser.add_argument("--repeats", type=int, default=3, help="fresh loads and timed passes per runtime")
    parser.add_argument("--models-dir", type=Path, help="where the ONNX exports live (default: a new temporary folder)")
    parser.add_argument("--sweep", action="store_true", help="also time each ONNX precision by BATCH_TOKENS")
    parser.add_argument("--quick", action="store_true", help="600 texts, 200 for speed, 2 repeats")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        args.texts, args.speed_texts, args.repeats = 600, 200, 2
    print(f"# start: {loadavg()}", flush=True)
    results: dict = {"start": loadavg()}
    with tempfile.TemporaryDirectory(prefix="vidq-embed-bench-") as tmp:
        models_dir = args.models_dir or Path(tmp)
        results["export_s"] = export_all(models_dir)
        print("export (one-time) seconds: " + ", ".join(f"{p} {s:.1f}" for p, s in results["export_s"].items()), flush=True)
        results["load"] = fresh_loads(models_dir, args.repeats)
        print(f"\nfresh-process load, median of {args.repeats} (import of vidq.models.lite.embed + model):")
        for name, rec in results["load"].items():
            print(f"  {name:10s} load {rec['load_s']:.2f} s   whole process {rec['process_s']:.2f} s   "
                  f"first encode {rec['first_encode_s'] * 1000:.0f} ms   torch imported: {rec['torch_imported']}",
                  flush=True)

        from vidq.models.lite import embed as E
        from vidq.models.lite import onnx_embed as O

        folder = Path(E.model_path())
        torch_enc = E.load_torch(folder)
        onnx = {p: E.load_onnx(folder, p) for p in O.PRECISIONS}
        texts = corpus(args.texts)
        speed_texts = texts[:: max(1, len(texts) // args.speed_texts)][: args.speed_texts]
        encoders = {"torch": lambda t: torch_enc.encode(t, batch_size=64),
                    "torch-bs16": lambda t: torch_enc.encode(t, batch_size=16),
                    **{f"onnx-{p}": (lambda t, enc=enc: enc.encode(t)) for p, enc in onnx.items()}}
        results["speed"] = speed(encoders, speed_texts, args.repeats)
        words = np.mean([len(t.split()) for t in speed_texts])
        print(f"\nspeed over {len(speed_texts)} texts ({words:.0f} words on average), best of {args.repeats}, "
              f"{O.cpu_count()} threads:")
        for name, rec in results["speed"].items():
            print(f"  {name:10s} {rec['sentences_per_s']:6.1f} sentences/s  ({rec['speedup']:.2f}x the old path)  "
                  f"wall {rec['wall_s']:.1f} s, CPU {rec['cpu_s']:.1f} s", flush=True)
        if args.sweep:
            results["sweep"] = {}
            for p, enc in onnx.items():
                row = {}
                for tokens in SWEEP:
                    row[tokens] = len(speed_texts) / min(
                        timed(lambda t, n=tokens, e=enc: e.encode(t, batch_tokens=n), speed_texts)[0]
                        for _ in range(args.repeats))
                results["sweep"][p] = row
                print(f"  onnx-{p} by BATCH_TOKENS: " + ", ".join(f"{n}: {v:.0f}/s" for n, v in row.items()), flush=True)

        ref = torch_enc.encode(texts, batch_size=64)
        results["agreement"], results["retrieval"], results["batch"] = {}, {}, {}
        docs = scenario_texts()
        queries = [n.query for n in SC.NEEDLES] + [q for t in SC.TOPICS for _, q, _ in t.questions] + list(AD_QUERIES)
        ref_docs, ref_q = torch_enc.encode(docs), torch_enc.encode(queries, batch_size=1)
        print(f"\nagreement with torch over {len(texts)} texts; retrieval of {len(queries)} queries over "
              f"{len(docs)} scenario texts:")
        for p, enc in onnx.items():
            got = enc.encode(texts)
            results["agreement"][p] = agreement(ref, got)
            results["retrieval"][p] = retrieval(ref_docs, ref_q, enc.encode(docs), enc.encode(queries, batch_size=1))
            alone = np.concatenate([enc.encode([t]) for t in texts[:100]])
            results["batch"][p] = float((alone * got[:100]).sum(axis=1).min())
            a, r = results["agreement"][p], results["retrieval"][p]
            print(f"  onnx-{p}: cosine mean {a['cos_mean']:.6f} min {a['cos_min']:.6f}; neighbours recall@10 "
                  f"{a['recall_at_10']:.4f}, nearest same {a['nearest_same']:.4f}; queries top-1 same "
                  f"{r['top1_same']:.3f}, recall@10 {r['recall_at_10']:.4f}, largest score change "
                  f"{r['max_score_change']:.4f}; alone vs in a batch min cosine {results['batch'][p]:.6f}", flush=True)
    results["end"] = loadavg()
    print(f"# end: {loadavg()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
