import pytest

from vidq.errors import InputError
from vidq.timefmt import hms, parse_time


@pytest.mark.parametrize(("seconds", "text"), [(0, "00:00:00.000"), (3723.4567, "01:02:03.457"),
                                                 (59.9996, "00:01:00.000"), (-1, "00:00:00.000"),
                                                 (360000.5, "100:00:00.500")])
def test_hms(seconds, text):
    assert hms(seconds) == text


def test_hms_srt_separator():
    assert hms(1.5, sep=",") == "00:00:01,500"


@pytest.mark.parametrize(("text", "seconds"), [("90", 90.0), ("90.5", 90.5), ("1:30", 90.0), ("01:30.5", 90.5),
                                                 ("1:02:03.250", 3723.25), (".5", 0.5), ("00:00:01,5", 1.5), (12, 12.0)])
def test_parse_time(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["-1", "abc", "1:75", "nan", "1::2", "", float("inf")])
def test_parse_time_rejects(text):
    with pytest.raises(InputError):
        parse_time(text)
