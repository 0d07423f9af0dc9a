"""The cache as users meet it: damaged entries, concurrent and killed processes, `vidq cache
verify`, file modes under a umask, and `--timeout` — through real `vidq` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from vidq.speech import TRANSCRIPT_STAGE
from vidq.store import STALE_SECONDS, Store
from vidq.testing.soak import cache_entries, normalize, readonly_dir

KEY = "ab" * 20


def vidq(*args, umask: int | None = None, env: dict[str, str] | None = None, timeout: float = 300):
    """Run ``python -m vidq ARGS`` with no TTY (optionally under ``umask``)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vidq", *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, stdin=subprocess.DEVNULL,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


# -- several processes, one key -----------------------------------------------------------
MEMO_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from vidq.store import Store
    root, log, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    def compute():
        with open(log, "a") as fh:
            fh.write(f"start {os.getpid()}\\n")
        time.sleep(delay)
        return {"pid": os.getpid()}
    print(json.dumps(Store(root).memo("ab" * 20, "t/1", {}, compute)))
""")


def _memo_proc(root: Path, log: Path, delay: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", MEMO_SCRIPT, str(root), str(log), str(delay)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_concurrent_processes_compute_a_key_once(tmp_path):
    log = tmp_path / "computed.log"
    procs = [_memo_proc(tmp_path / "cache", log, 1.5) for _ in range(3)]
    outs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert len(log.read_text().splitlines()) == 1
    assert outs[0] == outs[1] == outs[2]
    assert list((tmp_path / "cache").rglob("*.lock")) == []


def test_a_sigkilled_holder_does_not_block_the_next_process(tmp_path):
    log = tmp_path / "computed.log"
    holder = _memo_proc(tmp_path / "cache", log, 120)
    _wait_for(lambda: log.exists() and log.read_text().count("start") == 1)
    waiter = _memo_proc(tmp_path / "cache", log, 0.2)
    time.sleep(1.0)  # the waiter is now polling the lock
    assert waiter.poll() is None
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    out, _ = waiter.communicate(timeout=60)
    assert json.loads(out) == {"pid": waiter.pid}
    assert len(log.read_text().splitlines()) == 2
    assert list((tmp_path / "cache").rglob("*.lock")) == []  # the waiter took the lock file over and removed it


def test_three_transcribe_runs_at_once_run_asr_once(tmp_path, speech_clip):
    cache = tmp_path / "cache"
    args = [sys.executable, "-m", "vidq", "-v", "--cache-dir", str(cache), "transcribe", str(speech_clip), "--json"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL) for _ in range(3)]
    results = [(p.communicate(timeout=300), p.returncode) for p in procs]
    assert [rc for _, rc in results] == [0, 0, 0]
    stderr = "".join(err for (_, err), _ in results)
    assert stderr.count(f"vidq: computing {TRANSCRIPT_STAGE}") == 1
    texts = {json.loads(out)["text"] for (out, _), _ in results}
    assert len(texts) == 1 and "honey" in texts.pop()


# -- damaged entries -------------------------------------------------------------------------
def test_truncated_and_empty_entries_change_neither_exit_code_nor_output(tmp_path, speech_clip):
    cache = tmp_path / "cache"
    first = vidq("-q", "--cache-dir", cache, "ads", speech_clip, "--json")
    assert first.returncode == 0, first.stderr
    entries = cache_entries(cache)
    assert any(p.suffix == ".npz" for p in entries) and any(p.suffix == ".json" for p in entries)
    for n, path in enumerate(entries):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if n % 2 else b"")
    again = vidq("-q", "--cache-dir", cache, "ads", speech_clip, "--json")
    assert again.returncode == 0 and again.stderr == ""
    assert normalize(json.loads(again.stdout)) == normalize(json.loads(first.stdout))
    assert vidq("--cache-dir", cache, "cache", "verify").returncode == 0  # healed and rewritten


# -- vidq cache verify -------------------------------------------------------------------------
def _broken_cache(root: Path) -> Store:
    store = Store(root)
    store.put_json(KEY, "t/1", {"n": 1}, {"ok": True})
    store.put_arrays(KEY, "f/1", {"n": 1}, {"x": np.arange(5)})
    store.put_json(KEY, "t/1", {"n": 2}, [1, 2, 3])
    npz = store.entry_path(KEY, "f/1", {"n": 1}, "npz")
    npz.write_bytes(npz.read_bytes()[:40])  # truncated: BadZipFile
    store.entry_path(KEY, "t/1", {"n": 2}, "json").write_bytes(b"")
    long_ago = time.time() - STALE_SECONDS - 60
    for name in (".abc.json.x1.tmp", ".0123456789abcdef0123.lock"):
        leftover = npz.parent / name
        leftover.write_bytes(b"")
        os.utime(leftover, (long_ago, long_ago))
    (root / "v1" / "objects").mkdir(parents=True)
    (root / "v1" / "objects" / "old.json").write_text("{}")
    return store


def test_cache_verify_reports_then_repairs(tmp_path):
    root = tmp_path / "cache"
    _broken_cache(root)
    r = vidq("--cache-dir", root, "cache", "verify")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"cache: {root}"
    assert lines[2] == "problems: 5 (rerun with --repair to remove them)"
    kinds = sorted(line.split()[0] + (" " + line.split()[1] if line.split()[0] in ("stale", "orphaned", "old") else "")
                   for line in lines[3:])
    assert kinds == ["old layout", "orphaned lock", "stale temp", "unreadable", "unreadable"]
    assert any("BadZipFile" in line for line in lines) and any("empty file" in line for line in lines)

    j = vidq("--cache-dir", root, "cache", "verify", "--json")
    doc = json.loads(j.stdout)
    assert j.returncode == 1 and doc["schema"] == "vidq.cache.verify/1"
    assert doc["checked"] == 3 and doc["unrepaired"] == 5
    fixed = vidq("--cache-dir", root, "cache", "verify", "--repair", "--json")
    assert fixed.returncode == 0
    assert all(p["repaired"] for p in json.loads(fixed.stdout)["problems"])
    clean = vidq("--cache-dir", root, "cache", "verify")
    assert clean.returncode == 0 and clean.stdout.splitlines()[-1] == "no problems"
    assert not (root / "v1").exists()
    assert Store(root).get_json(KEY, "t/1", {"n": 1}) == {"ok": True}  # the good entry is kept


def test_cache_verify_repair_that_cannot_remove_exits_3(tmp_path):
    root = tmp_path / "cache"
    _broken_cache(root)
    with readonly_dir(root) as (where, how):
        if where != root:
            pytest.skip(f"cannot make a directory read-only here ({how})")
        r = vidq("--cache-dir", where, "cache", "verify", "--repair")
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "cannot remove" in r.stdout


def test_cache_verify_on_a_missing_cache_is_clean(tmp_path):
    r = vidq("--cache-dir", tmp_path / "nothing", "cache", "verify", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["problems"] == []


# -- file modes --------------------------------------------------------------------------------
def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_outputs_and_cache_entries_follow_the_umask(tmp_path, speech_clip):
    umask, file_mode = 0o022, 0o644
    cache = tmp_path / "cache"
    srt = tmp_path / "out" / "s.srt"
    r = vidq("--cache-dir", cache, "transcribe", speech_clip, "--format", "srt", "-o", srt, umask=umask)
    assert r.returncode == 0, r.stderr
    assert _mode(srt) == file_mode
    entries = cache_entries(cache)
    assert entries and {_mode(p) for p in entries} == {file_mode}
    video = tmp_path / "show.mp4"
    video.write_bytes(speech_clip.read_bytes())
    r = vidq("-q", "--cache-dir", cache, "ads", video, "--write-edl", umask=umask)
    assert r.returncode == 0, r.stderr
    assert _mode(video.with_suffix(".edl")) == file_mode
    sheet = tmp_path / "sheet.jpg"
    folder = tmp_path / "frames"
    assert vidq("frames", speech_clip, "--frames", "2", "--sheet", sheet, umask=umask).returncode == 0
    assert vidq("frames", speech_clip, "--frames", "2", "-o", folder, umask=umask).returncode == 0
    assert _mode(sheet) == file_mode
    assert _mode(folder) == 0o777 & ~umask and {_mode(p) for p in folder.iterdir()} == {file_mode}


def test_a_stricter_umask_gives_private_files(tmp_path, speech_clip):
    out = tmp_path / "probe.json"
    assert vidq("--cache-dir", tmp_path / "cache", "probe", speech_clip, "-o", out, umask=0o077).returncode == 0
    assert _mode(out) == 0o600 and {_mode(p) for p in cache_entries(tmp_path / "cache")} == {0o600}


def test_an_output_that_cannot_be_written_is_one_line(tmp_path, speech_clip):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = vidq("probe", speech_clip, "-o", blocker / "out.json")
    assert r.returncode == 2
    assert r.stderr.startswith(f"vidq: error: -o {blocker / 'out.json'}: cannot write (")
    assert len(r.stderr.splitlines()) == 1


# -- --timeout -------------------------------------------------------------------------------
def test_timeout_stops_a_job_with_one_line_and_no_output(tmp_path, speech_clip):
    cache = tmp_path / "cache"
    out = tmp_path / "summary.json"
    t0 = time.monotonic()
    r = vidq("--timeout", "1.5", "--cache-dir", cache, "summarize", speech_clip, "-o", out)
    assert r.returncode == 3
    assert r.stderr.splitlines()[-1] == "vidq: error: timed out after 1.5 s (--timeout)"
    assert "Traceback" not in r.stderr and not out.exists() and r.stdout == ""
    assert time.monotonic() - t0 < 30
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".summary")] == []
    assert vidq("--cache-dir", cache, "cache", "verify").returncode == 0


def test_timeout_from_env_and_config(tmp_path, speech_clip):
    r = vidq("probe", speech_clip, env={"VIDQ_TIMEOUT": "30"})
    assert r.returncode == 0
    config = tmp_path / "config.toml"
    config.write_text("timeout = 0.5\n")
    r = vidq("--config", config, "summarize", speech_clip, "--no-cache")
    assert r.returncode == 3 and r.stderr.endswith("timed out after 0.5 s (--timeout)\n")


@pytest.mark.parametrize("value", ["0", "-5", "abc", "nan", "inf", "1e12"])
def test_absurd_timeouts_are_usage_errors(speech_clip, value):
    r = vidq(f"--timeout={value}", "probe", speech_clip)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "--timeout" in r.stderr
    assert vidq("probe", speech_clip, env={"VIDQ_TIMEOUT": value}).returncode == 2


def test_a_process_stuck_in_native_code_is_ended_by_the_watchdog():
    script = textwrap.dedent("""
        import signal, time
        from vidq.cli import deadline
        deadline.GRACE_SECONDS = 0.5
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # the handler can never run
        deadline.arm(0.5)
        time.sleep(60)
    """)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and r.stderr == "vidq: error: timed out after 0.5 s (--timeout)\n"
    assert time.monotonic() - t0 < 30
