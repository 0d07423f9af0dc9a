"""Speech recognition speed, memory and timing on this machine.

    python benchmarks/asr.py                 # everything (rtf, memory, offsets)
    python benchmarks/asr.py rtf             # real-time factors on one clip
    python benchmarks/asr.py memory --hours 1
    python benchmarks/asr.py offsets         # first-word timing error over many voices
    python benchmarks/asr.py tiers           # tiny.en vs base vs small: speed and WER, English and other languages
    python benchmarks/asr.py rtf --json out.json

* **rtf** — on the same 2-minute clip of espeak-ng speech (``--seconds``): faster-whisper tiny.en int8
  (the embedded model) batched (vidq's default) and sequential, against openai-whisper.
  No real openai-whisper checkpoint exists offline, so openai-whisper runs a *random*
  checkpoint with tiny.en's shapes (384 wide, 4+4 layers), decoding as many tokens per
  30 s window as faster-whisper produced (greedy fallback off, no timestamps): it compares
  **speed only**; its text is noise.  Model loading is timed separately.
* **memory** — peak resident memory (``VmHWM``) of a whole ``get_transcript`` run in a
  fresh process on a long file with sparse speech (one sentence every 30 s), for 10 min
  and ``--hours`` (default 1 h) of audio, and the resident memory after each ~10-minute
  window: streaming keeps it flat, so the peak is one window's, not the file's.  The files are made once
  and kept in ``~/.cache/vidq-bench`` (outside the repository).
* **offsets** — where tiny.en puts each sentence's first word against where it was
  placed, over 5 espeak-ng voices x 8 sentences x 2 layouts, with word times as decoded
  and snapped to VAD onsets (the default); the evidence for ``engines.ONSET_SNAP``.
* **tiers** — the speech models (tiny.en, base, small where installed) on the same clips,
  2 CPU threads each, int8, batched (vidq's defaults): speed (x real time on the 2-minute
  English clip, load timed apart, and the ratio to tiny.en in the same run) and WER on the
  English clips (that one plus the 10 ``offsets`` clips, 5 voices), and WER of the
  multilingual models on generated French, German and Spanish clips (12 sentences per
  espeak-ng voice and speed: fr-fr at 150 and 125 wpm, de at 150 and 125, es, es-419).
  Also what the English-only check sees: the language and probability base detects per
  clip, and whether tiny.en's own transcript would be flagged as a failed decode
  (``vidq.speech.language.failed_decode``).  Prints a Markdown table.

Timings depend on the machine's load: the script prints the load average first, ratios
are measured in the same run, and CPU time is reported beside wall time (seconds of audio
per CPU-second is a floor for the real-time factor on an idle machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(os.environ.get("VIDQ_BENCH_DIR", Path.home() / ".cache" / "vidq-bench"))
POOL = (
    "Apples grow best in cool climates.", "Bring the blue folder to the meeting.", "Cats sleep for most of the day.",
    "Dinner will be ready in ten minutes.", "Every student passed the final exam.",
    "Fresh bread smells wonderful in the morning.", "Good ideas often start as questions.",
    "Heavy rain flooded the old bridge.", "It is colder today than yesterday.", "Just follow the signs to the station.",
    "Keep your passport in a safe place.", "Large ships carry cargo across the ocean.",
    "Many people enjoy walking in the park.", "Nobody answered the phone last night.",
    "Our team won the championship again.", "Please turn off the lights when you leave.",
    "Quiet music helps me concentrate.", "Seven children played in the garden.", "The museum opens at nine on Sundays.",
    "Under the table we found a small key.", "Very few stores sell this kind of tea.",
    "We planted 40 trees along the river.", "You can borrow my umbrella if it rains.",
    "Zebras live on the African plains.",
)
VOICES = (("en-us", 150), ("en-gb", 170), ("en-us", 130), ("en-gb-x-rp", 160), ("en-029", 150))


def _uptime() -> str:
    with open("/proc/loadavg") as f:
        return "load average " + " ".join(f.read().split()[:3]) + f" on {os.cpu_count()} CPUs"


def _layout(rng: random.Random, seconds: float, wpm: int = 150, gap: tuple[float, float] = (1.5, 4.0)):
    """Sentences one after another with random pauses, until ``seconds``."""
    t, out, pool = 1.0 + rng.random(), [], []
    while True:
        if not pool:
            pool = rng.sample(POOL, len(POOL))  # every sentence once before any repeats
        text = pool.pop()
        length = len(text) / 13 * 150 / wpm  # rough espeak-ng duration at this speed
        if t + length + 1.0 > seconds:
            return out
        out.append((round(t, 2), text))
        t += length + rng.uniform(*gap)


def _clip(name: str, sentences, seconds: float, **kw) -> Path:
    from vidq.testing.speech import make_speech_video

    path = BENCH_DIR / name
    meta = path.with_name(path.name + ".json")
    if not (path.is_file() and meta.is_file()):
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(".partial-" + path.name)
        placed = make_speech_video(tmp, sentences, seconds, **kw)
        os.replace(tmp, path)
        meta.write_text(json.dumps([p.__dict__ for p in placed]))
    return path


def _placed(path: Path) -> list[dict]:
    return json.loads(path.with_name(path.name + ".json").read_text())


# -- rtf ------------------------------------------------------------------------------------------
def bench_rtf(seconds: float = 120.0) -> dict:
    from vidq.media.audio import AudioChunk, load_audio
    from vidq.speech.asr import transcribe_chunks
    from vidq.speech.engines import EngineConfig, load_engine
    from vidq.speech.models import resolve_model
    from vidq.speech.wer import word_error_rate

    path = _clip(f"speech-dense-{int(seconds)}s.mp4", _layout(random.Random(7), seconds), seconds)
    audio = load_audio(path)
    duration = audio.size / 16000
    reference = " ".join(p["text"] for p in _placed(path))
    model = resolve_model("faster-whisper", "tiny.en", offline=True)
    out: dict = {"clip": str(path), "audio_seconds": round(duration, 1), "load": _uptime()}
    texts = {}
    for label, batch in (("faster-whisper tiny.en int8, batched (default)", 8),
                         ("faster-whisper tiny.en int8, sequential", 1)):
        t0 = time.perf_counter()
        engine = load_engine(model, EngineConfig(batch_size=batch))
        load_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        segments, _ = transcribe_chunks([AudioChunk(0.0, audio)], engine)
        run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        text = " ".join(s.text for s in segments)
        texts[batch] = text
        out[label] = {"load_s": round(load_s, 2), "transcribe_s": round(run_s, 2), "cpu_s": round(cpu_s, 2),
                      "x_realtime": round(duration / run_s, 1), "audio_s_per_cpu_s": round(duration / cpu_s, 1),
                      "wer": round(word_error_rate(reference, text), 3)}
        print(f"{label}: {duration / run_s:.1f}x real time ({run_s:.1f} s wall, {cpu_s:.1f} s CPU = "
              f"{duration / cpu_s:.1f} s of audio per CPU-second), WER {out[label]['wer']:.3f}", flush=True)
    out["openai-whisper, random tiny.en-shaped checkpoint (speed only)"] = _openai_rtf(audio, texts[8])
    ow = out["openai-whisper, random tiny.en-shaped checkpoint (speed only)"]
    fw = out["faster-whisper tiny.en int8, batched (default)"]
    out["faster_whisper_speedup"] = round(ow["transcribe_s"] / fw["transcribe_s"], 1)
    out["faster_whisper_speedup_cpu"] = round(ow["cpu_s"] / fw["cpu_s"], 1)
    print(f"openai-whisper (random weights, same token count): {ow['x_realtime']:.1f}x real time "
          f"({ow['transcribe_s']:.1f} s wall, {ow['cpu_s']:.1f} s CPU) -> faster-whisper is "
          f"{out['faster_whisper_speedup']}x faster ({out['faster_whisper_speedup_cpu']}x in CPU time)", flush=True)
    return out


def _openai_rtf(audio, text: str) -> dict:
    import tempfile

    import torch
    import whisper
    from whisper.tokenizer import get_tokenizer

    from vidq.speech.engines import cpu_threads
    from vidq.testing.speech import make_random_whisper_checkpoint

    torch.set_num_threads(cpu_threads())
    duration = audio.size / 16000
    windows = max(1, int(-(-duration // 30)))
    tokens = len(get_tokenizer(multilingual=False).encode(" " + text))
    per_window = max(1, min(224, round(tokens / windows)))
    with tempfile.TemporaryDirectory() as tmp:
        pt = make_random_whisper_checkpoint(Path(tmp) / "tiny-en-shaped.pt", width=384, layers=4, ends_at_once=False)
        t0 = time.perf_counter()
        model = whisper.load_model(str(pt), device="cpu")
        load_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    model.transcribe(audio, language="en", beam_size=5, temperature=0.0, word_timestamps=True, fp16=False,
                     without_timestamps=True, condition_on_previous_text=False, sample_len=per_window,
                     compression_ratio_threshold=None, logprob_threshold=None, no_speech_threshold=None, verbose=None)
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return {"load_s": round(load_s, 2), "transcribe_s": round(run_s, 2), "cpu_s": round(cpu_s, 2),
            "x_realtime": round(duration / run_s, 1), "audio_s_per_cpu_s": round(duration / cpu_s, 1),
            "windows": windows, "tokens_per_window": per_window,
            "note": "random weights: speed only, decoding the token count faster-whisper produced"}


# -- memory ---------------------------------------------------------------------------------------
def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise RuntimeError(key)


def memory_child(path: str) -> None:
    """Run one whole transcription; print peak RSS before and after, as JSON."""
    from vidq.speech import SpeechOptions, get_transcript

    rss_after_windows: list[float] = []  # resident memory after each window (MiB): flat when streaming works

    def progress(stage: str, done: float, total: float | None = None) -> None:
        if done > 0:
            rss_after_windows.append(round(_status_kib("VmRSS") / 1024, 1))

    t0 = time.perf_counter()
    transcript = get_transcript(path, options=SpeechOptions(subtitles="asr", offline=True), progress=progress)
    run_s = time.perf_counter() - t0
    print(json.dumps({"peak_rss_mib": round(_status_kib("VmHWM") / 1024, 1), "rss_after_windows_mib": rss_after_windows,
                      "seconds": round(run_s, 1), "segments": len(transcript.segments), "text": transcript.text}))


def bench_memory(hours: float = 1.0) -> dict:
    from vidq.speech.wer import word_error_rate

    out: dict = {"load": _uptime()}
    for seconds in (600.0, hours * 3600.0):
        rng = random.Random(11)
        sentences = [(t + rng.uniform(0, 5), rng.choice(POOL)) for t in range(10, int(seconds) - 30, 30)]
        name = f"speech-sparse-{int(seconds)}s.mp4"
        t0 = time.perf_counter()
        path = _clip(name, sentences, seconds, size=(64, 48), fps=1)
        made_s = time.perf_counter() - t0
        proc = subprocess.run([sys.executable, __file__, "_memory-child", str(path)], capture_output=True, text=True,
                              check=True)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        reference = " ".join(p["text"] for p in _placed(path))
        result["wer"] = round(word_error_rate(reference, result.pop("text")), 3)
        result["x_realtime"] = round(seconds / result["seconds"], 1)
        result["file_made_s"] = round(made_s, 1)
        out[f"{seconds / 60:.0f} min"] = result
        print(f"{seconds / 60:.0f} min of audio, {len(sentences)} sentences: peak RSS {result['peak_rss_mib']} MiB, "
              f"RSS after each window {result['rss_after_windows_mib']} MiB, "
              f"{result['seconds']} s ({result['x_realtime']}x real time), WER {result['wer']}", flush=True)
    return out


# -- offsets --------------------------------------------------------------------------------------
def bench_offsets(seeds: tuple[int, ...] = (0, 1)) -> dict:
    import numpy as np

    from vidq.media.audio import AudioChunk, load_audio
    from vidq.speech import Transcript, words_of
    from vidq.speech.asr import transcribe_chunks
    from vidq.speech.engines import EngineConfig, load_engine
    from vidq.speech.models import resolve_model
    from vidq.speech.wer import normalize_text, word_error_rate

    model = resolve_model("faster-whisper", "tiny.en", offline=True)
    runs = {"word times as decoded": EngineConfig(snap_onsets=False),
            "first words snapped to VAD onsets (default)": EngineConfig()}
    out: dict = {"load": _uptime()}
    for label, config in runs.items():
        engine = load_engine(model, config)
        first_of_chunk, others, refs, hyps = [], [], [], []
        for seed in seeds:
            rng = random.Random(seed)
            for vi, (voice, wpm) in enumerate(VOICES):
                sentences = _layout(rng, 60.0, wpm)[:8]
                path = _clip(f"offsets-{seed}-{vi}.mp4", sentences, sentences[-1][0] + 6.0, voice=voice, wpm=wpm)
                segments, _ = transcribe_chunks([AudioChunk(0.0, load_audio(path))], engine)
                transcript = Transcript(tuple(segments), "en", "asr")
                words = words_of(transcript)
                refs.append(" ".join(p["text"] for p in _placed(path)))
                hyps.append(transcript.text)
                for k, p in enumerate(_placed(path)):
                    first = normalize_text(p["text"]).split()[0]
                    heard = [w for w in words if p["start"] - 1.0 < w.mid < p["end"]]
                    # the sentence's own first word when it was heard right (a neighbour's may be near)
                    match = [w for w in heard if normalize_text(w.text).split()[:1] == [first]]
                    if match or heard:
                        (first_of_chunk if k == 0 else others).append((match or heard)[0].start - p["start"])
        a, b = np.array(first_of_chunk), np.array(others)
        both = np.concatenate([a, b])
        result = {
            "sentences": int(both.size),
            "first_sentence_of_a_file_s": {"mean": round(float(a.mean()), 3), "min": round(float(a.min()), 3),
                                           "max": round(float(a.max()), 3)},
            "all_sentences_s": {"mean": round(float(both.mean()), 3), "min": round(float(both.min()), 3),
                                "max": round(float(both.max()), 3)},
            "wer": round(word_error_rate(" ".join(refs), " ".join(hyps)), 3),
        }
        out[label] = result
        print(f"{label}: first-word offset over {result['sentences']} sentences {result['all_sentences_s']} s "
              f"(first sentence of each file {result['first_sentence_of_a_file_s']}), WER {result['wer']}", flush=True)
    return out


# -- tiers ----------------------------------------------------------------------------------------
TIER_THREADS = 2  # CPU threads per model: the 2-core figure the README reports


def _tier_clips() -> dict[str, list[Path]]:
    """English: the rtf clip plus the offsets clips; other languages: one 12-sentence clip per voice."""
    from vidq.testing.speech import VOICES_BY_LANGUAGE, language_clip

    english = [_clip("speech-dense-120s.mp4", _layout(random.Random(7), 120.0), 120.0)]
    for seed in (0, 1):
        rng = random.Random(seed)
        for vi, (voice, wpm) in enumerate(VOICES):
            sentences = _layout(rng, 60.0, wpm)[:8]
            english.append(_clip(f"offsets-{seed}-{vi}.mp4", sentences, sentences[-1][0] + 6.0, voice=voice, wpm=wpm))
    clips = {"en": english}
    for lang, voices in VOICES_BY_LANGUAGE.items():
        clips[lang] = [language_clip(BENCH_DIR, lang, 12, voice=v, wpm=wpm)[0] for v, wpm in voices]
    return clips


def _reference(path: Path) -> str:
    return " ".join(p["text"] for p in _placed(path))


def bench_tiers() -> dict:

    from vidq.media.audio import AudioChunk, load_audio
    from vidq.speech.asr import transcribe_chunks
    from vidq.speech.engines import EngineConfig, load_engine
    from vidq.speech.language import compression_ratio, failed_decode, mean_word_probability
    from vidq.speech.models import local_model
    from vidq.speech.wer import word_error_rate

    clips = _tier_clips()
    audio = {p: load_audio(p) for paths in clips.values() for p in paths}
    out: dict = {"load": _uptime(), "threads": TIER_THREADS, "models": {}}
    config = EngineConfig(threads=TIER_THREADS)
    for name in ("tiny.en", "base", "small"):
        resolved = local_model(name)
        if resolved is None:
            out["models"][name] = {"installed": False}
            print(f"{name}: not installed here (see 'vidq models')", flush=True)
            continue
        t0 = time.perf_counter()
        engine = load_engine(resolved, config)
        row: dict = {"installed": True, "origin": resolved.origin, "load_s": round(time.perf_counter() - t0, 2)}
        speed_clip = clips["en"][0]
        t0, c0 = time.perf_counter(), time.process_time()
        first, _ = transcribe_chunks([AudioChunk(0.0, audio[speed_clip])], engine)
        run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        seconds = audio[speed_clip].size / 16000
        row.update(transcribe_s=round(run_s, 2), x_realtime=round(seconds / run_s, 1),
                   audio_s_per_cpu_s=round(seconds / cpu_s, 1))
        for lang, paths in clips.items():  # an English-only model too: its WER there is noise, its confidence is the point
            refs, hyps, given_hyps, probs, ratios, flagged, detected = [], [], [], [], [], [], []
            for path in paths:
                # the language is left to the model, as `--language auto` does (English-only models: English)
                segments = first if path == speed_clip else transcribe_chunks([AudioChunk(0.0, audio[path])], engine)[0]
                refs.append(_reference(path))
                hyps.append(" ".join(s.text for s in segments))
                mean, _ = mean_word_probability(segments)
                probs.append(mean if mean is not None else float("nan"))
                ratios.append(compression_ratio(hyps[-1]))
                flagged.append(failed_decode(segments) is not None)
                if engine.multilingual:
                    probs_by_lang = engine.detect_language(audio[path]) or {"none": 0.0}
                    top = max(probs_by_lang, key=probs_by_lang.__getitem__)
                    detected.append(f"{top} {probs_by_lang[top]:.2f}, en {probs_by_lang.get('en', 0.0):.3f}")
                    if lang != "en":  # the same clip with the language given, as --language does
                        given = transcribe_chunks([AudioChunk(0.0, audio[path])], engine, language=lang)[0]
                        given_hyps.append(" ".join(s.text for s in given))
            row[f"wer_{lang}"] = round(word_error_rate(" ".join(refs), " ".join(hyps)), 3)
            if given_hyps:
                row[f"wer_{lang}_given"] = round(word_error_rate(" ".join(refs), " ".join(given_hyps)), 3)
            row[f"mean_word_p_{lang}"] = [round(x, 2) for x in probs]
            row[f"compression_{lang}"] = [round(x, 1) for x in ratios]
            row[f"failed_decode_{lang}"] = f"{sum(flagged)}/{len(flagged)}"
            if detected:
                row[f"detected_{lang}"] = detected
        row["multilingual"] = engine.multilingual
        out["models"][name] = row
        print(f"{name}: {json.dumps(row, ensure_ascii=False)}", flush=True)
    base_speed = out["models"]["tiny.en"].get("transcribe_s")
    for row in out["models"].values():
        if row.get("installed") and base_speed:
            row["time_vs_tiny_en"] = round(row["transcribe_s"] / base_speed, 2)
    _print_tier_table(out, {lang: sum(audio[p].size for p in paths) / 16000 for lang, paths in clips.items()})
    return out


def _print_tier_table(out: dict, seconds: dict[str, float]) -> None:
    langs = [x for x in seconds if x != "en"]
    head = ["model", "x real time (2 threads)", "audio s per CPU s", "time vs tiny.en", "load", "WER en"] + \
        [f"WER {x}" for x in langs]
    print("\n| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|")
    for name, row in out["models"].items():
        if not row.get("installed"):
            print(f"| {name} | not installed here | | | | " + " | ".join("" for _ in range(len(langs) + 1)) + " |")
            continue
        cells = [name, f"{row['x_realtime']}x", f"{row['audio_s_per_cpu_s']}", f"{row['time_vs_tiny_en']}x",
                 f"{row['load_s']} s",
                 f"{100 * row['wer_en']:.1f}%"]
        cells += [f"{100 * row[f'wer_{x}']:.1f}% ({100 * row[f'wer_{x}_given']:.1f}%)" if row["multilingual"]
                  else "English only" for x in langs]
        print("| " + " | ".join(cells) + " |")
    clips = ", ".join(f"{x} {s / 60:.1f} min" for x, s in seconds.items())
    print(f"\nWER in other languages: language detected (given with --language). Audio per language: {clips}. "
          f"{out['load']}.", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="*", default=["rtf", "memory", "offsets", "tiers"],
                        help="rtf, memory, offsets, tiers (default: all)")
    parser.add_argument("--hours", type=float, default=1.0, help="length of the long file for the memory check")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the clip for the rtf check")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.what and args.what[0] == "_memory-child":
        memory_child(args.what[1])
        return
    os.environ["HF_HUB_OFFLINE"] = "1"
    print(_uptime(), flush=True)
    results: dict = {}
    for what in args.what:
        if what == "rtf":
            results["rtf"] = bench_rtf(args.seconds)
        elif what == "memory":
            results["memory"] = bench_memory(args.hours)
        elif what == "offsets":
            results["offsets"] = bench_offsets()
        elif what == "tiers":
            results["tiers"] = bench_tiers()
        else:
            parser.error(f"unknown benchmark {what!r}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
