"""Synthetic speech at known times (espeak-ng), and videos that carry it.

``speech_track`` places sentences so that each one's *first audible sample* is at the
requested time (espeak-ng's leading and trailing silence is trimmed), which is what a
transcript's first-word time is checked against.  ``make_speech_video`` muxes such a
track (or none) with a plain video and, optionally, an embedded subtitle stream; a
sidecar file is just ``format_srt``/``format_vtt`` written next to it.

Uses the ``espeak-ng`` and ``ffmpeg`` binaries with argument lists (never a shell); the
product itself never needs them.  Knows nothing about engines, models or tasks.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidq.speech.subtitles import format_srt
from vidq.speech.types import Segment

ESPEAK_RATE = 22050  # Hz; espeak-ng's native output rate
SILENCE_LEVEL = 0.01  # amplitude below which espeak output counts as silence when trimming
DEFAULT_VOICE = "en-us"  # espeak-ng voice
DEFAULT_WPM = 150  # espeak-ng speed, words per minute


@dataclass(frozen=True)
class PlacedSpeech:
    """A sentence as placed in a synthetic track."""

    start: float  # seconds: the first audible sample
    end: float  # seconds: the last audible sample
    text: str  # what was spoken


def _need(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise RuntimeError(f"{binary} is not installed (apt-get install {binary})")
    return found


def espeak(text: str, *, voice: str = DEFAULT_VOICE, wpm: int = DEFAULT_WPM) -> np.ndarray:
    """Speak ``text`` with espeak-ng; returns float32 mono at ``ESPEAK_RATE``, silence trimmed.

    Returns
    -------
    np.ndarray, shape (n,), float32 in [-1, 1]; sample 0 is the first audible one.
    """
    proc = subprocess.run([_need("espeak-ng"), "-v", voice, "-s", str(wpm), "--stdout", text],
                          capture_output=True, check=True)
    with wave.open(io.BytesIO(proc.stdout)) as w:
        if w.getframerate() != ESPEAK_RATE or w.getsampwidth() != 2:
            raise RuntimeError(f"unexpected espeak-ng output: {w.getframerate()} Hz, {8 * w.getsampwidth()} bit")
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    audio = pcm.astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    if loud.size == 0:
        return np.zeros(0, dtype=np.float32)
    return audio[loud[0]: loud[-1] + 1]


def speech_track(
    sentences: Sequence[tuple[float, str]],
    duration: float,
    *,
    voice: str = DEFAULT_VOICE,
    wpm: int = DEFAULT_WPM,
) -> tuple[np.ndarray, list[PlacedSpeech]]:
    """A track of ``duration`` seconds with each ``(time, text)`` sentence starting at ``time``.

    Returns the samples (shape (round(duration * ESPEAK_RATE),), float32 at ``ESPEAK_RATE``;
    overlapping sentences are mixed) and where each sentence really is.

    Raises
    ------
    ValueError : a sentence would run past ``duration``.
    """
    track = np.zeros(round(duration * ESPEAK_RATE), dtype=np.float32)
    placed: list[PlacedSpeech] = []
    for at, text in sentences:
        voice_samples = espeak(text, voice=voice, wpm=wpm)
        first = round(at * ESPEAK_RATE)
        last = first + voice_samples.size
        if first < 0 or last > track.size:
            raise ValueError(f"sentence at {at:.2f} s ({voice_samples.size / ESPEAK_RATE:.2f} s long) "
                             f"does not fit in {duration:.2f} s: {text!r}")
        track[first:last] += voice_samples
        placed.append(PlacedSpeech(first / ESPEAK_RATE, (last - 1) / ESPEAK_RATE, text))
    np.clip(track, -1.0, 1.0, out=track)
    return track, placed


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int = ESPEAK_RATE) -> None:
    """Write float32 mono samples as 16-bit PCM WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def make_speech_video(
    path: str | os.PathLike,
    sentences: Sequence[tuple[float, str]],
    duration: float,
    *,
    audio: bool = True,
    size: tuple[int, int] = (160, 120),
    fps: float = 10,
    subtitles: Sequence[Segment] | None = None,
    voice: str = DEFAULT_VOICE,
    wpm: int = DEFAULT_WPM,
) -> list[PlacedSpeech]:
    """Write a video of ``duration`` seconds with the sentences spoken at their times.

    The video is a plain grey H.264 picture.  ``audio=False`` writes no audio stream at all;
    ``sentences=[]`` writes a silent one.  ``subtitles`` adds an embedded text subtitle
    stream (subrip in .mkv, mov_text in .mp4/.mov).  The container is
    chosen by the suffix of ``path``.

    Returns where each sentence really is (empty when ``audio=False``).
    """
    ffmpeg = _need("ffmpeg")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    with tempfile.TemporaryDirectory(prefix="vidq-speech-") as tmp:
        cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-y",
               "-f", "lavfi", "-i", f"color=c=gray:size={size[0]}x{size[1]}:rate={fps}:duration={duration}"]
        placed: list[PlacedSpeech] = []
        maps = ["-map", "0:v"]
        n_inputs = 1
        if audio:
            track, placed = speech_track(sentences, duration, voice=voice, wpm=wpm)
            wav = os.path.join(tmp, "speech.wav")
            write_wav(wav, track)
            cmd += ["-i", wav]
            maps += ["-map", f"{n_inputs}:a"]
            n_inputs += 1
        if subtitles is not None:
            srt = os.path.join(tmp, "subs.srt")
            Path(srt).write_text(format_srt(subtitles), encoding="utf-8")
            cmd += ["-i", srt]
            maps += ["-map", f"{n_inputs}:s"]
            n_inputs += 1
        cmd += maps + ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(int(fps * 2))]
        if audio:
            cmd += ["-c:a", "aac", "-b:a", "64k", "-ar", "16000"]
        if subtitles is not None:
            codec = {".mkv": "srt", ".mp4": "mov_text", ".mov": "mov_text"}.get(suffix)
            if codec is None:
                raise ValueError(f"no text subtitle codec for {suffix} files")
            cmd += ["-c:s", codec]
        cmd += ["-t", str(duration), os.fspath(out)]
        subprocess.run(cmd, check=True, capture_output=True)
    return placed



def make_random_whisper_checkpoint(
    path: str | os.PathLike,
    *,
    seed: int = 0,
    width: int = 64,
    layers: int = 1,
    ends_at_once: bool = True,
) -> Path:
    """Write a random-weight openai-whisper ``.pt`` checkpoint (English vocabulary).

    Real loading and decoding code paths, meaningless output: for testing and timing the
    openai-whisper engine where no real checkpoint exists offline.  Shapes follow Whisper's
    (80 mels, 1500 audio positions, 448 text positions, 51864 tokens); ``width`` and
    ``layers`` set the size (``width=384, layers=4`` is tiny.en's).  Random weights never
    emit end-of-text, so every window would decode its full 224 tokens six times over
    (temperature fallback); ``ends_at_once=True`` makes the decoder's output constant and
    aligned with the end-of-text and no-speech embeddings, so each 30 s window decodes one
    timestamp token, counts as silence, and the transcript is empty.
    """
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(seed)
    heads = max(1, width // 64)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=width, n_audio_head=heads,
                           n_audio_layer=layers, n_vocab=51864, n_text_ctx=448, n_text_state=width,
                           n_text_head=heads, n_text_layer=layers)
    model = Whisper(dims)
    with torch.no_grad():
        model.decoder.positional_embedding.normal_(0.0, 0.02)  # created with torch.empty: may hold NaN
    if ends_at_once:
        eot, no_speech = 50256, 50361  # <|endoftext|>, <|nospeech|> in the English (GPT-2) vocabulary
        with torch.no_grad():
            direction = torch.randn(width)  # norm ~ sqrt(width): these logits dwarf every other token
            model.decoder.ln.weight.zero_()  # decoder output = ln bias, whatever the input
            model.decoder.ln.bias.copy_(direction)
            emb = model.decoder.token_embedding.weight  # logits = output @ emb.T
            emb[eot] = direction * 10.0  # end-of-text wins every step ...
            emb[no_speech] = direction * 12.0  # ... "no speech" is certain ...
            emb[50363:] = 0.0  # ... and timestamps are equally likely: low confidence + no speech = silence
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, out)
    return out


# The reference clip of the speech tests: sentences starting on odd seconds, so each one
# begins in the middle of a 2 s bin ((k-1, k+1]), with numbers that Whisper writes as digits.
REFERENCE_SENTENCES: tuple[tuple[float, str], ...] = (
    (1.0, "Today we are testing offline speech recognition."),
    (7.0, "There are 12 apples on the kitchen table."),
    (13.0, "The train leaves at 7 in the morning."),
    (19.0, "Please open the window before you leave."),
    (25.0, "My brother bought 3 new books yesterday."),
    (31.0, "The weather will be sunny and warm tomorrow."),
    (37.0, "She counted 25 birds sitting on the fence."),
    (43.0, "We should finish the report by Friday."),
)
REFERENCE_DURATION = 48.0  # seconds


def reference_clip(folder: str | os.PathLike, name: str = "reference.mp4") -> tuple[Path, list[PlacedSpeech]]:
    """The reference speech video in ``folder`` (made once; later calls reuse the file).

    Returns its path and where each of ``REFERENCE_SENTENCES`` really is.
    """
    import json

    path = Path(folder) / name
    meta = path.with_name(path.name + ".json")
    if path.is_file() and meta.is_file():
        return path, [PlacedSpeech(**p) for p in json.loads(meta.read_text())]
    placed = make_speech_video(path, REFERENCE_SENTENCES, REFERENCE_DURATION)
    meta.write_text(json.dumps([p.__dict__ for p in placed]))
    return path, placed


# Everyday sentences without numbers (the WER normalizer spells digits in English), per
# language, with the espeak-ng voices that speak them: for the language tests and
# `benchmarks/asr.py tiers`.
SENTENCES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "fr": (
        "Bonjour à tous et bienvenue dans cette émission.", "Le train part tôt le matin.",
        "Il fera beau et chaud demain.", "Nous avons acheté du pain et du fromage.",
        "La bibliothèque est fermée le dimanche.", "Mon frère habite dans une petite maison.",
        "Les enfants jouent dans le jardin.", "Il faut fermer la fenêtre avant de partir.",
        "Elle lit un livre sur la mer.", "Le musée ouvre ses portes après le déjeuner.",
        "Nous prenons le café sur la terrasse.", "La réunion commence dans un instant.",
    ),
    "de": (
        "Guten Morgen und herzlich willkommen.", "Der Zug fährt am frühen Morgen ab.",
        "Morgen wird das Wetter sonnig und warm.", "Wir haben Brot und Käse gekauft.",
        "Die Bibliothek ist am Sonntag geschlossen.", "Mein Bruder wohnt in einem kleinen Haus.",
        "Die Kinder spielen im Garten.", "Bitte schließe das Fenster, bevor du gehst.",
        "Sie liest ein Buch über das Meer.", "Das Museum öffnet nach dem Mittagessen.",
        "Wir trinken Kaffee auf der Terrasse.", "Die Besprechung beginnt gleich.",
    ),
    "es": (
        "Buenos días y bienvenidos al programa.", "El tren sale temprano por la mañana.",
        "Mañana hará sol y calor.", "Hemos comprado pan y queso.",
        "La biblioteca está cerrada los domingos.", "Mi hermano vive en una casa pequeña.",
        "Los niños juegan en el jardín.", "Cierra la ventana antes de salir.",
        "Ella lee un libro sobre el mar.", "El museo abre después de la comida.",
        "Tomamos café en la terraza.", "La reunión empieza enseguida.",
    ),
}
# (voice, words per minute); espeak-ng's fr-be and fr-ch speak these sentences exactly as fr-fr does
VOICES_BY_LANGUAGE: dict[str, tuple[tuple[str, int], ...]] = {
    "fr": (("fr-fr", 150), ("fr-fr", 125)), "de": (("de", 150), ("de", 125)), "es": (("es", 150), ("es-419", 150)),
}


def language_clip(folder: str | os.PathLike, language: str, count: int = 3, *, voice: str | None = None,
                  wpm: int = DEFAULT_WPM, gap: float = 1.5) -> tuple[Path, list[PlacedSpeech]]:
    """A video of the first ``count`` sentences of ``SENTENCES_BY_LANGUAGE[language]``, one after another.

    Made once per (language, count, voice, wpm) in ``folder``; returns its path and the placed sentences.
    """
    import json

    voice = voice or VOICES_BY_LANGUAGE[language][0][0]
    path = Path(folder) / f"{language}-{count}-{voice}-{wpm}.mp4"
    meta = path.with_name(path.name + ".json")
    if path.is_file() and meta.is_file():
        return path, [PlacedSpeech(**p) for p in json.loads(meta.read_text())]
    sentences, t = [], 1.0
    for text in SENTENCES_BY_LANGUAGE[language][:count]:
        sentences.append((t, text))
        t += espeak(text, voice=voice, wpm=wpm).size / ESPEAK_RATE + gap
    placed = make_speech_video(path, sentences, t + 0.5, voice=voice, wpm=wpm)
    meta.write_text(json.dumps([p.__dict__ for p in placed]))
    return path, placed
