"""decode(): exact frames are the ones shown at each time, fast frames stay within tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from media_files import ffmpeg_frames, ffprobe_frames, matching_frame

from vidq.errors import InputError, MissingDependency
from vidq.media import decode, plan_samples, probe
from vidq.media.pyav_reader import PyAVReader


def collect(path, plan, **kwargs):
    batches = list(decode(path, plan, **kwargs))
    images = np.concatenate([b.images for b in batches])
    pts = np.concatenate([b.pts for b in batches])
    idx = np.concatenate([b.indices for b in batches])
    return batches, images, pts, idx


@pytest.mark.parametrize("name", ["scenes.mp4", "scenes.mkv", "vfr", "rotated", "odd-size", "vp9.webm"])
def test_exact_frames_are_the_frames_shown(clip, name):
    path = clip(name)
    info = probe(path)
    plan = plan_samples(info, frames=7)
    batches, images, pts, idx = collect(path, plan, info=info, batch_size=3)
    assert [len(b) for b in batches] == [3, 3, 1] and idx.tolist() == list(range(7))
    truth_pts, _ = ffprobe_frames(path)
    expected = [truth_pts[np.searchsorted(truth_pts, t + 1e-6, side="right") - 1] for t in plan.times]
    assert np.allclose(pts, expected, atol=1e-3)
    truth = ffmpeg_frames(path)
    assert images.shape[1:] == truth.shape[1:]  # display size, rotation applied
    for image, stamp in zip(images, pts):
        assert truth_pts[matching_frame(image, truth)] == pytest.approx(stamp, abs=1e-3)


def test_fast_frames_are_within_tolerance_and_cheaper(clip):
    path = clip("scenes.mp4")
    info = probe(path)
    exact, fast = plan_samples(info, frames=5), plan_samples(info, frames=5, accuracy="fast")
    _, images, pts, _ = collect(path, fast, info=info)
    assert np.all(np.abs(pts - np.array(fast.times)) <= fast.tolerance + 1e-6)
    truth_pts, _ = ffprobe_frames(path)
    truth = ffmpeg_frames(path)
    for image, stamp in zip(images, pts):
        assert truth_pts[matching_frame(image, truth)] == pytest.approx(stamp, abs=1e-3)
    readers = [PyAVReader(path, info, info.video) for _ in range(2)]
    for reader, plan in zip(readers, (exact, fast)):
        assert len(list(reader.answers(plan))) == 5
        reader.close()
    assert readers[1].decoded < readers[0].decoded


def test_keyframe_plan_decodes_only_keyframes(clip):
    path = clip("scenes.mp4")
    info = probe(path)
    reader = PyAVReader(path, info, info.video)
    got = list(reader.answers(plan_samples(info, keyframes=True)))
    assert [round(g[1], 3) for g in got] == list(info.video.keyframes) and reader.decoded == len(got)


def test_dense_exact_plan_decodes_each_frame_once(clip):
    path = clip("scenes.mp4")
    info = probe(path)
    reader = PyAVReader(path, info, info.video)
    plan = plan_samples(info, fps=25)
    assert len(list(reader.answers(plan))) == info.video.frame_count == reader.decoded


def test_resize_policies_give_fixed_shapes(clip):
    path = clip("rotated")
    info = probe(path)
    plan = plan_samples(info, frames=2)
    for size, policy, shape in [(64, "fit", (64, 36)), ((50, 50), "pad", (50, 50)), ((40, 30), "crop", (30, 40))]:
        _, images, _, _ = collect(path, plan, info=info, size=size, policy=policy)
        assert images.shape == (2, *shape, 3) and images.dtype == np.uint8


def test_decord_backend_agrees_with_pyav(clip):
    pytest.importorskip("decord")
    path = clip("scenes.mp4")
    info = probe(path)
    plan = plan_samples(info, frames=6)
    _, _, pts_pyav, _ = collect(path, plan, info=info, size=96)
    _, images, pts_decord, _ = collect(path, plan, info=info, size=96, backend="decord")
    assert np.allclose(pts_pyav, pts_decord, atol=1e-3) and images.shape == (6, 72, 96, 3)


def test_torchcodec_backend(clip):
    try:
        from torchcodec.decoders import VideoDecoder  # noqa: F401
    except (ImportError, OSError, RuntimeError) as e:
        pytest.skip(f"torchcodec is not installed or does not load with this torch build ({type(e).__name__}): "
                    "its wheels are tied to one torch version, and 0.17 needs CUDA libraries (libnvrtc)")
    path = clip("scenes.mp4")
    info = probe(path)
    plan = plan_samples(info, frames=4)
    _, _, pts_pyav, _ = collect(path, plan, info=info, size=96)
    _, _, pts_tc, _ = collect(path, plan, info=info, size=96, backend="torchcodec")
    assert np.allclose(pts_pyav, pts_tc, atol=1e-3)


def test_torchcodec_missing_is_a_one_line_hint(clip, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torchcodec", None)
    monkeypatch.setitem(sys.modules, "torchcodec.decoders", None)
    path = clip("scenes.mkv")
    with pytest.raises(MissingDependency, match="torchcodec"):
        collect(path, plan_samples(probe(path), frames=2), backend="torchcodec")


def test_bad_backend_and_batch_size(clip):
    path = clip("scenes.mkv")
    plan = plan_samples(probe(path), frames=2)
    with pytest.raises(InputError):
        list(decode(path, plan, backend="opencv"))
    with pytest.raises(InputError):
        list(decode(path, plan, batch_size=0))
