"""`vidq ads` as a user meets it: generated broadcasts with inserted breaks and a sponsor read, lite by default.

Shares the session's scenarios and ``--cache-dir`` with the other job tests (``tests/job_media.py``).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys

import pytest

MIN_IOU = 0.5  # acceptance: each inserted interval found with at least this IoU


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def check_against_truth(segments: list[dict], sc) -> tuple[list[float], list[dict]]:
    """IoU of the best-matching segment for every truth interval, and the segments matching none."""
    truth = [(e.start, e.end, "break") for e in sc.ad_breaks] + [(e.start, e.end, "sponsor") for e in sc.sponsors]
    ious = [max((iou((s["start"], s["end"]), (a, b)) for s in segments if s["kind"] == kind), default=0.0)
            for a, b, kind in truth]
    false = [s for s in segments if all(iou((s["start"], s["end"]), (a, b)) < 0.1 for a, b, _ in truth)]
    return ious, false


def test_ads_finds_the_break_and_the_sponsor_read(cli, short_scenario, job_cache):
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "vidq.ads/1" and doc["duration"] == pytest.approx(short_scenario.duration, abs=0.5)
    ious, false = check_against_truth(doc["segments"], short_scenario)
    assert all(v >= MIN_IOU for v in ious), ious
    assert false == []
    brk = next(s for s in doc["segments"] if s["kind"] == "break")
    assert brk["blocks"] == 2 and brk["confidence"] >= 0.5 and "no station logo" in brk["reason"]
    sponsor = next(s for s in doc["segments"] if s["kind"] == "sponsor")
    assert "sponsor" in sponsor["cues"] and sponsor["reason"].startswith("sponsor read")
    meta = doc["meta"]
    assert meta["model"] == "lite" and meta["sees_images"] is False and meta["signals"]["logo_found"] is True
    assert "total" in meta["timings"]
    assert {"transcribe", "pictures", "sound", "segments"} <= set(meta["analysis"]["timings"])


def test_a_talk_without_a_music_bed_has_no_ads(cli, sample_video, job_cache):
    """The sample is three short narrated topics over silence: every pause is a silence, so
    silences set no sentence apart as a spot."""
    video, _ = sample_video
    r = cli("--cache-dir", job_cache, "ads", video, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["segments"] == [], [(s["kind"], s["start"], s["end"], s["reason"]) for s in doc["segments"]]


@pytest.mark.slow
def test_tiny_vlm_classifies_the_candidate_blocks(cli, short_scenario, job_cache, tiny_vlm):
    """The video-LLM path: each plausible block is shown to the model, whose verdict enters its confidence."""
    model = tiny_vlm("qwen2_5_vl")
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--model", model, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    meta = doc["meta"]
    assert meta["sees_images"] is True and meta["model"] != "lite" and "classify" in meta["timings"]
    asked = [b for b in doc["blocks"] if f"; {meta['model']}: " in b["reason"]]
    assert asked, [b["reason"] for b in doc["blocks"]]  # the model was asked about at least one block
    from vidq.tasks.ads import VERIFY_WEIGHT

    for b in asked:  # its verdict (yes 1, no 0, unclear 0.5) is blended into the signal prior
        blends = {round(VERIFY_WEIGHT * v + (1 - VERIFY_WEIGHT) * b["prior"], 3) for v in (0.0, 0.5, 1.0)}
        assert b["confidence"] in blends, (b["confidence"], b["prior"], blends)
    assert all(b["confidence"] == b["prior"] for b in doc["blocks"] if b not in asked)


def test_ads_text_csv_and_edl(cli, short_scenario, job_cache):
    text = cli("--cache-dir", job_cache, "ads", short_scenario.video)
    assert text.exit_code == 0
    kinds = [line.split()[2] for line in text.stdout.splitlines()]
    assert [k for k in kinds if k != "spot"] == ["break", "sponsor"]
    assert kinds.count("spot") == 2  # the break's two spots, listed under it
    rows = list(csv.DictReader(io.StringIO(cli("--cache-dir", job_cache, "ads", short_scenario.video, "--format", "csv").stdout)))
    assert [r["kind"] for r in rows] == ["break", "sponsor"] and float(rows[0]["start"]) < float(rows[0]["end"])
    edl = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--format", "edl").stdout
    lines = edl.splitlines()
    assert len(lines) == 2
    for line, row in zip(lines, rows):
        start, end, action = line.split("\t")
        assert action == "3" and len(start.split(".")[1]) == 2
        assert float(start) == pytest.approx(float(row["start"]), abs=0.006)
        assert float(end) == pytest.approx(float(row["end"]), abs=0.006)


def test_write_edl_beside_the_video(cli, short_scenario, job_cache, tmp_path):
    video = tmp_path / "show.mp4"
    shutil.copy(short_scenario.video, video)
    r = cli("--cache-dir", job_cache, "ads", video, "--write-edl", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.startswith("start,end,")
    edl = (tmp_path / "show.edl").read_text()
    assert edl == cli("--cache-dir", job_cache, "ads", video, "--format", "edl").stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["show.edl", "show.mp4"]  # no temp files left


def test_ffmeta_chapters_load_in_ffmpeg(cli, short_scenario, job_cache, tmp_path):
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.skip("ffmpeg is not installed")
    chapters = tmp_path / "chapters.txt"
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--format", "ffmeta", "-o", chapters)
    assert r.exit_code == 0 and r.stdout == ""
    out = tmp_path / "out.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(short_scenario.video), "-i", str(chapters),
                    "-map_metadata", "1", "-codec", "copy", str(out)], check=True, capture_output=True)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(out)],
                           check=True, capture_output=True, text=True)
    got = json.loads(probe.stdout)["chapters"]
    titles = [c["tags"]["title"] for c in got]
    assert [t.split(" ")[0] for t in titles] == ["Programme", "Advertisement", "Programme", "Sponsor", "Programme"]
    assert float(got[0]["start_time"]) == 0.0
    assert float(got[-1]["end_time"]) == pytest.approx(short_scenario.duration, abs=0.5)
    ads_json = json.loads(cli("--cache-dir", job_cache, "ads", short_scenario.video, "--json").stdout)
    assert float(got[1]["start_time"]) == pytest.approx(ads_json["segments"][0]["start"], abs=0.002)


def test_ads_bad_input_exit_2(cli, short_scenario, job_cache, tmp_path):
    r = cli("--cache-dir", job_cache, "ads", tmp_path / "missing.ts")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--format", "srt")
    assert r.exit_code == 2 and "edl" in r.stderr and r.stdout == ""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(short_scenario.video.read_bytes()[:2000])
    r = cli("--cache-dir", job_cache, "ads", broken, "--write-edl")
    assert r.exit_code == 2 and r.stdout == "" and not (tmp_path / "broken.edl").exists()


@pytest.mark.slow
def test_ads_on_an_hour_of_broadcast(cli, hour_scenario, job_cache):
    """Acceptance: every break (one spot aired twice) and the sponsor read with IoU >= 0.5;
    at most one false interval per hour of programme."""
    r = cli("--cache-dir", job_cache, "ads", hour_scenario.video, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    ious, false = check_against_truth(doc["segments"], hour_scenario)
    ad_seconds = sum(e.end - e.start for e in hour_scenario.ad_breaks) + sum(e.end - e.start for e in hour_scenario.sponsors)
    programme_hours = (hour_scenario.duration - ad_seconds) / 3600.0
    print(f"ads hour: IoUs {[round(v, 3) for v in ious]}, {len(false)} false intervals over "
          f"{programme_hours:.2f} h of programme, timings {doc['meta']['timings']}", file=sys.stderr)
    assert len(ious) == 4 and all(v >= MIN_IOU for v in ious), ious
    assert len(false) <= max(1, int(programme_hours)), false
    assert doc["meta"]["signals"]["repeats"] >= 1  # the Fizz Cola spot aired twice
