"""Evidence units and hybrid retrieval (vidq.tasks.evidence) on plain data: exact values."""

from __future__ import annotations

import numpy as np
import pytest

from vidq.speech import Segment, Transcript, Word
from vidq.store import Store
from vidq.analysis.evidence import (
    EvidenceIndex,
    Unit,
    match_terms,
    sound_key,
    sounds_like,
    search,
    speech_units,
    tokens,
)


def _segment(t0: float, text: str, dt: float = 0.5) -> Segment:
    words = tuple(Word(t0 + i * dt, t0 + i * dt + 0.4, w) for i, w in enumerate(text.split()))
    return Segment(words[0].start, words[-1].end, text, words)


TRANSCRIPT = Transcript((
    _segment(0.0, "Welcome to the show. Today we talk about gardening and tomatoes."),
    _segment(30.0, "By the way the secret code is seven four one, remember it."),
    _segment(60.0, "Tomatoes need sun and water every single day of the summer season."),
), "en", "test")


class BagEncoder:
    """A deterministic stand-in for MiniLM: hashed bag of tokens, unit length."""

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 64), np.float32)
        for i, text in enumerate(texts):
            for t in tokens(text):
                out[i, sum(map(ord, t)) % 64] += 1.0
            out[i] /= max(np.linalg.norm(out[i]), 1e-9)
        return out


@pytest.mark.parametrize("text, expected", [
    ("the secret code is 7 4 1", ["secret", "code", "741"]),
    ("Seven four one.", ["741"]),
    ("7-4-1", ["741"]),
    ("741", ["741"]),
    ("Only $1.99!", ["only", "199"]),
    ("only one ninety nine", ["only", "199"]),
    ("seven hundred forty one", ["741"]),
    ("two thousand twenty four", ["2024"]),
    ("use code FIZZ10", ["use", "code", "fizz", "10"]),
    ("code fizz ten", ["code", "fizz", "10"]),
    ("Blue Pelican signs", ["blue", "pelican", "sign"]),
    ("The company's stories", ["company", "story"]),
])
def test_tokens_normalise_numbers_and_words(text, expected):
    assert tokens(text) == expected


def test_speech_units_sentences_and_windows():
    units = speech_units(TRANSCRIPT)
    sentences = [u for u in units if u.kind == "sentence"]
    assert [u.text for u in sentences] == [
        "Welcome to the show.", "Today we talk about gardening and tomatoes.",
        "By the way the secret code is seven four one, remember it.",
        "Tomatoes need sun and water every single day of the summer season."]
    assert sentences[1].start == 2.0 and sentences[1].end == pytest.approx(5.4)
    windows = [u for u in units if u.kind == "window"]
    # 11 words -> windows at 0 and 3 (the tail); 12 words -> 0, 4; 12 words -> 0, 4
    assert [(u.start, len(u.words)) for u in windows] == [(0.0, 8), (1.5, 8), (30.0, 8), (32.0, 8), (60.0, 8), (62.0, 8)]
    assert all(u.source == "speech" for u in units)
    assert units == sorted(units, key=lambda u: (u.start, u.kind != "sentence", u.end))
    assert speech_units(TRANSCRIPT, windows=False) == sentences


def test_speech_units_of_cues_without_word_times():
    t = Transcript((Segment(10.0, 14.0, "Hello there. General Kenobi!"),), "en", "sidecar")
    units = speech_units(t, windows=False)
    assert [u.text for u in units] == ["Hello there.", "General Kenobi!"]
    assert units[0].start == 10.0 and units[1].end == 14.0


def test_lexical_search_finds_the_spoken_digits():
    units = speech_units(TRANSCRIPT)
    hits = search(units, "secret code 7 4 1", k=3, dense=False)
    assert hits[0].unit.source == "speech" and 30.0 <= hits[0].unit.start <= 32.0
    assert set(hits[0].matched) == {"secret", "code", "741"}
    assert hits[0].dense == 0.0 and hits[0].lexical > 0
    # without vectors, units with no term in common are not hits at all
    assert all(h.lexical > 0 for h in hits)


def test_hybrid_search_dedupes_overlapping_units_and_caches_vectors(tmp_path):
    units = speech_units(TRANSCRIPT)
    enc = BagEncoder()
    store = Store(tmp_path)
    index = EvidenceIndex.build(units, encoder=enc, store=store, file_key="f" * 40)
    hits = index.search("tomatoes", k=10)
    spans = [(h.unit.start, h.unit.end) for h in hits]
    for i, (a0, a1) in enumerate(spans):  # no two hits overlap in time
        for b0, b1 in spans[i + 1:]:
            assert a1 < b0 or b1 < a0
    assert len(hits) == 3  # one per sentence-sized place: the show intro, the code, the tomato advice
    assert index.search("tomatoes", k=10, dedupe=False)[0].score == hits[0].score
    again = EvidenceIndex.build(units, encoder=enc, store=store, file_key="f" * 40)
    assert enc.calls == 3  # units embedded once; two queries embedded
    assert np.array_equal(again.vectors, index.vectors)


def test_close_spellings_expand_the_query():
    units = [Unit(5.0, 9.0, "BLUE PELlCAN", "screen", "line", frames=3),
             Unit(20.0, 25.0, "GREEN HERON", "screen", "line", frames=3)]
    index = EvidenceIndex.build(units, dense=False)
    terms = index.query_terms("blue pelican")
    assert terms["blue"] == 1.0 and terms["pelican"] == 1.0 and 0.8 <= terms["pellcan"] < 1.0
    hits = index.search("blue pelican", k=2)
    assert [h.unit.text for h in hits] == ["BLUE PELlCAN"]
    assert search(units, "heron", k=5, dense=False, sources=["speech"]) == []


def test_match_terms_narrows_to_the_matched_words():
    unit = speech_units(TRANSCRIPT, windows=False)[2]
    m = match_terms("the secret code 741", unit)
    assert m.coverage == 1.0 and m.terms == ("secret", "code", "741")
    assert m.start == 32.0 and m.end == pytest.approx(32.0 + 5 * 0.5 + 0.4)  # "secret" .. "one,"
    assert m.quote == "the way the secret code is seven four one, remember it."  # 3 words of context
    wrong = match_terms("secret code 742", unit)
    assert wrong.coverage == 0.6667 and "742" not in wrong.terms
    fuzzy = match_terms("blue pelican", Unit(0, 1, "BLUE PELlCAN", "screen", "line"))
    assert 0.9 < fuzzy.coverage < 1.0 and (fuzzy.start, fuzzy.end) == (0, 1)
    assert match_terms("the a of", unit).coverage == 0.0


def test_sound_keys_and_sound_alikes():
    assert [sound_key(w) for w in ("Dara", "dark", "Quinn", "knight", "phone", "cheese", "thumb", "")] == \
        ["TR", "TRK", "KN", "NT", "FN", "XS", "0M", ""]
    assert sound_key("dates") == sound_key("days") == "TS"  # voiced and voiceless alike, vowels gone
    assert sounds_like("harlow", "hollow") == 0.64  # HRL / HL: ratio 0.8, weighed 0.8
    assert sounds_like("apricots", "precuts") == round(0.8 * 10 / 11, 4)  # APRKTS / PRKTS
    assert sounds_like("nine", "hind") == 0.0  # one sound ("N") is too little to go on
    assert sounds_like("quarter", "water") == 0.0  # KRTR / WTR: 0.57, below SOUND_CUTOFF
    assert sounds_like("toes", "days") == 0.0  # same key, but the spellings are too far apart
    unit = Unit(0, 4, "The warden at pebble cove, dark wind, counts the cramps.", "speech", "sentence")
    assert match_terms("dara quinn", unit).coverage == 0.0
    heard = match_terms("dara quinn", unit, sounds=True)
    assert heard.coverage == 0.32 and heard.terms == ("dara",)
    assert match_terms("pebble dara", unit, sounds=True).coverage == 0.82  # an exact word still counts 1


def test_match_terms_joined_meets_a_word_the_recogniser_split():
    unit = Unit(0, 4, "Finished pieces cool slowly over height in a oven called an eel.", "speech", "sentence")
    plain = match_terms("slowly overnight annealer", unit)
    assert plain.coverage == 0.3333 and plain.terms == ("slowly",)
    joined = match_terms("slowly overnight annealer", unit, joined=True)
    assert joined.terms == ("slowly", "overnight")  # "over height" run together; "an eel" is too far off
    assert joined.coverage == round((1 + 16 / 19) / 3, 4)  # difflib: overnight / overheight = 16/19
    # short terms never meet a run ("nina" would meet every "in a"), nor does a run holding a number
    assert match_terms("nina", Unit(0, 1, "she lives in a house", "speech", "sentence"), joined=True).coverage == 0.0
    assert match_terms("harbour", Unit(0, 1, "har 9 bour", "screen", "line"), joined=True).coverage == 0.0
    assert match_terms("harbour", Unit(0, 1, "har bour", "screen", "line"), joined=True).coverage == 1.0
