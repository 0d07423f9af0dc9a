"""The WER normalizer: numbers written as words, case and punctuation ignored."""

from __future__ import annotations

import pytest

from vidq.speech.wer import (
    edit_distance,
    normalize_text,
    number_words,
    ordinal_words,
    word_error_rate,
)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (12, "twelve"),
        (20, "twenty"),
        (25, "twenty five"),
        (100, "one hundred"),
        (123, "one hundred twenty three"),
        (1000, "one thousand"),
        (1200, "one thousand two hundred"),
        (2_000_017, "two million seventeen"),
    ],
)
def test_number_words(n, words):
    assert number_words(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (12, "twelfth"), (20, "twentieth"),
     (21, "twenty first"), (100, "one hundredth")],
)
def test_ordinal_words(n, words):
    assert ordinal_words(n) == words


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("There are 12 apples.", "there are twelve apples"),
        ("There are twelve apples", "there are twelve apples"),
        ("It costs $5, or 3.5 euros!", "it costs five dollars or three point five euros"),
        ("About 50% of 1,200 people", "about fifty percent of one thousand two hundred people"),
        ("The 21st floor", "the twenty first floor"),
        ("Well-known \u201cfacts\u201d - uh, don\u2019t ask", "well known facts don't ask"),
        ("  Rock & roll  ", "rock and roll"),
        ("", ""),
    ],
)
def test_normalize_text(text, normal):
    assert normalize_text(text) == normal


def test_edit_distance_counts_each_kind_of_edit():
    assert edit_distance(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert edit_distance(["a", "b", "c"], ["a", "x", "c"]) == 1  # substitution
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1  # deletion
    assert edit_distance(["a", "b", "c"], ["a", "b", "c", "d"]) == 1  # insertion
    assert edit_distance([], ["a", "b"]) == 2


def test_word_error_rate():
    assert word_error_rate("There are 12 apples.", "there are twelve apples") == 0.0
    assert word_error_rate("one two three four", "one too three four") == 0.25
    assert word_error_rate("one two", "one two", normalize=False) == 0.0
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "something") == 1.0
