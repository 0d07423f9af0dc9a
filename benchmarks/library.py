"""The library in numbers: query latency in a fresh process at 100 hours, size per hour,
indexing throughput locally and through Ray, and the vector store choice.

    python benchmarks/library.py vectors   [--rows 120000]
    python benchmarks/library.py scale     --cache CACHE --folder FOLDER [--hours 100] [--rounds 3]
    python benchmarks/library.py real      --cache CACHE --folder FOLDER [--rounds 3]
    python benchmarks/library.py throughput --folder FOLDER [--files 4] [--ray]

``scale`` builds a library of at least ``--hours`` of analysis by adding the timelines of
the files in ``FOLDER`` (read from ``CACHE``: real analyses) again and again under new
content keys and paths; the text and vectors are real, repeated (say so when quoting it).
``real`` indexes ``FOLDER`` itself (a copy of ``CACHE`` is used, so nothing is analysed
again).  Both then run ``vidq find QUERY`` with no file in fresh processes: each query
*cold* (its vector not yet in the library: MiniLM is loaded) and *repeat* (the vector is
kept by the first run), and report p50/p95 next to the baseline of the same run, ``vidq
--version`` (the interpreter and the CLI's imports), since the machine may be shared.
``throughput`` indexes ``--files`` files of ``FOLDER`` with an empty cache at ``-j 1`` and
``-j 2``, and with ``--ray`` also through a local Ray cluster this script starts on
127.0.0.1 (and stops), and reports hours of video per hour of wall time.

``vectors`` compares vector stores at ``--rows`` 384-d unit vectors (about 100 hours):
NumPy memory-mapped exact search, sqlite-vec's exact ``vec0`` scan, and LanceDB flat and
IVF-PQ, each timed in a fresh process (import + open + first query) and warm.  sqlite-vec
needs an SQLite that loads extensions (the stdlib one when built for it, else ``apsw``)
and LanceDB its own packages; a store that cannot be imported is reported as such.
``VIDQ_BENCH_PATH`` (a folder) is appended to ``sys.path`` for those.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
QUERIES = ("ad for soda", "ad for a mortgage", "ad for perfume", "commercials", "sponsor",
           "where they talk about bees", "the lighthouse keeper", "code fizz10", "dock 9 open", "brightpath vpn")


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.setdefault("HF_HUB_OFFLINE", "1")
    return e


def vidq(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "vidq", *args], capture_output=True, text=True, env=env(),
                          stdin=subprocess.DEVNULL, **kw)
    if check and proc.returncode not in (0, 1):
        raise SystemExit(f"vidq {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return proc


def timed(*args: str) -> float:
    t0 = time.perf_counter()
    vidq(*args)
    return time.perf_counter() - t0


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# -- query latency -------------------------------------------------------------------------------
def forget_queries(lib: Path) -> None:
    """Drop the kept query vectors (not the ad categories'), so the next query loads MiniLM."""
    import sqlite3

    db = sqlite3.connect(lib / "library.db")
    db.execute("DELETE FROM queries WHERE text NOT LIKE ?", ("\x00%",))
    db.commit()
    db.close()


def latency(lib: Path, rounds: int) -> dict:
    cold: list[float] = []
    repeat: list[float] = []
    base: list[float] = []
    for _ in range(rounds):
        forget_queries(lib)
        for q in QUERIES:
            base.append(timed("--version"))
            cold.append(timed("--library", str(lib), "find", q))
            repeat.append(timed("--library", str(lib), "find", q))
    out = {"queries": len(QUERIES), "rounds": rounds, "load": load_avg()}
    for name, xs in (("cold", cold), ("repeat", repeat), ("baseline_version", base)):
        out[name] = {"p50": round(pct(xs, 50), 3), "p95": round(pct(xs, 95), 3), "n": len(xs)}
    out["cold_over_baseline"] = round(out["cold"]["p50"] / out["baseline_version"]["p50"], 2)
    return out


def index_folder(lib: Path, cache: Path, folder: Path, *extra: str) -> dict:
    proc = vidq("--library", str(lib), "--cache-dir", str(cache), "index", str(folder), "--settle", "0", *extra)
    return json.loads(proc.stdout)


def real(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="vidq-bench-lib-"))
    cache = work / "cache"
    shutil.copytree(args.cache, cache)
    lib = work / "library"
    t0 = time.perf_counter()
    first = index_folder(lib, cache, args.folder)
    t1 = time.perf_counter()
    second = index_folder(lib, cache, args.folder)
    t2 = time.perf_counter()
    stats = json.loads(vidq("--library", str(lib), "library", "stats", "--json").stdout)
    found = json.loads(vidq("--library", str(lib), "find", "ad for soda", "-k", "50", "--json").stdout)
    out = {"files": first["counts"], "index_seconds": round(t1 - t0, 2), "reindex_seconds": round(t2 - t1, 2),
           "second_counts": second["counts"], "hours": stats["hours"], "bytes": stats["bytes"],
           "bytes_per_hour": stats["bytes_per_hour"], "soda_hits": [(h["file"].rsplit("/", 1)[-1], h["start"])
                                                                  for h in found["hits"]],
           "latency": latency(lib, args.rounds)}
    shutil.rmtree(work, ignore_errors=True)
    return out


def scale(args: argparse.Namespace) -> dict:
    """A library of >= ``hours`` from the real timelines of ``folder``, repeated under new keys."""
    sys.path.insert(0, str(REPO))
    from vidq.library import IndexOptions, Indexer, Library, search
    from vidq.library.library import FileStat
    from vidq.analysis import TIMELINE_STAGE
    from vidq.analysis.timeline import timeline_from_json
    from vidq.models.lite.embed import load_embedder

    work = Path(args.work or tempfile.mkdtemp(prefix="vidq-bench-scale-"))
    seed = work / "seed"
    cache = work / "cache"
    if not cache.exists():
        shutil.copytree(args.cache, cache)
    Indexer(Library(seed), IndexOptions(settle=0), cache_dir=str(cache)).run([str(args.folder)])
    source = Library(seed)
    originals = []
    for rec in source.files():
        folder = source.timelines.entry_path(rec.key, TIMELINE_STAGE, {}, "json").parent
        params_file = next(folder.glob("*.json"))
        doc = source.timelines.peek(rec.key, TIMELINE_STAGE, _params(params_file), "json")
        arrays = source.timelines.peek(rec.key, TIMELINE_STAGE, _params(params_file), "arrays")
        originals.append((rec, doc, arrays, _params(params_file)))
    lib_dir = work / "library"
    lib = Library(lib_dir)
    have = sum(r.duration for r in lib.files()) if lib.exists else 0.0
    per_round = sum(r.duration for r, *_ in originals)
    rounds = int(np.ceil(max(0.0, args.hours * 3600 - have) / per_round))
    t0 = time.perf_counter()
    n = len(lib.files()) if lib.exists else 0
    for r in range(rounds):
        for rec, doc, arrays, params in originals:
            key = hashlib.blake2b(f"{rec.key}:{n}".encode(), digest_size=20).hexdigest()
            path = f"/synthetic/{n // 100:03d}/{Path(rec.path).stem}-{n:05d}.mp4"
            d = dict(doc, file_key=key, path=path)
            tl = timeline_from_json(d, arrays)
            lib.add(tl, d, arrays, params, path=path, stat=FileStat(rec.size, n, n), options="synthetic")
            n += 1
    search(lib, "ad for soda", encoder=load_embedder())  # the ad categories' vectors, kept by the library
    build = time.perf_counter() - t0
    stats = lib.stats()
    lib.close()
    out = {"files": stats["files"], "hours": stats["hours"], "units": stats["units"],
           "vectors": stats["vectors"], "bytes": stats["bytes"], "bytes_per_hour": stats["bytes_per_hour"],
           "build_seconds": round(build, 1), "latency": latency(lib_dir, args.rounds)}
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _params(entry: Path) -> dict:
    """The stage parameters recorded in a cache entry's header line."""
    return json.loads(entry.read_bytes().partition(b"\n")[0])["params"]


# -- indexing throughput ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ray(cpus: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"
    proc = subprocess.Popen([ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                             f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats", "--block"],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        probe = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address='{address}'); ray.shutdown()"],
                               capture_output=True, env=env())
        if probe.returncode == 0:
            return proc, address
        time.sleep(2)
    stop_ray(proc)
    raise SystemExit("Ray did not start")


def stop_ray(proc: subprocess.Popen) -> None:
    """Stop the head this script started: SIGTERM to its process group (``ray start --block`` stops its nodes)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def throughput(args: argparse.Namespace) -> dict:
    files = sorted(p for p in args.folder.iterdir() if p.suffix == ".mp4")[: args.files]
    work = Path(tempfile.mkdtemp(prefix="vidq-bench-tp-"))
    folder = work / "videos"
    folder.mkdir()
    for f in files:
        os.link(f, folder / f.name) if os.stat(f).st_dev == os.stat(work).st_dev else shutil.copy2(f, folder / f.name)
    past = time.time() - 3600
    for f in folder.iterdir():
        os.utime(f, (past, past))
    out: dict = {"files": len(files), "load_before": load_avg()}
    configs = [("local", "1"), ("local", "2")]
    ray_proc = address = None
    if args.ray:
        ray_proc, address = start_ray(2)
        configs += [("ray", "1"), ("ray", "2")]
    try:
        for where, jobs in configs:
            lib = work / f"lib-{where}-{jobs}"
            cache = work / f"cache-{where}-{jobs}"
            extra = ["-j", jobs] + (["--ray", address] if where == "ray" else [])
            time.sleep(3)  # let the machine settle after the last run
            t0 = time.perf_counter()
            summary = index_folder(lib, cache, folder, *extra)
            wall = time.perf_counter() - t0
            video = summary["video_seconds"]
            out[f"{where} -j {jobs}"] = {"video_seconds": video, "wall_seconds": round(wall, 1),
                                         "hours_per_hour": round(video / wall, 2), "counts": summary["counts"],
                                         "load": load_avg()}
    finally:
        if ray_proc is not None:
            stop_ray(ray_proc)
        shutil.rmtree(work, ignore_errors=True)
    return out


# -- vector stores ---------------------------------------------------------------------------------
PROBES = {
    "numpy-mmap (exact)": """
import numpy as np
v = np.load(ROOT + '/vecs.npy', mmap_mode='r')
def q(x):
    s = v @ x; i = np.argpartition(-s, 50)[:50]; return i[np.argsort(-s[i])]
""",
    "sqlite-vec (exact vec0)": """
import numpy as np, sqlite_vec, sqlite3
db = sqlite3.connect(ROOT + '/vec.db')
if hasattr(db, 'enable_load_extension'):
    db.enable_load_extension(True); sqlite_vec.load(db)
else:
    import apsw; db = apsw.Connection(ROOT + '/vec.db'); db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
def q(x):
    return [r[0] for r in db.execute('select rowid from v where embedding match ? and k = 50', (x.tobytes(),))]
""",
    "lancedb (flat)": """
import lancedb, numpy as np
tbl = lancedb.connect(ROOT + '/lance').open_table('v')
def q(x):
    return tbl.search(x).metric('cosine').bypass_vector_index().limit(50).to_arrow()
""",
    "lancedb (IVF-PQ, 20 probes)": """
import lancedb, numpy as np
tbl = lancedb.connect(ROOT + '/lance').open_table('v')
def q(x):
    return tbl.search(x).metric('cosine').nprobes(20).limit(50).to_arrow()
""",
}
PROBE_RUN = """
import os, sys, time; t0 = time.perf_counter()
if os.environ.get('VIDQ_BENCH_PATH'): sys.path.append(os.environ['VIDQ_BENCH_PATH'])
ROOT = {root!r}
{setup}
rng = np.random.default_rng(1); xs = rng.standard_normal((21, 384)).astype(np.float32)
xs /= np.linalg.norm(xs, axis=1, keepdims=True)
q(xs[0]); first = time.perf_counter() - t0
ts = []
for x in xs[1:]:
    t = time.perf_counter(); q(x); ts.append(time.perf_counter() - t)
import json; print(json.dumps({{"fresh": first, "warm": sorted(ts)[10]}}))
"""


def vectors(args: argparse.Namespace) -> dict:
    if os.environ.get("VIDQ_BENCH_PATH"):
        sys.path.append(os.environ["VIDQ_BENCH_PATH"])
    root = Path(tempfile.mkdtemp(prefix="vidq-bench-vec-"))
    rng = np.random.default_rng(0)
    v = rng.standard_normal((args.rows, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    np.save(root / "vecs.npy", v)
    out: dict = {"rows": args.rows, "load": load_avg(), "build_seconds": {}}
    try:
        import sqlite_vec

        t0 = time.perf_counter()
        try:
            import sqlite3

            db = sqlite3.connect(root / "vec.db")
            db.enable_load_extension(True)
            sqlite_vec.load(db)
        except AttributeError:  # this CPython's sqlite3 cannot load extensions
            import apsw

            db = apsw.Connection(str(root / "vec.db"))
            db.enable_load_extension(True)
            db.load_extension(sqlite_vec.loadable_path())
        db.execute("create virtual table v using vec0(embedding float[384] distance_metric=cosine)")
        db.execute("begin")
        db.executemany("insert into v(rowid, embedding) values (?, ?)", ((i + 1, v[i].tobytes()) for i in range(len(v))))
        db.execute("commit")
        db.close()
        out["build_seconds"]["sqlite-vec"] = round(time.perf_counter() - t0, 1)
    except ImportError as e:
        out["sqlite-vec"] = f"not importable ({e})"
    try:
        import lancedb
        import pyarrow as pa

        t0 = time.perf_counter()
        tbl = lancedb.connect(str(root / "lance")).create_table("v", data=pa.table(
            {"id": pa.array(np.arange(len(v))), "vector": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), 384)}))
        out["build_seconds"]["lancedb"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        tbl.create_index(metric="cosine", num_partitions=256, num_sub_vectors=48)
        out["build_seconds"]["lancedb IVF-PQ index"] = round(time.perf_counter() - t0, 1)
    except ImportError as e:
        out["lancedb"] = f"not importable ({e})"
    for name, setup in PROBES.items():
        runs = []
        for _ in range(3):
            p = subprocess.run([sys.executable, "-c", PROBE_RUN.format(root=str(root), setup=setup)],
                               capture_output=True, text=True, env=env())
            if p.returncode:
                runs = []
                out.setdefault(name, f"failed: {p.stderr.strip().splitlines()[-1] if p.stderr.strip() else p.returncode}")
                break
            runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
        if runs:
            out[name] = {"fresh_process_ms": round(1000 * statistics.median(r["fresh"] for r in runs), 1),
                         "warm_query_ms": round(1000 * statistics.median(r["warm"] for r in runs), 2)}
    shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    v = sub.add_parser("vectors")
    v.add_argument("--rows", type=int, default=120_000)
    for name in ("scale", "real"):
        s = sub.add_parser(name)
        s.add_argument("--cache", type=Path, required=True, help="a cache holding the folder's analyses (copied)")
        s.add_argument("--folder", type=Path, required=True)
        s.add_argument("--rounds", type=int, default=3)
        if name == "scale":
            s.add_argument("--hours", type=float, default=100.0)
            s.add_argument("--work", help="keep the built library in this folder (and reuse it)")
    t = sub.add_parser("throughput")
    t.add_argument("--folder", type=Path, required=True)
    t.add_argument("--files", type=int, default=4)
    t.add_argument("--ray", action="store_true")
    args = ap.parse_args()
    result = {"vectors": vectors, "scale": scale, "real": real, "throughput": throughput}[args.what](args)
    print(json.dumps({args.what: result}, indent=2))


if __name__ == "__main__":
    main()
