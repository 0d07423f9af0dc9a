"""Pure parts of the chapter formats and the HTML page: exact values on hand-made results (no media)."""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vidq.cli.chapters import (
    CHAPTER_WRITERS,
    ChapterList,
    Mark,
    ad_chapters,
    comskip_rate,
    mkv_time,
    summary_chapters,
)
from vidq.cli.report_html import (
    HtmlWriter,
    Track,
    build_page,
    clock,
    strip_step,
    video_link,
)
from vidq.tasks.ads import AdSegment, AdsResult
from vidq.tasks.ask import AskResult, Choice, Citation
from vidq.tasks.find import FindHit, FindResult
from vidq.tasks.summarize import Chapter, Sentence, Skipped, SummaryResult

SEGMENTS = [AdSegment(64.7, 90.8, "break", 0.987, "2 spots: no station logo", blocks=2),
            AdSegment(130.85, 144.2, "sponsor", 0.95, "sponsor read (brightpath): code", blocks=0)]
ADS = AdsResult("show.mp4", 175.8, (0.0, 175.8), SEGMENTS, "lite", False, meta={"model": "lite"})


def _sentence(text: str, t: float) -> Sentence:
    return Sentence(text, t, t + 3.0, "speech")


SUMMARY = SummaryResult(
    Path("show.mp4"), 0.0, 175.8, 175.8, "medium", "extractive", "lite", False,
    sentences=(_sentence("Lighthouses guide ships.", 5.0),),
    chapters=(Chapter(0, 0.0, 49.9, "Lighthouses", "screen", (_sentence("Lighthouses guide ships.", 5.0),)),
              Chapter(1, 49.9, 125.5, "Bees <&> honey", "screen", (_sentence("Bees make honey.", 52.0),)),
              Chapter(2, 125.5, 175.8, "", "keyphrases", ())),
    skipped=(Skipped(64.7, 90.8, "break", "2 spots"), Skipped(130.85, 144.2, "sponsor", "sponsor read")),
    meta={"model": "lite", "method": "extractive", "limits": "lite cannot see pictures", "timings": {"total": 1.5}})


def write(fmt: str, chapters: ChapterList) -> str:
    buf = io.StringIO()
    CHAPTER_WRITERS[fmt].write(chapters, buf)
    return buf.getvalue()


# -- chapters ---------------------------------------------------------------------------------
def test_ad_chapters_number_the_programme_parts_between_the_ads():
    marks = ad_chapters(SEGMENTS, 175.8)
    assert [(m.start, m.end, m.title, m.kind) for m in marks] == [
        (0.0, 64.7, "Programme 1", "programme"), (64.7, 90.8, "Advertisement (0.99)", "break"),
        (90.8, 130.85, "Programme 2", "programme"), (130.85, 144.2, "Sponsor (0.95)", "sponsor"),
        (144.2, 175.8, "Programme 3", "programme")]
    assert [m.title for m in ad_chapters([], 10.0)] == ["Programme 1"]


def test_summary_chapters_cut_around_the_ads_they_left_out():
    marks = summary_chapters(SUMMARY)
    assert [(m.start, m.end, m.title, m.kind) for m in marks] == [
        (0.0, 49.9, "Lighthouses", "chapter"),
        (49.9, 64.7, "Bees <&> honey", "chapter"), (64.7, 90.8, "Advertisement", "break"),
        (90.8, 125.5, "Bees <&> honey (continued)", "chapter"),
        (125.5, 130.85, "Chapter 3", "chapter"), (130.85, 144.2, "Sponsor", "sponsor"),
        (144.2, 175.8, "Chapter 3 (continued)", "chapter")]
    for a, b in itertools.pairwise(marks):
        assert a.end == b.start  # in order, no gaps, no overlaps


def test_ffmeta_escapes_and_uses_milliseconds():
    text = write("ffmeta", ChapterList((Mark(0.0, 1.5, "a=b;c#d"), Mark(1.5, 2.0, "x", "break")), 2.0))
    assert text == (";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=a\\=b\\;c\\#d\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1500\nEND=2000\ntitle=x\n")


def test_mkv_time_is_nanoseconds_rounded_to_the_millisecond():
    assert mkv_time(3723.4567) == "01:02:03.457000000"
    assert mkv_time(0.0) == "00:00:00.000000000"
    assert mkv_time(-1.0) == "00:00:00.000000000"


def test_mkvchapters_is_the_xml_mkvmerge_reads():
    marks = tuple(summary_chapters(SUMMARY))
    text = write("mkvchapters", ChapterList(marks, 175.8))
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n\n<!DOCTYPE Chapters SYSTEM "matroskachapters.dtd">')
    root = ET.fromstring(text.split("\n", 3)[3])  # ElementTree rejects the DOCTYPE line only when DTD-validating
    assert root.tag == "Chapters"
    editions = root.findall("EditionEntry")
    assert len(editions) == 1 and int(editions[0].findtext("EditionUID")) > 0
    atoms = editions[0].findall("ChapterAtom")
    assert [(a.findtext("ChapterTimeStart"), a.findtext("ChapterTimeEnd"), a.findtext("ChapterDisplay/ChapterString"))
            for a in atoms][:3] == [("00:00:00.000000000", "00:00:49.900000000", "Lighthouses"),
                                    ("00:00:49.900000000", "00:01:04.700000000", "Bees <&> honey"),
                                    ("00:01:04.700000000", "00:01:30.800000000", "Advertisement")]
    uids = [int(a.findtext("ChapterUID")) for a in atoms]
    assert len(set(uids)) == len(uids) and all(0 < u < 2**63 for u in uids)
    assert all(a.findtext("ChapterFlagEnabled") == "1" and a.findtext("ChapterFlagHidden") == "0" for a in atoms)
    assert text == write("mkvchapters", ChapterList(marks, 175.8))  # stable UIDs: same chapters, same file


@pytest.mark.parametrize("fps, rate", [(29.97002997, 2997), (30000 / 1001, 2997), (25.0, 2500), (23.976, 2397),
                                       (59.94, 5994), (5.0, 500)])
def test_comskip_rate_is_fps_times_100_truncated(fps, rate):
    assert comskip_rate(fps) == rate


def test_comskip_lists_the_segments_to_skip_in_frames():
    text = write("comskip", ChapterList(tuple(ad_chapters(SEGMENTS, 175.8)), 175.8, 25.0))
    assert text == ("FILE PROCESSING COMPLETE   4395 FRAMES AT  2500\n-------------------\n"
                    "1618\t2270\n3271\t3605\n")
    with pytest.raises(ValueError):
        write("comskip", ChapterList((), 10.0, None))


# -- the HTML page ----------------------------------------------------------------------------
def test_strip_step_and_clock():
    assert strip_step(175.8) == 5 and strip_step(3600) == 120 and strip_step(10 * 3600) == 900
    assert clock(64.7) == "1:04" and clock(3723.9) == "1:02:03" and clock(5.0, long=True) == "0:00:05"


def test_video_link_is_relative_to_the_page_and_url_quoted(tmp_path):
    video = tmp_path / "rec" / "my show #1.mp4"
    assert video_link(video, tmp_path / "pages" / "r.html") == "../rec/my%20show%20%231.mp4"
    assert video_link(video, tmp_path / "rec" / "r.html") == "my%20show%20%231.mp4"


def test_thumbnail_matching_takes_the_nearest_within_reach():
    t = Track(Path("v.mp4"), 100.0, "v.mp4", thumbnails=[(10.0, b"a"), (20.2, b"b"), (40.0, b"c")])
    assert t.thumbnail(19.0) == b"b" and t.thumbnail(10.4) == b"a" and t.thumbnail(30.0) is None
    assert Track(Path("v.mp4"), 10.0, None).thumbnail(1.0) is None


def _html(**results) -> str:
    page = build_page(**results, link=lambda p: p.name)
    for track in page.tracks:
        track.thumbnails = [(t, b"\xff\xd8jpeg") for t in track.thumbnail_times()]
    buf = io.StringIO()
    HtmlWriter().write(page, buf)
    return buf.getvalue()


def test_summary_page_places_chapters_and_skipped_ads_with_escaped_titles():
    html = _html(summary=SUMMARY)
    assert "<script src" not in html and "http://" not in html and "https://" not in html  # nothing fetched
    assert html.count('class="seg chapter') == 3 and html.count('class="entry chapter"') == 3
    assert 'data-kind="break" data-start="64.700" data-end="90.800" style="left:36.8%;width:14.8%"' in html
    assert "Bees &lt;&amp;&gt; honey" in html and "Bees <&>" not in html
    assert '<time datetime="PT49.900S">0:49</time>–<time datetime="PT125.500S">2:05</time>' in html
    assert 'href="show.mp4#t=49.900" data-video="video-0" data-t="49.900"' in html
    assert '<video id="video-0" controls preload="metadata" src="show.mp4">' in html
    assert "<details class=\"meta\"><summary>How the summary was made</summary>" in html
    assert "lite cannot see pictures" in html


def test_report_page_of_summary_ads_and_hits():
    hit = FindHit("show.mp4", 37.6, 43.6, 1.0, 'on screen: "BLUE PELICAN"', "screen", "BLUE PELICAN", 1.0, "text-match")
    found = FindResult("blue pelican", 5, 0.5, [hit], [hit], "lite", False,
                       meta={"files": [{"file": "show.mp4", "duration": 175.8}]})
    html = _html(summary=SUMMARY, ads=ADS, find=found)
    assert '<body class="page-report">' in html and "Searched for <q>blue pelican</q>" in html
    assert html.count('class="seg break') == 1 and "confidence 0.99" in html  # the ads result's, not the summary's
    assert 'class="seg hit n0" href="show.mp4#t=37.600"' in html
    assert html.count("<details") == 3


def test_ask_page_shows_the_chosen_option_and_citations():
    result = AskResult(Path("show.mp4"), "When was it built?", 0.0, 175.8,
                       (Choice("A", "1850", 0.1, 0.2), Choice("B", "1887", 0.9, 0.8)), "B", "1887",
                       (Citation(6.6, 12.3, "built in 1887", "speech", 0.03),), "evidence", "lite", False,
                       meta={"duration": 175.8})
    html = _html(ask=result)
    assert '<li class="chosen" aria-current="true"><b>B)</b> 1887 <span class="prob">80%</span></li>' in html
    assert 'data-kind="citation" data-start="6.600" data-end="12.300"' in html
    assert "B) 1887" in html


def test_a_search_over_two_files_gives_each_its_player_and_timeline():
    hits = [FindHit("./a.mp4", 5.0, 6.0, 0.9, "said", "speech", "code 7", 0.9, "text-match"),
            FindHit("b.mp4", 50.0, 52.0, 0.8, "shown", "screen", "GATE 42", 0.8, "text-match")]
    found = FindResult("code", 5, 0.5, hits, hits, "lite", False,
                       meta={"files": [{"file": "a.mp4", "duration": 60.0}, {"file": "b.mp4", "duration": 100.0}]})
    page = build_page(find=found, link=lambda p: p.name)
    assert [(t.file.name, t.duration, [h.start for h in t.hits]) for t in page.tracks] == \
        [("a.mp4", 60.0, [5.0]), ("b.mp4", 100.0, [50.0])]
    html = _html(find=found)
    assert '<video id="video-1" controls preload="metadata" src="b.mp4">' in html
    assert 'href="b.mp4#t=50.000" data-video="video-1"' in html and "<h1>“code”</h1>" in html
