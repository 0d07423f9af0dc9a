"""Words to frames: every word in exactly one bin, in order, for any timing and any plan."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidq.errors import InputError
from vidq.speech import (
    Segment,
    Transcript,
    Word,
    align_to_frames,
    bin_times,
    bin_words,
    clip_transcript,
    split_segment_words,
    words_of,
)


def W(start: float, end: float, text: str) -> Word:
    return Word(start, end, text)


def transcript(*segments: Segment) -> Transcript:
    return Transcript(tuple(segments), "en", "test")


def test_rule_at_bin_edges():
    # midpoints 1.0, 2.0, 2.5, 4.0, 9.0
    words = [W(0.5, 1.5, "a"), W(1.5, 2.5, "b"), W(2.0, 3.0, "c"), W(3.5, 4.5, "d"), W(8.0, 10.0, "e")]
    t = transcript(Segment(0.5, 10.0, "a b c d e", tuple(words)))
    # frame at 2 takes (-inf, 2]: a, b (midpoint exactly 2 belongs to the frame at 2)
    # frame at 4 takes (2, 4]: c, d; the last frame takes everything after 4 as well: e
    assert align_to_frames(t, [2.0, 4.0]) == ["a b", "c d e"]
    # with a clip end, words after it are dropped; with a clip start, words before it too
    assert align_to_frames(t, [2.0, 4.0], end=5.0) == ["a b", "c d"]
    assert align_to_frames(t, [2.0, 4.0], start=1.5, end=5.0) == ["b", "c d"]
    assert align_to_frames(t, []) == []
    assert align_to_frames(t, [100.0]) == ["a b c d e"]


def test_cue_spanning_several_bins_is_split_not_repeated():
    # a 6 s subtitle cue with no word times over three 2 s bins
    t = transcript(Segment(0.0, 6.0, "one two three four five six"))
    bins = align_to_frames(t, bin_times(0.0, 6.0, 2.0), start=0.0, end=6.0)
    assert bins == ["one two", "three four", "five six"]
    assert " ".join(bins).split() == ["one", "two", "three", "four", "five", "six"]


def test_split_segment_words_is_proportional_to_length():
    words = split_segment_words(0.0, 5.0, "a bb")
    assert [(w.start, w.end, w.text) for w in words] == [(0.0, 2.0, "a"), (2.0, 5.0, "bb")]
    assert split_segment_words(1.0, 2.0, "   ") == []


def test_words_of_uses_word_times_when_present():
    timed = Segment(0.0, 1.0, "x y", (W(0.0, 0.4, "x"), W(0.5, 1.0, "y")))
    plain = Segment(2.0, 4.0, "p q")
    assert [w.text for w in words_of(transcript(timed, plain))] == ["x", "y", "p", "q"]
    assert words_of(transcript(timed, plain))[2] == Word(2.0, 3.0, "p")


def test_bin_times():
    assert bin_times(0.0, 5.0, 2.0) == (2.0, 4.0, 5.0)
    assert bin_times(0.0, 4.0, 2.0) == (2.0, 4.0)
    assert bin_times(10.0, 11.0, 2.0) == (11.0,)
    assert bin_times(3.0, 3.0, 2.0) == ()
    with pytest.raises(InputError):
        bin_times(0.0, 5.0, 0.0)


def test_frame_times_must_be_ascending():
    with pytest.raises(InputError, match="ascending"):
        bin_words([], [2.0, 1.0])


def test_clip_transcript_cuts_segments_by_word_midpoint():
    seg = Segment(0.0, 3.0, "a b c", (W(0.0, 1.0, "a"), W(1.0, 2.0, "b"), W(2.0, 3.0, "c")))
    plain = Segment(4.0, 8.0, "one two three four")  # 1 s per word when split
    t = transcript(seg, plain)
    clipped = clip_transcript(t, 1.2, 6.0)
    assert [s.text for s in clipped.segments] == ["b c", "one two"]
    assert clipped.segments[0].start == 1.0 and clipped.segments[0].end == 3.0
    assert clipped.segments[1].words == ()  # still a cue: its words are re-derived from the text
    assert clip_transcript(t, None, None) is t


# -- the property: random words, random plans, random clips ------------------------------------
@st.composite
def words_and_plan(draw):
    n = draw(st.integers(0, 40))
    words = []
    for i in range(n):
        start = draw(st.floats(0, 100, allow_nan=False))
        length = draw(st.floats(0, 5, allow_nan=False))
        words.append(Word(start, start + length, f"w{i}"))
    times = sorted(draw(st.lists(st.floats(0, 110, allow_nan=False), max_size=30)))
    start = draw(st.none() | st.floats(0, 60, allow_nan=False))
    end = draw(st.none() | st.floats(0, 120, allow_nan=False))
    return words, times, start, end


@settings(max_examples=250, deadline=None)
@given(words_and_plan())
def test_every_word_in_exactly_one_bin_in_order(case):
    words, times, start, end = case
    bins = bin_words(words, times, start=start, end=end)
    assert len(bins) == len(times)
    inside = [w for w in words if (start is None or w.mid >= start) and (end is None or w.mid <= end)]
    placed = [w for b in bins for w in b]
    if not times:
        assert placed == []
        return
    # nothing lost, nothing duplicated, nothing from outside the clip
    assert sorted(id(w) for w in placed) == sorted(id(w) for w in inside)
    for i, b in enumerate(bins):
        # order within a bin is transcript order
        assert [words.index(w) for w in b] == sorted(words.index(w) for w in b)
        for w in b:
            lo_ok = i == 0 or w.mid > times[i - 1]
            hi_ok = i == len(times) - 1 or w.mid <= times[i]
            assert lo_ok and hi_ok, (i, w, times)
    # the same assignment as a direct bisect over the frame times
    for w in inside:
        i = min(bisect.bisect_left(times, w.mid), len(times) - 1)
        assert any(x is w for x in bins[i])


@settings(max_examples=100, deadline=None)
@given(words_and_plan())
def test_clipping_first_keeps_the_same_words(case):
    words, times, start, end = case
    t = transcript(*(Segment(w.start, w.end, w.text, (w,)) for w in words))
    direct = align_to_frames(t, times, start=start, end=end)
    via_clip = align_to_frames(clip_transcript(t, start, end), times, start=start, end=end)
    assert direct == via_clip
