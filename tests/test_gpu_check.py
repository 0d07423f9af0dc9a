"""The prepared GPU check (benchmarks/gpu_check.py) runs on a machine without a GPU too: the
CUDA parts say why they were skipped, and its CLI pass runs every job on the CPU.  A GPU is
lent to few sessions, for minutes: the script must not have rotted when one is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_runs_without_a_gpu(tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--no-decode", "--cli", "cpu",
                           "--json", str(out)], capture_output=True, text=True, check=False, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["family"] == "qwen2_5_vl" and isinstance(report["cpu_fp32"]["answer"], str)
    assert report["cuda"] == "skipped: no CUDA device"
    for job in ("ask_4bit", "summarize_kv4", "summarize_slowfast_bf16", "find", "ads"):
        entry = report[f"cli_{job}"]
        assert entry["exit"] == 0 and entry["not_read"] == [], (job, entry)
    assert report["cli_summarize_kv4"]["compression"] == "kv" and report["cli_ask_4bit"]["device"] == "cpu"
    assert report["cli_ask_8bit_choices"]["exit"] == 2  # 8-bit needs CUDA: one line, exit 2
    assert "needs a CUDA GPU" in report["cli_ask_8bit_choices"]["stderr"][0]
