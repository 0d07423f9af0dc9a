"""`vidq probe` as a user meets it: text, JSON, broken inputs, awkward file names."""

from __future__ import annotations

import json
import shutil

import pytest
from media_files import ffprobe

from vidq.media import probe
from vidq.testing.broken import BROKEN


def test_probe_text(cli, clip):
    r = cli("probe", clip("scenes.mp4"))
    assert r.exit_code == 0, r.stderr
    assert "duration: 00:00:06.000" in r.stdout
    assert "frames: 150 (exact)" in r.stdout and "keyframes: 3 at 0.000, 2.000, 4.000 s" in r.stdout
    assert "audio #1: aac 48000 Hz, 1 ch" in r.stdout


def test_probe_json_schema_and_fields(cli, clip):
    path = clip("rotated")
    r = cli("probe", path, "--json")
    doc = json.loads(r.stdout)
    ref = ffprobe(path)
    assert doc["schema"] == "vidq.probe/1" and doc["duration_hms"] == "00:00:02.000"
    v = doc["video"]
    assert (v["rotation"], v["display_width"], v["display_height"]) == (90, 180, 320)
    assert v["frame_count"] == int(ref["streams"][0]["nb_read_packets"]) and v["keyframe_count"] == 1
    assert doc["audio_streams"][0]["codec"] == "aac"


def test_probe_audio_only_is_fine(cli, clip):
    r = cli("probe", clip("audio-only"), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["video"] is None


@pytest.mark.parametrize("kind", [*BROKEN, "missing"])
def test_broken_input_is_one_line_exit_2(cli, clip, media_dir, kind):
    path = media_dir / "does-not-exist.mp4" if kind == "missing" else clip(kind)
    r = cli("probe", path)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and str(path) in r.stderr and r.stderr.startswith("vidq: error: ")
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("name", ["with space.mp4", "it's \"quoted\".mp4", "$(touch pwned);x.mp4", "-dash.mp4",
                                  "ünïcødé 映像.mp4"])
def test_awkward_file_names(cli, clip, tmp_path, monkeypatch, name):
    path = tmp_path / name
    shutil.copy(clip("scenes.mkv"), path)
    monkeypatch.chdir(tmp_path)
    args = ["probe", "--json", "--", name] if name.startswith("-") else ["probe", "--json", path]
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["video"]["frame_count"] == probe(clip("scenes.mkv")).video.frame_count
    assert not (tmp_path / "pwned").exists()


def test_real_process_broken_file(run_vidq, clip):
    r = run_vidq("probe", clip("truncated"), "--json")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1 and "truncated" in r.stderr
