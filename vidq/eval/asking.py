"""Asking a backend one question about one video input, and scoring the reply.

Multiple choice: the Video-XL prompt (options lettered, ending ``Best option:(``), greedy,
first option letter; with ``strict`` the question is asked once per rotation of its
options and is right only when every rotation is (VNBench).  Open questions: exact or
contains match against the accepted answers.  Used by both ``niah`` and ``mc``.

Knows nothing about where the video input comes from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from vidq.eval import scoring
from vidq.models.base import Backend, GenerateOptions, VideoInput

MC_TOKENS = 8  # max new tokens for a multiple-choice reply (a letter, maybe a few words)
OPEN_TOKENS = 16  # max new tokens for an open reply (a short phrase)
USED_KEYS = ("model", "device", "quant", "frames", "tokens_per_frame", "visual_tokens", "visual_tokens_in",
             "compression", "ratio", "context_length", "context_tokens", "generated_tokens", "new_tokens",
             "kv_entries", "sees", "method")  # backend meta kept per item (what was used; costs go to the item's timing)


@dataclass
class Verdict:
    """How a backend answered one question (every rotation, when strict)."""

    correct: bool  # right (strict: right in every rotation)
    replies: list[str]  # raw replies, one per question asked
    picks: list[str | None]  # parsed letter per reply, in the ORIGINAL option order (None: no letter; open: None)
    meta: dict[str, Any]  # the first generation's meta
    answer_s: float  # seconds inside the backend, all questions

    def used(self) -> dict[str, Any]:
        """The backend meta worth keeping per item (model, quant, compression, tokens, ...)."""
        return {k: self.meta[k] for k in USED_KEYS if k in self.meta}


def ask_open(backend: Backend, make_input: Callable[[], VideoInput], question: str, accepted: Sequence[str], *,
             match: str, options: GenerateOptions) -> Verdict:
    """One open question, scored by ``scoring.open_match``."""
    t0 = time.perf_counter()
    gen = backend.answer(make_input(), scoring.open_prompt(question), replace(options, max_new_tokens=OPEN_TOKENS))
    took = time.perf_counter() - t0
    return Verdict(scoring.open_match(gen.text, accepted, match), [gen.text], [None], dict(gen.meta), took)


def ask_choice(backend: Backend, make_input: Callable[[], VideoInput], question: str, choices: Sequence[str],
               answer: int, *, strict: bool, options: GenerateOptions) -> Verdict:
    """One multiple-choice question; ``make_input`` is called once per question asked."""
    asks = scoring.rotations(list(choices), answer) if strict else [(list(choices), answer)]
    n = len(choices)
    replies: list[str] = []
    picks: list[str | None] = []
    meta: dict[str, Any] = {}
    took = 0.0
    ok = True
    for r, (opts, right) in enumerate(asks):
        t0 = time.perf_counter()
        gen = backend.answer(make_input(), scoring.mc_prompt(question, opts), replace(options, max_new_tokens=MC_TOKENS))
        took += time.perf_counter() - t0
        meta = meta or dict(gen.meta)
        pick = scoring.parse_choice(gen.text, n)
        replies.append(gen.text)
        picks.append(None if pick is None else scoring.LETTERS[(pick + r) % n])  # back to the original order
        ok = ok and pick == right
    return Verdict(ok, replies, picks, meta, took)
