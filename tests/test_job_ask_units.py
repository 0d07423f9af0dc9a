"""Pure pieces of ``vidq.tasks.ask``: choice parsing, letter parsing, windows, option scoring on plain units."""

from __future__ import annotations

import numpy as np
import pytest

from vidq.errors import InputError
from vidq.tasks.ask import (
    OptionSupport,
    cited,
    distinctive_terms,
    moment_windows,
    parse_choices,
    parse_letter,
    score_options,
    window_times,
)
from vidq.analysis.evidence import EvidenceIndex, Unit


def test_parse_choices_accepts_benchmark_styles_and_bare_options():
    assert parse_choices(["A) 1850", "B. 1887", "(C) 1901", "D: 1923"]) == [
        ("A", "1850"), ("B", "1887"), ("C", "1901"), ("D", "1923")]
    assert parse_choices(["red", "blue"]) == [("A", "red"), ("B", "blue")]
    assert parse_choices(["b) blue", "a) red"]) == [("B", "blue"), ("A", "red")]
    assert parse_choices(["A) x", "Apple pie"]) == [("A", "x"), ("B", "Apple pie")]


@pytest.mark.parametrize("raw, message", [
    (["only one"], "at least two"),
    (["A) red", "A) blue"], "repeat"),
    (["A) red", "  "], "empty"),
    ([f"option {i}" for i in range(11)], "at most"),
])
def test_parse_choices_refuses_what_cannot_be_a_question(raw, message):
    with pytest.raises(InputError, match=message):
        parse_choices(raw)


def test_parse_letter_finds_the_named_option():
    choices = [("A", "red"), ("B", "blue"), ("C", "green")]
    assert parse_letter("B", choices) == "B"
    assert parse_letter("The answer is (C).", choices) == "C"
    assert parse_letter("A", [("B", "x"), ("C", "y")]) is None  # not one of the options
    assert parse_letter("I think it is blue or green", choices) == "B"  # the first option text named
    assert parse_letter("cat dog street", choices) is None
    assert parse_letter("Apple", choices) is None  # a capital inside a word is not a letter


def test_moment_windows_pad_clip_and_merge():
    assert moment_windows([(20, 22), (25, 26), (90, 91)], (0, 100), pad=5) == [(15, 31), (85, 96)]
    assert moment_windows([(1, 2)], (0, 10), pad=5) == [(0, 7)]
    assert moment_windows([], (0, 10)) == []


def test_window_times_spread_context_and_fill_windows_by_length():
    times = window_times([(10.0, 20.0), (50.0, 55.0)], (0.0, 100.0), frames=10, context=4)
    # 4 context frames at 12.5, 37.5, 62.5, 87.5; 6 more split 4 : 2 over windows of 10 s and 5 s
    assert times == [11.25, 12.5, 13.75, 16.25, 18.75, 37.5, 51.25, 53.75, 62.5, 87.5]
    assert window_times([], (0.0, 8.0), frames=4, context=4) == [1.0, 3.0, 5.0, 7.0]


def test_distinctive_terms_drop_what_the_question_already_says():
    assert distinctive_terms("Two thousand eggs", "How many eggs can the queen lay?") == "2000"
    assert distinctive_terms("the queen", "How many eggs can the queen lay?") == "queen"
    assert distinctive_terms("Behind the old mill", "Where are the hives?") == "behind old mill"


class BagOfWords:
    """A deterministic text encoder for tests: normalised counts over a fixed vocabulary."""

    VOCAB = ("lighthouse", "built", "1887", "granite", "keeper", "martha", "bees", "eggs", "2000", "mill")

    def encode(self, texts):
        from vidq.analysis.evidence import tokens

        out = np.zeros((len(texts), len(self.VOCAB)), np.float32)
        for i, t in enumerate(texts):
            for tok in tokens(t):
                if tok in self.VOCAB:
                    out[i, self.VOCAB.index(tok)] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)


def test_score_options_picks_the_option_the_relevant_evidence_says():
    units = [
        Unit(6.9, 12.2, "The lighthouse was built in 1 ,887 from local granite.", "speech", "sentence"),
        Unit(26.8, 31.5, "A keeper named Martha climbed its steps.", "speech", "sentence"),
        Unit(92.0, 95.0, "The queen lays up to two thousand eggs in a single day.", "speech", "sentence"),
        Unit(120.0, 122.0, "In 1923 a storm hit the town.", "speech", "sentence"),
    ]
    index = EvidenceIndex.build(units, encoder=BagOfWords())
    supports, relevance = score_options(index, "When was the lighthouse built?", ["1850", "1887", "1901", "1923"])
    best = max(range(4), key=lambda i: supports[i].score)
    assert best == 1
    assert supports[1].unit == 0 and supports[1].coverage == 1.0
    assert supports[1].units[0][0] == 0
    assert supports[3].score < supports[1].score  # 1923 is said, but not where the question points
    eggs, _ = score_options(index, "How many eggs does the queen lay?", ["Two hundred", "Two thousand", "Fifty"])
    assert max(range(3), key=lambda i: eggs[i].score) == 1
    assert relevance[0] > 0


def test_an_option_with_two_numbers_matches_them_one_by_one():
    """"ten to twenty" keeps 10 and 20 apart: its distinctive terms "breeze 10 20" are not the number 1020."""
    units = [Unit(40.0, 44.0, "A steady breeze of 10 to 20 miles an hour suits most kites.", "speech", "sentence"),
             Unit(60.0, 63.0, "No kite flies when there is no wind at all.", "speech", "sentence")]
    index = EvidenceIndex.build(units, encoder=None)
    options = ["A breeze of ten to twenty miles an hour", "Under two miles an hour", "Fifty miles an hour"]
    supports, _ = score_options(index, "Which wind suits most kites?", options)
    assert supports[0].unit == 0 and supports[0].coverage == 1.0
    assert max(range(3), key=lambda i: supports[i].score) == 0


def test_an_option_meets_a_word_the_recogniser_split_in_two():
    """"overnight" heard as "over height": the option that says it wins over one that shares a word nearby."""
    units = [Unit(10.0, 14.0, "She shapes it with wet water tools. Finished pieces cool slowly over height in a oven.",
                  "speech", "sentence")]
    index = EvidenceIndex.build(units, encoder=None)
    options = ["Slowly overnight in an annealer", "In the furnace", "In cold water", "Outside in the snow"]
    supports, _ = score_options(index, "Where do finished glass pieces cool?", options)
    assert supports[0].coverage == round((1 + 16 / 19) / 3, 4) and supports[2].coverage == 0.5
    assert max(range(4), key=lambda i: supports[i].score) == 0


def test_an_option_meets_a_name_the_recogniser_heard_as_other_words():
    """Names Whisper never heard ("Dara Quinn" as "dark wind", "Gwen Harlow" as "wind hollow") win by how they sound."""
    units = [Unit(146.2, 150.5, "The warden at pebble cove, dark wind, counts the cramps every spring.", "speech",
                  "sentence"),
             Unit(254.9, 258.5, "Lock keep and wind hollow has opened the same gates for 31 years.", "speech",
                  "sentence")]
    index = EvidenceIndex.build(units, encoder=None)
    crabs = ["Ada Pike", "Nell Crosby", "Dara Quinn", "Leo Marsh"]
    supports, _ = score_options(index, "Who counts the crabs at Pebble Cove?", crabs)
    assert [s.coverage for s in supports] == [0.0, 0.0, 0.32, 0.0]  # "dara" sounds like "dark": 0.8 * 0.8, of 2 terms
    assert max(range(4), key=lambda i: supports[i].score) == 2
    gates = ["Mabel Stroud", "Gwen Harlow", "Ruth Keeling", "Iris Dunmore"]
    supports, _ = score_options(index, "Who looks after the lock gates?", gates)
    assert max(range(4), key=lambda i: supports[i].score) == 1 and supports[1].coverage > 0


def test_an_answer_cites_the_units_that_support_it_about_as_well_as_the_best():
    support = OptionSupport(0.27, 4, 0.32, 0.1, ((4, 0.27), (9, 0.135), (2, 0.11)))
    assert cited(support) == [(4, 0.27), (9, 0.135)]  # 0.11 is under half of 0.27: a stray sound-alike
    assert cited(OptionSupport(0.2, 3, 0.0, 0.5)) == [(3, 0.2)]  # no term found: the best unit by meaning
    assert cited(OptionSupport(0.0, None, 0.0, 0.0)) == []


def test_distinctive_terms_drop_what_most_options_share():
    options = ["About 270 degrees", "About 45 degrees", "About 90 degrees", "Two full circles"]
    others = [o for o in options if o != options[0]]
    assert distinctive_terms(options[0], "How far can an owl turn its head?", others) == "270"
    assert distinctive_terms(options[3], "How far can an owl turn its head?", options[:3]) == "2 full circle"
    # shared by exactly half of the options: still dropped; nothing left: fall back to the option's own
    assert distinctive_terms("red car", "Which?", ["red bus"]) == "car"
    assert distinctive_terms("red", "Which?", ["red"]) == "red"


def test_spoken_numbers_join_hundreds_and_tens_as_whisper_writes_them():
    from vidq.tasks.ask import spoken_numbers

    assert spoken_numbers("about 200 and 70 degrees") == "about 270 degrees"
    assert spoken_numbers("in 1900 and 5 more") == "in 1905 more"
    assert spoken_numbers("200 and 700 people") == "200 and 700 people"  # not one number
    assert spoken_numbers("no numbers") == "no numbers"
