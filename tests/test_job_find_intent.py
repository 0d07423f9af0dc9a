"""What a query asks for (vidq.tasks.query): exact parses, and the calibration arithmetic."""

from __future__ import annotations

import pytest

from vidq.tasks.query import AD_BASE, AD_MARGIN_SCALE, AD_RELEVANCE_FLOOR, calibrate, parse_intent


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


def test_calibration_rewards_margin_not_relevance_alone():
    assert calibrate(0.5, 0.5) == AD_BASE  # as related as the background: below the default threshold 0.5
    assert calibrate(0.5, 0.5 - AD_MARGIN_SCALE) == pytest.approx(AD_BASE + 0.25)
    assert calibrate(0.9, 0.1) == 1.0
    assert calibrate(AD_RELEVANCE_FLOOR - 0.01, -1.0) == 0.0  # unrelated, however far above the background
    assert calibrate(0.3, 0.6) == 0.0
