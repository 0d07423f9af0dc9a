"""The speech layer: what is said in a video, when, and which sampled frame it belongs to.

``get_transcript`` prefers text that already exists (a sidecar ``.srt``/``.vtt`` or an
embedded subtitle stream), else runs ASR (faster-whisper by default, openai-whisper as a
second engine) over the audio in streamed windows, and caches the result by the file's
content hash.  ``align_to_frames`` gives each sampled frame the words spoken since the
previous one (MiniGPT4-Video's per-frame subtitles).  Models: tiny.en (embedded, English),
base (``vidq[speech-plus]``, 99 languages, ``vidq.speech.packs``), or any Whisper name or
path (``vidq.speech.models``); an English-only model first checks that the speech is
English (``vidq.speech.language``).

This package knows nothing about vision models, tasks or the CLI: jobs call
``get_transcript`` and ``align_to_frames`` and get plain data back.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidq.errors import InputError, MediaError
from vidq.media.types import VideoInfo
from vidq.progress import ProgressFn
from vidq.speech.align import (
    DEFAULT_BIN_SECONDS,
    align_to_frames,
    bin_times,
    bin_words,
    clip_transcript,
    split_segment_words,
    words_of,
)
from vidq.speech.types import (
    Segment,
    Transcript,
    Word,
    transcript_from_dict,
    transcript_to_dict,
)
from vidq.store import Store

if TYPE_CHECKING:
    from vidq.speech.sources import StreamsSeen

log = logging.getLogger("vidq.speech")

TRANSCRIPT_STAGE = "transcript/2"  # cache stage name; bump the version when the stored form changes
SUBTITLE_MODES = ("auto", "asr", "none")  # --subtitles values that are not a path

__all__ = [
    "DEFAULT_BIN_SECONDS", "SUBTITLE_MODES", "Segment", "SpeechOptions", "Transcript", "Word",
    "align_to_frames", "bin_times", "bin_words", "clip_transcript", "get_transcript",
    "split_segment_words", "words_of",
]


@dataclass(frozen=True)
class SpeechOptions:
    """Where the text of a video comes from and how ASR runs."""

    subtitles: str = "auto"  # auto: sidecar, then embedded stream, then ASR | asr | none | a .srt/.vtt path
    engine: str = "faster-whisper"  # ASR engine: faster-whisper or openai-whisper
    model: str = "tiny.en"  # model name (tiny.en, base, small, large-v3, ...) or a local path
    language: str | None = None  # ISO 639-1 code; None or "auto": detect (English-only models: "en", after a check)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    offline: bool = False  # never touch the network: local and embedded models only
    beam_size: int = 5  # beam search width
    vad: bool = True  # voice activity detection before decoding (faster-whisper)
    word_timestamps: bool = True  # per-word times (otherwise words are spread over their segment)
    batch_size: int = 8  # faster-whisper batched decoding of VAD chunks (1: sequential)
    compute_type: str | None = None  # CTranslate2 type; None: int8 on CPU, float16 on CUDA
    threads: int = 0  # CPU threads for the engine; 0: all cores this process may use
    window_seconds: float = 600.0  # audio per engine call; memory is bounded by this, not the file
    require_audio: bool = False  # True: a file with no audio (and no text) raises MediaError instead of an empty transcript


def _check_span(start: float | None, end: float | None) -> None:
    for name, value in (("start", start), ("end", end)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise InputError(f"--{name} must be a finite, non-negative time, got {value}")
    if start is not None and end is not None and end <= start:
        raise InputError(f"--end ({end:g} s) must be after --start ({start:g} s)")


def _empty(source: str = "none") -> Transcript:
    return Transcript(segments=(), language=None, source=source)


def get_transcript(
    path: str | os.PathLike,
    *,
    options: SpeechOptions,
    info: VideoInfo | None = None,
    store: Store | None = None,
    start: float | None = None,
    end: float | None = None,
    progress: ProgressFn | None = None,
    audio_tap: Callable[[Any], None] | None = None,
) -> Transcript:
    """The transcript of ``path`` (or of ``[start, end]`` seconds of it).

    ``audio_tap``, when ASR runs, sees every decoded 16 kHz mono ``AudioChunk`` as it is
    transcribed, so a caller can measure the sound in the same audio pass (it is not called
    when the transcript comes from the cache or from subtitles).

    Sources, by ``options.subtitles``: ``none`` -> empty; a path -> that file; ``auto`` ->
    a sidecar file, else an embedded text subtitle stream, else ASR; ``asr`` -> ASR.  A
    file with no audio stream (and no text) gives an empty transcript with
    ``source="none"`` and one notice on the ``vidq.speech`` logger, or raises
    :class:`MediaError` when ``options.require_audio``.  Times are on the file timeline;
    a clip keeps the words whose midpoint lies in ``[start, end]``.

    The language: ``options.language`` (``"auto"`` or None: detected by a multilingual
    model; an English-only model first checks the speech is English, see
    ``vidq.speech.language``) ends up in ``Transcript.language``.

    Raises
    ------
    InputError / MediaError : missing or corrupt file, bad subtitle file, bad span, model
        not available offline, unknown language, non-English speech for an English-only
        model (``NotEnglish``) (exit 2).
    ModelError / MissingDependency : the engine cannot load (exit 3).
    """
    from vidq.speech.language import normalize_language

    _check_span(start, end)
    options = replace(options, language=normalize_language(options.language))
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p}: no such file")
    if not p.is_file():
        raise MediaError(f"{p}: is not a file")
    mode = options.subtitles
    if mode == "none":
        return _empty()
    if mode not in SUBTITLE_MODES:
        from vidq.speech.sources import read_subtitle_file

        given = Path(mode).expanduser()
        cues = read_subtitle_file(given)
        return clip_transcript(Transcript(tuple(cues), options.language, f"file:{given.resolve()}"), start, end)

    from vidq.speech import sources

    if mode == "auto":
        sidecar = sources.find_sidecar(p, options.language)
        if sidecar is not None:
            log.debug("using sidecar subtitles %s", sidecar)
            cues = sources.read_subtitle_file(sidecar)
            lang = options.language or sources.sidecar_language(p, sidecar)
            return clip_transcript(Transcript(tuple(cues), lang, f"sidecar:{sidecar.resolve()}"), start, end)
    seen = sources.list_streams(p, info)
    if mode == "auto":
        index = sources.pick_subtitle_stream(seen, options.language)
        if index is not None:
            return clip_transcript(_embedded(p, index, seen, options, store), start, end)
    if not seen.audio:
        if options.require_audio:
            hint = " (it has subtitle streams: use --subtitles auto)" if mode == "asr" and seen.subtitles else ""
            raise MediaError(f"{p}: has no audio stream and no text subtitles: nothing to transcribe{hint}")
        log.info("%s has no audio stream: no speech text (empty transcript)", p.name)
        return _empty()
    return _asr(p, seen, options, store, start, end, progress, audio_tap, info)


def _embedded(p: Path, index: int, seen: StreamsSeen, options: SpeechOptions, store: Store | None) -> Transcript:
    from vidq.speech.sources import read_subtitle_stream

    lang = next((lang for i, _, lang in seen.subtitles if i == index), None) or options.language

    def read() -> Transcript:
        log.debug("using embedded subtitle stream %d of %s", index, p.name)
        return Transcript(tuple(read_subtitle_stream(p, index)), lang, f"stream:{index}")

    key = store.key_for(p) if store is not None else None
    return _memo_transcript(store, key, {"source": "stream", "index": index}, read)


def _memo_transcript(store: Store | None, key: str | None, params: dict[str, Any],
                     compute: Callable[[], Transcript]) -> Transcript:
    """``compute()`` through the cache (once across concurrent processes), or directly."""
    if store is None:
        return compute()
    return store.memo(key, TRANSCRIPT_STAGE, params, compute, dump=transcript_to_dict, load=transcript_from_dict)


def _tapped(chunks, tap: Callable[[Any], None]):
    for chunk in chunks:
        tap(chunk)
        yield chunk


def asr_params(options: SpeechOptions, identity: str, start: float | None, end: float | None) -> dict[str, Any]:
    """The cache parameters of an ASR transcript: everything that changes its text or times."""
    return {
        "engine": options.engine, "model": identity, "language": options.language,
        "beam_size": options.beam_size, "vad": options.vad, "word_timestamps": options.word_timestamps,
        "batch_size": options.batch_size, "compute_type": options.compute_type or "auto",
        "window_seconds": options.window_seconds, "start": start, "end": end,
    }


def _asr(p: Path, seen: StreamsSeen, options: SpeechOptions, store: Store | None, start: float | None,
         end: float | None, progress: ProgressFn | None, audio_tap: Callable[[Any], None] | None = None,
         info: VideoInfo | None = None) -> Transcript:
    from vidq.speech.models import resolve_model

    resolved = resolve_model(options.engine, options.model, offline=options.offline)
    key = store.key_for(p) if store is not None else None
    params = asr_params(options, resolved.identity, start, end)
    if store is not None:
        hit = store.recall(key, TRANSCRIPT_STAGE, params, load=transcript_from_dict)
        if hit is not None:
            return hit
        if start is not None or end is not None:  # a clip of a file transcribed whole before
            whole = store.recall(key, TRANSCRIPT_STAGE, asr_params(options, resolved.identity, None, None),
                                 load=transcript_from_dict)
            if whole is not None:
                return clip_transcript(whole, start, end)

    def run() -> Transcript:
        from vidq.media.audio import iter_audio
        from vidq.speech.asr import transcribe_chunks
        from vidq.speech.engines import SAMPLE_RATE, EngineConfig, load_engine

        engine = load_engine(resolved, EngineConfig(
            device=options.device, compute_type=options.compute_type, beam_size=options.beam_size,
            vad=options.vad, word_timestamps=options.word_timestamps, batch_size=options.batch_size,
            threads=options.threads,
        ))
        check = None
        if options.language is None and not engine.multilingual:
            from vidq.speech.language import EnglishCheck

            check = EnglishCheck(p.name, resolved.label, device=options.device, threads=options.threads)
        chunks = iter_audio(p, sample_rate=SAMPLE_RATE, start=start, end=end, stream_index=seen.audio[0], info=info)
        if audio_tap is not None:
            chunks = _tapped(chunks, audio_tap)
        span_end = end if end is not None else seen.duration
        segments, language = transcribe_chunks(chunks, engine, language=options.language,
                                               window_seconds=options.window_seconds,
                                               span=(start or 0.0, span_end), progress=progress,
                                               check_first=check.before if check is not None else None)
        if check is not None:
            check.after(segments)
        return clip_transcript(Transcript(tuple(segments), language, f"asr:{options.engine}:{resolved.label}"),
                               start, end)

    return _memo_transcript(store, key, params, run)
