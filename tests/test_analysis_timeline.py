"""The Timeline: analysed once, stored whole, read by every job without decoding or ASR."""

from __future__ import annotations

import json
import os
import sys
import threading

import numpy as np
import pytest

from vidq.analysis import AnalysisOptions, analyze
from vidq.analysis.segments import label_segments
from vidq.analysis.timeline import timeline_from_json, timeline_to_json
from vidq.store import Store


@pytest.fixture()
def asr_runs(monkeypatch):
    """Count the times ASR runs over audio in this process."""
    from vidq.speech import engines

    runs = []
    real = engines.load_engine

    def counting(*args, **kwargs):
        engine = real(*args, **kwargs)
        inner = engine.transcribe

        def transcribe(audio, **kw):
            runs.append(audio.shape[0])
            return inner(audio, **kw)

        engine.transcribe = transcribe
        return engine

    monkeypatch.setattr(engines, "load_engine", counting)
    return runs


def test_no_cache_summarize_runs_asr_once(cli, sample_video, asr_runs):
    video, _ = sample_video
    r = cli("--no-cache", "summarize", video, "--json")
    assert r.exit_code == 0, r.stderr
    assert len(asr_runs) == 1  # one audio window of 66 s, transcribed once for chapters, ads and cuts
    assert json.loads(r.stdout)["meta"]["analysis"]["cached"] is False


def test_every_job_reads_the_stored_timeline_without_decoding(cli, sample_video, tmp_path, asr_runs, monkeypatch):
    video, _ = sample_video
    cache = tmp_path / "cache"
    assert cli("--cache-dir", cache, "summarize", video).exit_code == 0
    assert len(asr_runs) == 1

    def forbidden(*args, **kwargs):
        raise AssertionError("a job decoded the video or its audio again")

    import vidq.analysis.picture as picture
    import vidq.media.audio as audio

    monkeypatch.setattr(picture, "decode", forbidden)
    monkeypatch.setattr(audio, "iter_audio", forbidden)
    for args in (["summarize", video, "--json"], ["ads", video, "--json"], ["find", "waggle dance", video, "--json"],
                 ["ask", video, "What do bees do?", "--json"]):
        r = cli("--cache-dir", cache, *args)
        assert r.exit_code == 0, (args, r.stderr)
        assert json.loads(r.stdout)["meta"].get("analysis", {}).get("cached", True) is True
    assert len(asr_runs) == 1


def test_timeline_round_trip_and_clip(sample_video, tmp_path):
    video, _ = sample_video
    store = Store(tmp_path / "cache")
    tl = analyze(video, AnalysisOptions(), store=store)
    doc, arrays = timeline_to_json(tl)
    back = timeline_from_json(json.loads(json.dumps(doc)), arrays)
    assert back.transcript == tl.transcript and back.screen == tl.screen
    assert [u.text for u in back.units] == [u.text for u in tl.units]
    np.testing.assert_array_equal(back.vectors, tl.vectors)
    np.testing.assert_array_equal(back.signals.hashes, tl.signals.hashes)
    assert back.segments.blocks == tl.segments.blocks and back.thumbs == tl.thumbs
    # the sound: level and voice cepstra per 0.2 s window, one row each, kept through the round trip
    assert tl.sound.cepstra.shape == (len(tl.sound), 12) and np.isfinite(tl.sound.cepstra).all()
    np.testing.assert_array_equal(back.sound.cepstra, tl.sound.cepstra)
    assert tl.thumbs and all(b[:2] == b"\xff\xd8" for _, b in tl.thumbs)  # JPEG stills every few seconds
    assert tl.signals.times.size == round(tl.info.duration * 2)  # 2 frames a second
    part = tl.clip(20.0, 40.0)
    assert part.span == (20.0, 40.0)
    assert all(20.0 <= t <= 40.0 for t in part.signals.times)
    assert all(20.0 <= u.mid <= 40.0 for u in part.units if u.source == "speech")
    assert part.vectors.shape == (len(part.units), tl.vectors.shape[1])
    assert part.sound.cepstra.shape == (len(part.sound), 12)
    said, rows = tl.sentences()  # the spoken sentences and their vectors, as the segment labelling reads them
    assert said and all(u.source == "speech" and u.kind == "sentence" for u in said)
    np.testing.assert_array_equal(rows, tl.vectors[tl.rows(source="speech", kind="sentence")])
    screen = [u for u in tl.units if u.source == "screen"]
    again_labelled = label_segments(tl.signals, tl.sound, tl.transcript, screen, tl.span, sentences=tl.sentences())
    assert again_labelled.sponsors == tl.segments.sponsors and again_labelled.breaks == tl.segments.breaks
    # a span is cut from the stored whole-file timeline: nothing is analysed again
    again = analyze(video, AnalysisOptions(start=20.0, end=40.0), store=store)
    assert again.meta.get("cached") is True and again.span == (20.0, 40.0)


def test_damaged_timeline_entry_is_rebuilt(sample_video, tmp_path):
    from vidq.analysis.timeline import TIMELINE_STAGE

    video, _ = sample_video
    store = Store(tmp_path / "cache")
    tl = analyze(video, AnalysisOptions(), store=store)
    key = store.file_key(video)
    path = store.entry_path(key, TIMELINE_STAGE, AnalysisOptions().key(tl.span), "json")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a truncated entry
    again = analyze(video, AnalysisOptions(), store=store)
    assert not again.meta.get("cached") and again.transcript == tl.transcript


@pytest.mark.skipif(sys.platform != "linux",
                    reason="threads have their own niceness on Linux only")
def test_the_picture_thread_yields_the_cpu_and_the_caller_does_not():
    """The picture pass runs beside ASR at a lower priority; the thread that starts it keeps its own."""
    from vidq.analysis.build import PICTURE_NICE, _yield_to_speech

    seen = {}

    def picture_thread():
        _yield_to_speech()
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=picture_thread)
    worker.start()
    worker.join()
    assert seen["thread"] == max(before, PICTURE_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_the_picture_pass_cache_holds_whatever_threads_ocr_ran_on(sample_video, tmp_path):
    """The OCR thread count reads the same lines: a pass filled on one core is found on another."""
    from vidq.analysis.picture import PictureOptions, picture_pass
    from vidq.media import probe
    from vidq.models.lite.ocr import OcrEngine, OcrOptions

    video, _ = sample_video
    store = Store(tmp_path / "cache")
    info = probe(video)
    key = store.key_for(video)
    span = (0.0, info.duration)
    one = picture_pass(video, info, span, PictureOptions(), store=store, file_key=key,
                       engine=OcrEngine(OcrOptions(threads=1)))
    two = picture_pass(video, info, span, PictureOptions(), store=store, file_key=key,
                       engine=OcrEngine(OcrOptions(threads=2)))
    assert one.meta["chunks_cached"] == 0 and two.meta["chunks_cached"] == two.meta["chunks"] >= 1
    assert two.screen == one.screen
    other = picture_pass(video, info, span, PictureOptions(), store=store, file_key=key,
                         engine=OcrEngine(OcrOptions(threads=1, partial_max=0.0)))
    assert other.meta["chunks_cached"] == 0  # what decides the lines read is part of the key
