"""``vidq eval mc``: benchmark rows in the usual export layouts, --limit/--shard, the resumable
item log, and a run killed with SIGKILL that finishes on rerun with identical results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eval_support import HashBackend, answer_by_hash, make_haystack

from vidq.errors import InputError
from vidq.eval.mc import load_items, parse_row
from vidq.eval.runlog import ItemLog, parse_shard, select

GROUPS = ("short", "long")


def write_bench(folder: Path, videos: list[str], n: int = 20) -> Path:
    """``n`` questions over ``videos`` (paths relative to ``folder``), groups alternating."""
    rows = []
    for i in range(n):
        q = f"Question number {i}: which option is listed {['first', 'second', 'third', 'fourth'][i % 4]}?"
        rows.append({"question_id": f"q{i:02d}", "video_path": videos[i % len(videos)], "question": q,
                     "options": [f"A. option {j}" for j in range(4)], "answer": "ABCD"[i % 4],
                     "duration_group": GROUPS[i % 2]})
    bench = folder / "bench.jsonl"
    bench.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return bench


@pytest.fixture(scope="session")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("eval-mc")
    (folder / "videos").mkdir()
    make_haystack(folder / "videos" / "a.mp4", scenes=2, seconds=4.0)
    make_haystack(folder / "videos" / "b.mp4", scenes=3, seconds=3.0)
    return write_bench(folder, ["videos/a.mp4", "videos/b.mp4"])


def install(monkeypatch: pytest.MonkeyPatch, backend) -> None:
    """Make ``--model hash:x`` load ``backend``."""
    from vidq.models import registry

    reg = registry.Registry()
    reg.add_family(registry.Family("hash", load=lambda request: backend, scheme="hash"))
    monkeypatch.setattr(registry, "_REGISTRY", reg)


def expected_correct(i: int) -> bool:
    q = f"Question number {i}: which option is listed {['first', 'second', 'third', 'fourth'][i % 4]}?"
    return answer_by_hash(q, 4) == i % 4


def test_rows_in_benchmark_layouts(tmp_path):
    (tmp_path / "v.mp4").write_bytes(b"")
    vme = parse_row({"question_id": "001-1", "videoID": "v", "question": "Q?", "duration": "short",
                     "options": ["A. red", "B. blue", "C. green", "D. grey"], "answer": "C"}, tmp_path, 1, "f")
    assert (vme.id, vme.video, vme.options, vme.answer, vme.group) == (
        "001-1", tmp_path / "v.mp4", ("red", "blue", "green", "grey"), 2, "short")
    mlvu = parse_row({"video": "v.mp4", "question": "Q?", "candidates": ["cat", "dog"], "answer": "dog",
                      "question_type": "count", "duration": 512.3}, tmp_path, 7, "f")
    assert (mlvu.id, mlvu.answer, mlvu.group) == ("line-7", 1, "count")
    lvb = parse_row({"id": "x", "video_path": "v.mp4", "question": "Q?", "candidates": ["a", "b", "c"],
                     "correct_choice": 0, "duration_group": 600, "subtitle_path": "subs/v.srt"}, tmp_path, 1, "f")
    assert (lvb.answer, lvb.group, lvb.subtitles) == (0, "600", tmp_path / "subs" / "v.srt")
    ego = parse_row({"q_uid": "e1", "video": "v", "question": "Q?", "option 0": "a", "option 1": "b",
                     "option 2": "c", "answer": 2}, tmp_path, 1, "f")
    assert (ego.id, ego.options, ego.answer) == ("e1", ("a", "b", "c"), 2)
    with pytest.raises(InputError, match="f:3: no options"):
        parse_row({"video": "v.mp4", "question": "Q?", "answer": "A"}, tmp_path, 3, "f")
    with pytest.raises(InputError, match="f:4: answer 'E'"):
        parse_row({"video": "v.mp4", "question": "Q?", "options": ["a", "b"], "answer": "E"}, tmp_path, 4, "f")


def test_load_items_checks_ids_and_json(tmp_path):
    p = tmp_path / "b.jsonl"
    row = {"id": "a", "video": "v.mp4", "question": "Q", "options": ["x", "y"], "answer": "A"}
    p.write_text(json.dumps(row) + "\n\n# a comment\n" + json.dumps(row) + "\n")
    with pytest.raises(InputError, match="id 'a' repeats line 1"):
        load_items(p)
    p.write_text("{not json\n")
    with pytest.raises(InputError, match="b.jsonl:1: not JSON"):
        load_items(p)


def test_select_and_shards():
    items = list(range(10))
    assert select(items, limit=4) == [0, 1, 2, 3]
    shards = [select(items, shard=(i, 3)) for i in (1, 2, 3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(x for shard in shards for x in shard) == items
    assert parse_shard("2/3") == (2, 3) and parse_shard(None) is None
    for bad in ("0/3", "4/3", "1", "a/b", "1/0"):
        with pytest.raises(InputError):
            parse_shard(bad)


def test_item_log_cuts_a_torn_line_and_refuses_another_run(tmp_path):
    path = tmp_path / "r.json.items.jsonl"
    log = ItemLog(path, {"model": "a"})
    assert log.open() == {}
    log.append({"id": "1", "correct": True})
    log.append({"id": "2", "correct": False})
    log.close()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "3", "corr')  # the process died mid-write
    log = ItemLog(path, {"model": "a"})
    assert sorted(log.open()) == ["1", "2"]
    log.append({"id": "3", "correct": True})
    log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[3]) == {"id": "3", "correct": True}
    with pytest.raises(InputError, match="different run .*model"):
        ItemLog(path, {"model": "b"}).open()


def test_cli_accuracy_per_group_and_relative_paths(cli, bench, monkeypatch, tmp_path):
    backend = HashBackend()
    install(monkeypatch, backend)
    monkeypatch.chdir(tmp_path)  # relative video paths resolve against the JSONL's folder, not here
    r = cli("eval", "mc", bench, "--model", "hash:x", "--frames", "4", "--subtitles", "none", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    right = [expected_correct(i) for i in range(20)]
    assert [i["correct"] for i in doc["items"]] == right
    assert doc["summary"]["overall"]["correct"] == sum(right)
    assert doc["summary"]["by_group"]["short"]["n"] == 10
    assert doc["summary"]["by_group"]["short"]["correct"] == sum(right[0::2])
    assert doc["items"][0]["frames_used"] == 4 and doc["items"][0]["expected"] == "A"
    assert doc["protocol"] == "ask" and doc["items"][0]["used"]["method"] == "video-llm"
    assert backend.calls == 20
    r = cli("eval", "mc", bench, "--model", "hash:x", "--frames", "4", "--subtitles", "none", "--json", "--direct",
            "--strict")
    doc = json.loads(r.stdout)
    assert doc["protocol"] == "direct" and backend.calls == 20 + 20 * 4  # strict: one question per rotation
    assert doc["items"][0]["frames_used"] == 4 and len(doc["items"][0]["picks"]) == 4
    r = cli("eval", "mc", bench, "--model", "hash:x", "--frames", "4", "--subtitles", "none", "--limit", "6",
            "--shard", "2/2")
    assert r.exit_code == 0
    assert r.stdout.startswith("bench.jsonl: hash, 3 questions, ask protocol\naccuracy: ")


def test_cli_resumes_after_a_failure_with_identical_results(cli, bench, monkeypatch, tmp_path):
    common = ("eval", "mc", bench, "--model", "hash:x", "--frames", "4", "--subtitles", "none")
    install(monkeypatch, HashBackend())
    full = tmp_path / "full.json"
    assert cli(*common, "-o", full).exit_code == 0
    failing = HashBackend(fail_on=8)
    install(monkeypatch, failing)
    out = tmp_path / "resumed.json"
    r = cli(*common, "-o", out)
    assert r.exit_code == 3 and "scripted failure" in r.stderr and not out.exists()
    sidecar = tmp_path / "resumed.json.items.jsonl"
    assert len(sidecar.read_text().splitlines()) == 1 + 7
    again = HashBackend()
    install(monkeypatch, again)
    assert cli(*common, "-o", out).exit_code == 0
    assert again.calls == 13  # only the unfinished items ran

    def strip(doc):
        return [{k: v for k, v in item.items() if k not in ("timing",)} for item in doc["items"]]

    a, b = json.loads(full.read_text()), json.loads(out.read_text())
    assert strip(a) == strip(b) and a["summary"] == b["summary"]
    install(monkeypatch, HashBackend())
    r = cli(*common, "--frames", "8", "-o", out)  # another setup must not mix into this log
    assert r.exit_code == 2 and "belongs to a different run (differs in: frames)" in r.stderr


def test_cli_missing_video_is_recorded_not_fatal(cli, monkeypatch, tmp_path, bench):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "gone", "video": "missing.mp4", "question": "Q", "options": ["a", "b"],
                               "answer": "A"}) + "\n" + json.dumps({"id": "ok", "video": str(bench.parent / "videos/a.mp4"),
                                                                     "question": "Q", "options": ["a", "b"], "answer": "A"}) + "\n")
    install(monkeypatch, HashBackend())
    r = cli("eval", "mc", bad, "--model", "hash:x", "--frames", "2", "--subtitles", "none", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["summary"]["errors"] == 1 and "missing.mp4" in doc["items"][0]["error"]
    assert "skipped" in r.stderr


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_matches_an_uninterrupted_run(cli, bench, tmp_path_factory, tmp_path):
    from vidq.testing.tiny_models import tiny_model_dir

    model = tiny_model_dir("qwen2_5_vl", tmp_path_factory.getbasetemp() / "tiny-models")
    env = {**os.environ, "VIDQ_NO_PROGRESS": "1"}
    args = ["eval", "mc", str(bench), "--direct", "--model", str(model), "--frames", "2", "--subtitles", "none",
            "--device", "cpu", "--size", "64"]
    cmd = [sys.executable, "-m", "vidq", *args]
    full, out = tmp_path / "full.json", tmp_path / "killed.json"
    assert cli(*args, "-o", full).exit_code == 0  # the uninterrupted run (in process)
    sidecar = tmp_path / "killed.json.items.jsonl"
    proc = subprocess.Popen([*cmd, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if sidecar.exists() and len(sidecar.read_text().splitlines()) >= 1 + 6:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    before = sidecar.read_text().splitlines()
    done = [json.loads(line)["id"] for line in before[1:] if line.endswith("}")]
    assert 6 <= len(done) < 20
    subprocess.run([*cmd, "-o", str(out)], check=True, capture_output=True, env=env, timeout=600)
    after = sidecar.read_text().splitlines()
    ids = [json.loads(line)["id"] for line in after[1:]]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 20  # nothing done twice
    assert ids[:len(done)] == done  # the finished items were kept, not redone

    def strip(doc):
        return [{k: v for k, v in item.items() if k != "timing"} for item in doc["items"]]

    a, b = json.loads(full.read_text()), json.loads(out.read_text())
    assert strip(a) == strip(b) and a["summary"] == b["summary"]
