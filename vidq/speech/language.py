"""Which language is spoken: the codes Whisper knows, ``--language auto|CODE``, and the
check that keeps an English-only model from writing other languages as English.

Whisper tiny.en (the default) has no language tokens: given French it writes fluent,
unrelated English ("Do not forget to subscribe to my channel").  So when an English-only
model runs with no ``--language`` (or ``auto``), :class:`EnglishCheck` looks first:

* with a multilingual model installed (``base`` from ``vidq[speech-plus]``, or one in the
  Hugging Face cache), that model gives the probability of each language over the first
  30 s from the first speech of the first window; when English gets less than
  ``ENGLISH_MIN_PROBABILITY`` the run **stops** with :class:`NotEnglish` (exit 2) naming
  the likeliest language and the multilingual model to use, before anything is
  transcribed or cached.  ``--language en`` transcribes it as English anyway.  The test
  is English's own probability, not "the top language is another": Whisper base calls
  espeak-ng's Caribbean English voice Latin at times (top "la"), but still gives English
  0.59-0.67, against at most 0.034 for French, German and Spanish.
* with none installed, nothing can tell the language, so after transcribing it **warns**
  (stderr) when the transcript looks like a failed decode (:func:`failed_decode`: a mean
  word probability under ``LOW_CONFIDENCE``, or text that repeats itself), and says what
  to install.  tiny.en on other languages either loops ("Good morning, Good morning, ...")
  or is unsure of its words, so both signs are looked at.

This module knows nothing about files, containers, caching, tasks or the CLI.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidq.errors import InputError
from vidq.speech.types import Segment

log = logging.getLogger("vidq.speech")

ENGLISH_MIN_PROBABILITY = 0.1  # English less likely than this (by a multilingual model) stops an English-only one
# Signs of a failed decode (benchmarks/asr.py tiers, tiny.en on espeak-ng speech): 11 English
# clips have mean word probabilities of 0.73-0.91 and compression ratios of 1.4-1.7; of 6
# French/German/Spanish clips, 4 loop (ratios 7-18) and 2 do not (p 0.61-0.65, ratios
# 2.0-2.3), so these thresholds (Whisper's 2.4, not fitted to that data) catch 4 of 6.
LOW_CONFIDENCE = 0.6  # mean word probability below this: the model was guessing
MAX_COMPRESSION = 2.4  # zlib ratio of the text above this: it repeats itself (Whisper's own threshold)
MIN_WORDS = 5  # fewer words than this say too little to warn about

# The languages Whisper knows (ISO 639-1, plus "haw" and "yue"), with English names.
LANGUAGES = {
    "en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "ru": "Russian", "ko": "Korean",
    "fr": "French", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish", "pl": "Polish", "ca": "Catalan",
    "nl": "Dutch", "ar": "Arabic", "sv": "Swedish", "it": "Italian", "id": "Indonesian", "hi": "Hindi",
    "fi": "Finnish", "vi": "Vietnamese", "he": "Hebrew", "uk": "Ukrainian", "el": "Greek", "ms": "Malay",
    "cs": "Czech", "ro": "Romanian", "da": "Danish", "hu": "Hungarian", "ta": "Tamil", "no": "Norwegian",
    "th": "Thai", "ur": "Urdu", "hr": "Croatian", "bg": "Bulgarian", "lt": "Lithuanian", "la": "Latin",
    "mi": "Maori", "ml": "Malayalam", "cy": "Welsh", "sk": "Slovak", "te": "Telugu", "fa": "Persian",
    "lv": "Latvian", "bn": "Bengali", "sr": "Serbian", "az": "Azerbaijani", "sl": "Slovenian", "kn": "Kannada",
    "et": "Estonian", "mk": "Macedonian", "br": "Breton", "eu": "Basque", "is": "Icelandic", "hy": "Armenian",
    "ne": "Nepali", "mn": "Mongolian", "bs": "Bosnian", "kk": "Kazakh", "sq": "Albanian", "sw": "Swahili",
    "gl": "Galician", "mr": "Marathi", "pa": "Punjabi", "si": "Sinhala", "km": "Khmer", "sn": "Shona",
    "yo": "Yoruba", "so": "Somali", "af": "Afrikaans", "oc": "Occitan", "ka": "Georgian", "be": "Belarusian",
    "tg": "Tajik", "sd": "Sindhi", "gu": "Gujarati", "am": "Amharic", "yi": "Yiddish", "lo": "Lao", "uz": "Uzbek",
    "fo": "Faroese", "ht": "Haitian Creole", "ps": "Pashto", "tk": "Turkmen", "nn": "Nynorsk", "mt": "Maltese",
    "sa": "Sanskrit", "lb": "Luxembourgish", "my": "Myanmar", "bo": "Tibetan", "tl": "Tagalog", "mg": "Malagasy",
    "as": "Assamese", "tt": "Tatar", "haw": "Hawaiian", "ln": "Lingala", "ha": "Hausa", "ba": "Bashkir",
    "jw": "Javanese", "su": "Sundanese", "yue": "Cantonese",
}


def normalize_language(value: str | None) -> str | None:
    """``None``/``"auto"`` -> None (detect); ``"FR"``, ``"fr-CA"``, ``"fra"`` -> ``"fr"``.

    Raises
    ------
    InputError : not a language Whisper knows.
    """
    from vidq.speech.sources import iso639_1

    if value is None or value.strip().lower() == "auto":
        return None
    raw = value.strip().lower()
    code = raw if raw in LANGUAGES else iso639_1(raw)
    if code not in LANGUAGES:
        raise InputError(f"--language {value!r} is not a language Whisper knows: give auto or an ISO 639-1 code "
                         "(en, fr, de, es, it, pt, nl, ja, zh, ...)")
    return code


def language_name(code: str | None) -> str:
    """``"fr"`` -> ``"French"``; an unknown code is returned as is."""
    return LANGUAGES.get(code or "", code or "unknown")


class NotEnglish(InputError):
    """An English-only model was given speech that a multilingual model says is not English."""

    def __init__(self, message: str, language: str, probability: float):
        super().__init__(message)
        self.language = language  # ISO 639-1 code detected
        self.probability = probability  # the detector's probability for it


@dataclass(frozen=True)
class LanguageGuess:
    """What a multilingual model heard."""

    language: str  # the likeliest language, ISO 639-1
    probability: float  # its probability, 0..1
    english: float  # the probability of English, 0..1
    detector: str  # the model that decided ("base")


def mean_word_probability(segments: Sequence[Segment]) -> tuple[float | None, int]:
    """(mean engine probability over words that have one, or None; how many words)."""
    probs = [w.probability for s in segments for w in s.words if w.probability is not None]
    return (float(np.mean(probs)) if probs else None), len(probs)


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` over bytes of its zlib compression (Whisper's loop detector)."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def failed_decode(segments: Sequence[Segment]) -> str | None:
    """Why the transcript looks like a decode that failed (guessing or looping), or None."""
    mean, words = mean_word_probability(segments)
    if words < MIN_WORDS:
        return None
    ratio = compression_ratio(" ".join(s.text for s in segments))
    if ratio > MAX_COMPRESSION:
        return f"its text repeats itself (compression ratio {ratio:.1f})"
    if mean is not None and mean < LOW_CONFIDENCE:
        return f"mean word probability {mean:.2f} over {words} words"
    return None


class EnglishCheck:
    """Guards one transcription by an English-only model with no language given (module docstring)."""

    def __init__(self, name: str, model: str, *, device: str = "auto", threads: int = 0):
        from vidq.speech.models import multilingual_name

        self.name = name  # the file, for messages
        self.model = model  # the English-only model's label ("tiny.en")
        self.device = device
        self.threads = threads
        self.detector = multilingual_name()  # None: nothing installed can detect languages
        self.guess: LanguageGuess | None = None  # set by before() when the detector heard speech

    def before(self, samples: np.ndarray) -> None:
        """Detect the language of the first window (shape (n,), 16 kHz); raise :class:`NotEnglish` when sure it is not English."""
        if self.detector is None:
            return
        from vidq.speech.engines import EngineConfig, load_engine
        from vidq.speech.models import local_model, multilingual_hint

        resolved = local_model(self.detector)
        if resolved is None:
            return
        engine = load_engine(resolved, EngineConfig(device=self.device, threads=self.threads))
        probs = engine.detect_language(samples)
        if not probs:
            log.debug("%s: no speech in the first window to detect the language of", self.name)
            return
        top = max(probs, key=probs.__getitem__)
        guess = self.guess = LanguageGuess(top, probs[top], probs.get("en", 0.0), resolved.name)
        log.debug("%s: %s hears %s (%.2f), English %.3f", self.name, resolved.name, top, probs[top], guess.english)
        if guess.english < ENGLISH_MIN_PROBABILITY:
            raise NotEnglish(
                f"{self.name}: the speech is not English (Whisper {resolved.name} gives English {guess.english:.2f} "
                f"on the first 30 s of speech; likeliest {language_name(top)}, {top}, {guess.probability:.2f}), but "
                f"{self.model} is English-only and would write it as made-up English; {multilingual_hint()}, or pass "
                "--language en to transcribe it as English anyway", top, guess.probability)

    def after(self, segments: Sequence[Segment]) -> None:
        """With nothing to detect languages, warn when the English-only model's transcript looks failed."""
        if self.guess is not None:
            return
        reason = failed_decode(segments)
        if reason is None:
            return
        from vidq.speech.models import multilingual_hint

        log.warning("%s: %s's transcript looks like a failed decode (%s): if the speech is not English, %s",
                    self.name, self.model, reason, multilingual_hint())
