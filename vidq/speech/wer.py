"""Word error rate with an English text normalizer (for tests, benchmarks and ``vidq eval``).

Normalization makes "There are 12 apples." and "there are twelve apples" equal: it
lowercases, writes numbers as words (``12`` -> ``twelve``, ``3.5`` -> ``three point
five``, ``21st`` -> ``twenty first``, ``1,200`` -> ``one thousand two hundred``, ``50%``
-> ``fifty percent``, ``$5`` -> ``five dollars``), turns hyphens into spaces, drops other
punctuation and filler words (uh, um).  Number words are written without "and"
("one hundred twenty", not "one hundred and twenty"), so both sides must go through
:func:`normalize_text`.

This module knows nothing about engines, media, models or tasks: strings in, numbers out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_FIX = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                "nine": "ninth", "twelve": "twelfth"}
FILLERS = frozenset({"uh", "um", "uhm", "umm", "hmm", "mm", "mhm", "er", "ah"})  # dropped before scoring

_MONEY_RE = re.compile(r"\$(\d[\d,]*(?:\.\d+)?)")
_PERCENT_RE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*%")
_ORDINAL_RE = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_NUMBER_RE = re.compile(r"\d+(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?")


def number_words(n: int) -> str:
    """Cardinal English words for a non-negative integer: 123 -> "one hundred twenty three"."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return number_words(high) + " " + name + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError("unreachable")


def ordinal_words(n: int) -> str:
    """Ordinal English words: 21 -> "twenty first", 12 -> "twelfth", 100 -> "one hundredth"."""
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINAL_FIX:
        words[-1] = _ORDINAL_FIX[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _spell_number(text: str) -> str:
    text = text.replace(",", "")
    if "." in text:
        whole, frac = text.split(".", 1)
        return number_words(int(whole)) + " point " + " ".join(_ONES[int(d)] for d in frac)
    return number_words(int(text))


def normalize_text(text: str) -> str:
    """Lowercase words separated by single spaces, numbers spelled out, punctuation gone."""
    s = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    s = s.replace("&", " and ")
    s = _MONEY_RE.sub(lambda m: " " + _spell_number(m.group(1)) + " dollars ", s)
    s = _PERCENT_RE.sub(lambda m: " " + _spell_number(m.group(1)) + " percent ", s)
    s = _ORDINAL_RE.sub(lambda m: " " + ordinal_words(int(m.group(1))) + " ", s)
    s = _NUMBER_RE.sub(lambda m: " " + _spell_number(m.group(0)) + " ", s)
    s = re.sub(r"[-\u2010-\u2015/]", " ", s)  # hyphens, dashes and slashes separate words
    s = re.sub(r"[^\w\s']", " ", s)  # other punctuation goes
    s = re.sub(r"(?<!\w)'|'(?!\w)", " ", s)  # quotes, but not apostrophes inside words
    return " ".join(w for w in s.split() if w not in FILLERS)


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (substitutions, insertions, deletions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_error_rate(reference: str, hypothesis: str, *, normalize: bool = True) -> float:
    """Word edits needed to turn the hypothesis into the reference, over reference words.

    An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    if normalize:
        reference, hypothesis = normalize_text(reference), normalize_text(hypothesis)
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)
