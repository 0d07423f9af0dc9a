"""``vidq summarize`` as a user runs it: the shipped sample, generated scenarios, a tiny VLM, bad input.

Every run shares one ``--cache-dir`` (``job_cache``), so each video is transcribed and read
(OCR) once per session.  The chapter-boundary and traceability checks are the issue's
acceptance tests for the lite backend.
"""

from __future__ import annotations

import json
import re

import pytest

from vidq.testing.video import make_video

BOUNDARY_TOLERANCE = 5.0  # seconds: a chapter must start this close to each generated topic change


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w$%.,']+", " ", text.lower()).split())


def _summary(cli, *args):
    r = cli("summarize", *args)
    assert r.exit_code == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r


def _transcript_text(cli, video, cache) -> str:
    r = cli("transcribe", video, "--json", "--cache-dir", cache)
    assert r.exit_code == 0, r.stderr
    return _norm(json.loads(r.stdout)["text"])


def _boundary_errors(starts: list[float], changes: list[float]) -> list[float]:
    """For each true topic change, the distance to the nearest chapter start."""
    return [min(abs(s - c) for s in starts) for c in changes]


def test_sample_video_summary_text(cli, sample_video, job_cache):
    video, truth = sample_video
    r = _summary(cli, video, "--cache-dir", job_cache)  # the default --model auto resolves to lite here
    out = r.stdout
    assert out.splitlines()[0].startswith("sample.mp4")
    assert "\nSummary\n" in out and "\nChapters\n" in out
    chapter_lines = [ln for ln in out.splitlines() if re.match(r"^  \d\d:\d\d  ", ln)]
    assert len(chapter_lines) == len(truth["topics"])
    assert "lite" in r.stderr  # says which model runs (auto resolution / lite notice), on stderr only


def test_sample_video_chapters_json(cli, sample_video, job_cache):
    video, truth = sample_video
    doc = json.loads(_summary(cli, video, "--model", "lite", "--json", "--cache-dir", job_cache).stdout)
    assert doc["schema"] == "vidq.summary/1"
    assert doc["method"] == "extractive" and doc["sees_images"] is False
    assert doc["meta"]["sees_images"] is False and "cannot see" in doc["meta"]["limits"]
    starts = [c["start"] for c in doc["chapters"]]
    assert starts[0] == 0.0
    changes = [t["start"] for t in truth["topics"][1:]]
    errors = _boundary_errors(starts[1:], changes)
    assert max(errors) <= BOUNDARY_TOLERANCE, (starts, changes)
    titles = [c["title"].lower() for c in doc["chapters"]]
    assert titles == [t["title"].lower() for t in truth["topics"]]  # the title cards on screen
    for c in doc["chapters"]:
        assert c["start_hms"].count(":") == 2 and c["end"] > c["start"]
        assert c["sentences"] and all(c["start"] - 1 <= s["start"] <= c["end"] for s in c["sentences"])
    assert doc["chapters"][-1]["end"] == pytest.approx(doc["end"])
    assert {"probe", "chapters", "total"} <= set(doc["meta"]["timings"])
    assert {"transcribe", "pictures", "embed", "segments"} <= set(doc["meta"]["analysis"]["timings"])


def test_sample_video_markdown_and_lengths(cli, sample_video, job_cache):
    video, _ = sample_video
    md = _summary(cli, video, "--model", "lite", "--format", "md", "--length", "short", "--cache-dir", job_cache).stdout
    assert md.startswith("# sample.mp4\n") and "\n## Summary\n" in md and "\n## Chapters\n" in md
    assert len(re.findall(r"^### \d\d:\d\d ", md, flags=re.MULTILINE)) == 3
    short = json.loads(_summary(cli, video, "--model", "lite", "--json", "-l", "short", "--cache-dir", job_cache).stdout)
    long = json.loads(_summary(cli, video, "--model", "lite", "--json", "-l", "long", "--cache-dir", job_cache).stdout)
    assert len(short["sentences"]) == 2 and all(len(c["sentences"]) == 1 for c in short["chapters"])
    assert len(long["sentences"]) > len(short["sentences"])


def test_explicit_chapter_count_and_clip(cli, sample_video, job_cache):
    video, _ = sample_video
    two = json.loads(_summary(cli, video, "--model", "lite", "--json", "--chapters", "2", "--cache-dir", job_cache).stdout)
    assert len(two["chapters"]) == 2
    clip = json.loads(_summary(cli, video, "--model", "lite", "--json", "--start", "20", "--end", "0:45",
                               "--cache-dir", job_cache).stdout)
    assert (clip["start"], clip["end"]) == (20.0, 45.0)
    assert clip["chapters"][0]["start"] == 20.0 and clip["chapters"][-1]["end"] == 45.0
    for s in clip["sentences"]:
        assert 19.0 <= s["start"] and s["end"] <= 46.0


def test_every_summary_sentence_is_in_the_transcript_and_ads_are_left_out(cli, short_scenario, job_cache):
    doc = json.loads(_summary(cli, short_scenario.video, "--model", "lite", "--json", "--length", "long",
                              "--cache-dir", job_cache).stdout)
    said = _transcript_text(cli, short_scenario.video, job_cache)
    sentences = doc["sentences"] + [s for c in doc["chapters"] for s in c["sentences"]]
    assert len(sentences) >= 6
    for s in sentences:
        assert s["source"] in ("speech", "screen")
        if s["source"] == "speech":
            assert _norm(s["text"]) in said, s["text"]
    inserted = short_scenario.inserted  # the ad break and the sponsor read
    for s in sentences:
        mid = (s["start"] + s["end"]) / 2
        assert not any(a <= mid <= b for a, b in inserted), s
    skipped = [(x["start"], x["end"]) for x in doc["skipped"]]
    for a, b in inserted:
        assert any(min(b, y) - max(a, x) > 0.5 * (b - a) for x, y in skipped), (inserted, skipped)
    changes = short_scenario.topic_changes
    starts = [c["start"] for c in doc["chapters"]][1:]
    assert max(_boundary_errors(starts, changes)) <= BOUNDARY_TOLERANCE, (starts, changes)


def test_nothing_said_or_shown_is_reported_not_invented(cli, tmp_path, job_cache):
    video = make_video(tmp_path / "silent.mp4", duration=6.0, n_scenes=2, burn_timestamp=False, size=(160, 90), fps=10)
    r = _summary(cli, video, "--model", "lite", "--json", "--cache-dir", job_cache)
    doc = json.loads(r.stdout)
    assert doc["sentences"] == [] and doc["chapters"] == []
    assert any("no speech and no on-screen text" in n for n in doc["notices"])
    text = _summary(cli, video, "--model", "lite", "--cache-dir", job_cache).stdout
    assert "(nothing to summarize)" in text and "Note: no speech" in text


def test_a_silent_slideshow_is_summarized_from_its_on_screen_text(cli, tmp_path, job_cache):
    from vidq.testing.video import TextOverlay

    slides = [TextOverlay(0.0, 4.0, "Quarterly sales grew"), TextOverlay(4.0, 8.0, "Costs fell in March"),
              TextOverlay(8.0, 12.0, "Hiring starts in May")]
    video = make_video(tmp_path / "slides.mp4", duration=12.0, n_scenes=3, burn_timestamp=False, texts=slides,
                       size=(320, 180), fps=5)
    doc = json.loads(_summary(cli, video, "--model", "lite", "--json", "--cache-dir", job_cache).stdout)
    sentences = doc["sentences"] + [s for c in doc["chapters"] for s in c["sentences"]]
    assert sentences and all(s["source"] == "screen" for s in sentences)
    shown = {_norm(x.text) for x in slides}
    assert all(_norm(s["text"]) in shown for s in sentences), sentences
    assert doc["meta"]["transcript"]["words"] == 0


@pytest.mark.parametrize("args, message", [
    (["--length", "huge"], "--length"),
    (["--chapters", "many"], "--chapters"),
    (["--chapters", "0"], "--chapters"),
    (["--format", "edl"], "--format edl"),
    (["--start", "50", "--end", "10"], "--end"),
])
def test_bad_flags_exit_2_with_one_line(cli, sample_video, job_cache, args, message):
    video, _ = sample_video
    r = cli("summarize", video, "--model", "lite", "--cache-dir", job_cache, *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_missing_file_exits_2_and_writes_no_output_file(cli, tmp_path):
    out = tmp_path / "summary.json"
    r = cli("summarize", tmp_path / "nope.mp4", "--model", "lite", "-o", out)
    assert r.exit_code == 2 and r.stdout == "" and not out.exists()
    assert r.stderr.startswith("vidq: error:") and len(r.stderr.strip().splitlines()) == 1


def test_tiny_vlm_runs_the_hierarchical_path(cli, sample_video, job_cache, tiny_vlm):
    video, _ = sample_video
    r = _summary(cli, video, "--model", tiny_vlm("qwen2_5_vl"), "--chapters", "3", "--frames", "12", "--json",
                 "--length", "short", "--cache-dir", job_cache)
    doc = json.loads(r.stdout)
    assert doc["method"] == "hierarchical" and doc["sees_images"] is True
    assert len(doc["chapters"]) == 3
    assert [c["start"] for c in doc["chapters"]] == pytest.approx([0.0, doc["end"] / 3, 2 * doc["end"] / 3])
    assert all(c["title_source"] == "model" for c in doc["chapters"])
    assert doc["meta"]["segments"] == 3 and sum(doc["meta"]["segment_frames"]) == 12
    assert doc["meta"]["timings"]["segments"] > 0 and doc["meta"]["timings"]["summary"] > 0
    md = _summary(cli, video, "--model", tiny_vlm("qwen2_5_vl"), "--chapters", "2", "--frames", "4", "--format", "md",
                  "--cache-dir", job_cache).stdout
    assert md.count("\n### ") == 2


@pytest.mark.slow
def test_hour_video_chapters_start_at_topic_changes(cli, hour_scenario, job_cache, capsys):
    doc = json.loads(_summary(cli, hour_scenario.video, "--model", "lite", "--json", "--cache-dir", job_cache).stdout)
    starts = [c["start"] for c in doc["chapters"]][1:]
    changes = hour_scenario.topic_changes
    errors = _boundary_errors(starts, changes)
    spurious = [s for s in starts if min(abs(s - c) for c in changes) > BOUNDARY_TOLERANCE]
    with capsys.disabled():
        print(f"\nhour summarize: {len(doc['chapters'])} chapters for {len(changes) + 1} topics; boundary errors (s) "
              f"{[round(e, 1) for e in errors]}; spurious starts {spurious}; timings {doc['meta']['timings']}")
    assert max(errors) <= BOUNDARY_TOLERANCE
    assert len(spurious) <= 1
    said = _transcript_text(cli, hour_scenario.video, job_cache)
    for s in doc["sentences"] + [s for c in doc["chapters"] for s in c["sentences"]]:
        assert s["source"] != "speech" or _norm(s["text"]) in said, s["text"]
