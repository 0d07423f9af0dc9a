"""Chapter files and marked copies as players and DVR tools read them back.

`vidq summarize/ads --format ffmeta|mkvchapters`, `vidq ads --format comskip` and
`vidq ads --mark -o out.mkv` on the generated short broadcast, each loaded back with the
tool that reads it: ffmpeg + ffprobe for ffmetadata and marked copies, mkvmerge for the
Matroska XML, a parser of comskip's layout for the frame list.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                  reason="ffmpeg/ffprobe are not installed")
COMSKIP_HEADER = re.compile(r"^FILE PROCESSING COMPLETE\s+(\d+) FRAMES AT\s+(\d+)$")


def ffprobe_chapters(path: Path) -> list[tuple[float, float, str]]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return [(float(c["start_time"]), float(c["end_time"]), c["tags"]["title"]) for c in json.loads(out)["chapters"]]


def parse_comskip(text: str) -> tuple[int, float, list[tuple[int, int]]]:
    """comskip's .txt as Kodi and comchap read it: (frames, fps, [(start_frame, end_frame)])."""
    lines = text.splitlines()
    m = COMSKIP_HEADER.match(lines[0])
    assert m, lines[0]
    assert set(lines[1]) == {"-"}
    pairs = []
    for line in lines[2:]:
        a, b = line.split("\t")
        pairs.append((int(a), int(b)))
    return int(m.group(1)), int(m.group(2)) / 100.0, pairs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ads_doc(cli, short_scenario, job_cache):
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--model", "lite", "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def summary_doc(cli, short_scenario, job_cache):
    r = cli("--cache-dir", job_cache, "summarize", short_scenario.video, "--model", "lite", "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def expected_summary_marks(doc: dict) -> list[tuple[float, float, str]]:
    """The summary's chapters cut around its left-out ads (what the chapter formats must say)."""
    spans = [(x["start"], x["end"], {"break": "Advertisement", "sponsor": "Sponsor"}[x["kind"]]) for x in doc["skipped"]]
    out = []
    for c in doc["chapters"]:
        cursor, title = c["start"], c["title"]
        for a, b, _ in spans:
            if a < c["end"] and b > cursor:
                if a > cursor:
                    out.append((cursor, a, title if cursor == c["start"] else title + " (continued)"))
                cursor = b
        if c["end"] > cursor:
            out.append((cursor, c["end"], title if cursor == c["start"] else title + " (continued)"))
    return sorted(out + spans)


@needs_ffmpeg
def test_summary_chapters_as_ffmeta_load_in_ffmpeg(cli, short_scenario, job_cache, summary_doc, tmp_path):
    meta = tmp_path / "chapters.ffmeta"
    r = cli("--cache-dir", job_cache, "summarize", short_scenario.video, "--model", "lite", "--format", "ffmeta",
            "-o", meta)
    assert r.exit_code == 0 and r.stdout == "", r.stderr
    out = tmp_path / "out.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(short_scenario.video), "-i", str(meta),
                    "-map_metadata", "1", "-codec", "copy", str(out)], check=True, capture_output=True)
    got = ffprobe_chapters(out)
    want = expected_summary_marks(summary_doc)
    assert [t for _, _, t in got] == [t for _, _, t in want]
    assert "Advertisement" in [t for _, _, t in got] and "Sponsor" in [t for _, _, t in got]
    for (a, b, _), (x, y, _) in zip(got, want):
        assert a == pytest.approx(x, abs=0.001) and b == pytest.approx(y, abs=0.001)


@pytest.mark.parametrize("command", ["summarize", "ads"])
def test_mkvchapters_load_in_mkvmerge(cli, short_scenario, job_cache, ads_doc, summary_doc, tmp_path, command):
    xml = tmp_path / "chapters.xml"
    r = cli("--cache-dir", job_cache, command, short_scenario.video, "--model", "lite", "--format", "mkvchapters",
            "-o", xml)
    assert r.exit_code == 0, r.stderr
    assert xml.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')
    if shutil.which("mkvmerge") is None or shutil.which("ffprobe") is None:
        pytest.skip("mkvmerge (mkvtoolnix) or ffprobe is not installed; the XML was only written")
    out = tmp_path / "out.mkv"
    done = subprocess.run(["mkvmerge", "-q", "-o", str(out), "--chapters", str(xml), str(short_scenario.video)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # mkvmerge: 1 is warnings, 2 errors
    got = ffprobe_chapters(out)
    if command == "ads":
        breaks = [c for c in got if c[2].startswith(("Advertisement", "Sponsor"))]
        assert [(round(a, 3), round(b, 3)) for a, b, _ in breaks] == \
            [(round(s["start"], 3), round(s["end"], 3)) for s in ads_doc["segments"]]
        assert got[0][0] == 0.0 and got[-1][1] == pytest.approx(ads_doc["duration"], abs=0.001)
    else:
        want = expected_summary_marks(summary_doc)
        assert [(round(a, 3), round(b, 3), t) for a, b, t in got] == [(round(a, 3), round(b, 3), t) for a, b, t in want]


def test_comskip_frame_list_reads_back_at_the_ad_times(cli, short_scenario, job_cache, ads_doc):
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--model", "lite", "--format", "comskip")
    assert r.exit_code == 0, r.stderr
    frames, fps, pairs = parse_comskip(r.stdout)
    assert fps == short_scenario.fps and frames == round(short_scenario.duration * short_scenario.fps)
    assert len(pairs) == len(ads_doc["segments"]) == 2
    for (a, b), seg in zip(pairs, ads_doc["segments"]):
        assert a / fps == pytest.approx(seg["start"], abs=0.5 / fps)
        assert b / fps == pytest.approx(seg["end"], abs=0.5 / fps)


@needs_ffmpeg
@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_mark_writes_a_chaptered_copy_and_leaves_the_original_alone(cli, short_scenario, job_cache, ads_doc,
                                                                     tmp_path, suffix):
    video = tmp_path / "show.mp4"
    shutil.copy(short_scenario.video, video)
    before, mtime = sha256(video), video.stat().st_mtime_ns
    out = tmp_path / f"marked{suffix}"
    r = cli("--cache-dir", job_cache, "ads", video, "--model", "lite", "--mark", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert [k for k in (line.split()[2] for line in r.stdout.splitlines()) if k != "spot"] == ["break", "sponsor"]  # the result still on stdout
    assert sha256(video) == before and video.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["show.mp4", out.name])  # no temp file left
    assert out.stat().st_mode & 0o044  # readable by others as `open()` would make it (umask permitting)
    got = ffprobe_chapters(out)
    ads = [(a, b) for a, b, t in got if t.startswith(("Advertisement", "Sponsor"))]
    assert ads == [(pytest.approx(s["start"], abs=0.001), pytest.approx(s["end"], abs=0.001))
                   for s in ads_doc["segments"]]
    assert [t.split(" ")[0] for _, _, t in got] == ["Programme", "Advertisement", "Programme", "Sponsor", "Programme"]
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                              str(out)], check=True, capture_output=True, text=True).stdout.split()
    # copied, not re-encoded; MP4 carries its chapters also as a QuickTime text track (as ffmpeg writes them)
    assert streams == (["h264", "aac"] if suffix == ".mkv" else ["h264", "aac", "bin_data"])


@needs_ffmpeg
def test_mark_copies_every_packet(cli, short_scenario, job_cache, tmp_path):
    out = tmp_path / "marked.mkv"
    r = cli("--cache-dir", job_cache, "ads", short_scenario.video, "--model", "lite", "--mark", "-o", out,
            "--format", "edl")
    assert r.exit_code == 0, r.stderr

    def packets(path: Path) -> list[str]:
        return subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                               "stream=codec_name,nb_read_packets", "-of", "csv=p=0", str(path)],
                              check=True, capture_output=True, text=True).stdout.split()

    assert packets(out) == packets(short_scenario.video)


def test_mark_refuses_to_touch_the_original_or_guess_a_container(cli, short_scenario, job_cache, tmp_path,
                                                                 monkeypatch):
    video = tmp_path / "show.mp4"
    shutil.copy(short_scenario.video, video)
    before = sha256(video)
    cases = [(["-o", video], "never writes over the original"), (["-o", tmp_path / "x.avi"], ".mkv"),
             ([], "--mark needs -o")]
    for extra, message in cases:
        r = cli("--cache-dir", job_cache, "ads", video, "--model", "lite", "--mark", *extra)
        assert r.exit_code == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert r.stdout == ""
    monkeypatch.chdir(tmp_path)  # the same file by another name
    r = cli("--cache-dir", job_cache, "ads", "show.mp4", "--model", "lite", "--mark", "-o", "./show.mp4")
    assert r.exit_code == 2
    assert sha256(video) == before and sorted(p.name for p in tmp_path.iterdir()) == ["show.mp4"]
