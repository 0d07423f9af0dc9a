"""Exit code 3 for every job when its model cannot be loaded: one error line, no data, no output file."""

from __future__ import annotations

import json

import pytest

JOBS = {
    "summarize": ("summarize", "{video}"),
    "find": ("find", "secret code", "{video}"),
    "ads": ("ads", "{video}"),
    "ask": ("ask", "{video}", "What does yeast release?"),
}


@pytest.fixture(scope="module")
def broken_model(tmp_path_factory):
    """A model folder whose config names a family but holds no processor, tokenizer or weights."""
    folder = tmp_path_factory.mktemp("broken-model")
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    return folder


@pytest.mark.parametrize("job", sorted(JOBS))
def test_a_model_that_cannot_load_exits_3(cli, sample_video, job_cache, broken_model, tmp_path, job):
    video, _ = sample_video
    args = [a.format(video=video) for a in JOBS[job]]
    out = tmp_path / "result.json"
    r = cli("--cache-dir", job_cache, *args, "--model", broken_model, "--json", "-o", out)
    assert r.exit_code == 3, (r.exit_code, r.stderr)
    assert r.stdout == "" and not out.exists()
    errors = [line for line in r.stderr.splitlines() if line.startswith("vidq: error:")]
    assert len(errors) == 1 and errors[0].startswith(f"vidq: error: cannot load {broken_model}")
    assert len(errors[0]) < 300 and "Traceback" not in r.stderr
