"""SRT/WebVTT parsing as real files come, the writers, and finding sidecar files."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidq.errors import InputError
from vidq.speech.sources import find_sidecar, iso639_1, read_subtitle_file, sidecar_language
from vidq.speech.subtitles import (
    decode_subtitle_bytes,
    format_srt,
    format_vtt,
    parse_subtitles,
)
from vidq.speech.types import Segment


def cues(text: str) -> list[tuple[float, float, str]]:
    return [(c.start, c.end, c.text) for c in parse_subtitles(text)]


def test_plain_srt():
    srt = "1\n00:00:01,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:03,000 --> 00:00:04,000\nSecond cue\n"
    assert cues(srt) == [(1.0, 2.5, "Hello there."), (3.0, 4.0, "Second cue")]


def test_srt_with_bom_crlf_no_final_newline_and_multiline_cue():
    data = "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nfirst line\r\nsecond line\r\n\r\n2\r\n00:01:00,5 --> 00:01:01,25\r\nlast"
    assert cues(data) == [(1.0, 2.0, "first line second line"), (60.5, 61.25, "last")]


def test_bytes_decoding_bom_utf16_and_cp1252():
    text = "1\n00:00:01,000 --> 00:00:02,000\nCaf\u00e9\n"
    for data in (b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("utf-16"), text.encode("cp1252")):
        assert cues(decode_subtitle_bytes(data)) == [(1.0, 2.0, "Caf\u00e9")]


def test_styling_tags_entities_and_ass_overrides_are_removed():
    srt = ("1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>Hello</i> <font color=\"#ff0000\">red</font>\n"
           "<b>Tom &amp; Jerry</b>&nbsp;&lt;3\n")
    assert cues(srt) == [(1.0, 2.0, "Hello red Tom & Jerry <3")]


def test_dialogue_dashes_are_dropped():
    srt = "1\n00:00:01,000 --> 00:00:02,000\n- Hi.\n- Hello.\n"
    assert cues(srt) == [(1.0, 2.0, "Hi. Hello.")]


def test_webvtt_with_header_note_style_ids_settings_voice_and_hourless_times():
    vtt = """WEBVTT - a title
Kind: captions

STYLE
::cue { color: yellow }

NOTE this is
a comment

intro
00:01.000 --> 00:02.500 align:start position:10%
<v Roger>Hi <c.loud>there</c></v>

00:00:03.000 --> 00:00:04.000
<00:00:03.500>karaoke <i>words</i>
"""
    assert cues(vtt) == [(1.0, 2.5, "Hi there"), (3.0, 4.0, "karaoke words")]


def test_overlapping_cues_are_kept_in_start_order():
    srt = ("2\n00:00:02,000 --> 00:00:05,000\nlater\n\n"
           "1\n00:00:01,000 --> 00:00:03,000\nearlier\n")
    assert cues(srt) == [(1.0, 3.0, "earlier"), (2.0, 5.0, "later")]


def test_rolling_captions_drop_the_repeated_line_and_merge_identical_cues():
    vtt = """WEBVTT

00:00:01.000 --> 00:00:02.000
one two

00:00:02.000 --> 00:00:03.000
one two
three four

00:00:03.000 --> 00:00:03.010
three four

00:00:03.010 --> 00:00:04.000
three four
"""
    # YouTube-style: each line is shown again, then held by a 10 ms cue; every phrase once
    assert cues(vtt) == [(1.0, 2.0, "one two"), (2.0, 4.0, "three four")]


def test_missing_blank_line_between_srt_cues():
    srt = "1\n00:00:01,000 --> 00:00:02,000\nfirst\n2\n00:00:03,000 --> 00:00:04,000\nsecond\n"
    assert cues(srt) == [(1.0, 2.0, "first"), (3.0, 4.0, "second")]


def test_text_after_a_stray_blank_line_stays_with_its_cue():
    srt = "1\n00:00:01,000 --> 00:00:02,000\nfirst\n\ncontinued\n\n2\n00:00:03,000 --> 00:00:04,000\nsecond\n"
    assert cues(srt) == [(1.0, 2.0, "first continued"), (3.0, 4.0, "second")]


def test_end_before_start_and_empty_cues():
    srt = "1\n00:00:05,000 --> 00:00:04,000\nbackwards\n\n2\n00:00:06,000 --> 00:00:07,000\n<i></i>\n"
    assert cues(srt) == [(5.0, 5.0, "backwards")]


def test_empty_file_and_header_only_vtt_have_no_cues():
    assert cues("") == []
    assert cues("WEBVTT\n") == []


def test_not_a_subtitle_file_is_an_input_error():
    with pytest.raises(InputError, match="not an SRT or WebVTT file"):
        parse_subtitles("just some text\nwithout timings\n", name="notes.srt")


def test_writers():
    segs = [Segment(1.0, 2.5, "Hello"), Segment(3723.4567, 3724.0, "a --> b")]
    assert format_srt(segs) == ("1\n00:00:01,000 --> 00:00:02,500\nHello\n\n"
                                "2\n01:02:03,457 --> 01:02:04,000\na --> b\n")
    assert format_vtt(segs) == ("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello\n\n"
                                "01:02:03.457 --> 01:02:04.000\na -> b\n")
    assert format_vtt([]) == "WEBVTT\n"
    assert format_srt([]) == ""


_text = st.text(alphabet="abcdefghij XYZ,.?!'", min_size=1, max_size=30).map(lambda s: " ".join(s.split())).filter(bool)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000_000), st.integers(0, 60_000), _text), min_size=1, max_size=8))
def test_srt_and_vtt_round_trip(raw):
    segs = sorted((Segment(ms / 1000, (ms + dur) / 1000, text) for ms, dur, text in raw), key=lambda s: s.start)
    # identical neighbours that touch are merged on purpose (rolling captions): leave those out
    if any(a.text == b.text and b.start <= a.end + 0.05 for a, b in itertools.pairwise(segs)):
        return
    for writer in (format_srt, format_vtt):
        back = parse_subtitles(writer(segs))
        assert [(c.start, c.end, c.text) for c in back] == [(s.start, s.end, s.text) for s in segs]


def test_read_subtitle_file_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_subtitle_file(tmp_path / "missing.srt")
    with pytest.raises(InputError, match="is not a file"):
        read_subtitle_file(tmp_path)


def test_find_sidecar_order(tmp_path):
    video = tmp_path / "movie.mp4"
    video.write_bytes(b"")
    assert find_sidecar(video) is None
    (tmp_path / "movie.de.srt").write_text("x")
    assert find_sidecar(video).name == "movie.de.srt"
    (tmp_path / "movie.en.vtt").write_text("x")
    assert find_sidecar(video).name == "movie.en.vtt"  # English before other languages
    assert find_sidecar(video, "de").name == "movie.de.srt"  # the wanted language first
    (tmp_path / "movie.VTT").write_text("x")
    assert find_sidecar(video).name == "movie.VTT"  # the untagged file wins
    (tmp_path / "movie.srt").write_text("x")
    assert find_sidecar(video).name == "movie.srt"  # .srt before .vtt
    (tmp_path / "movie.extra.en.srt").write_text("x")  # another stem: never picked
    (tmp_path / "movie.srt").unlink()
    (tmp_path / "movie.VTT").unlink()
    assert find_sidecar(video).name == "movie.en.vtt"


def test_sidecar_language_is_its_tag():
    assert [sidecar_language("/v/movie.mp4", f"/v/{name}") for name in
            ("movie.fr.srt", "movie.fre.vtt", "movie.srt", "movie.extra.en.srt", "other.de.srt")] == \
        ["fr", "fr", None, None, None]


def test_iso639_1():
    assert iso639_1("eng") == "en"
    assert iso639_1("en-US") == "en"
    assert iso639_1("ger") == "de"
    assert iso639_1("und") is None
    assert iso639_1(None) is None
