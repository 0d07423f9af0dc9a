"""The library as a user meets it: ``vidq index``, ``vidq find`` with no file, ``vidq library``,
concurrent and killed index runs, settling files, watch folders; plus exact-value tests of
the pure parts (vector file, identity, discovery, schema).

Media: short generated clips, each with a sidecar ``.srt`` (no speech recognition runs, so
an analysis takes about a second), shared by the tests through one session cache.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vidq.errors import InputError, VidqError

SUBTITLES = {
    "harbour": ["The lighthouse keeper counts the ships every night.", "Fog rolls in from the cold sea."],
    "kitchen": ["Whisk the eggs with a pinch of salt.", "Bake the bread for forty minutes."],
    "garden": ["Worker bees visit clover in the morning.", "The beekeeper wears a veil."],
    "station": ["The night train to Vienna leaves from platform nine.", "Tickets are sold at the kiosk."],
    "museum": ["The dinosaur skeleton stands in the great hall.", "Fossils are cleaned with soft brushes."],
    "studio": ["The painter mixes ultramarine with white.", "Canvas is stretched on a wooden frame."],
}


def _srt(lines: list[str]) -> str:
    return "".join(f"{i + 1}\n00:00:0{1 + 3 * i},000 --> 00:00:0{3 + 3 * i},500\n{t}\n\n" for i, t in enumerate(lines))


@pytest.fixture(scope="session")
def clip_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 8-second clips (distinct content) with sidecar subtitles."""
    from vidq.testing.video import make_video

    folder = tmp_path_factory.getbasetemp() / "library-clips"
    if not folder.exists():
        work = tmp_path_factory.mktemp("library-clips-work")
        for k, (name, lines) in enumerate(SUBTITLES.items()):
            make_video(work / f"{name}.mp4", duration=8.0 + 0.2 * k, n_scenes=2, gop_seconds=2.0, audio="tone")
            (work / f"{name}.srt").write_text(_srt(lines), encoding="utf-8")
        work.rename(folder)
    return folder


@pytest.fixture(scope="session")
def lib_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("library-cache")


def copy_clips(src: Path, dst: Path, names: list[str] | None = None) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names or list(SUBTITLES):
        shutil.copy(src / f"{name}.mp4", dst / f"{name}.mp4")
        shutil.copy(src / f"{name}.srt", dst / f"{name}.srt")
        out.append(dst / f"{name}.mp4")
    return out


def _env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update(extra)
    return e


def vidq_proc(*args: str | os.PathLike, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "vidq", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=_env(), **kw)


def vidq_run(*args: str | os.PathLike, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidq", *map(str, args)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=_env(), timeout=timeout)


# -- pure parts ------------------------------------------------------------------------------------
def test_vector_file_cuts_what_a_killed_writer_left(tmp_path):
    from vidq.library.vectors import VectorFile, top_rows

    vf = VectorFile(tmp_path, dim=2)
    assert vf.append(0, np.array([[1, 0], [0, 1]], np.float32)) == (0, 2)
    vf.append(2, np.array([[9, 9]], np.float32))  # appended but never committed
    assert vf.append(2, np.array([[0.6, 0.8]], np.float32)) == (2, 3)  # the leftover row is cut off
    assert vf.rows_on_disk() == 3
    view = vf.view(3)
    assert view.tolist() == [[1, 0], [0, 1], [pytest.approx(0.6), pytest.approx(0.8)]]
    assert top_rows(view @ np.array([0.6, 0.8], np.float32), 2).tolist() == [2, 1]
    assert top_rows(np.array([0.5, 0.9, 0.5]), 3).tolist() == [1, 0, 2]  # ties: lower index first
    with pytest.raises(ValueError, match="holds 3 vectors but the library committed 4"):
        vf.view(4)


def test_windows_share_their_sentence_vector():
    from vidq.library.library import _unique_rows

    v = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], np.float32)
    unique, rows = _unique_rows(v)
    assert unique.tolist() == [[1, 0], [0, 1]] and rows == [0, 1, 0, 0]
    assert _unique_rows(np.zeros((3, 0), np.float32))[1] == [-1, -1, -1]


def test_schema_migrates_once_and_refuses_a_newer_library(tmp_path):
    import sqlite3

    from vidq.library import Library
    from vidq.library.schema import SCHEMA_VERSION

    with Library(tmp_path / "lib") as lib:
        assert lib.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert lib.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db = sqlite3.connect(tmp_path / "lib" / "library.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(VidqError, match="newer than this vidq"):
        Library(tmp_path / "lib").db


def test_a_version_1_library_gains_spot_vectors_and_keeps_its_rows(tmp_path):
    import sqlite3

    from vidq.library import Library
    from vidq.library.schema import MIGRATIONS, SCHEMA_VERSION

    (tmp_path / "lib").mkdir()
    db = sqlite3.connect(tmp_path / "lib" / "library.db")
    MIGRATIONS[0](db)
    db.execute("INSERT INTO segments (file_id, kind, start, end, confidence, text, reason) "
               "VALUES (1, 'spot', 0, 12, 0.9, 'Fizz Cola', 'ad spot')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    assert SCHEMA_VERSION == 2
    with Library(tmp_path / "lib") as lib:
        assert lib.db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert lib.db.execute("SELECT text, vec FROM segments").fetchall() == [("Fizz Cola", None)]


def test_a_connection_that_meets_a_locked_database_tries_again(tmp_path, monkeypatch):
    """Two index runs at once: the journal-mode pragma may answer "database is locked" without
    waiting (the other process is closing its last connection); connecting waits it out."""
    import sqlite3

    from vidq.library import schema

    class Flaky(sqlite3.Connection):
        locked = 3  # answers "database is locked" this many times

        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode") and Flaky.locked:
                Flaky.locked -= 1
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real(*a, factory=Flaky, **k))
    db = schema.connect(tmp_path / "library.db")
    assert Flaky.locked == 0 and db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    Flaky.locked = 10_000  # locked for good: one clear error once the busy timeout has passed
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 300)
    with pytest.raises(VidqError, match="not a usable library database .database is locked"):
        schema.connect(tmp_path / "other.db")


def test_discover_folders_globs_include_exclude(tmp_path):
    from vidq.library import discover

    for rel in ("a.mp4", "b.TS", "notes.txt", "sub/c.mkv", "sub/deep/d.mp4", ".hidden/e.mp4", "sub/.f.mp4",
                "skip/g.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    names = lambda paths: [os.path.relpath(p, tmp_path) for p in paths]  # noqa: E731
    assert names(discover([tmp_path])) == ["a.mp4", "b.TS", "skip/g.mp4", "sub/c.mkv", "sub/deep/d.mp4"]
    assert names(discover([tmp_path], include=["*.txt", "sub/deep/*"])) == ["notes.txt", "sub/deep/d.mp4"]
    assert names(discover([tmp_path], exclude=["*/skip/*", "*.mkv"])) == ["a.mp4", "b.TS", "sub/deep/d.mp4"]
    assert names(discover([str(tmp_path / "**" / "*.mp4")])) == ["a.mp4", "skip/g.mp4", "sub/deep/d.mp4"]
    assert names(discover([tmp_path / "notes.txt", tmp_path / "a.mp4"])) == ["a.mp4", "notes.txt"]
    with pytest.raises(InputError, match="no such file or folder"):
        discover([tmp_path / "nowhere"])


# -- the CLI ---------------------------------------------------------------------------------------
def index(cli, lib: Path, cache: Path, *args) -> tuple[int, dict, str]:
    r = cli("--library", lib, "--cache-dir", cache, "index", *args)
    return r.exit_code, (json.loads(r.stdout) if r.stdout.strip() else {}), r.stderr


def test_index_then_find_with_no_file(cli, clip_set, lib_cache, tmp_path):
    folder = tmp_path / "recordings"
    copy_clips(clip_set, folder, ["harbour", "kitchen", "garden"])
    lib = tmp_path / "lib"
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0", "-j", "1")
    assert code == 0 and summary["schema"] == "vidq.index/1"
    assert summary["counts"] == {"indexed": 3, "moved": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    code, again, _ = index(cli, lib, lib_cache, folder, "--settle", "0", "-j", "1")
    assert code == 0 and again["counts"]["unchanged"] == 3 and again["counts"]["indexed"] == 0

    r = cli("--library", lib, "find", "the lighthouse keeper")
    assert r.exit_code == 0
    first = r.stdout.splitlines()[0]
    assert first.startswith(f"{folder / 'harbour.mp4'}:00:00:0") and "lighthouse" in first
    r = cli("--library", lib, "find", "worker bees", "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["file"] == str(folder / "garden.mp4") and 1.0 <= doc["start"] <= 3.5
    assert doc["meta"]["files_searched"] == 3
    r = cli("--library", lib, "find", "purple zebra crossing")
    assert r.exit_code == 1 and r.stdout == ""
    r = cli("--library", lib, "find", "lighthouse", "--in", "*/kitchen.mp4")
    assert r.exit_code == 1
    r = cli("--library", lib, "find", "bread", "--in", "kitchen.mp4", "--format", "jsonl")
    assert r.exit_code == 0 and {json.loads(x)["file"] for x in r.stdout.splitlines()} == {str(folder / "kitchen.mp4")}

    r = cli("--library", lib, "library", "ls", "--json")
    listed = json.loads(r.stdout)
    assert [Path(f["path"]).name for f in listed["files"]] == ["garden.mp4", "harbour.mp4", "kitchen.mp4"]
    stats = json.loads(cli("--library", lib, "library", "stats", "--json").stdout)
    assert stats["files"] == 3 and stats["units"]["speech"] > 0 and stats["vectors"]["dim"] == 384
    assert cli("--library", lib, "library", "verify").exit_code == 0


def test_find_with_no_file_refuses_what_does_not_apply(cli, tmp_path):
    r = cli("--library", tmp_path / "none", "find", "anything")
    assert r.exit_code == 2 and "no library at" in r.stderr and "vidq index" in r.stderr
    r = cli("--library", tmp_path / "none", "find", "anything", "--start", "10")
    assert r.exit_code == 2 and "--start" in r.stderr
    r = cli("--library", tmp_path / "none", "index", tmp_path / "nowhere")
    assert r.exit_code == 2 and "no such file or folder" in r.stderr
    r = cli("--library", tmp_path / "none", "index", tmp_path, "--ray=not-an-address")
    assert r.exit_code == 2 and "--ray=not-an-address: not a Ray address" in r.stderr


def test_ray_value_may_be_left_out():
    from vidq.cli.app import fill_optional_values

    assert fill_optional_values(["index", "/rec", "--ray"]) == ["index", "/rec", "--ray", "auto"]
    assert fill_optional_values(["index", "--ray", "/rec"]) == ["index", "--ray", "auto", "/rec"]
    assert fill_optional_values(["index", "--ray", "10.0.0.1:6379", "/rec"]) == ["index", "--ray", "10.0.0.1:6379",
                                                                                  "/rec"]
    assert fill_optional_values(["find", "--", "--ray"]) == ["find", "--", "--ray"]


def test_moved_and_renamed_files_are_recognised(cli, clip_set, lib_cache, tmp_path):
    folder = tmp_path / "rec"
    copy_clips(clip_set, folder, ["harbour", "station"])
    lib = tmp_path / "lib"
    assert index(cli, lib, lib_cache, folder, "--settle", "0")[0] == 0
    (folder / "2024").mkdir()
    (folder / "harbour.mp4").rename(folder / "2024" / "harbour-renamed.mp4")
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0")
    assert code == 0 and summary["counts"]["moved"] == 1 and summary["counts"]["indexed"] == 0
    assert summary["moved"][0] == {"file": str(folder / "2024" / "harbour-renamed.mp4"),
                                   "from": str(folder / "harbour.mp4")}
    r = cli("--library", lib, "find", "lighthouse keeper", "--json")
    assert json.loads(r.stdout)["file"] == str(folder / "2024" / "harbour-renamed.mp4")
    r = cli("--library", lib, "library", "rm", "*/station.mp4")
    assert r.exit_code == 0 and "station.mp4" in r.stdout
    assert cli("--library", lib, "find", "night train to vienna").exit_code == 1
    (folder / "2024" / "harbour-renamed.mp4").unlink()
    pruned = json.loads(cli("--library", lib, "library", "prune", "--json").stdout)
    assert pruned["files"] == [str(folder / "2024" / "harbour-renamed.mp4")]
    assert json.loads(cli("--library", lib, "library", "ls", "--json").stdout)["files"] == []
    assert cli("--library", lib, "library", "verify").exit_code == 0


def test_failures_are_recorded_and_retried(cli, clip_set, lib_cache, tmp_path):
    folder = tmp_path / "rec"
    copy_clips(clip_set, folder, ["kitchen"])
    (folder / "broken.mp4").write_text("this is not a video\n")
    lib = tmp_path / "lib"
    code, summary, err = index(cli, lib, lib_cache, folder, "--settle", "0")
    assert code == 0 and summary["counts"]["indexed"] == 1 and summary["counts"]["failed"] == 1
    failed = summary["failed"][0]
    assert failed["file"] == str(folder / "broken.mp4") and failed["attempts"] == 1 and failed["reason"]
    assert "broken.mp4" in err and "retried by the next run" in err
    listed = json.loads(cli("--library", lib, "library", "ls", "--json").stdout)
    assert [f["path"] for f in listed["failures"]] == [str(folder / "broken.mp4")]
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0")
    assert summary["failed"][0]["attempts"] == 2  # tried again
    shutil.copy(clip_set / "garden.mp4", folder / "broken.mp4")  # the file is fixed
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0")
    assert summary["counts"]["indexed"] == 1 and summary["counts"]["failed"] == 0
    assert json.loads(cli("--library", lib, "library", "ls", "--json").stdout)["failures"] == []


def test_a_file_whose_analysis_cannot_be_stored_is_a_failure_and_the_run_goes_on(cli, clip_set, lib_cache, tmp_path,
                                                                                  monkeypatch):
    from vidq.library.library import Library

    folder = tmp_path / "rec"
    copy_clips(clip_set, folder, ["kitchen", "garden"])
    real_add = Library.add

    def add(self, *args, path, **kw):
        if path.endswith("garden.mp4"):
            raise VidqError("cannot write the timeline copy (No space left on device)")
        return real_add(self, *args, path=path, **kw)

    monkeypatch.setattr(Library, "add", add)
    lib = tmp_path / "lib"
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0")
    assert code == 0 and summary["counts"]["indexed"] == 1 and summary["counts"]["failed"] == 1
    assert summary["failed"][0]["file"] == str(folder / "garden.mp4")
    assert "cannot store its analysis" in summary["failed"][0]["reason"]
    monkeypatch.setattr(Library, "add", real_add)
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0")  # retried, and stored this time
    assert summary["counts"] == {**summary["counts"], "indexed": 1, "unchanged": 1, "failed": 0}


def test_write_edl_beside_each_recording(cli, clip_set, lib_cache, tmp_path):
    folder = tmp_path / "rec"
    copy_clips(clip_set, folder, ["museum", "studio"])
    lib = tmp_path / "lib"
    assert index(cli, lib, lib_cache, folder, "--settle", "0")[0] == 0
    assert not (folder / "museum.edl").exists()
    assert index(cli, lib, lib_cache, folder, "--settle", "0", "--write-edl")[0] == 0  # indexed ones get theirs too
    for name in ("museum", "studio"):
        ads = cli("--cache-dir", lib_cache, "ads", folder / f"{name}.mp4", "--model", "lite", "--format", "edl")
        assert (folder / f"{name}.edl").read_text() == ads.stdout


def test_jobs_reuse_an_indexed_files_analysis_after_the_cache_is_cleared(cli, clip_set, lib_cache, tmp_path):
    folder = tmp_path / "rec"
    (video,) = copy_clips(clip_set, folder, ["station"])
    lib = tmp_path / "lib"
    assert index(cli, lib, lib_cache, folder, "--settle", "0")[0] == 0
    empty = tmp_path / "fresh-cache"
    r = cli("--library", lib, "--cache-dir", empty, "summarize", video, "--model", "lite", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["meta"]["analysis"]["cached"] is True
    r = cli("--library", tmp_path / "other-lib", "--cache-dir", tmp_path / "fresh-2", "summarize", video,
            "--model", "lite", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["meta"]["analysis"]["cached"] is False


def test_a_file_indexed_before_spots_had_their_own_vectors_is_indexed_again(cli, clip_set, lib_cache, tmp_path):
    import sqlite3

    folder = tmp_path / "rec"
    copy_clips(clip_set, folder, ["station"])
    lib = tmp_path / "lib"
    assert index(cli, lib, lib_cache, folder, "--settle", "0")[0] == 0
    db = sqlite3.connect(lib / "library.db")
    (meta,) = db.execute("SELECT meta FROM files").fetchone()
    assert json.loads(meta)["spot_vectors"] is True
    db.execute("UPDATE files SET meta = ?", (json.dumps({k: v for k, v in json.loads(meta).items()
                                                         if k != "spot_vectors"}),))
    db.commit()
    db.close()
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0")
    assert code == 0 and summary["counts"]["indexed"] == 1 and summary["counts"]["unchanged"] == 0
    code, summary, _ = index(cli, lib, lib_cache, folder, "--settle", "0")
    assert code == 0 and summary["counts"]["unchanged"] == 1
    assert cli("--library", lib, "library", "verify").exit_code == 0


# -- real processes: settle, concurrency, kill -9, watch -------------------------------------------
def test_settle_skips_files_still_changing(clip_set, lib_cache, tmp_path):
    folder = tmp_path / "rec"
    copy_clips(clip_set, folder, ["harbour"])
    lib = tmp_path / "lib"
    growing = folder / "growing.ts"
    writer = subprocess.Popen([sys.executable, "-c", f"""
import time
with open({str(growing)!r}, 'ab', buffering=0) as fh:
    for _ in range(400):
        fh.write(b'\\0' * 188); time.sleep(0.05)
"""])
    try:
        time.sleep(0.3)
        r = vidq_run("--library", lib, "--cache-dir", lib_cache, "index", folder, "--settle", "2")
        summary = json.loads(r.stdout)
        assert r.returncode == 0
        assert {Path(s["file"]).name for s in summary["skipped"]} == {"harbour.mp4", "growing.ts"}
        assert all("settling" in s["reason"] for s in summary["skipped"])
        time.sleep(2.2)
        r = vidq_run("--library", lib, "--cache-dir", lib_cache, "index", folder, "--settle", "2",
                     "--exclude", "*.ts")
        summary = json.loads(r.stdout)
        assert summary["counts"]["indexed"] == 1 and summary["indexed"][0]["file"] == str(folder / "harbour.mp4")
        r = vidq_run("--library", lib, "--cache-dir", lib_cache, "index", folder, "--settle", "2")
        assert [Path(s["file"]).name for s in json.loads(r.stdout)["skipped"]] == ["growing.ts"]  # still growing
    finally:
        writer.kill()
        writer.wait()


def test_two_index_runs_at_once_analyse_each_file_once_and_find_works_meanwhile(clip_set, tmp_path):
    folder = tmp_path / "rec"
    files = copy_clips(clip_set, folder)
    lib, cache = tmp_path / "lib", tmp_path / "cache"  # a cold cache: every file really is analysed
    runs = [vidq_proc("--library", lib, "--cache-dir", cache, "index", folder, "--settle", "0", "-j", "1")
            for _ in range(2)]
    answered = []
    while any(p.poll() is None for p in runs):
        if (lib / "library.db").exists():
            r = vidq_run("--library", lib, "find", "lighthouse keeper")
            answered.append(r.returncode)
            assert r.returncode in (0, 1), r.stderr  # never an error while a run writes
        time.sleep(0.2)
    outs = [p.communicate() for p in runs]
    assert [p.returncode for p in runs] == [0, 0], [o[1][-500:] for o in outs]
    summaries = [json.loads(o[0]) for o in outs]
    analysed = [i["file"] for s in summaries for i in s["indexed"] if i["analysed"]]
    assert sorted(analysed) == sorted(map(str, files))  # each file analysed once, by one of the runs
    assert answered, "find never ran while the index runs were going"
    listed = json.loads(vidq_run("--library", lib, "library", "ls", "--json").stdout)
    assert sorted(f["path"] for f in listed["files"]) == sorted(map(str, files))
    assert vidq_run("--library", lib, "library", "verify").returncode == 0


@pytest.mark.slow
def test_kill_9_at_twelve_points_then_a_rerun_leaves_a_complete_consistent_library(clip_set, tmp_path):
    folder = tmp_path / "rec"
    files = copy_clips(clip_set, folder)
    cache = tmp_path / "cache"
    # how long a whole run takes here (cold: analysis; warm: the library writes only)
    t0 = time.perf_counter()
    assert vidq_run("--library", tmp_path / "lib-cold", "--cache-dir", cache, "index", folder, "--settle", "0"
                    ).returncode == 0
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert vidq_run("--library", tmp_path / "lib-warm", "--cache-dir", cache, "index", folder, "--settle", "0"
                    ).returncode == 0
    warm = time.perf_counter() - t0
    # 4 points over cold runs (analysis killed), 8 over warm ones (the writes killed), each on a new library
    points = [("cold", cold * f) for f in (0.3, 0.5, 0.7, 0.9)] + [("warm", warm * f) for f in
                                                                  np.linspace(0.35, 0.98, 8)]
    for k, (kind, delay) in enumerate(points):
        lib = tmp_path / f"lib-{k}"
        run_cache = tmp_path / f"cache-{k}" if kind == "cold" else cache
        proc = vidq_proc("--library", lib, "--cache-dir", run_cache, "index", folder, "--settle", "0",
                         start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)  # the run and any worker it started
        proc.communicate()
        if (lib / "library.db").exists():
            r = vidq_run("--library", lib, "library", "verify")
            assert r.returncode == 0, f"point {k} ({kind}, {delay:.2f} s): {r.stdout}"
        r = vidq_run("--library", lib, "--cache-dir", run_cache, "index", folder, "--settle", "0")
        assert r.returncode == 0, r.stderr[-500:]
        summary = json.loads(r.stdout)
        assert summary["counts"]["failed"] == 0
        listed = json.loads(vidq_run("--library", lib, "library", "ls", "--json").stdout)
        assert sorted(f["path"] for f in listed["files"]) == sorted(map(str, files)), f"point {k}"
        r = vidq_run("--library", lib, "library", "verify")
        assert r.returncode == 0, f"point {k} ({kind}, {delay:.2f} s): {r.stdout}"
        assert vidq_run("--library", lib, "find", "night train to vienna").returncode == 0


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_watch_indexes_files_as_they_settle_and_stops_cleanly(clip_set, lib_cache, tmp_path, sig, code):
    folder = tmp_path / "watched"
    folder.mkdir()
    lib = tmp_path / "lib"
    proc = vidq_proc("--library", lib, "--cache-dir", lib_cache, "index", folder, "--watch", "--settle", "1",
                     "--poll", "5")
    try:
        time.sleep(1.0)
        copy_clips(clip_set, folder / "new", ["garden"])
        deadline = time.time() + 120
        while time.time() < deadline:
            if (lib / "library.db").exists():
                r = vidq_run("--library", lib, "find", "worker bees")
                if r.returncode == 0:
                    break
            time.sleep(0.5)
        else:
            pytest.fail("the watcher did not index the new file")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err[-500:]
    summary = json.loads(out)
    assert summary["interrupted"] is True
    assert [i["file"] for i in summary["indexed"]] == [str(folder / "new" / "garden.mp4")]
    assert vidq_run("--library", lib, "library", "verify").returncode == 0


# -- Ray: a real local cluster on 127.0.0.1 --------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _library_contents(root: Path) -> dict:
    """What a library holds, by content key: durations, units, segments, vectors (comparable across libraries)."""
    from vidq.library import Library

    out = {}
    with Library(root) as lib, lib.snapshot() as (db, vecs):
        for fid, key, duration in db.execute("SELECT id, key, duration FROM files"):
            units = db.execute("SELECT start, end, source, kind, text, vec FROM units WHERE file_id = ? ORDER BY id",
                               (fid,)).fetchall()
            segs = db.execute("SELECT kind, start, end, confidence, text FROM segments WHERE file_id = ? ORDER BY id",
                              (fid,)).fetchall()
            rows = [np.asarray(vecs[u[5]]) for u in units if u[5] is not None]
            out[key] = {"duration": duration, "units": [u[:5] for u in units], "segments": segs,
                        "vectors": np.stack(rows) if rows else np.zeros((0, 0))}
    return out


@pytest.mark.slow
def test_ray_index_builds_the_library_a_local_run_builds(clip_set, tmp_path):
    import ray  # noqa: F401  (the test extra installs it; the test fails without it)

    folder = tmp_path / "rec"
    files = copy_clips(clip_set, folder, ["harbour", "kitchen", "garden", "station"])
    port = _free_port()
    ray_bin = Path(sys.executable).with_name("ray")
    head = subprocess.Popen([str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", "--block"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), start_new_session=True)
    try:
        address = f"127.0.0.1:{port}"
        deadline = time.time() + 180
        while True:
            probe = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address={address!r}); ray.shutdown()"],
                                   capture_output=True, env=_env())
            if probe.returncode == 0:
                break
            assert head.poll() is None and time.time() < deadline, "the local Ray head did not start"
            time.sleep(2)
        r = vidq_run("--library", tmp_path / "lib-ray", "--cache-dir", tmp_path / "cache-ray", "index", folder,
                     "--settle", "0", "-j", "2", "--ray", address, timeout=600)
        assert r.returncode == 0, r.stderr[-1500:]
        summary = json.loads(r.stdout)
        assert summary["counts"]["indexed"] == len(files) and all(i["analysed"] for i in summary["indexed"])
        assert "Ray cluster" in r.stderr
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
    r = vidq_run("--library", tmp_path / "lib-local", "--cache-dir", tmp_path / "cache-local", "index", folder,
                 "--settle", "0", "-j", "1")
    assert r.returncode == 0, r.stderr[-1500:]
    by_ray, local = _library_contents(tmp_path / "lib-ray"), _library_contents(tmp_path / "lib-local")
    assert sorted(by_ray) == sorted(local) and len(local) == len(files)
    for key in local:
        assert by_ray[key]["duration"] == local[key]["duration"]
        assert by_ray[key]["units"] == local[key]["units"]
        assert by_ray[key]["segments"] == local[key]["segments"]
        np.testing.assert_allclose(by_ray[key]["vectors"], local[key]["vectors"], atol=1e-5)
    assert vidq_run("--library", tmp_path / "lib-ray", "find", "night train to vienna").returncode == 0


# -- the "done means": a folder of broadcasts, then "ad for soda" over all of them -----------
@pytest.mark.slow
def test_index_a_folder_of_broadcasts_then_every_cola_ad_comes_first(scenarios_dir, short_scenario, job_cache,
                                                                     tmp_path):
    from vidq.testing.scenarios import ADS, TOPICS, BreakSpec, Recipe, build_scenario

    recipes = [Recipe(name="lib-a", topics=TOPICS[3:5], topic_seconds=35.0, needles=(),
                      breaks=(BreakSpec(topic=0, offset=15.0, ads=(ADS["oats"], ADS["fizz"])),), seed=11),
               Recipe(name="lib-b", topics=TOPICS[5:7], topic_seconds=35.0, needles=(),
                      breaks=(BreakSpec(topic=1, offset=10.0, ads=(ADS["sunny"],)),), seed=12)]
    scenarios = [short_scenario] + [build_scenario(scenarios_dir, r) for r in recipes]
    folder = tmp_path / "recordings"
    folder.mkdir()
    for sc in scenarios:
        os.link(sc.video, folder / sc.video.name)
    lib = tmp_path / "lib"
    r = vidq_run("--library", lib, "--cache-dir", job_cache, "index", folder, "--settle", "0", "--write-edl",
                 timeout=1200)
    assert r.returncode == 0, r.stderr[-1500:]
    assert json.loads(r.stdout)["counts"]["indexed"] == 3
    colas = [(str(folder / sc.video.name), e.start) for sc in scenarios for e in sc.ads if e.label == "Fizz Cola"]
    assert len(colas) == 2
    r = vidq_run("--library", lib, "find", "ad for soda", "--json", "-k", "10")
    assert r.returncode == 0
    hits = json.loads(r.stdout)["hits"]
    first = hits[:len(colas)]
    for file, start in colas:
        assert any(h["file"] == file and abs(h["start"] - start) <= 2.0 for h in first), (file, start, first)
    for file, start in colas:  # the library scores a spot as find on its file does (its text read as one)
        mine = json.loads(vidq_run("--cache-dir", job_cache, "find", "ad for soda", file, "--json").stdout)["hits"]
        one = next(h for h in mine if abs(h["start"] - start) <= 2.0)
        there = next(h for h in hits if h["file"] == file and abs(h["start"] - start) <= 2.0)
        assert (there["score"], there["reason"]) == (one["score"], one["reason"])
    r = vidq_run("--library", lib, "find", "ad for perfume")
    assert r.returncode == 1 and r.stdout == ""
    r = vidq_run("--library", lib, "--cache-dir", job_cache, "index", folder, "--settle", "0")
    again = json.loads(r.stdout)
    assert again["counts"] == {"indexed": 0, "moved": 0, "unchanged": 3, "skipped": 0, "failed": 0}
    for sc in scenarios:  # the skip list beside each recording, as `vidq ads` writes it
        edl = (folder / sc.video.name).with_suffix(".edl").read_text()
        ads = vidq_run("--cache-dir", job_cache, "ads", folder / sc.video.name, "--model", "lite", "--format", "edl")
        assert edl == ads.stdout
