"""Unit tests of vidq.eval.stats, scoring and intervals: exact expected values."""

from __future__ import annotations

import math

import pytest

from vidq.eval import intervals, scoring, stats


def test_wilson_interval_known_values():
    lo, hi = stats.wilson_interval(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    lo, hi = stats.wilson_interval(0, 20)
    assert lo == 0.0 and round(hi, 4) == 0.1611
    lo, hi = stats.wilson_interval(20, 20)
    assert round(lo, 4) == 0.8389 and hi == 1.0
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        stats.wilson_interval(3, 2)


def test_accuracy_block():
    acc = stats.accuracy([True, True, False, True])
    assert (acc.n, acc.correct, acc.accuracy) == (4, 3, 0.75)
    d = acc.as_dict()
    assert d["n"] == 4 and d["correct"] == 3 and len(d["ci95"]) == 2 and d["ci95"][0] < 0.75 < d["ci95"][1]


def test_mcnemar_exact_matches_the_binomial():
    # 1 vs 9 discordant pairs: p = 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024
    assert math.isclose(stats.mcnemar_exact(1, 9), 22 / 1024)
    assert stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(5, 5) == 1.0
    assert math.isclose(stats.mcnemar_exact(0, 6), 2 / 64)


def test_two_proportion_test():
    z, p = stats.two_proportion_test(80, 100, 60, 100)
    assert round(z, 4) == 3.0861 and round(p, 4) == 0.002
    assert stats.two_proportion_test(0, 10, 0, 10) == (0.0, 1.0)
    assert stats.two_proportion_test(1, 0, 1, 10) == (0.0, 1.0)


def test_mc_prompt_ends_like_video_xl():
    prompt = scoring.mc_prompt("What is he doing?", ["A. cooking", "sleeping", "(C) reading"])
    assert prompt.splitlines() == [
        "Question: What is he doing?", "Options:", "(A) cooking", "(B) sleeping", "(C) reading",
        scoring.MC_INSTRUCTION, "Best option:(",
    ]


@pytest.mark.parametrize(("reply", "expected"), [
    ("B) sleeping", 1), ("B", 1), ("(D) reading", 3), ("c) x", 2), ("The answer is (C).", 2),
    ("I think C is right", 2), ("E) nothing", None), ("", None), ("a cat sleeps", None),
    ("Best guess: A", 0), ("Ab", None),
])
def test_parse_choice(reply, expected):
    assert scoring.parse_choice(reply, 4) == expected


def test_answer_index_forms():
    opts = ["cat", "dog", "bird"]
    assert scoring.answer_index("B", opts) == 1
    assert scoring.answer_index("(C)", opts) == 2
    assert scoring.answer_index("a.", opts) == 0
    assert scoring.answer_index(2, opts) == 2
    assert scoring.answer_index("Dog", opts) == 1
    for bad in ("D", 3, "fish", True):
        with pytest.raises(ValueError):
            scoring.answer_index(bad, opts)


def test_open_match():
    assert scoring.open_match("The secret word is Pelican!", ["pelican"])
    assert not scoring.open_match("pelicans everywhere", ["pelican"])
    assert scoring.open_match("pelican", ["Pelican."], "exact")
    assert not scoring.open_match("a pelican", ["pelican"], "exact")


def test_rotations_keep_the_answer():
    rots = scoring.rotations(["a", "b", "c", "d"], 2)
    assert len(rots) == 4
    for opts, right in rots:
        assert opts[right] == "c"
    assert rots[1] == (["b", "c", "d", "a"], 1)


def test_iou_gap_and_merge():
    assert intervals.iou((0, 10), (5, 15)) == pytest.approx(1 / 3)
    assert intervals.iou((0, 1), (2, 3)) == 0.0
    assert intervals.gap((0, 1), (3, 4)) == 2.0
    assert intervals.gap((0, 5), (3, 4)) == 0.0
    assert intervals.merge([(5, 8), (0, 2), (1, 3), (8, 9)]) == [(0.0, 3.0), (5.0, 9.0)]
    assert intervals.overlap([(0, 10)], [(5, 7), (9, 12)]) == 3.0


def test_score_find():
    truth = [(100.0, 104.0)]
    s = intervals.score_find([(50, 52), (101, 103), (200, 201)], truth, tolerance=2.0)
    assert (s.first_hit_rank, s.recall_at_1, s.recall_at_5, s.iou) == (2, False, True, 0.0)
    s = intervals.score_find([(105, 106)], truth, tolerance=2.0)
    assert s.recall_at_1 and s.iou == 0.0
    s = intervals.score_find([(100, 104)], truth, tolerance=0.0)
    assert s.recall_at_1 and s.iou == 1.0
    s = intervals.score_find([], truth, tolerance=2.0)
    assert s.first_hit_rank is None and not s.recall_at_5


def test_score_ads():
    truth = [(100.0, 160.0), (400.0, 430.0)]
    pred = [(95.0, 160.0), (300.0, 310.0)]
    s = intervals.score_ads(pred, truth)
    assert s.matched == 1 and s.missed == 1 and s.false == 1
    assert s.precision == pytest.approx(60 / 75)
    assert s.recall == pytest.approx(60 / 90)
    assert s.iou == pytest.approx(60 / 105)
    assert s.best_iou == (pytest.approx(60 / 65), 0.0)
    empty = intervals.score_ads([], [])
    assert (empty.precision, empty.recall, empty.iou, empty.false) == (1.0, 1.0, 1.0, 0)
