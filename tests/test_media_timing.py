"""Seeking on files whose timestamps are awkward: every answer is the frame ffmpeg shows, within bounded work.

Each TIMING kind of ``vidq.testing.broken`` (non-zero starts, edit lists, open GOPs, time
bases 1/90000, 1/12800, 1/25, 1/1000 and 1001/30000, concat-joined parts, MPEG-TS starting
late, wrapping its PTS, spliced with its clock jumping back, far forward or repeating) plus
a VFR file is decoded by ffmpeg once; random plans in exact
and fast mode are then answered by the reader and compared frame by frame (the burned-in
clock makes every frame's pixels unique).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from media_files import ffmpeg_frames, matching_frame

from vidq.media import decode, plan_samples, probe
from vidq.media.pyav_reader import MAX_SEEKS, PyAVReader
from vidq.media.timemap import JUMP_FORWARD
from vidq.media.types import SamplePlan
from vidq.testing.broken import TIMING, make_case

KINDS = (*TIMING, "vfr")


def shown_frames(path: Path) -> np.ndarray:
    """Start-relative PTS (seconds) of every frame ffmpeg decodes, in display order.

    Where the clock jumps (a spliced capture: backwards, or forward by more than
    ``JUMP_FORWARD``), the frames after the jump follow one median frame interval after the
    frame before it: the continuous timeline vidq promises.
    """
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "frame=best_effort_timestamp_time:format=start_time", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    start = float(doc["format"]["start_time"])
    pts = np.array([float(f["best_effort_timestamp_time"]) for f in doc["frames"]]) - start
    steps = np.diff(pts)
    jumps = (steps < 0) | (steps > JUMP_FORWARD)
    if jumps.any():
        steps[jumps] = np.median(steps[~jumps])
        pts = pts[0] + np.concatenate([[0.0], np.cumsum(steps)])
    return pts


@pytest.fixture(scope="module")
def truth(media_dir):
    cache: dict[str, tuple] = {}

    def get(kind: str):
        if kind not in cache:
            path = make_case(kind, media_dir)
            pts, images = shown_frames(path), ffmpeg_frames(path)
            assert len(pts) == len(images) and np.all(np.diff(pts) > 0), kind
            cache[kind] = (path, probe(path), pts, images)
        return cache[kind]

    return get


def check_plan(truth, kind: str, times: list[float], accuracy: str, tolerance: float) -> PyAVReader:
    path, info, pts, images = truth(kind)
    plan = SamplePlan(times=tuple(times), mode="uniform", accuracy=accuracy, tolerance=tolerance,
                      start=0.0, end=info.duration)
    reader = PyAVReader(path, info, info.video)
    try:
        got = list(reader.answers(plan))
        assert [g[0] for g in got] == list(range(len(times)))
        for (_, stamp, frame), t in zip(got, times):
            shown = matching_frame(frame.to_ndarray(format="rgb24"), images)
            assert stamp == pytest.approx(pts[shown], abs=1e-5), f"{kind}: pixels of {pts[shown]} s, said {stamp}"
            expected = max(0, int(np.searchsorted(pts, t + 1e-6, side="right")) - 1)  # the frame shown at t
            if accuracy == "exact":
                assert shown == expected, f"{kind} exact at {t}: got the frame of {pts[shown]} s, not {pts[expected]} s"
            else:  # a frame within tolerance, or (none close enough) the frame shown
                assert abs(pts[shown] - t) <= tolerance + 1e-6 or shown == expected, f"{kind} fast at {t}: {pts[shown]} s"
        # bounded work: no target may cost more than a few seeks, nothing is decoded twice over
        assert reader.fallbacks == 0, f"{kind}: {reader.fallbacks} targets needed the decode from the start"
        assert reader.seeks <= 2 * len(times), f"{kind}: {reader.seeks} seeks for {len(times)} targets"
        assert reader.decoded <= len(pts) + len(times), f"{kind}: {reader.decoded} frames decoded of {len(pts)}"
    finally:
        reader.close()
    return reader


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_plans_answer_the_frames_ffmpeg_shows(truth, kind, data):
    _, info, pts, _ = truth(kind)
    times = sorted(data.draw(st.lists(st.floats(0.0, float(info.duration), allow_nan=False), min_size=1,
                                      max_size=6, unique=True), label="times"))
    accuracy = data.draw(st.sampled_from(["exact", "fast"]), label="accuracy")
    tolerance = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.5]), label="tolerance") if accuracy == "fast" else 0.0
    check_plan(truth, kind, times, accuracy, tolerance)


@pytest.mark.parametrize("kind", ["joined", "wrap-ts", "late-ts", "start-offset", "spliced-ts", "jump-ts"])
def test_keyframe_and_frame_exact_targets(truth, kind):
    """Targets exactly on frames and keyframes (the concat livelock's case) and uniform plans."""
    _, info, pts, _ = truth(kind)
    keys = list(info.video.keyframes)
    check_plan(truth, kind, keys, "exact", 0.0)
    check_plan(truth, kind, [float(t) for t in pts[1::37]], "exact", 0.0)
    for accuracy in ("exact", "fast"):
        plan = plan_samples(info, frames=9, accuracy=accuracy)
        check_plan(truth, kind, list(plan.times), accuracy, plan.tolerance)


def test_joined_costs_no_more_than_its_parts(tmp_path, truth):
    """The same plan decodes at most as many frames on the concat-joined file as on its parts."""
    path, info, pts, _ = truth("joined")
    plan = plan_samples(info, frames=12)
    joined = PyAVReader(path, info, info.video)
    list(joined.answers(plan))
    joined.close()
    from vidq.testing.broken import TIMING_CLIP
    from vidq.testing.video import make_video

    part = make_video(tmp_path / "part.mp4", **{**TIMING_CLIP, "duration": 4.0, "gop_seconds": 1.0})
    part_info = probe(part)
    spent = 0
    for k in range(3):
        times = [t - 4.0 * k for t in plan.times if 4.0 * k <= t < 4.0 * (k + 1)]
        if times:
            reader = PyAVReader(part, part_info, part_info.video)
            list(reader.answers(SamplePlan(tuple(times), "uniform", "exact", 0.0, 0.0, part_info.duration)))
            spent += reader.decoded
            reader.close()
    assert joined.decoded <= 2 * spent, (joined.decoded, spent)
    assert joined.seeks <= MAX_SEEKS * len(plan.times)


def test_frames_cli_on_joined_wrapped_and_spliced_files(truth, tmp_path, run_vidq):
    for kind in ("joined", "wrap-ts", "spliced-ts"):
        path, info, pts, images = truth(kind)
        for mode in ("--exact", "--fast"):
            out = tmp_path / f"{kind}{mode}"
            result = run_vidq("frames", path, "--frames", "4", mode, "--json", "-o", out, timeout=60)
            assert result.exit_code == 0, result.stderr
            doc = json.loads(result.stdout)
            for item in doc["frames"]:
                if mode == "--exact":
                    expected = pts[max(0, int(np.searchsorted(pts, item["target"] + 1e-6, side="right")) - 1)]
                    assert item["pts"] == pytest.approx(expected, abs=1e-5)
                else:
                    assert abs(item["pts"] - item["target"]) <= doc["tolerance"] + 1e-6
    batches = list(decode(truth("wrap-ts")[0], plan_samples(truth("wrap-ts")[1], frames=5)))
    assert np.all(np.diff(np.concatenate([b.pts for b in batches])) > 0)
