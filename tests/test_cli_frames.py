"""`vidq frames`: files named by time, the burned-in time matches the reported PTS, no partial output."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from media_files import ffmpeg_frames, ffprobe_frames, matching_frame
from PIL import Image

from vidq.cli.commands.frames import frame_file_name


def test_frame_file_names_sort_as_text():
    names = [frame_file_name(t, "jpg") for t in (0.0, 2.5, 10.04, 3599.999)]
    assert names == ["frame_000000.000.jpg", "frame_000002.500.jpg", "frame_000010.040.jpg", "frame_003599.999.jpg"]
    assert names == sorted(names)


@pytest.mark.parametrize("name", ["scenes.mp4", "vfr"])
def test_exact_frames_show_the_reported_time(cli, clip, tmp_path, name):
    path = clip(name)
    out = tmp_path / "stills"
    r = cli("frames", path, "--frames", "6", "--exact", "--image-format", "png", "-o", out, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "vidq.frames/1" and len(doc["frames"]) == 6
    truth_pts, _ = ffprobe_frames(path)
    truth = ffmpeg_frames(path)
    for row in doc["frames"]:
        assert row["file"].endswith(frame_file_name(row["pts"], "png"))
        image = np.asarray(Image.open(row["file"]).convert("RGB"))
        # the frame written carries the burned-in timestamp of the PTS vidq reports
        assert truth_pts[matching_frame(image, truth)] == pytest.approx(row["pts"], abs=1e-3)
        assert row["pts"] <= row["target"] + 1e-6
    assert sorted(p.name for p in out.iterdir()) == sorted({row["file"].rsplit("/", 1)[1] for row in doc["frames"]})


def test_text_listing_and_fast_keyframes(cli, clip, tmp_path):
    r = cli("frames", clip("scenes.mp4"), "--keyframes", "--fast", "-o", tmp_path / "k")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["00:00:00.000", "00:00:02.000", "00:00:04.000"]
    assert all(ln.split("\t")[1].endswith(".jpg") for ln in lines)


def test_contact_sheet(cli, clip, tmp_path):
    sheet = tmp_path / "sheet.png"
    r = cli("frames", clip("scenes.mp4"), "--every", "1", "--start", "1", "--end", "0:04", "--sheet", sheet,
            "--columns", "3", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [f["pts"] for f in doc["frames"]] == [1.0, 2.0, 3.0]
    with Image.open(sheet) as img:
        assert img.width > 3 * 200 and img.height > 100


@pytest.mark.parametrize("args", [
    ["--frames", "0"], ["--fps", "-2"], ["--every", "0"], ["--start", "5", "--end", "2"], ["--end", "99"],
    ["--start", "abc"], ["--frames", "3", "--fps", "1"], ["--size", "big"], ["--policy", "zoom"],
    ["--backend", "opencv"], ["--image-format", "gif"],
])
def test_absurd_values_exit_2_without_output(cli, clip, tmp_path, args):
    out = tmp_path / "never"
    r = cli("frames", clip("scenes.mkv"), *args, "-o", out)
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("kind", ["audio-only", "truncated", "zero-byte", "text"])
def test_unusable_input_exit_2_no_partial_files(cli, clip, tmp_path, kind):
    out = tmp_path / "out"
    r = cli("frames", clip(kind), "--frames", "4", "-o", out)
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_needs_a_destination(cli, clip):
    r = cli("frames", clip("scenes.mkv"))
    assert r.exit_code == 2 and "-o DIR" in r.stderr


def test_awkward_names_for_input_and_output(run_vidq, clip, tmp_path):
    src = tmp_path / "-a clip; $(rm -rf x) 'ü'.mkv"
    shutil.copy(clip("scenes.mkv"), src)
    out = tmp_path / "out dir ü"
    r = run_vidq("frames", "--frames", "2", "-o", out.name, "--", src.name, cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    assert len(list(out.iterdir())) == 2
