"""``vidq eval compare``: setup differences, paired (McNemar) and unpaired tests, bad inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

from vidq.eval.compare import compare, difference


def result(path: Path, correct: list[bool], *, model: str, ids: list[str] | None = None, groups: bool = True,
           torch: str = "2.13.0") -> Path:
    ids = ids or [f"q{i:02d}" for i in range(len(correct))]
    items = [{"id": i, "correct": c, "group": ("short" if n % 2 == 0 else "long") if groups else None,
              "timing": {"wall_s": 1.0}} for n, (i, c) in enumerate(zip(ids, correct))]
    doc = {"schema": "vidq.eval.mc/1", "items": items,
           "run": {"model": model, "quant": None, "compress": "auto", "frames": 32, "device": "cpu (x86_64, 2 cores)",
                   "versions": {"vidq": "0.1.0", "torch": torch}},
           "speed": {"items": len(items), "median_wall_s": 1.0, "median_ttft_s": None, "total_wall_s": float(len(items)),
                     "peak_gpu_bytes": None, "peak_rss_bytes": 1 << 30}}
    path.write_text(json.dumps(doc))
    return path


def test_paired_items_use_exact_mcnemar():
    a = [{"id": str(i), "correct": i < 10} for i in range(20)]
    b = [{"id": str(i), "correct": i < 5 or i >= 10} for i in range(20)]
    d = difference("overall", a, b)
    assert (d.test, d.paired, d.only_a, d.only_b) == ("mcnemar", 20, 5, 10)
    assert math.isclose(d.p_value, 2 * (1 + 15 + 105 + 455 + 1365 + 3003) / 2**15)
    assert (d.acc_a, d.acc_b, round(d.delta, 6), d.significant) == (0.5, 0.75, 0.25, False)


def test_unpaired_items_use_two_proportions():
    a = [{"id": f"a{i}", "correct": i < 80} for i in range(100)]
    b = [{"id": f"b{i}", "correct": i < 60} for i in range(100)]
    d = difference("overall", a, b)
    assert d.test == "two-proportion" and d.paired == 0 and round(d.p_value, 4) == 0.002 and d.significant


def test_cli_text_and_json(cli, tmp_path):
    a = result(tmp_path / "a.json", [i < 10 for i in range(20)], model="lite")
    b = result(tmp_path / "b.json", [i < 5 or i >= 10 for i in range(20)], model="qwen2.5-vl-7b", torch="2.14.0")
    r = cli("eval", "compare", a, b)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[2:5] == ["setup differences:", "  model: lite -> qwen2.5-vl-7b", "  versions.torch: 2.13.0 -> 2.14.0"]
    assert lines[5] == "accuracy (A -> B):"
    assert lines[6] == ("  overall: 50.0% -> 75.0% (+25.0 points), p = 0.302 not significant at 0.05; "
                        "McNemar on 20 paired items (5 only A right, 10 only B right)")
    assert lines[7].startswith("  group=long: ") and lines[8].startswith("  group=short: ")
    assert "speed (A -> B):" in lines and "  peak_rss_bytes: 1.00 GiB -> 1.00 GiB" in lines
    r = cli("eval", "compare", a, b, "--json")
    doc = json.loads(r.stdout)
    assert doc["schema"] == "vidq.eval.compare/1" and doc["results"] == "vidq.eval.mc/1"
    assert doc["slices"][0] == {"slice": "overall", "n_a": 20, "n_b": 20, "accuracy_a": 0.5, "accuracy_b": 0.75,
                                "delta": 0.25, "test": "mcnemar", "paired": 20, "only_a": 5, "only_b": 10,
                                "p_value": 0.301758, "significant": False}
    assert {"key": "model", "a": "lite", "b": "qwen2.5-vl-7b"} in doc["setup"]


def test_cli_refuses_what_it_cannot_compare(cli, tmp_path):
    a = result(tmp_path / "a.json", [True, False], model="x")
    other = json.loads(a.read_text())
    other["schema"] = "vidq.eval.niah/1"
    (tmp_path / "n.json").write_text(json.dumps(other))
    (tmp_path / "junk.json").write_text('{"hello": 1}')
    for b, message in ((tmp_path / "n.json", "cannot compare a vidq.eval.mc/1 result with a vidq.eval.niah/1"),
                       (tmp_path / "junk.json", "not a 'vidq eval' result"), (tmp_path / "none.json", "no such file")):
        r = cli("eval", "compare", a, b)
        assert r.exit_code == 2 and r.stdout == "" and message in r.stderr


def test_compare_groups_of_niah_results():
    items_a = [{"id": f"n@d{d}@n{f}", "correct": d == 0, "frames": f, "depth": d / 100} for d in (0, 50) for f in (8, 16)]
    items_b = [{"id": f"n@d{d}@n{f}", "correct": True, "frames": f, "depth": d / 100} for d in (0, 50) for f in (8, 16)]
    comp = compare({"schema": "vidq.eval.niah/1", "items": items_a}, {"schema": "vidq.eval.niah/1", "items": items_b})
    assert [s.label for s in comp.slices] == ["overall", "frames=8", "frames=16", "depth=0%", "depth=50%"]
    assert comp.slices[4].only_b == 2 and comp.slices[3].only_b == 0
