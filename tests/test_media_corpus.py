"""Every file of the bad-input corpus through the CLI, as an unattended cron job meets it.

Each kind of ``vidq.testing.broken`` (broken, audio-only, undecodable, awkward, awkwardly
timed, spliced, damaged) goes through ``vidq probe --json`` and ``vidq frames --json`` in
subprocesses (and, marked slow, ``vidq ads --json``).  Each run must end with the exit code
``EXPECT`` gives for its kind, print no traceback, say an error in exactly one line, report
damaged spans exactly for the damaged kinds (with one warning, not one per stage), give
times relative to the first frame that only move forward and stay inside the file, and
finish within its time limit: ``LIMIT_BASE`` seconds (a process start, imports, for a job
the models) plus ``LIMIT_FACTOR`` times the file's duration.  The limit is a hang guard,
not a speed figure (speed lives in ``benchmarks/``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from vidq.testing.broken import DISCONTINUOUS, EXPECT, KINDS, make_case

LIMIT_BASE = 30.0  # seconds for a probe or frames process: start, imports, opening the file
LIMIT_FACTOR = 4.0  # ... plus this many times the file's duration (the corpus files last 0.04 to 12 s)
JOB_LIMIT_BASE = 300.0  # seconds for a job process: the lite models load first
JOB_LIMIT_FACTOR = 10.0
FRAMES = 12  # targets of the `vidq frames` run
WORKERS = 2  # processes run at once (the corpus is small; two cores)
SLACK = 1e-3  # seconds of rounding in printed times


@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    limit: float


def vidq(args: list[str], limit: float, cache: Path) -> Run:
    env = {**os.environ, "NO_COLOR": "1", "VIDQ_CACHE_DIR": str(cache)}
    proc = subprocess.run([sys.executable, "-m", "vidq", *args], capture_output=True, text=True, timeout=limit,
                          stdin=subprocess.DEVNULL, env=env)
    return Run(args, proc.returncode, proc.stdout, proc.stderr, limit)


def duration_of(path: Path) -> float:
    """The file's duration as ffprobe reads the header (0 when it cannot): sets the time limit."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True)
    try:
        return min(float(out.stdout.strip()), 60.0)  # a header claiming centuries still gets a minute
    except ValueError:
        return 0.0


@pytest.fixture(scope="module")
def runs(media_dir, tmp_path_factory):
    """Probe and frames of every kind, two processes at a time: kind -> (probe run, frames run)."""
    cache = tmp_path_factory.mktemp("corpus-cache")
    out = tmp_path_factory.mktemp("corpus-frames")

    def both(kind: str) -> tuple[Run, Run]:
        path = make_case(kind, media_dir)
        limit = LIMIT_BASE + LIMIT_FACTOR * duration_of(path)
        probed = vidq(["probe", "--json", str(path)], limit, cache)
        framed = vidq(["frames", str(path), "--frames", str(FRAMES), "-o", str(out / kind), "--json"], limit, cache)
        return probed, framed

    for kind in KINDS:  # made one by one: the generators share temporary names
        make_case(kind, media_dir)
    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(KINDS, pool.map(both, KINDS)))


def check_exit(run: Run, expected: int, *, logs: bool = False) -> None:
    """Exit code as expected, no traceback; an error is one line (the only line, unless ``logs``:
    a job may have said what it did before it met the error)."""
    assert run.code == expected, f"vidq {' '.join(run.args)}: exit {run.code}, not {expected}: {run.stderr[-800:]}"
    assert "Traceback" not in run.stderr, run.stderr
    if expected == 2:
        lines = run.stderr.splitlines()
        assert run.stdout == "" and lines and lines[-1].startswith("vidq: error: "), run.stderr
        assert sum(line.startswith("vidq: error: ") for line in lines) == 1, run.stderr
        assert logs or len(lines) == 1, run.stderr


def damage_warnings(run: Run) -> int:
    return sum(1 for line in run.stderr.splitlines() if line.startswith("vidq: warning: ") and "damaged" in line)


@pytest.mark.parametrize("kind", KINDS)
def test_probe_and_frames(runs, kind):
    probed, framed = runs[kind]
    expect = EXPECT[kind]
    check_exit(probed, expect.probe)
    check_exit(framed, expect.decode)
    if probed.code == 0:
        doc = json.loads(probed.stdout)
        assert doc["duration"] > 0 and doc["partial"] is False
        assert bool(doc["discontinuities"]) == (kind in DISCONTINUOUS), doc["discontinuities"]
        if kind == "huge-duration":
            assert doc["duration"] < 5.0  # the packets end at 4 s whatever the header claims
    if framed.code != 0:
        return
    doc = json.loads(framed.stdout)
    duration = json.loads(probed.stdout)["duration"]
    pts = [f["pts"] for f in doc["frames"]]
    targets = [f["target"] for f in doc["frames"]]
    assert pts == sorted(pts) and 0 <= pts[0] and pts[-1] <= duration + SLACK, pts
    assert all(0 <= t <= duration + SLACK for t in targets)
    if expect.damaged is not None:
        assert bool(doc["damaged"]) == expect.damaged, doc["damaged"]
        assert damage_warnings(framed) == (1 if expect.damaged else 0), framed.stderr
    spans = [(d["start"], d["end"]) for d in doc["damaged"]]
    for t, p in zip(targets, pts):
        if p > t + SLACK:  # only a target before the first frame is answered by a later frame
            assert p == pts[0] and all(q >= p for q in pts), (t, p)
        inside = any(a - 1.0 <= t <= b + 1.0 for a, b in spans)
        assert t - p < 1.0 or inside, f"{kind}: the frame for {t} s is from {p} s"


def walk_times(doc, found: list[tuple[float, float]]) -> None:
    """Every (start, end) pair anywhere in a job's JSON."""
    if isinstance(doc, dict):
        if isinstance(doc.get("start"), (int, float)) and isinstance(doc.get("end"), (int, float)):
            found.append((float(doc["start"]), float(doc["end"])))
        for value in doc.values():
            walk_times(value, found)
    elif isinstance(doc, list):
        for value in doc:
            walk_times(value, found)


SPEECH_KINDS = ("garbage-mp4", "dropped-ts", "truncated-ts", "spliced-ts", "audio-longer")  # audio read by ASR


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "subtitles"), [*((k, "none") for k in KINDS), *((k, "asr") for k in SPEECH_KINDS)])
def test_ads_job(media_dir, tmp_path, kind, subtitles):
    """`vidq ads` with the offline lite models: the picture pass (decode, OCR), loudness and
    segments on every kind; speech recognition too (the loudness then comes from the audio it
    decodes) on the kinds whose audio is damaged, spliced or longer than the video."""
    path = make_case(kind, media_dir)
    expect = EXPECT[kind]
    run = vidq(["ads", str(path), "--model", "lite", "--subtitles", subtitles, "--json"],
               JOB_LIMIT_BASE + JOB_LIMIT_FACTOR * duration_of(path), tmp_path / "cache")
    check_exit(run, expect.ads, logs=True)
    if run.code != 0:
        return
    doc = json.loads(run.stdout)
    meta = doc["meta"]
    assert meta["partial"] is False
    if expect.damaged is not None:
        assert bool(meta["damaged"]) == expect.damaged, meta["damaged"]
        assert damage_warnings(run) == (1 if expect.damaged else 0), run.stderr
    spans: list[tuple[float, float]] = []
    walk_times({k: v for k, v in doc.items() if k != "meta"}, spans)  # meta.damaged may name a lost tail
    for start, end in spans:
        assert -SLACK <= start <= end <= doc["duration"] + SLACK, (start, end)
