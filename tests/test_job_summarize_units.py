"""Pure pieces of ``vidq.tasks.summarize``: exact values on hand-made data (no models, no media)."""

from __future__ import annotations

import numpy as np
import pytest

from vidq.analysis.evidence import Unit
from vidq.analysis.picture import cut_intervals
from vidq.analysis.topics import (
    Boundary,
    min_chapter_seconds,
    readable_screen_units,
    resume_after_breaks,
    snap_boundaries,
    title_cards,
    titled_cuts,
)
from vidq.tasks.summarize import (
    parse_segment_reply,
    pick_sentences,
    segment_edges,
    split_text_sentences,
)


def test_cut_intervals_brackets_each_cut_by_its_two_frames():
    assert cut_intervals([0.0, 1.0, 2.0, 3.0], [0.0, 0.1, 0.9, 0.2]) == [(1.0, 2.0)]
    assert cut_intervals([0.0, 1.0, 2.0], [0.0, 0.36, 0.35]) == [(0.0, 1.0)]  # strictly above the threshold
    assert cut_intervals([], []) == []


STARTS = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
ENDS = [4.0, 9.0, 14.0, 19.0, 24.0, 29.0]


def test_snap_keeps_a_deep_gap_without_cues_at_the_next_speech():
    depth = [0.1, 0.2, 0.9, 0.2, 0.1]
    assert snap_boundaries(STARTS, ENDS, [2], depth, cuts=[]) == [Boundary(2, 15.0, "pause")]


def test_snap_moves_to_a_neighbouring_pause_with_a_cut_and_starts_at_the_cut():
    depth = [0.1, 0.5, 0.9, 0.2, 0.1]
    # the cut (frames at 9.0 and 10.0) lies in the pause after unit 1 (9.0 .. 10.0)
    assert snap_boundaries(STARTS, ENDS, [2], depth, cuts=[(9.0, 10.0)]) == [Boundary(1, 9.5, "cut")]


def test_snap_uses_an_on_screen_title_and_never_reaches_past_two_units():
    depth = [0.1, 0.2, 0.9, 0.8, 0.1]
    assert snap_boundaries(STARTS, ENDS, [2], depth, cuts=[], titles=[19.4]) == [Boundary(3, 19.4, "title")]
    # a weak neighbour does not win on one cue alone: 0.2 / 0.9 + 0.6 - 0.15 < 1
    assert snap_boundaries(STARTS, ENDS, [2], [0.1, 0.2, 0.9, 0.2, 0.1], cuts=[], titles=[19.4])[0].gap == 2
    assert snap_boundaries(STARTS, ENDS, [0], depth, cuts=[(24.0, 25.0)]) == [Boundary(0, 5.0, "pause")]


def test_snap_never_merges_two_boundaries_into_one_gap():
    depth = [0.1, 0.8, 0.9, 0.2, 0.1]
    out = snap_boundaries(STARTS, ENDS, [1, 2], depth, cuts=[(9.0, 10.0)])
    assert [b.gap for b in out] == [1, 2]


def test_a_chapter_across_an_ad_break_starts_where_the_programme_resumes():
    starts, ends = [0.0, 5.0, 40.0, 45.0], [4.0, 9.0, 44.0, 49.0]  # speech stops at 9 s, resumes at 40 s
    cut = [Boundary(1, 12.0, "cut")]  # the cut that opens the break
    assert resume_after_breaks(cut, starts, ends, [(12.0, 38.5)]) == [Boundary(1, 38.5, "break")]
    # two breaks in one pause (a sponsor read after the ads): after the last
    assert resume_after_breaks(cut, starts, ends, [(12.0, 25.0), (26.0, 39.6)]) == [Boundary(1, 39.6, "break")]
    # never past the next speech; a break elsewhere, or one reaching into the speech, moves nothing
    assert resume_after_breaks(cut, starts, ends, [(12.0, 40.4)]) == [Boundary(1, 40.0, "break")]
    assert resume_after_breaks(cut, starts, ends, [(41.0, 43.0)]) == cut
    assert resume_after_breaks(cut, starts, ends, [(7.0, 30.0)]) == cut
    assert resume_after_breaks(cut, starts, ends, []) == cut


def test_min_chapter_seconds_scales_with_the_span_within_bounds():
    assert min_chapter_seconds(40.0) == 8.0
    assert min_chapter_seconds(160.0) == 20.0
    assert min_chapter_seconds(3600.0) == 30.0


def test_pick_sentences_prefers_full_sentences_in_reading_order():
    vectors = np.eye(4, dtype=np.float32)
    texts = ["Yes.", "The first full sentence is here.", "Another complete sentence follows it.", "Okay then."]
    assert pick_sentences(vectors, texts, 2) == [1, 2]
    assert pick_sentences(vectors, texts, 0) == []
    assert pick_sentences(vectors[:1], texts[:1], 3) == [0]  # short ones only when nothing else is left


def test_title_cards_are_short_lines_shown_once_and_logos_are_not():
    screen = [Unit(0.4, 3.4, "LIGHTHOUSES", "screen", "line"), Unit(0.0, 100.0, "VQ TV", "screen", "line"),
              Unit(50.0, 54.0, "VQ TV", "screen", "line"), Unit(60.0, 61.0, "0012.345", "screen", "line"),
              Unit(70.0, 72.0, "a very long line of on screen text with many words", "screen", "line")]
    readable = readable_screen_units(screen)
    assert [u.text for u in readable] == ["LIGHTHOUSES", "VQ TV", "VQ TV",
                                          "a very long line of on screen text with many words"]
    assert [u.text for u in title_cards(readable)] == ["LIGHTHOUSES"]


def test_parse_segment_reply_with_and_without_a_title_line():
    assert parse_segment_reply("Title: Bees\nThey dance. They make honey.") == ("Bees", "They dance. They make honey.")
    assert parse_segment_reply("**Title:** Volcanoes\nSummary: Lava flows.") == ("Volcanoes", "Lava flows.")
    assert parse_segment_reply("cat dog car\nstreet kitchen") == ("cat dog car", "street kitchen")
    assert parse_segment_reply("one line only") == ("one line only", "one line only")


def test_split_text_sentences_and_segment_edges():
    assert split_text_sentences("A b. C d!  E f? g") == ["A b.", "C d!", "E f?", "g"]
    assert split_text_sentences("  ") == []
    assert segment_edges(10.0, 40.0, 3) == [10.0, 20.0, 30.0, 40.0]


@pytest.mark.parametrize("bad", ["huge", ""])
def test_summarize_refuses_a_bad_length_before_reading_anything(bad, tmp_path):
    from vidq.errors import InputError
    from vidq.tasks.pipeline import JobOptions
    from vidq.tasks.summarize import summarize

    with pytest.raises(InputError, match="--length"):
        summarize(tmp_path / "missing.mp4", JobOptions(), length=bad)


def test_merge_similar_joins_neighbours_about_the_same_thing():
    from vidq.analysis.topics import merge_similar

    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    c = np.array([0.8, 0.6, 0.0])  # cos 0.8 with a, 0.6 with b
    vectors = np.stack([a, a, b, b, c, c]).astype(np.float32)
    assert merge_similar(vectors, [1, 3], threshold=0.9) == [1, 3]
    assert merge_similar(vectors, [1, 3], threshold=0.6) == [1]  # b|c (0.6) merge, then a|(b+c) (0.447) stays
    assert merge_similar(vectors, [1, 3], threshold=0.4) == []
    assert merge_similar(vectors, [], threshold=0.5) == []


def test_recognition_confidence_is_the_mean_word_probability():
    from vidq.speech import Word
    from vidq.tasks.summarize import recognition_confidence

    heard = Unit(0.0, 1.0, "two words", "speech", "sentence", words=(Word(0.0, 0.5, "two", 0.9), Word(0.5, 1.0, "words", 0.5)))
    assert recognition_confidence(heard) == pytest.approx(0.7)
    assert recognition_confidence(Unit(0.0, 1.0, "SIGN", "screen", "line")) == 1.0
    assert recognition_confidence(Unit(0.0, 1.0, "cue", "speech", "sentence", words=(Word(0.0, 1.0, "cue"),))) == 1.0


def test_snap_starts_at_the_cut_the_title_appears_at_not_the_old_topics_last_cut():
    starts, ends, depth = [0.0, 5.0, 10.0, 20.0, 25.0], [4.0, 9.0, 12.0, 24.0, 29.0], [0.1, 0.2, 0.9, 0.1]
    cuts = [(13.0, 13.4), (18.6, 19.0)]  # the old topic's last shot change, then the new topic's first shot
    assert snap_boundaries(starts, ends, [2], depth, cuts=cuts, titles=[19.0]) == [Boundary(2, 18.8, "cut")]
    assert snap_boundaries(starts, ends, [2], depth, cuts=cuts) == [Boundary(2, 13.2, "cut")]
    # a title with no shot change under it starts the chapter itself
    assert snap_boundaries(starts, ends, [2], depth, cuts=cuts[:1], titles=[17.0]) == [Boundary(2, 17.0, "title")]


def test_a_titled_cut_needs_the_title_on_the_new_pictures():
    """A chapter card comes up with the cut or after it; a sign seen before the cut is the old shot's."""
    starts, ends = [0.0, 10.0, 44.6, 63.0, 90.0], [8.0, 42.3, 59.4, 88.0, 99.0]
    cuts = [(43.8, 44.4), (61.6, 62.2)]
    assert titled_cuts(starts, ends, cuts, [42.4, 62.2], minimum=30.0) == [2]  # the sign at 42.4: not a title
    assert titled_cuts(starts, ends, cuts, [43.4, 62.2], minimum=30.0) == [1]  # half a second early is with it
    assert titled_cuts(starts, ends, cuts, [62.2], minimum=30.0) == [2]
    assert titled_cuts(starts, ends, cuts[:1], [62.2], minimum=30.0) == []  # a title with no cut in its pause
    assert titled_cuts(starts, ends, cuts, [44.0, 62.2], minimum=10.0) == [1, 2]


def test_a_sponsor_reads_sentences_place_the_chapters_but_are_never_quoted():
    from vidq.tasks.summarize import lite_chapters

    def unit(t: float, text: str) -> Unit:
        return Unit(t, t + 4.0, text, "speech", "sentence")

    harbour = ["Boats leave the harbour at dawn.", "Nets are mended on the quay.", "Gulls follow the boats home."]
    read = ["This video is sponsored by Quillnote.", "Quillnote keeps your notes in step."]
    trains = ["Steam trains crossed the valley.", "The viaduct has forty arches.", "Coal was loaded at the depot.",
              "The line closed in 1962."]
    units = ([unit(5.0 * k, t) for k, t in enumerate(harbour)] + [unit(16.0 + 5.0 * k, t) for k, t in enumerate(read)]
             + [unit(27.0 + 5.0 * k, t) for k, t in enumerate(trains)])
    rows = [[1.0, 0.0, 0.0]] * 3 + [[0.0, 1.0, 0.0]] * 2 + [[0.0, 0.2, 1.0]] * 4
    vectors = np.array(rows, np.float32) / np.linalg.norm(rows, axis=1, keepdims=True)
    aside = [False] * 3 + [True] * 2 + [False] * 4
    placed, _ = lite_chapters(units, vectors, [], [], span=(0.0, 50.0), length="long", chapters=2)
    found, summary = lite_chapters(units, vectors, [], [], span=(0.0, 50.0), length="long", chapters=2, aside=aside)
    assert [c.start for c in found] == [c.start for c in placed]  # the read moves nothing
    quoted = {s.text for c in found for s in c.sentences} | {s.text for s in summary}
    assert quoted and not quoted & set(read)
    assert any(set(read) & {s.text for s in c.sentences} for c in placed)  # without aside they would be quoted
    assert all("Quillnote" not in c.title for c in found)
