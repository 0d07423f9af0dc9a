"""Scoring answers: multiple choice as Video-XL does it, open answers by exact/contains match,
and VNBench-style strict scoring over rotated options.

Multiple choice (Video-XL's NIAH): the prompt lists the options as ``(A) ...`` and ends
``Best option:(``; decoding is greedy; the answer is the first option letter in the reply
(see :func:`parse_choice` for the exact rule).  VNBench asks each question once per
rotation of its options and counts it only if every rotation is right
(:func:`rotations`).  Knows nothing about models or videos: strings in, verdicts out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

LETTERS = "ABCDEFGHIJ"  # option letters; at most 10 options
MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."
MC_SUFFIX = "Best option:("  # Video-XL's NIAH prompt ends here; the model continues with a letter
OPEN_INSTRUCTION = "Answer in a few words."

_OPTION_PREFIX = re.compile(r"^\s*\(?([A-Ja-j])\s*[).:]\s+")  # "A. foo", "(B) foo", "c) foo"


def strip_option_prefix(option: str) -> str:
    """``"A. cat"`` / ``"(A) cat"`` -> ``"cat"`` (benchmark exports often carry the letter)."""
    return _OPTION_PREFIX.sub("", option, count=1).strip()


def mc_prompt(question: str, options: Sequence[str]) -> str:
    """The multiple-choice prompt: question, lettered options, instruction, ``Best option:(``."""
    if not 2 <= len(options) <= len(LETTERS):
        raise ValueError(f"a multiple-choice question needs 2..{len(LETTERS)} options, got {len(options)}")
    lines = [f"Question: {question.strip()}", "Options:"]
    lines += [f"({LETTERS[i]}) {strip_option_prefix(opt)}" for i, opt in enumerate(options)]
    lines += [MC_INSTRUCTION, MC_SUFFIX]
    return "\n".join(lines)


def open_prompt(question: str) -> str:
    """The prompt for an open (free-text) question."""
    return f"Question: {question.strip()}\n{OPEN_INSTRUCTION}"


def parse_choice(reply: str, n_options: int) -> int | None:
    """The index of the first option letter in ``reply``, or None.

    The reply continues ``Best option:(`` so it usually starts with the letter
    (``"B) sleeping"``).  In order, the first rule that matches wins:

    1. the reply starts with a valid capital letter (after an optional ``(``) not followed by
       a letter, or with a small letter followed by ``)``;
    2. the first ``(X)`` anywhere;
    3. the first standalone capital letter ``X`` (a word on its own) among the valid ones.

    Only letters of the first ``n_options`` count.

    >>> parse_choice("B) sleeping", 4), parse_choice("The answer is (C).", 4), parse_choice("E", 4)
    (1, 2, None)
    """
    valid = LETTERS[:n_options]
    text = unicodedata.normalize("NFKC", reply or "").strip()
    m = re.match(r"\(?\s*(?:([A-J])(?![A-Za-z])|([a-j])\))", text)
    if m and (m.group(1) or m.group(2)).upper() in valid:
        return valid.index((m.group(1) or m.group(2)).upper())
    m = re.search(rf"\(([{valid}])\)", text)
    if m:
        return valid.index(m.group(1))
    m = re.search(rf"(?<![A-Za-z'])([{valid}])(?![A-Za-z'])", text)
    if m:
        return valid.index(m.group(1))
    return None


def answer_index(answer: str | int, options: Sequence[str]) -> int:
    """Normalise a ground-truth answer to an option index.

    Accepts a letter (``"C"``, ``"(C)"``, ``"C."``), a 0-based index, or the text of an option
    (compared after stripping a letter prefix and case).  Raises ``ValueError`` otherwise.
    """
    n = len(options)
    if isinstance(answer, int) and not isinstance(answer, bool):
        if 0 <= answer < n:
            return answer
        raise ValueError(f"answer index {answer} is outside 0..{n - 1}")
    text = str(answer).strip()
    m = re.fullmatch(r"\(?([A-Ja-j])\)?[.:]?", text)
    if m and LETTERS.index(m.group(1).upper()) < n:
        return LETTERS.index(m.group(1).upper())
    wanted = normalize_answer(strip_option_prefix(text))
    for i, opt in enumerate(options):
        if normalize_answer(strip_option_prefix(opt)) == wanted:
            return i
    raise ValueError(f"answer {text!r} is neither an option letter nor the text of one of the {n} options")


def normalize_answer(text: str) -> str:
    """Lower case, accents folded, punctuation dropped, whitespace collapsed."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    folded = re.sub(r"[^\w\s]", " ", folded)
    return " ".join(folded.split())


def open_match(reply: str, truths: Sequence[str], mode: str = "contains") -> bool:
    """Is ``reply`` right?  ``exact``: equal to a truth after normalisation; ``contains``:
    a truth appears in the reply as whole words."""
    got = normalize_answer(reply)
    for truth in truths:
        want = normalize_answer(truth)
        if not want:
            continue
        if mode == "exact" and got == want:
            return True
        if mode == "contains" and re.search(rf"(?<!\w){re.escape(want)}(?!\w)", got):
            return True
    if mode not in ("exact", "contains"):
        raise ValueError(f"match mode must be exact or contains, not {mode!r}")
    return False


def rotations(options: Sequence[str], answer: int) -> list[tuple[list[str], int]]:
    """Every cyclic rotation of ``options`` with the answer's new index (VNBench strict).

    Rotation ``r`` puts option ``(i + r) % n`` at position ``i``; rotation 0 is the original.

    >>> rotations(["a", "b", "c"], 0)
    [(['a', 'b', 'c'], 0), (['b', 'c', 'a'], 2), (['c', 'a', 'b'], 1)]
    """
    n = len(options)
    if not 0 <= answer < n:
        raise ValueError(f"answer index {answer} is outside 0..{n - 1}")
    out = []
    for r in range(n):
        rotated = [options[(i + r) % n] for i in range(n)]
        out.append((rotated, (answer - r) % n))
    return out
