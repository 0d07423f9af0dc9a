"""Extractive tools and topic segmentation of the lite stack: pure functions, exact values."""

from __future__ import annotations

import numpy as np
import pytest

from vidq.analysis import extractive as X
from vidq.analysis import tiling as T


def unit(*rows):
    v = np.array(rows, np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_split_sentences_and_words():
    text = "The code is 741. Really? Yes! the end. 3 ducks swam."
    assert X.split_sentences(text) == ["The code is 741.", "Really?", "Yes! the end.", "3 ducks swam."]
    assert X.words("Don't STOP, 42 ducks!") == ["don't", "stop", "42", "ducks"]
    assert X.split_sentences("   ") == []


def test_centrality_and_mmr():
    v = unit([1, 0, 0], [0.9, 0.1, 0], [0.95, 0.05, 0], [0, 0, 1])
    c = X.centrality(v)
    assert c.shape == (4,) and int(np.argmax(c)) == 2 and int(np.argmin(c)) == 3
    np.testing.assert_allclose(c, (v @ v.T).mean(axis=1), rtol=1e-6)
    # without diversity: the most central rows in order; with it: the outlier comes second
    assert X.mmr(v, 3, diversity=0.0) == np.argsort(-c, kind="stable")[:3].tolist()
    assert X.mmr(v, 2, diversity=0.7) == [2, 3]
    assert X.select_sentences(v, 2, diversity=0.7) == [2, 3]
    assert X.mmr(v, 10) == X.mmr(v, 4) and len(X.mmr(v, 10)) == 4
    assert X.mmr(np.zeros((0, 3)), 2) == []
    query_relevance = v @ unit([0, 0, 1])[0]
    assert X.mmr(v, 1, relevance=query_relevance) == [3]
    with pytest.raises(ValueError):
        X.mmr(v, 1, relevance=np.ones(3))


def test_keyphrases_prefer_distinctive_multiword_phrases():
    text = ("The glass blower gathers molten glass. The glass blower shapes the glass with wooden tools. "
            "Molten glass cools in the annealer.")
    background = ["The baker kneads the dough.", "The beekeeper opens the hive and the bees fly."]
    phrases = X.keyphrases(text, background, k=3)
    assert phrases[0] == "glass blower"
    assert "molten glass" in phrases
    assert all(p.split()[0].lower() not in X.STOPWORDS for p in phrases)
    assert X.title_from_phrases(["glass blower", "molten glass", "tools"]) == "Glass blower and molten glass"
    assert X.keyphrases("the and of", [], k=3) == []
    assert X.title_from_phrases([]) == ""


def test_keyphrases_count_plurals_together_and_stay_inside_clauses():
    text = "Welcome to the lighthouses. The keeper's lighthouse is old. A keeper, Martha, lit the lamp at 1887 hours."
    # "lighthouses"/"lighthouse" and "keeper's"/"keeper" count twice each; ties go to the first said;
    # no phrase crosses a sentence or comma, none starts with a number
    assert X.keyphrases(text, ["The baker bakes bread."], k=4) == ["lighthouses", "keeper's", "old", "Martha"]
    assert [X.stem(w) for w in ("keeper's", "lighthouses", "ties", "boss", "churches")] == [
        "keeper", "lighthouse", "tie", "boss", "church"]


def test_lexical_scores_bm25():
    texts = ["the secret code is 741", "a code of conduct", "nothing here"]
    s = X.lexical_scores("secret code 741", texts)
    assert s.shape == (3,) and s[2] == 0.0 and s[0] > s[1] > 0
    # exact BM25 value for a one-term query on two documents
    s2 = X.lexical_scores("owl", ["owl", "cat"])
    idf = np.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    assert s2[0] == pytest.approx(idf * 1 * 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * 1 / 1)))
    assert X.lexical_scores("", texts).tolist() == [0.0, 0.0, 0.0]


def _three_topics():
    """12 sentences: 4 about each of three orthogonal topics, 10 s apart."""
    rng = np.random.default_rng(0)
    base = np.eye(8)[:3]
    rows = [base[i // 4] + 0.15 * rng.standard_normal(8) for i in range(12)]
    v = unit(*rows)
    starts = np.arange(12) * 10.0
    return starts, starts + 8.0, v


def test_gap_similarity_and_depth_scores():
    s = T.gap_similarity(unit([1, 0], [1, 0], [0, 1], [0, 1]), block=2)
    np.testing.assert_allclose(s, [np.sqrt(0.5), 0.0, np.sqrt(0.5)], atol=1e-9)
    np.testing.assert_allclose(T.depth_scores(np.array([0.9, 0.2, 0.8, 0.8, 0.5, 0.7])), [0, 1.3, 0, 0, 0.5, 0])
    assert T.gap_similarity(unit([1, 0]), block=2).shape == (0,)


def test_segment_topics_finds_the_changes():
    starts, ends, v = _three_topics()
    auto = T.segment_topics(starts, ends, v, min_chapter=15.0)
    assert [(s.start, s.first, s.last) for s in auto] == [(0.0, 0, 3), (40.0, 4, 7), (80.0, 8, 11)]
    assert auto[-1].end == 118.0 and auto[0].depth == 0.0 and auto[1].depth > 0.5
    two = T.segment_topics(starts, ends, v, n=2, min_chapter=15.0)
    assert len(two) == 2 and two[1].start in (40.0, 80.0)
    spanned = T.segment_topics(starts + 5, ends + 5, v, min_chapter=15.0, span=(0.0, 130.0))
    assert spanned[0].start == 0.0 and spanned[-1].end == 130.0
    # min_chapter forbids chapters shorter than it
    assert len(T.segment_topics(starts, ends, v, n=3, min_chapter=50.0)) == 2
    assert T.segment_topics(np.zeros(0), np.zeros(0), np.zeros((0, 8))) == []
    one = T.segment_topics(np.array([3.0]), np.array([5.0]), unit([1, 0]))
    assert [(s.start, s.end, s.first, s.last) for s in one] == [(3.0, 5.0, 0, 0)]
