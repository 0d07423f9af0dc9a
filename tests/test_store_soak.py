"""A short soak (benchmarks/soak.py runs the long one): SIGKILLs, four concurrent jobs, a
read-only and a full cache, and a damaged one, on 12 s of speech; zero mismatches."""

from __future__ import annotations

import random

import pytest

from vidq.speech import TRANSCRIPT_STAGE
from vidq.testing.soak import Soak


@pytest.mark.slow
def test_soak_kills_concurrency_readonly_full_and_damage(tmp_path, speech_clip):
    rng = random.Random(3)
    soak = Soak(speech_clip, tmp_path / "soak")
    soak.references()
    shared = tmp_path / "shared-cache"
    soak.kills(shared, 3, rng)
    computed = soak.concurrent(tmp_path / "concurrent-cache")
    cheap = ("transcribe", "ads")  # the kills and the concurrent start cover all four jobs
    soak.readonly(shared, rng, cheap)
    soak.full(shared, cheap)
    damaged = soak.damaged(shared, rng, ("summarize", "find"))
    soak.verify(shared)
    report = soak.report
    assert report.mismatches == []
    assert report.kills >= 1 and damaged > 0
    assert computed.get(TRANSCRIPT_STAGE) == 1  # four jobs, one ASR run
