"""ASR engines behind one small interface: audio array in, timed segments out.

* ``faster-whisper`` (CTranslate2; the default): int8 on CPU, float16 on CUDA, Silero VAD,
  and ``BatchedInferencePipeline`` (VAD chunks of up to 30 s decoded in batches) when VAD
  is on; sequential decoding otherwise.  The batched pipeline now and then returns nothing
  for a whole chunk of clear speech (:func:`unworded_spans`); such spans are decoded again
  on their own, so no speech the VAD heard is silently lost.
* ``openai-whisper`` (PyTorch; the original design's engine): no VAD, fp16 on CUDA only.

An engine sees one window of audio at a time and returns times relative to its first
sample; the caller (``vidq.speech.asr``) adds the window's offset.  Loaded models are
kept per process, so a second window (or a second file) does not reload them.

This module knows nothing about files, containers, subtitles, caching, tasks or the CLI.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidq.errors import InputError, MissingDependency, ModelError
from vidq.speech.models import ResolvedModel, whisper_cache_dir
from vidq.speech.types import Segment, Word

log = logging.getLogger("vidq.speech")

SAMPLE_RATE = 16000  # Hz; every Whisper model takes 16 kHz mono
# Whisper's word times come from cross-attention and miss onsets by up to ~0.5 s either way;
# the first word of a VAD chunk even lands on the chunk's padded start (Silero pads speech by
# 400 ms).  Measured on 80 espeak-ng sentences (5 voices, 130-170 wpm, two random layouts;
# `benchmarks/asr.py offsets`): first words -0.41..+0.42 s from where speech began (the
# first sentence of each file -0.35..-0.41 s).  So the first word of each unpadded VAD speech
# region is moved to the region's onset when the two are at most ONSET_SNAP apart: then
# -0.014..+0.086 s, same WER.
VAD_MIN_SILENCE_MS = 160  # ms of silence that separate speech regions (faster-whisper's batched default)
ONSET_SNAP = 0.6  # seconds; a larger disagreement between VAD and the word time is left alone
DETECT_SECONDS = 30.0  # seconds of audio, from the first speech, that the language is detected on (one Whisper window)
ONSET_LEAD = 0.3  # seconds of audio kept before the first speech for language detection
# Speech the batched pipeline leaves without words.  On the generated families (tiny.en,
# espeak-ng voices over music beds) it dropped whole VAD chunks in 12 of 40 files: 41.6 of
# 2562 s of speech on tuning, 43.2 of 1384 s held out, 70.9 of 1656 s on the fresh family;
# ads, programme and sponsor reads alike.  Each such span decoded again sequentially gave
# its words back.
GAP_MIN_SPEECH = 0.5  # seconds: a shorter VAD region without words is not worth a decode
GAP_JOIN = 2.0  # seconds: unworded regions closer than this are decoded together
GAP_PAD = 0.2  # seconds of audio kept either side of an unworded span


@dataclass(frozen=True)
class EngineConfig:
    """How an engine decodes (the model itself is a ResolvedModel)."""

    device: str = "auto"  # auto | cpu | cuda | cuda:N (mps runs on the CPU for both engines)
    compute_type: str | None = None  # CTranslate2 type; None: int8 on CPU, float16 on CUDA
    beam_size: int = 5  # beam search width (1: greedy)
    vad: bool = True  # Silero VAD before decoding (faster-whisper only)
    word_timestamps: bool = True  # per-word times from cross-attention alignment
    batch_size: int = 8  # faster-whisper: VAD chunks decoded together (1: sequential)
    threads: int = 0  # CPU threads; 0: the cores this process may use
    snap_onsets: bool = True  # faster-whisper with VAD: first word of each speech region starts at its onset


class Engine(Protocol):
    """What every engine offers."""

    name: str  # "faster-whisper" or "openai-whisper"
    multilingual: bool  # False for English-only models (tiny.en, base.en, ...)

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> tuple[list[Segment], str | None]:
        """Transcribe ``audio`` (shape (n,), float32, 16 kHz mono); times relative to ``audio[0]``.

        Returns the segments in order and the language spoken (ISO 639-1), if known.
        """


def cpu_threads(requested: int = 0) -> int:
    """``requested`` if positive, else the number of CPU cores this process may run on."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def check_language(model: str, multilingual: bool, language: str | None) -> None:
    """An English-only model cannot transcribe another language: say so instead of guessing."""
    if not multilingual and language not in (None, "en"):
        from vidq.speech.models import multilingual_hint

        raise InputError(f"model {model} is English-only; for --language {language} {multilingual_hint()}")


def snap_to_onsets(segments: list[Segment], regions: list[tuple[float, float]],
                   max_shift: float = ONSET_SNAP) -> list[Segment]:
    """Move the first word of each speech region to the region's onset.

    ``regions`` are (start, end) seconds of unpadded VAD speech, in order.  The first word
    whose midpoint lies in ``[start - max_shift, end]`` gets ``start`` as its start time when
    it is within ``max_shift`` of it, still before the word's end, and not before the
    previous word's start (words keep their order).  Segments start at their first word.
    """
    words = [w for s in segments for w in s.words]
    if not words or not regions:
        return segments
    new_start: dict[int, float] = {}
    k = 0
    for r0, r1 in regions:
        while k < len(words) and words[k].mid < r0 - max_shift:
            k += 1
        if k == len(words):
            break
        w = words[k]
        floor = words[k - 1].start if k else -math.inf
        if w.mid <= r1 and abs(w.start - r0) <= max_shift and floor <= r0 < w.end:
            new_start[id(w)] = r0
    if not new_start:
        return segments
    out = []
    for s in segments:
        moved = tuple(Word(new_start.get(id(w), w.start), w.end, w.text, w.probability) for w in s.words)
        out.append(Segment(moved[0].start if moved else s.start, s.end, s.text, moved))
    return out


def first_speech(audio: np.ndarray, step: float = 60.0) -> float | None:
    """Seconds to the first VAD speech in ``audio`` (16 kHz), looking ``step`` seconds at a time; None if none."""
    n = int(step * SAMPLE_RATE)
    for lo in range(0, audio.size, n):
        regions = speech_regions(audio[lo: lo + n])
        if regions:
            return lo / SAMPLE_RATE + regions[0][0]
    return None


def speech_regions(audio: np.ndarray) -> list[tuple[float, float]]:
    """Unpadded Silero VAD speech regions of ``audio`` (16 kHz), in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=VAD_MIN_SILENCE_MS, speech_pad_ms=0))
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in found]


def unworded_spans(regions: list[tuple[float, float]], segments: list[Segment]) -> list[tuple[float, float]]:
    """VAD speech ``regions`` (seconds) that no decoded word (or, without word times, no
    segment) touches, joined when less than ``GAP_JOIN`` s apart with nothing worded
    between them, and kept when at least ``GAP_MIN_SPEECH`` s long.

    >>> seg = Segment(1.0, 2.0, "hi", (Word(1.0, 2.0, "hi", 0.9),))
    >>> unworded_spans([(0.9, 2.1), (3.0, 4.0), (5.0, 6.0), (6.5, 6.8), (9.0, 9.2)], [seg])
    [(3.0, 6.8)]
    """
    said = said_spans(segments)
    out: list[tuple[float, float]] = []
    joinable = False  # the last span may grow: no worded region came after it
    for r0, r1 in regions:
        if any(a < r1 and r0 < b for a, b in said):
            joinable = False
        elif joinable and r0 - out[-1][1] < GAP_JOIN:
            out[-1] = (out[-1][0], r1)
        else:
            out.append((r0, r1))
            joinable = True
    return [(a, b) for a, b in out if b - a >= GAP_MIN_SPEECH]


def said_spans(segments: list[Segment]) -> list[tuple[float, float]]:
    """``(start, end)`` of every decoded word (of a segment without word times: of the segment), by start."""
    return sorted([(w.start, w.end) for s in segments for w in s.words]
                  + [(s.start, s.end) for s in segments if not s.words])


def _words(raw_words) -> tuple[Word, ...]:
    out = []
    for w in raw_words or ():
        text = w.word.strip()
        if not text:
            continue
        start = float(w.start)
        out.append(Word(start, max(start, float(w.end)), text, None if w.probability is None else float(w.probability)))
    return tuple(out)


# -- faster-whisper ---------------------------------------------------------------------------
def _ct2_device(device: str) -> tuple[str, int]:
    import ctranslate2

    d = device.lower()
    if d.startswith("cuda"):
        if ctranslate2.get_cuda_device_count() == 0:
            raise ModelError(f"--device {device}: CTranslate2 sees no CUDA device")
        return "cuda", int(d[5:]) if d.startswith("cuda:") else 0
    if d == "auto":
        return ("cuda", 0) if ctranslate2.get_cuda_device_count() > 0 else ("cpu", 0)
    if d == "mps":
        log.info("faster-whisper has no MPS backend; running speech recognition on the CPU")
    return "cpu", 0


@functools.lru_cache(maxsize=2)
def _load_ct2(location: str, device: str, index: int, compute_type: str, threads: int, download: bool):
    from faster_whisper import WhisperModel

    if download:
        log.info("downloading faster-whisper model %s into the Hugging Face cache", location)
    try:
        return WhisperModel(location, device=device, device_index=index, compute_type=compute_type,
                            cpu_threads=threads if device == "cpu" else 0)
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelError(f"cannot load faster-whisper model {location}: {e}") from e


class FasterWhisperEngine:
    """faster-whisper (CTranslate2)."""

    name = "faster-whisper"

    def __init__(self, model: ResolvedModel, config: EngineConfig):
        if importlib.util.find_spec("faster_whisper") is None:
            raise MissingDependency("faster-whisper", "whisper", "speech recognition")
        self.config = config
        device, index = _ct2_device(config.device)
        self.device = device
        self.compute_type = config.compute_type or ("float16" if device == "cuda" else "int8")
        self.model = _load_ct2(model.location, device, index, self.compute_type, cpu_threads(config.threads),
                               model.origin == "download")
        self.label = model.label
        self.multilingual = bool(self.model.model.is_multilingual)

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> tuple[list[Segment], str | None]:
        check_language(self.label, self.multilingual, language)
        if audio.size == 0:
            return [], language
        try:
            raw, language = self._decode(audio, language)
            segments = []
            for s in raw:  # a generator: decoding happens here
                text = s.text.strip()
                if not text:
                    continue
                start = float(s.start)
                segments.append(Segment(start, max(start, float(s.end)), text, _words(s.words)))
            regions = speech_regions(audio) if self.config.vad else []
            if self.config.vad and self.config.batch_size > 1:
                segments = self.fill_gaps(audio, segments, regions, language)
        except (RuntimeError, ValueError) as e:  # CTranslate2 reports failures (CUDA, memory) as RuntimeError
            raise ModelError(f"faster-whisper failed: {e}") from e
        if segments and self.config.vad and self.config.word_timestamps and self.config.snap_onsets:
            segments = snap_to_onsets(segments, regions)
        return segments, language

    def fill_gaps(self, audio: np.ndarray, segments: list[Segment], regions: list[tuple[float, float]],
                  language: str | None) -> list[Segment]:
        """``segments`` with the speech they miss (:func:`unworded_spans` of the VAD ``regions``)
        decoded again, one span at a time, sequentially, and merged in by start."""
        gaps = unworded_spans(regions, segments)
        if not gaps:
            return segments
        c = self.config
        said = said_spans(segments)
        found: list[Segment] = []
        for s, e in gaps:  # padded, but never into a word already decoded
            lo = max([0.0, s - GAP_PAD] + [b for a, b in said if b <= s])
            hi = min([audio.size / SAMPLE_RATE, e + GAP_PAD] + [a for a, b in said if a >= e])
            lo, hi = int(lo * SAMPLE_RATE), int(hi * SAMPLE_RATE)
            raw, _ = self.model.transcribe(audio[lo:hi], language=language, beam_size=c.beam_size,
                                           word_timestamps=c.word_timestamps, vad_filter=False,
                                           condition_on_previous_text=False)
            offset = lo / SAMPLE_RATE
            for r in raw:
                text = r.text.strip()
                if text:
                    words = tuple(Word(w.start + offset, w.end + offset, w.text, w.probability)
                                  for w in _words(r.words))
                    found.append(Segment(float(r.start) + offset, float(r.end) + offset, text, words))
        log.info("speech recognition: %.1f s of speech in %d span(s) came back without words; decoded again",
                 sum(e - s for s, e in gaps), len(gaps))
        return sorted(segments + found, key=lambda x: x.start)

    def _decode(self, audio: np.ndarray, language: str | None):
        """Start decoding: (lazy segment generator, language)."""
        c = self.config
        if language is None and self.multilingual:  # vidq's detection (see detect_language), not the pipeline's
            probs = self.detect_language(audio)
            if probs:
                language = max(probs, key=probs.__getitem__)
        if c.vad and c.batch_size > 1:
            from faster_whisper import BatchedInferencePipeline

            pipeline = BatchedInferencePipeline(self.model)
            raw, info = pipeline.transcribe(audio, language=language, beam_size=c.beam_size,
                                            word_timestamps=c.word_timestamps, batch_size=c.batch_size,
                                            vad_filter=True)
        else:
            raw, info = self.model.transcribe(audio, language=language, beam_size=c.beam_size,
                                              word_timestamps=c.word_timestamps, vad_filter=c.vad)
        return raw, info.language

    def detect_language(self, audio: np.ndarray, *, seconds: float = DETECT_SECONDS) -> dict[str, float] | None:
        """Probability of each language (ISO 639-1 -> 0..1) over ``seconds`` of ``audio`` (shape (n,), 16 kHz)
        from just before its first speech (Silero VAD); None when it has no speech or the model is English-only.

        The audio is taken as it is, pauses included: Whisper heard VAD-joined speech as Latin
        more often (espeak-ng Caribbean English: English 0.14-0.42 joined, 0.59-0.67 as is).
        """
        if not self.multilingual or audio.size == 0:
            return None
        onset = first_speech(audio)
        if onset is None:
            return None
        lo = max(0, int((onset - ONSET_LEAD) * SAMPLE_RATE))
        try:
            _, _, probs = self.model.detect_language(audio[lo: lo + int(seconds * SAMPLE_RATE)])
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"faster-whisper language detection failed: {e}") from e
        return {lang: float(p) for lang, p in probs}


# -- openai-whisper -----------------------------------------------------------------------------
def _torch_device(device: str) -> str:
    import torch

    d = device.lower()
    if d.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError(f"--device {device}: torch sees no CUDA device")
        return d
    if d == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if d == "mps":
        log.info("openai-whisper does not run on MPS reliably; running speech recognition on the CPU")
    return "cpu"


@functools.lru_cache(maxsize=2)
def _load_pt(location: str, name: str, device: str, origin: str):
    import whisper

    if origin == "download":
        log.info("downloading openai-whisper model %s into %s", name, whisper_cache_dir())
        target = name
    else:
        target = location
    try:
        model = whisper.load_model(target, device=device, download_root=str(whisper_cache_dir()))
    except (RuntimeError, KeyError, ValueError, OSError, TypeError) as e:
        raise ModelError(f"cannot load openai-whisper model {location}: {e}") from e
    heads = getattr(whisper, "_ALIGNMENT_HEADS", {}).get(name)
    if heads is not None and origin != "download":
        model.set_alignment_heads(heads)  # a cached official checkpoint keeps its tuned alignment heads
    return model


class OpenAIWhisperEngine:
    """openai-whisper (PyTorch)."""

    name = "openai-whisper"

    def __init__(self, model: ResolvedModel, config: EngineConfig):
        if importlib.util.find_spec("whisper") is None:
            raise MissingDependency("openai-whisper", "whisper", "the openai-whisper engine")
        self.config = config
        self.device = _torch_device(config.device)
        if self.device == "cpu":
            import torch

            torch.set_num_threads(cpu_threads(config.threads))
        self.model = _load_pt(model.location, model.name, self.device, model.origin)
        self.label = model.label
        self.multilingual = bool(self.model.is_multilingual)

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> tuple[list[Segment], str | None]:
        check_language(self.label, self.multilingual, language)
        if audio.size == 0:
            return [], language
        c = self.config
        if not self.multilingual:
            language = "en"
        try:
            result = self.model.transcribe(audio, language=language, beam_size=c.beam_size if c.beam_size > 1 else None,
                                           word_timestamps=c.word_timestamps, fp16=self.device.startswith("cuda"),
                                           verbose=None)
        except (RuntimeError, ValueError) as e:  # e.g. NaN logits from broken weights, CUDA out of memory
            raise ModelError(f"openai-whisper failed: {e}") from e
        segments = []
        for s in result.get("segments", ()):
            text = str(s["text"]).strip()
            if not text:
                continue
            words = tuple(
                Word(float(w["start"]), max(float(w["start"]), float(w["end"])), str(w["word"]).strip(),
                     float(w["probability"]) if w.get("probability") is not None else None)
                for w in s.get("words", ()) if str(w["word"]).strip()
            )
            start = float(s["start"])
            segments.append(Segment(start, max(start, float(s["end"])), text, words))
        return segments, result.get("language") or language


def load_engine(model: ResolvedModel, config: EngineConfig) -> Engine:
    """The engine for ``model.engine``, with its weights loaded."""
    if model.engine == "faster-whisper":
        return FasterWhisperEngine(model, config)
    return OpenAIWhisperEngine(model, config)
