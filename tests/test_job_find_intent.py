"""What a query asks for (vidq.tasks.query): exact parses, and the calibration arithmetic."""

from __future__ import annotations

import pytest

from vidq.tasks.query import AD_PASS_RANK, AD_RANK_STEP, AD_RELEVANCE_FLOOR, calibrate, parse_intent


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
