"""Language codes and the signs of a failed decode that the English-only check relies on."""

from __future__ import annotations

import pytest

from vidq.errors import InputError
from vidq.speech.language import compression_ratio, failed_decode, language_name, normalize_language
from vidq.speech.types import Segment, Word


def test_language_codes_are_normalized_or_refused():
    assert [normalize_language(v) for v in (None, "auto", "AUTO", "fr", "FR", "fr-CA", "fra", "ger", "haw")] == \
        [None, None, None, "fr", "fr", "fr", "fr", "de", "haw"]
    for bad in ("xx", "french", ""):
        with pytest.raises(InputError, match="not a language Whisper knows"):
            normalize_language(bad)
    assert (language_name("fr"), language_name("yue"), language_name("xx")) == ("French", "Cantonese", "xx")


def segment(text: str, p: float) -> Segment:
    words = tuple(Word(float(i), i + 0.5, w, p) for i, w in enumerate(text.split()))
    return Segment(0.0, float(len(words)), text, words)


def test_failed_decode_sees_loops_and_guessing():
    fluent = segment("Apples grow best in cool climates and the museum opens at nine on Sundays.", 0.85)
    loop = segment("Good morning, " * 40, 0.95)  # what tiny.en makes of German
    unsure = segment("Do not forget to subscribe to my channel and subscribe.", 0.40)  # ... and of French
    assert compression_ratio("") == 0.0 and compression_ratio("Good morning, " * 40) > 10
    assert failed_decode([fluent]) is None
    assert failed_decode([loop]).startswith("its text repeats itself (compression ratio ")
    assert failed_decode([unsure]) == "mean word probability 0.40 over 10 words"
    assert failed_decode([segment("Hm no.", 0.1)]) is None  # too few words to judge
