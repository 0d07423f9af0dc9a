"""Generated media shared by the media and CLI tests (made once per session, never in the repo).

Loaded as a pytest plugin by ``tests/conftest.py``, so the fixtures ``media_dir`` and ``clip``
are available to every test; the helper functions are imported directly.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vidq.testing.broken import make_case
from vidq.testing.video import make_video

# name -> make_video arguments; small and short so the whole set builds in a few seconds
CLIPS = {
    "scenes.mp4": {"duration": 6.0, "n_scenes": 3, "gop_seconds": 2.0, "bframes": 3, "audio": "tone"},
    "scenes.mkv": {"duration": 3.0, "n_scenes": 2, "gop_seconds": 1.0, "bframes": 2},
    "vp9.webm": {"duration": 2.0, "codec": "vp9", "gop_seconds": 1.0},
}


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "media"


@pytest.fixture(scope="session")
def clip(media_dir: Path):
    """``clip(name)``: a generated file, from CLIPS or a broken/awkward kind of vidq.testing.broken."""

    def get(name: str) -> Path:
        if name in CLIPS:
            path = media_dir / name
            if not path.exists():
                media_dir.mkdir(parents=True, exist_ok=True)
                make_video(media_dir / f"tmp-{name}", **CLIPS[name]).rename(path)
            return path
        return make_case(name, media_dir)

    return get


def ffprobe(path: Path) -> dict:
    """ffprobe's view: streams (with counted packets) and format."""
    out = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_format",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def ffprobe_frames(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(sorted frame PTS in seconds, keyframe flags) of the first video stream, as ffprobe decodes them."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "packet=pts_time,flags", "-of", "json", str(path)], capture_output=True, text=True, check=True)
    packets = [p for p in json.loads(out.stdout)["packets"] if p.get("pts_time") not in (None, "N/A")]
    pts = np.array([float(p["pts_time"]) for p in packets])
    keys = np.array(["K" in p.get("flags", "") for p in packets])
    order = np.argsort(pts)
    return pts[order], keys[order]


def ffmpeg_frames(path: Path) -> np.ndarray:
    """Every frame as ffmpeg shows it (display rotation applied), (n, H, W, 3) uint8, in PTS order."""
    info = ffprobe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    w, h = int(video["width"]), int(video["height"])
    rot = 0
    for side in video.get("side_data_list", []):
        rot = int(side.get("rotation", 0))
    if rot % 180:
        w, h = h, w
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-fps_mode", "passthrough", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w, 3)


def matching_frame(image: np.ndarray, truth: np.ndarray) -> int:
    """Index of the ffmpeg frame closest to ``image`` (each frame differs in its burned timestamp)."""
    ref = image.astype(np.float32)
    diffs = [float(np.abs(t.astype(np.float32) - ref).mean()) for t in truth]
    return int(np.argmin(diffs))
