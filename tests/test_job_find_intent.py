"""What a query asks for (vidq.tasks.query): exact parses, the calibration arithmetic, how a spot is ranked."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from vidq.analysis.evidence import EvidenceIndex, Unit
from vidq.analysis.segments import AdSegment, Spot
from vidq.tasks.query import (
    AD_PASS_RANK,
    AD_RANK_STEP,
    AD_RELEVANCE_FLOOR,
    calibrate,
    parse_intent,
    rank_segment,
    related_cosine,
    rivals_of,
    segment_hits,
    spot_text,
)


@pytest.mark.parametrize("query, segment, subject, sources", [
    ("ad for soda", "ad", "soda", None),
    ("an advert for a phone", "ad", "phone", None),
    ("Commercial about car insurance?", "ad", "car insurance", None),
    ("the soda ad", "ad", "soda", None),
    ("commercials", "break", "", None),
    ("ad breaks", "break", "", None),
    ("sponsor", "sponsor", "", None),
    ("sponsored segment by Brightpath", "sponsor", "Brightpath", None),
    ("where they talk about bees", None, "bees", ("speech",)),
    ("when does the host mention the lighthouse", None, "lighthouse", ("speech",)),
    ("the sign that says gate 42 closed", None, "gate 42 closed", ("screen",)),
    ('caption reading "BLUE PELICAN"', None, "BLUE PELICAN", ("screen",)),
    ("when purple submarine appears on screen", None, "purple submarine", ("screen",)),
    ("secret code", None, "secret code", None),
    ("a sign reading blue pelican", None, "blue pelican", ("screen",)),
    ("the meeting point", None, "the meeting point", None),
    ("a parking spot", None, "a parking spot", None),
])
def test_parse_intent(query, segment, subject, sources):
    intent = parse_intent(query)
    assert (intent.segment, intent.subject, intent.sources) == (segment, subject, sources)
    assert intent.query == query


def test_calibration_scores_the_subjects_rank_among_ad_categories():
    assert calibrate(0, 0.6) == pytest.approx(min(1.0, 0.55 + AD_PASS_RANK * AD_RANK_STEP))
    assert calibrate(AD_PASS_RANK, 0.4) == 0.55  # just above the default threshold
    assert calibrate(AD_PASS_RANK + 1, 0.4) == 0.45
    assert calibrate(AD_PASS_RANK - 2, 0.4) == pytest.approx(0.55 + 2 * AD_RANK_STEP)
    assert calibrate(0, AD_RELEVANCE_FLOOR - 0.01) == 0.0  # unrelated words, however it ranks
    assert calibrate(40, 0.5) == 0.0


def test_a_category_related_to_the_subject_is_not_its_rival():
    v = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.8, 0.6, 0]], np.float32)  # the last is related to the first
    # pair cosines 0, 0, 0.8, 0, 0.6, 0: their 0.95 quantile lies three quarters of the way from 0.6 to 0.8
    assert related_cosine(v) == pytest.approx(0.75)
    rivals = rivals_of(v, v[0])
    assert rivals.tolist() == [[0, 1, 0], [0, 0, 1]]  # neither the subject itself nor its neighbour (0.8)
    spot = np.array([[0.6, 0, 0.8]], np.float32)  # cosine 0.6 to the subject, 0.8 to the third category
    assert rank_segment(spot, v[0], rivals, says=False) == (1, pytest.approx(0.6))
    assert related_cosine(v[:1]) == 1.0  # no pairs: nothing is related


class _Words:
    """A bag-of-words encoder over a small vocabulary, recording what it was asked to embed."""

    VOCAB = ["fizz", "cola", "ice", "cold", "bubbles", "bank", "loan", "savings", "rate"]
    SAME = {"fizzy": "fizz", "drinks": "cola"}

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen.extend(texts)
        out = np.zeros((len(texts), len(self.VOCAB) + 1), np.float32)
        out[:, -1] = 0.01  # nothing is orthogonal to everything
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                word = self.SAME.get(word, word)
                if word in self.VOCAB:
                    out[i, self.VOCAB.index(word)] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_a_spot_is_ranked_by_its_text_read_as_one():
    """One vector per spot, of its screen lines then its sentences (windows left out): a spot of two
    sentences that each say little is as close to the subject as all its words together."""
    units = [Unit(1.0, 4.0, "Fizz, ice cold.", "speech", "sentence"),
             Unit(4.5, 8.0, "Bubbles!", "speech", "sentence"),
             Unit(1.0, 8.0, "Fizz, ice cold. Bubbles!", "speech", "window"),
             Unit(20.0, 24.0, "Savings at a better rate.", "speech", "sentence"),
             Unit(0.5, 9.0, "FIZZ COLA", "screen", "line")]
    encoder = _Words()
    index = EvidenceIndex(units, encoder.encode([u.text for u in units]), encoder)
    spots = (Spot(0.0, 10.0, 0.9, "Fizz, ice cold. Bubbles!"), Spot(19.0, 26.0, 0.9, "Savings at a better rate."))
    brk = AdSegment(0.0, 26.0, "break", 0.9, "ads", blocks=2, spots=spots)
    tl = SimpleNamespace(units=units, index=lambda: index,
                         segments=SimpleNamespace(breaks=[brk], sponsors=[]))
    assert spot_text(tl, [0, 1, 2, 4]) == "FIZZ COLA. Fizz, ice cold. Bubbles!"
    encoder.seen.clear()
    hits = segment_hits(tl, parse_intent("ad for fizzy drinks"))  # neither word is said: ranked by meaning
    assert "FIZZ COLA. Fizz, ice cold. Bubbles!" in encoder.seen and "Savings at a better rate" in encoder.seen
    assert [h.start for h in hits] == [0.0, 19.0]
    assert hits[0].relevance == 0.75  # the whole spot (fizz 2, cola, ice, cold, bubbles), not its best line (1.0)
    assert hits[0].rank == 0 and hits[0].score == calibrate(0, 0.75) and hits[0].source == "screen"
    assert 'no ad category unrelated to "fizzy drinks" is closer to its words' in hits[0].reason
    assert hits[1].score == 0.0  # savings: unrelated
