"""Damaged, spliced and growing files in the media layer: what is skipped, what is reported, what never hangs.

Damaged files are made from an undamaged original (``vidq.testing.broken.spoil``), so every
picture the decoder hands out can be compared with ffmpeg's decode of the original: a
damaged stretch must be skipped (its targets get the last clean frame before it), never
shown broken, and reported.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from media_files import ffmpeg_frames, ffprobe_frames

from vidq.analysis import AnalysisOptions, PictureOptions, analyze
from vidq.errors import MediaError
from vidq.media import damage, decode, iter_audio, plan_samples, probe
from vidq.media.probe import PROBE_STAGE, settle
from vidq.media.pyav_reader import PyAVReader
from vidq.media.timemap import TimeMap, find_discontinuities
from vidq.media.types import Damage
from vidq.media.watchdog import Stalled, Watchdog
from vidq.store import Store
from vidq.testing.broken import DAMAGE_CLIP, damage_source_args, spoil
from vidq.testing.video import make_video

CLEAN = 1.0  # mean absolute pixel difference below which a picture is the original frame (same bitstream)
NO_MODELS = AnalysisOptions(subtitles="none", embeddings=False, pictures=PictureOptions(ocr=False, thumb_every=0))


@pytest.fixture(scope="module")
def spoiled(tmp_path_factory):
    """``spoiled(kind)``: (original, damaged copy, ffmpeg's frames of the original, their PTS)."""
    folder = tmp_path_factory.mktemp("spoiled")
    made: dict[str, tuple] = {}

    def get(kind: str):
        if kind not in made:
            original = make_video(folder / f"original-{kind}", **DAMAGE_CLIP, extra_args=damage_source_args(kind))
            bad = folder / f"{kind}{'.mp4' if kind.endswith('mp4') else '.ts'}"
            bad.write_bytes(spoil(original.read_bytes(), kind))
            pts, _ = ffprobe_frames(original)
            made[kind] = (original, bad, ffmpeg_frames(original), pts - probe(original).start_time)
        return made[kind]

    return get


def picture_error(image: np.ndarray, truth: np.ndarray) -> tuple[int, float]:
    """(index of the original frame closest to ``image``, its mean absolute difference)."""
    diffs = [float(np.abs(t.astype(np.float32) - image.astype(np.float32)).mean()) for t in truth]
    k = int(np.argmin(diffs))
    return k, diffs[k]


def assert_every_picture_clean(bad: Path, start: float, truth, truth_pts, what: str,
                               accuracies=("exact", "fast")) -> None:
    """Every picture 200 targets get from ``bad`` is the original frame of the time it is stamped with
    (``truth_pts``: the original's frame times from its ``start``; matched on the raw clock, since damage
    can move a file's start)."""
    info = probe(bad)
    for accuracy in accuracies:
        plan = plan_samples(info, frames=200, accuracy=accuracy)
        for batch in decode(bad, plan, info=info):
            for image, stamp, index in zip(batch.images, batch.pts, batch.indices):
                k = int(np.argmin(np.abs(truth_pts + start - (stamp + info.start_time))))
                err = float(np.abs(truth[k].astype(np.float32) - image.astype(np.float32)).mean())
                assert err < CLEAN, f"{what}: the picture for {plan.times[index]:.3f} s is broken (differs by {err:.1f})"


@pytest.mark.parametrize("kind", ["garbage-mp4", "garbage-ts", "dropped-ts"])
@pytest.mark.parametrize("accuracy", ["exact", "fast"])
def test_damaged_stretch_is_skipped_never_shown_and_reported(spoiled, kind, accuracy):
    _, bad, truth, truth_pts = spoiled(kind)
    info = probe(bad)
    plan = plan_samples(info, frames=48, accuracy=accuracy)
    batches = list(decode(bad, plan, info=info))
    spans = damage.merge([*info.damaged, *(d for b in batches for d in b.damaged)])
    assert spans, "the damage went unreported"
    near = [(d.start - 0.1, d.end + 0.1) for d in spans]
    for batch in batches:
        for image, stamp, index in zip(batch.images, batch.pts, batch.indices):
            t = plan.times[index]
            k, err = picture_error(image, truth)
            assert err < CLEAN, f"{kind}: the picture for {t:.3f} s is broken (differs by {err:.1f})"
            assert truth_pts[k] == pytest.approx(stamp, abs=1e-3), "the stated time is not the picture's"
            shown = max(0, int(np.searchsorted(truth_pts, t + 1e-6, side="right")) - 1)
            fine = k == shown if accuracy == "exact" else abs(truth_pts[k] - t) <= plan.tolerance + 1e-6
            if not fine:  # only inside a reported span may the answer be an earlier, clean frame
                assert stamp <= t and any(a <= t <= b for a, b in near), f"{kind}: {t:.3f} s answered by {stamp}"


def test_noise_that_begins_inside_a_packet_never_shows_a_broken_picture(spoiled, tmp_path):
    """Noise over the tail of a packet can decode without an error (its picture broken), and a
    frame-threaded decoder reports the next packet's error a few packets late: the frames decoded
    just before the damage are not handed out either (CI once saw one, differing by 4.8)."""
    import av

    original, _, truth, truth_pts = spoiled("garbage-mp4")
    data = original.read_bytes()
    with av.open(str(original)) as c:
        stream = c.streams.video[0]
        starts = [p.pos + p.size * 2 // 3 for p in c.demux(stream)
                  if p.size and 2.4 <= float(p.pts * stream.time_base) <= 3.6]
    assert len(starts) >= 25
    start = probe(original).start_time
    bad = tmp_path / "noise.mp4"
    for at in starts:
        bad.write_bytes(spoil(data, "garbage-mp4", at=at))
        assert_every_picture_clean(bad, start, truth, truth_pts, f"noise from byte {at}")


def test_a_reference_frame_the_decoder_flags_late_takes_the_frames_decoded_from_it(spoiled, tmp_path):
    """600 bytes of noise inside one packet: when the decoder notices (an error, or the frame flagged
    corrupt), it may say so only when that frame's turn comes in display order, after the B-frames
    decoded from it have come out; none of those is handed out either.  (Noise the decoder does not
    notice at all cannot be told from a picture: those placements are left out.)"""
    import av

    original, _, truth, truth_pts = spoiled("garbage-mp4")
    start = probe(original).start_time
    data = original.read_bytes()
    with av.open(str(original)) as c:
        stream = c.streams.video[0]
        packets = [(p.pos, p.size) for p in c.demux(stream)
                   if p.size and not p.is_keyframe and 2.0 <= float(p.pts * stream.time_base) <= 6.0]
    bad = tmp_path / "noise.mp4"
    noticed = 0
    for pos, size in packets[::3]:
        bad.write_bytes(spoil(data, "garbage-mp4", at=pos + size // 3, length=600))
        with av.open(str(bad)) as c:  # does the decoder notice?
            seen = False
            for packet in c.demux(c.streams.video[0]):
                try:
                    seen = seen or any(f.is_corrupt for f in packet.decode())
                except av.error.FFmpegError:
                    seen = True
        if not seen:
            continue
        noticed += 1
        assert_every_picture_clean(bad, start, truth, truth_pts, f"noise at byte {pos + size // 3}")
    assert noticed >= 3, "too few placements the decoder notices to say anything"


def test_after_damage_the_decoder_starts_again_at_the_keyframe(spoiled, tmp_path):
    """4 KB of noise in the second before a keyframe of a transport stream: whole frames vanish
    without a continuity error, and a decoder carried on over them can spoil the keyframe's own
    picture (an IDR: seen in a sweep) and everything up to the next one, flushed or not.  A new
    decoder takes over at the keyframe."""
    import av

    original, _, truth, truth_pts = spoiled("garbage-ts")
    start = probe(original).start_time
    data = original.read_bytes()
    with av.open(str(original)) as c:
        keys = [p.pos for p in c.demux(c.streams.video[0]) if p.size and p.is_keyframe and p.pos > 20000]
    bad = tmp_path / "noise.ts"
    for key in keys:
        for back in range(2000, 12001, 2000):
            at = key - back
            bad.write_bytes(spoil(data, "garbage-ts", at=at, length=4000))
            assert_every_picture_clean(bad, start, truth, truth_pts, f"noise at byte {at}", accuracies=("exact",))


def test_damage_found_while_decoding_reaches_the_frames_json_once(spoiled, tmp_path, run_vidq):
    _, bad, _, _ = spoiled("garbage-mp4")
    r = run_vidq("frames", bad, "--frames", "30", "-o", tmp_path / "out", "--json", timeout=120)
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["damaged"] and all(d["stream"] == "video" and d["end"] > d["start"] for d in doc["damaged"])
    warnings = [line for line in r.stderr.splitlines() if line.startswith("vidq: warning: ")]
    assert len(warnings) == 1 and "damaged" in warnings[0] and str(bad) in warnings[0]


def test_audio_of_a_damaged_file_stays_contiguous(spoiled):
    original, bad, _, _ = spoiled("garbage-mp4")
    chunks = list(iter_audio(bad, chunk_seconds=2.0))
    for a, b in zip(chunks, chunks[1:]):
        assert b.start == pytest.approx(a.start + a.samples.size / 16000, abs=1e-9)
    heard = np.concatenate([c.samples for c in chunks])
    clean = np.concatenate([c.samples for c in iter_audio(original, chunk_seconds=2.0)])
    assert abs(heard.size - clean.size) <= 16000 * 0.05  # holes filled with silence, nothing lost or doubled
    spans = [d for c in chunks for d in c.damaged]
    assert spans and all(d.stream == "audio" for d in spans)
    before = int((min(d.start for d in spans) - 0.3) * 16000)
    assert np.abs(heard[:before] - clean[:before]).max() < 1e-4  # the original up to the damage
    after = int((max(d.end for d in spans) + 0.3) * 16000)  # after it, in step with the original (no drift)
    tail, ref = heard[after:after + 16000], clean[after:after + 16000]
    lags = range(-160, 161)
    best = min(lags, key=lambda k: float(np.abs(np.roll(tail, k)[200:-200] - ref[200:-200]).mean()))
    # a lost or doubled AAC frame is 21 ms or more (341+ samples); what is allowed is the resampler's
    # ~1 ms it still holds at each hole, counted as missing too (16-17 samples here, one hole; up to
    # 53 seen in CI when the clip still differed from run to run; known, see CHANGELOG)
    assert abs(best) <= 80, f"the audio after the damage is {best / 16:.1f} ms off"


def test_truncated_index_is_read_up_to_its_last_complete_sample(clip):
    info = probe(clip("truncated-faststart"))
    (cut,) = info.damaged
    assert cut.stream == "file" and cut.why.startswith("truncated") and cut.end > info.duration >= cut.start > 0
    plan = plan_samples(info, frames=10)
    got = [t for b in decode(clip("truncated-faststart"), plan, info=info) for t in b.pts]
    assert len(got) == 10 and got[-1] <= info.duration


def test_header_claims_are_checked_against_the_packets(clip):
    assert probe(clip("huge-duration")).duration < 5.0  # the header claims 317 years
    assert probe(clip("idle-video-ts")).video is None  # a declared video PID that never carries a packet
    with pytest.raises(MediaError, match="no frame could be decoded"):
        info = probe(clip("huge-frame"))  # 16000x16000 per the JPEG headers: nothing decodes
        list(decode(clip("huge-frame"), plan_samples(info, frames=3), info=info))


# -- the watchdog ---------------------------------------------------------------------------------------------

def test_watchdog_counts_idle_packets_and_idle_time():
    now = [0.0]
    watch = Watchdog("f.ts: decoding", seconds=5.0, packets=10, clock=lambda: now[0])
    for i in range(100):
        watch.step(i, None)  # the byte offset moves: progress
    watch.step(50, 20)  # a first timestamp: progress
    for _ in range(9):
        watch.step(50, 20)  # nothing new
    with pytest.raises(Stalled, match=r"^f\.ts: decoding: no progress for 10 packets"):
        watch.step(50, 20)
    watch.restart()
    watch.step(0, 0)
    now[0] = 100.0
    watch.step(0, 0)  # idle from t=100
    now[0] = 106.0
    with pytest.raises(Stalled, match="no progress for 6 s"):
        watch.step(0, 0)


class _Looping:
    """A container whose demuxer goes round the first packets of the file for ever."""

    def __init__(self, container, packets: int):
        self._container = container
        self._packets = packets

    def demux(self, *streams):
        first = [p for _, p in zip(range(self._packets), self._container.demux(*streams))]
        while True:
            yield from first

    def __getattr__(self, name):
        return getattr(self._container, name)


def test_a_demuxer_going_round_in_circles_is_stopped(clip):
    path = clip("scenes.mkv")
    info = probe(path)
    reader = PyAVReader(path, info, info.video, watchdog=Watchdog(f"{path}: decoding", packets=500))
    reader.container = _Looping(reader.container, 12)
    start = time.monotonic()
    with pytest.raises(Stalled, match="no progress for 500 packets"):
        list(reader.answers(plan_samples(info, frames=4)))
    assert time.monotonic() - start < 60
    reader.close()


# -- clock jumps -----------------------------------------------------------------------------------------------

TB = 1 / 90000


def test_find_discontinuities_backwards_with_reordered_frames():
    # part A: dts 0..5 frames (3600 ticks each), pts reordered by B-frames; part B: the clock restarts lower
    dts = [0, 3600, 7200, 10800, 14400, 18000, 1000, 4600, 8200]
    pts = [7200, 21600, 14400, 10800, 28800, 36000, 8200, 22600, 15400]
    pos = [0, 188, 376, 564, 752, 940, 5000, 5188, 5376]
    (d,) = find_discontinuities(pos, dts, pts, TB, start=7200 * TB)
    # B's first frame (raw 8200) comes one frame (3600) after A's last (36000): shift 31400 ticks
    assert d.pos == 5000 and d.at == pytest.approx((36000 + 3600 - 7200) * TB)
    assert d.jump == pytest.approx((8200 - 36000 - 3600) * TB) and d.raw_end == pytest.approx(22600 * TB)
    tmap = TimeMap((d,), 7200 * TB, 6000, 1.0)
    assert tmap.to_file(36000 * TB, 940) == pytest.approx((36000 - 7200) * TB)  # A stays where it was
    assert tmap.to_file(8200 * TB, 5000) == pytest.approx(d.at)
    # audio muxed across the boundary: raw time, not byte offset alone, says which part it belongs to
    assert tmap.part(4900, 8000 * TB) == 1 and tmap.part(5100, 35000 * TB) == 0
    assert tmap.seek_pos(0.0) == 0 and tmap.seek_pos(d.at + 0.1) < 5000  # lands early, never late
    keyed = TimeMap((d,), 7200 * TB, 6000, 1.0, keyframes=[0.0, 0.2, d.at], keyframe_pos=[0, 564, 5000])
    assert keyed.seek_pos(d.at + 0.1, back=0.0) == 5000 and keyed.seek_pos(0.25, back=0.0) == 564
    assert keyed.seek_pos(d.at + 0.1, back=0.2) == 564  # the keyframe at or before 0.2 s earlier


def test_forward_jumps_under_the_threshold_are_gaps_not_splices():
    dts = [0, 3600, 7200, 7200 + 9 * 90000, 7200 + 9 * 90000 + 3600]
    assert find_discontinuities(range(5), dts, dts, TB, 0.0) == ()
    far = [0, 3600, 7200, 7200 + 11 * 90000, 7200 + 11 * 90000 + 3600]
    (d,) = find_discontinuities(range(5), far, far, TB, 0.0)
    assert d.at == pytest.approx(10800 * TB) and d.jump == pytest.approx(11 * 90000 * TB - 3600 * TB)


@pytest.mark.parametrize("kind", ["spliced-ts", "jump-ts", "repeat-ts"])
def test_spliced_capture_sound_and_pictures_share_one_timeline(clip, kind):
    """The second part's audio (a tone after silence) starts where its pictures do, however audio is read."""
    path = clip(kind)
    info = probe(path)
    (jump,) = info.discontinuities
    assert 3.9 < jump.at < 4.1 and info.duration == pytest.approx(8.03, abs=0.05)

    def onset(chunks) -> float:
        chunks = list(chunks)
        samples = np.concatenate([c.samples for c in chunks])
        rms = np.sqrt(np.mean(samples[: samples.size // 160 * 160].reshape(-1, 160) ** 2, axis=1))  # 10 ms windows
        return chunks[0].start + int(np.argmax(rms > 0.02)) * 0.01

    assert onset(iter_audio(path, info=info)) == pytest.approx(jump.at, abs=0.08)
    assert onset(iter_audio(path)) == pytest.approx(jump.at, abs=0.08)  # probes the file itself
    assert onset(iter_audio(path, start=2.5, info=info)) == pytest.approx(jump.at, abs=0.08)  # a byte seek
    tl = analyze(path, NO_MODELS)
    loud = tl.sound.times[np.argmax(tl.sound.db > -40)] - tl.sound.window / 2
    assert loud == pytest.approx(jump.at, abs=0.25)
    assert np.all(np.diff(tl.signals.times) > 0) and tl.signals.times[-1] <= info.duration
    # the two parts look different: a cut is found between the sampled frames around the splice
    assert any(a - 0.05 <= jump.at <= b + 0.05 for a, b in tl.signals.cuts()), tl.signals.cuts()


def test_the_analysis_records_damage_and_warns_once(spoiled, caplog):
    _, bad, _, _ = spoiled("garbage-mp4")
    vidq_log = logging.getLogger("vidq")
    separate = not vidq_log.propagate  # the CLI stops it propagating to the root logger
    if separate:
        vidq_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="vidq"):
            tl = analyze(bad, NO_MODELS, store=Store(bad.parent / "cache"))
            again = analyze(bad, NO_MODELS, store=Store(bad.parent / "cache"))
    finally:
        if separate:
            vidq_log.removeHandler(caplog.handler)
    assert tl.meta["damaged"] and tl.meta["partial"] is False
    assert "audio" in {d["stream"] for d in tl.meta["damaged"]}  # the sound pass decodes every audio packet
    assert again.meta["cached"] and again.meta["damaged"] == tl.meta["damaged"]
    warned = [r for r in caplog.records if "damaged" in r.getMessage()]
    assert len(warned) == 1  # once a process: `vidq report` runs several jobs on one timeline


def test_probe_cache_keeps_damage_and_jumps(clip, tmp_path):
    store = Store(tmp_path / "cache")
    for kind in ("garbage-ts", "spliced-ts"):
        first = probe(clip(kind), store=store)
        again = probe(clip(kind), store=store)
        assert again == first and (first.damaged or first.discontinuities)
    assert store.info().stages == {PROBE_STAGE: 2}


# -- summaries ---------------------------------------------------------------------------------------------

def test_merge_joins_nearby_spans_of_one_stream():
    spans = [Damage(5.0, 6.0, "video", "undecodable"), Damage(6.3, 7.0, "video", "missing packets"),
             Damage(5.5, 5.6, "audio", "undecodable"), Damage(9.0, 9.1, "video", "undecodable")]
    assert damage.merge(spans) == (Damage(5.0, 7.0, "video", "undecodable; missing packets"),
                                   Damage(5.5, 5.6, "audio", "undecodable"), Damage(9.0, 9.1, "video", "undecodable"))
    assert damage.covered(spans) == pytest.approx(1.8)


# -- growing files -------------------------------------------------------------------------------------------

WRITER = """
import sys, time
data = open(sys.argv[1], "rb").read()
step, pause = 188 * 4, float(sys.argv[3])
with open(sys.argv[2], "wb") as out:
    for at in range(0, len(data), step):
        out.write(data[at:at + step])
        out.flush()
        time.sleep(pause)
"""


@pytest.fixture
def recording(tmp_path):
    """``recording(seconds, pause)``: a TS file being written (188*4 bytes each ``pause``) while the test runs."""
    procs = []

    def start(seconds: float, pause: float) -> Path:
        source = make_video(tmp_path / "source.ts", duration=seconds, size=(160, 120), n_scenes=4, gop_seconds=1.0,
                            audio="tone", extra_args=["-f", "mpegts"])
        target = tmp_path / "recording.ts"
        procs.append(subprocess.Popen([sys.executable, "-c", WRITER, str(source), str(target), str(pause)]))
        deadline = time.monotonic() + 30
        while (not target.exists() or target.stat().st_size < source.stat().st_size // 4) and time.monotonic() < deadline:
            time.sleep(0.05)
        return target

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_growing_recording_is_read_up_to_where_it_has_got(recording, run_vidq, tmp_path):
    path = recording(30.0, 0.01)  # about 11 s of writing
    probed = run_vidq("probe", path, "--json", timeout=60)
    framed = run_vidq("frames", path, "--frames", "10", "-o", tmp_path / "out", "--json", timeout=60)
    for r in (probed, framed):
        assert r.exit_code == 0 and "Traceback" not in r.stderr, r.stderr
        assert sum("partial" in line for line in r.stderr.splitlines()) == 1, r.stderr
    info, frames = json.loads(probed.stdout), json.loads(framed.stdout)
    assert info["partial"] is True and 0 < info["duration"] < 30.0 and info["size_bytes"] < path.stat().st_size
    assert frames["partial"] is True and frames["damaged"] == []
    pts = [f["pts"] for f in frames["frames"]]
    assert pts == sorted(pts) and pts[-1] < 30.0


@pytest.mark.slow
def test_growing_recording_through_a_job(recording, run_vidq):
    path = recording(120.0, 0.01)  # about 45 s of writing
    r = run_vidq("ads", path, "--model", "lite", "--json", timeout=900)
    assert r.exit_code == 0 and "Traceback" not in r.stderr, r.stderr
    meta = json.loads(r.stdout)["meta"]
    assert meta["partial"] is True and 0 < meta["duration"] < 120.0
    assert sum("partial" in line for line in r.stderr.splitlines()) == 1, r.stderr


def test_behind_frontier_drops_only_the_writers_losses():
    spans = [Damage(3.0, 4.0, "video", "undecodable"), Damage(8.5, 9.0, "video", "undecodable"),
             Damage(7.0, 7.6, "audio", "missing packets; corrupt packets"), Damage(7.0, 7.4, "video", "corrupt packets"),
             Damage(8.0, 9.0, "file", "truncated: 10 of 20 bytes"), Damage(8.8, 9.5, "video", "undecodable; odd")]
    assert damage.behind_frontier(spans, 9.5) == (Damage(3.0, 4.0, "video", "undecodable"),
                                                  Damage(7.0, 7.4, "video", "corrupt packets"),
                                                  Damage(8.0, 9.0, "file", "truncated: 10 of 20 bytes"),
                                                  Damage(8.8, 9.5, "video", "undecodable; odd"))


def test_a_decode_that_met_the_writer_is_not_damage(tmp_path):
    """The probe saw the file still (the writer paused), the decode then reached the half-written
    packet at its end, and the file grew after: that packet is the frontier, not damage (a CI race)."""
    source = make_video(tmp_path / "source.ts", duration=16.0, size=(160, 120), n_scenes=2, gop_seconds=1.0,
                        audio="tone", extra_args=["-f", "mpegts"])
    data = source.read_bytes()
    target = tmp_path / "recording.ts"
    target.write_bytes(data[: len(data) // 2 + 100])  # mid-packet: where a writer stopped
    info = probe(target)
    assert info.partial is False and 4.0 < info.duration < 16.0
    early = Damage(0.5, 0.7, "video", "undecodable")  # the decoder refused a packet well inside: real damage
    tail = Damage(round(info.duration - 0.3, 3), round(info.duration + 0.04, 3), "video", "undecodable")
    same, spans = settle(info, target, [early, tail])
    assert same == info and spans == damage.merge([*info.damaged, early, tail])  # not grown: all of it is damage
    assert spans[-1].end >= tail.end  # (the probe finds the cut end's packets missing too)
    with target.open("ab") as out:
        out.write(data[len(data) // 2 + 100:])
    grown, spans = settle(info, target, [early, tail])
    assert grown.partial is True and spans == (early,)
