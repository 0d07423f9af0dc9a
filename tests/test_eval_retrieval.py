"""``vidq eval find`` and ``vidq eval ads`` with the lite backend on a generated broadcast
scenario (spoken and on-screen needles, an ad break, a sponsor read) with known truth."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from vidq.cli.commands.eval import _ads_text
from vidq.errors import InputError
from vidq.eval.intervals import score_ads, score_find
from vidq.eval.retrieval import load_truth


@pytest.fixture(scope="session")
def scenario_truth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """The short scenario, with find and ads ground truth written as JSONL beside it (relative paths)."""
    from vidq.testing.scenarios import short_scenario

    folder = tmp_path_factory.mktemp("eval-retrieval")
    sc = short_scenario(folder / "media")
    rel = os.path.relpath(sc.video, folder)
    find_rows = [{"id": f"needle-{i}", "video": rel, "query": e.query, "start": e.start, "end": e.end}
                 for i, e in enumerate(sc.needles)]
    ads_rows = [{"id": "short", "video": rel,
                 "intervals": [[e.start, e.end] for e in list(sc.ad_breaks) + list(sc.sponsors)]}]
    (folder / "find.jsonl").write_text("".join(json.dumps(r) + "\n" for r in find_rows))
    (folder / "ads.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ads_rows))
    return folder / "find.jsonl", folder / "ads.jsonl", sc


def test_truth_rows(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"video": "a.mp4", "query": "x", "start": 1, "end": 2}\n'
                 '{"id": "b", "video": "/abs/b.mp4", "query": "y", "intervals": [[3, 4], {"start": 5, "end": 6.5}]}\n')
    a, b = load_truth(p, need_query=True)
    assert (a.id, a.video, a.intervals, a.query) == ("line-1", tmp_path / "a.mp4", ((1.0, 2.0),), "x")
    assert (b.id, b.video, b.intervals) == ("b", Path("/abs/b.mp4"), ((3.0, 4.0), (5.0, 6.5)))
    p.write_text('{"video": "a.mp4", "start": 1, "end": 2}\n')
    with pytest.raises(InputError, match="needs a 'query'"):
        load_truth(p, need_query=True)
    assert load_truth(p, need_query=False)[0].query is None
    p.write_text('{"video": "a.mp4", "intervals": [[5, 1]]}\n')
    with pytest.raises(InputError, match="0 <= start <= end"):
        load_truth(p, need_query=False)


@pytest.mark.slow
def test_eval_find_and_ads_with_lite(cli, scenario_truth, tmp_path, tmp_path_factory, monkeypatch):
    find_truth, ads_truth, sc = scenario_truth
    cache = tmp_path_factory.getbasetemp() / "eval-retrieval-cache"
    monkeypatch.chdir(tmp_path)  # the truth files' relative paths must not depend on the working directory
    r = cli("eval", "find", find_truth, "--model", "lite", "--cache-dir", cache, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "vidq.eval.find/1" and doc["run"]["model"] == "lite"
    assert [i["id"] for i in doc["items"]] == [f"needle-{k}" for k in range(len(sc.needles))]
    for item, needle in zip(doc["items"], sc.needles):
        assert item["truth"] == [[needle.start, needle.end]]
        again = score_find([(h["start"], h["end"]) for h in item["hits"]], [(needle.start, needle.end)], 2.0)
        assert (again.first_hit_rank, again.recall_at_1) == (item["first_hit_rank"], item["recall_at_1"])
    summary = doc["summary"]
    assert summary["recall_at_1"]["n"] == len(sc.needles)
    assert summary["recall_at_5"]["correct"] >= summary["recall_at_1"]["correct"] >= len(sc.needles) // 2
    r = cli("eval", "ads", ads_truth, "--model", "lite", "--cache-dir", cache, "--json")
    assert r.exit_code == 0, r.stderr
    ads = json.loads(r.stdout)
    (item,) = ads["items"]
    truth = [tuple(t) for t in item["truth"]]
    assert len(truth) == len(sc.ad_breaks) + len(sc.sponsors)
    again = score_ads([(p["start"], p["end"]) for p in item["predicted"]], truth)
    assert (again.matched, again.false) == (item["matched"], item["false"])
    assert item["matched"] >= 1  # the inserted break, which has every signal comskip looks for
    assert ads["summary"]["intervals_found"]["correct"] == item["matched"]
    text = io.StringIO()
    _ads_text(text, ads)
    lines = text.getvalue().splitlines()
    assert lines[0] == "ads.jsonl: lite, 1 videos"
    assert lines[1].startswith(f"true intervals found (IoU >= 0.5): {item['matched'] / len(truth) * 100:.1f}%")
