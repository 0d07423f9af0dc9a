"""Sampling plans and output geometry: pure arithmetic, exact expected values."""

from __future__ import annotations

import numpy as np
import pytest

from vidq.errors import InputError
from vidq.media import plan_samples
from vidq.media.resize import Geometry, finish, plan_geometry
from vidq.media.types import VideoInfo, VideoStream


def info(duration=10.0, frames=250, fps=25.0, keyframes=(0.0, 2.0, 4.0, 6.0, 8.0)) -> VideoInfo:
    video = VideoStream(index=0, codec="h264", width=320, height=240, rotation=0, sample_aspect="1:1",
                        pix_fmt="yuv420p", fps_nominal=fps, fps_average=fps, frame_count=frames,
                        frame_count_exact=True, vfr=False, duration=duration, start_time=0.0, keyframes=keyframes)
    return VideoInfo(path="x.mp4", container="mp4", duration=duration, size_bytes=1, bit_rate=None, start_time=0.0,
                     video=video, video_streams=(video,))


def test_uniform_targets_are_segment_centres():
    plan = plan_samples(info(), frames=4)
    assert plan.times == (1.25, 3.75, 6.25, 8.75)
    assert (plan.mode, plan.accuracy, plan.tolerance, plan.start, plan.end) == ("uniform", "exact", 0.0, 0.0, 10.0)


def test_uniform_default_is_16_frames_and_fast_tolerance_is_half_the_interval():
    plan = plan_samples(info(), accuracy="fast")
    assert len(plan) == 16 and plan.times[0] == 0.3125 and plan.tolerance == 0.3125


def test_uniform_clipped_to_start_end():
    assert plan_samples(info(), frames=2, start=2.0, end=6.0).times == (3.0, 5.0)


def test_fps_and_every():
    assert plan_samples(info(), fps=2, end=3.0).times == (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
    plan = plan_samples(info(), every=4, start=1.0, accuracy="fast")
    assert plan.times == (1.0, 5.0, 9.0) and plan.mode == "every" and plan.tolerance == 2.0


def test_keyframes_inside_the_clip():
    plan = plan_samples(info(), keyframes=True, start=1.0, end=6.0)
    assert plan.times == (2.0, 4.0, 6.0) and plan.mode == "keyframes"


def test_plan_never_exceeds_frame_count():
    assert len(plan_samples(info(frames=20), frames=100)) == 20
    dense = plan_samples(info(frames=20, fps=2.0), fps=10)
    assert len(dense) == 20 and dense.times[0] == 0.0 and list(dense.times) == sorted(set(dense.times))
    assert len(plan_samples(info(frames=1, duration=0.04), frames=8)) == 1


def test_explicit_tolerance_wins():
    assert plan_samples(info(), frames=4, accuracy="fast", tolerance=0.1).tolerance == 0.1


@pytest.mark.parametrize("kwargs", [
    {"frames": 0}, {"frames": -3}, {"fps": 0}, {"fps": -1.0}, {"every": 0}, {"fps": float("nan")},
    {"start": 5.0, "end": 5.0}, {"start": 6.0, "end": 2.0}, {"end": 11.0}, {"start": 10.0}, {"start": -1.0},
    {"frames": 4, "fps": 1.0}, {"keyframes": True, "every": 2.0}, {"frames": 4, "accuracy": "fast", "tolerance": -1.0},
])
def test_absurd_requests_are_input_errors(kwargs):
    with pytest.raises(InputError):
        plan_samples(info(), **kwargs)


@pytest.mark.parametrize(("size", "policy", "scaled", "out", "offset"), [
    (None, "fit", (640, 360), (640, 360), (0, 0)),
    (320, "fit", (320, 180), (320, 180), (0, 0)),
    ((100, 100), "fit", (100, 56), (100, 56), (0, 0)),
    ((100, 100), "pad", (100, 56), (100, 100), (0, 22)),
    ((100, 100), "crop", (178, 100), (100, 100), (39, 0)),
    ((100, 50), "stretch", (100, 50), (100, 50), (0, 0)),
    (224, "crop", (398, 224), (224, 224), (87, 0)),
])
def test_geometry(size, policy, scaled, out, offset):
    assert plan_geometry((640, 360), 0, size, policy) == Geometry(0, scaled, out, offset)


def test_geometry_of_a_rotated_stream_scales_before_rotating():
    geom = plan_geometry((180, 320), 90, 160, "fit")  # display size already rotated
    assert geom.scaled == (90, 160) and geom.decode_size == (160, 90) and geom.shape == (160, 90, 3)


def test_finish_rotates_clockwise_and_pads():
    img = np.zeros((2, 3, 3), dtype=np.uint8)
    img[0, 0] = 255  # top-left of the coded frame
    out = finish(img, Geometry(90, (2, 3), (4, 3), (1, 0)))
    assert out.shape == (3, 4, 3)
    assert out[0, 2].tolist() == [255, 255, 255]  # clockwise: top-left goes to top-right; pad 1 px left
    assert out[:, 0].max() == 0 and out[:, 3].max() == 0


def test_bad_sizes_and_policies_are_input_errors():
    with pytest.raises(InputError):
        plan_geometry((640, 360), 0, 0, "fit")
    with pytest.raises(InputError):
        plan_geometry((640, 360), 0, 100, "zoom")
