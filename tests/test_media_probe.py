"""probe() against ffprobe on generated files, broken inputs, and the probe cache."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from media_files import ffprobe, ffprobe_frames

from vidq.errors import MediaError
from vidq.media import probe
from vidq.media.mp4index import read_index
from vidq.media.probe import PROBE_STAGE
from vidq.store import Store
from vidq.testing.broken import BROKEN

GOOD = ["scenes.mp4", "scenes.mkv", "vp9.webm", "vfr", "rotated", "odd-size", "one-frame", "4k", "video-only"]


@pytest.mark.parametrize("name", GOOD)
def test_probe_agrees_with_ffprobe(clip, name):
    path = clip(name)
    info = probe(path)
    ref = ffprobe(path)
    vref = next(s for s in ref["streams"] if s["codec_type"] == "video")
    v = info.video
    assert v is not None
    assert abs(info.duration - float(ref["format"]["duration"])) <= 0.05
    assert (v.width, v.height) == (int(vref["width"]), int(vref["height"]))
    assert v.codec == vref["codec_name"]
    assert v.frame_count == int(vref["nb_read_packets"]) and v.frame_count_exact
    assert v.fps_nominal == pytest.approx(float(Fraction(vref["r_frame_rate"])), abs=1e-3)
    rotation = -int(next((sd.get("rotation", 0) for sd in vref.get("side_data_list", [])), 0)) % 360
    assert v.rotation == rotation
    pts, keys = ffprobe_frames(path)
    assert np.allclose(v.keyframes, pts[keys], atol=1e-3)
    assert v.vfr == (name == "vfr")


def test_rotated_phone_video_is_shown_portrait(clip):
    v = probe(clip("rotated")).video
    assert (v.width, v.height, v.rotation, v.display_size) == (320, 180, 90, (180, 320))


def test_vfr_average_rate_is_below_nominal(clip):
    v = probe(clip("vfr")).video
    assert v.vfr and v.fps_average < v.fps_nominal


def test_mp4_index_matches_demuxed_packets(clip):
    path = clip("scenes.mp4")
    track = read_index(path).video_tracks()[0]
    pts, keys = ffprobe_frames(path)
    assert np.allclose(np.sort(track.pts), pts, atol=1e-6)
    assert track.count == pts.size and track.sync.sum() == keys.sum()


def test_audio_only_probes_without_video(clip):
    info = probe(clip("audio-only"))
    assert info.video is None and info.audio is not None and info.audio.sample_rate == 48000


def test_audio_stream_of_a_video(clip):
    a = probe(clip("scenes.mp4")).audio
    assert a is not None and (a.codec, a.sample_rate, a.channels) == ("aac", 48000, 1)


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_inputs_raise_one_line_media_errors(clip, kind):
    path = clip(kind)
    with pytest.raises(MediaError) as err:
        probe(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(MediaError, match="directory"):
        probe(tmp_path)


def test_probe_is_cached_by_content(clip, tmp_path):
    src = clip("scenes.mkv")
    copy = tmp_path / "copy.mkv"
    copy.write_bytes(src.read_bytes())
    store = Store(tmp_path / "cache")
    first = probe(src, store=store)
    assert store.info().stages == {PROBE_STAGE: 1}
    again = probe(copy, store=store)  # same content, other name: served from the cache
    assert again.path == str(copy) and again.video == first.video
    assert store.info().files == 1
