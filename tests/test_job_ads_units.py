"""Pure parts of `vidq ads`: separators, blocks, scoring, cues, sponsor reads, EDL/ffmeta/CSV: exact values."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from vidq.cli.commands.ads import format_csv, format_edl, format_ffmeta
from vidq.media import signals
from vidq.speech import Segment, Transcript, Word
from vidq.analysis.evidence import Unit
from vidq.analysis.picture import FrameSignals
from vidq.analysis.segments import (
    AdSegment,
    Block,
    FileStats,
    Separator,
    Spot,
    ad_blocks,
    blocks_between,
    block_context,
    cut_windows,
    window_bound,
    join_pieces,
    merge_breaks,
    merge_intervals,
    COEF,
    FIRED,
    INTERCEPT,
    _label,
    black_sides,
    black_spans,
    model_inputs,
    prior_confidence,
    score_block,
    separators,
    snap_end,
    snap_start,
    sponsor_reads,
    text_cues,
    outside,
    voice_edges,
    Voices,
    VOICED,
)

SEGMENTS = [AdSegment(64.7, 90.8, "break", 0.987, "2 spots: no station logo", blocks=2),
            AdSegment(130.85, 144.2, "sponsor", 0.95, "sponsor read (brightpath): code, offer, sponsor", blocks=0)]


def test_edl_is_kodi_mythtv_format():
    assert format_edl(SEGMENTS) == "64.70\t90.80\t3\n130.85\t144.20\t3\n"
    assert format_edl([]) == ""


def test_ffmeta_chapters_cover_the_file_in_order():
    text = format_ffmeta(SEGMENTS, 175.8)
    assert text == (
        ";FFMETADATA1\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=64700\ntitle=Programme 1\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=64700\nEND=90800\ntitle=Advertisement (0.99)\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=90800\nEND=130850\ntitle=Programme 2\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=130850\nEND=144200\ntitle=Sponsor (0.95)\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=144200\nEND=175800\ntitle=Programme 3\n")
    assert format_ffmeta([], 10.0).endswith("START=0\nEND=10000\ntitle=Programme 1\n")


def test_csv_has_a_header_and_one_row_per_segment():
    rows = list(csv.DictReader(io.StringIO(format_csv(SEGMENTS))))
    assert [r["kind"] for r in rows] == ["break", "sponsor"]
    assert rows[0]["start"] == "64.700" and rows[0]["end_hms"] == "00:01:30.800" and rows[0]["duration"] == "26.100"
    assert rows[1]["reason"] == "sponsor read (brightpath): code, offer, sponsor"


@pytest.mark.parametrize("text, cues", [
    ("Ice-cold Fizz Cola, only 1.99! Visit fizzcola dot com and use code FIZZ10.", ("price", "url", "code")),
    ("CODE FIZZ10", ("code",)),
    ("Unlimited data for just 15 dollars a month.", ("price",)),
    ("Go to brightpath.com/vidq for sixty percent off", ("url", "offer")),
    ("60% off your first year", ("offer",)),
    ("This video is sponsored by Brightpath VPN.", ("sponsor",)),
    ("Our sponsor today is Fernleaf Tea.", ("sponsor",)),
    ("And now, a word from our sponsors.", ("sponsor",)),
    ("The team's sponsor paid for the boat.", ()),
    ("The secret code is 7 4 1.", ()),
    # creators' phrasings without "sponsored by", and programme sentences that look alike
    ("This video is supported by Kestrel Bank.", ("sponsor",)),
    ("Thanks to Nimbus for supporting the channel.", ("sponsor",)),
    ("A big thank you to today's partner, Loomly.", ("sponsor",)),
    ("We teamed up with Brightline for this one.", ("sponsor",)),
    ("This episode is powered by Fernwood Coffee.", ("sponsor",)),
    ("Kestrel Bank sponsored this video, so let's talk about them.", ("sponsor",)),
    ("Huge thanks to Fernway for partnering on this episode.", ("sponsor",)),
    ("Our friends at Helio Solar made this episode possible.", ("sponsor",)),
    ("If you want to support the channel, check out Driftwood Coffee.", ("sponsor",)),
    ("I'd like to thank Kestrel Maps for supporting the channel.", ("sponsor",)),
    ("Let me take a second to thank our sponsor, Sundial.", ("sponsor",)),
    ("The lighthouse keeper wanted to thank everyone who helped.", ()),
    ("Thousands of volunteers support the harbour trust every year.", ()),
    ("This episode's sponsor is Fernwood Coffee.", ("sponsor",)),
    ("The king sponsored this expedition to the north.", ()),
    ("The show's host sponsored a local football club.", ()),
    ("Your first month is free at loomly dot com slash science.", ("url", "offer")),
    ("Go to loomly.com/science and use the code SCIENCE at checkout.", ("url", "code", "offer")),
    ("Try it risk-free with a 30-day money-back guarantee.", ("offer",)),
    ("Get two months free with my link.", ("offer",)),
    # the frame survives speech recognition when the sponsor's name does not
    ("Today's episode is brought to my green mesquite meals.", ("sponsor",)),
    ("This video was brought to you, by Brightpath.", ("sponsor",)),
    ("Support for the throw-dram comes from quill note.", ("sponsor",)),
    ("The news was brought to my attention by a neighbour.", ()),
    ("The boats were brought to the harbour by tugs.", ()),
    ("The bridge is supported by twelve steel cables.", ()),
    ("The engine is powered by steam.", ()),
    ("Thanks to the rain, the fields turned green.", ()),
    ("The team partnered up with local farmers.", ()),
    ("The survey was funded by the royal society.", ()),
    # public broadcasting's credits and broadcasters' phrasings
    ("Funding for this programme was provided by the Alder Trust.", ("sponsor",)),
    ("Additional support comes from the Wren Foundation.", ("sponsor",)),
    ("Northgate Bank, the official partner of the evening news.", ("sponsor",)),
    ("This forecast is brought to you by Northgate Bank.", ("sponsor",)),
    ("They need additional support from the council.", ()),
    ("The funding came from the royal society.", ()),
    ("The weather was brought to a halt.", ()),
    ("The first box of tea arrived in London in 1657.", ()),
    ("The lighthouse on Gull Island was built in 1887.", ()),
    ("Reefs cover less than one percent of the ocean floor.", ()),
])
def test_text_cues(text, cues):
    assert text_cues(text) == cues


def _seg(t0: float, text: str) -> Segment:
    words = tuple(Word(t0 + 0.4 * i, t0 + 0.4 * i + 0.3, w) for i, w in enumerate(text.split()))
    return Segment(words[0].start, words[-1].end, text, words)


def test_sponsor_read_spans_its_sentences():
    t = Transcript((
        _seg(0.0, "Storms on this coast can push waves right over the lantern room."),
        _seg(10.0, "This video is sponsored by Brightpath VPN."),
        _seg(13.0, "Brightpath keeps your browsing private on every device."),
        _seg(17.0, "Go to brightpath dot com slash vidq and use code VIDQ for sixty percent off."),
        _seg(24.0, "Now, back to the lighthouse keepers."),
        _seg(40.0, "The expedition was sponsored by the royal society."),  # one cue only: not a read
    ), "en", "test")
    reads = sponsor_reads(t)
    assert len(reads) == 1
    r = reads[0]
    assert (r.start, r.kind, r.blocks) == (10.0, "sponsor", 0)
    assert r.end == pytest.approx(17.0 + 0.4 * 14 + 0.3)
    assert r.cues == ("code", "named again", "offer", "sponsor", "url") and r.confidence == 0.95
    assert r.reason == ('sponsor read: code, named again, offer, sponsor, url — '
                        '"This video is sponsored by Brightpath VPN."')
    assert sponsor_reads(t, exclude=[(9.0, 30.0)]) == []


def test_a_read_with_no_code_or_link_counts_when_it_names_its_sponsor_again():
    t = Transcript((
        _seg(0.0, "Thanks to Nimbus for supporting the channel."),
        _seg(4.0, "Nimbus plans your week in one calm place."),
        _seg(20.0, "The expedition was sponsored by the royal society."),  # named once: not a read
        _seg(24.0, "Its ships mapped the northern coast."),
    ), "en", "test")
    reads = sponsor_reads(t)
    assert [(r.start, r.cues, r.confidence) for r in reads] == [(0.0, ("named again", "sponsor"), 0.8)]
    assert reads[0].end == pytest.approx(4.0 + 0.4 * 7 + 0.3)


def test_a_call_to_action_reaches_back_to_where_the_brand_is_first_named():
    t = Transcript((
        _seg(0.0, "Let us look at how paper is made."),
        _seg(7.0, "This episode is presented by kite box."),  # heard as two words; "presented by": a cue
        _seg(10.0, "The craft kit turns a rainy afternoon into a project."),  # does not name it
        _seg(14.0, "Your first box is free at kitebox.com."),
        _seg(18.0, "Wood is chipped and cooked into a soft pulp."),
    ), "en", "test")
    assert [(r.start, r.cues) for r in sponsor_reads(t)] == [(7.0, ("named again", "offer", "sponsor", "url"))]
    garbled = Transcript(tuple(_seg(x.start, x.text.replace("presented", "prevented")) for x in t.segments),
                         "en", "test")  # speech recognition lost the cue: the address still finds the read
    assert [(r.start, r.cues) for r in sponsor_reads(garbled)] == [(7.0, ("offer", "url"))]


def test_a_call_to_action_without_an_address_reaches_back_to_its_capitalised_brand():
    t = Transcript((
        _seg(0.0, "Most of the boats here still fish for cod."),
        _seg(5.0, "Kelpie meal kits."),
        _seg(7.0, "Kelpie sends fresh ingredients and simple recipes every week."),
        _seg(11.0, "Kelpie is offering 60% off your first box with code KELP60."),  # code and offer, no address
        _seg(16.0, "Back at the harbour, the tide is already turning."),
    ), "en", "test")
    assert [(r.start, r.cues) for r in sponsor_reads(t)] == [(5.0, ("code", "offer"))]
    lower = Transcript(tuple(_seg(x.start, x.text.lower()) for x in t.segments), "en", "test")
    assert [r.start for r in sponsor_reads(lower)] == [11.0]  # no capitals: the call to action alone


def test_a_call_to_action_split_over_two_sentences_opens_a_read():
    t = Transcript((
        _seg(0.0, "Most of the boats here still fish for cod."),
        _seg(5.0, "Go to loomly dot com slash harbour."),  # an address ...
        _seg(8.0, "Use code HARBOUR for sixty percent off."),  # ... then a code and an offer
        _seg(14.0, "Back at the harbour, the tide is already turning."),
    ), "en", "test")
    assert [(r.start, r.cues) for r in sponsor_reads(t)] == [(5.0, ("code", "offer", "url"))]
    one = Transcript(t.segments[:2] + t.segments[3:], "en", "test")
    assert sponsor_reads(one) == []  # an address alone is one cue


def _meaning(t: Transcript, rows: dict[str, list[float]]):
    """The (sentence units, unit vectors) label_segments takes, with the vectors given per sentence start word."""
    from vidq.analysis.evidence import speech_units

    units = speech_units(t, windows=False)
    vecs = np.array([rows[u.text.split()[0].strip(",")] for u in units], np.float32)
    return units, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


HARBOUR, APP, HILLS = [1.0, 0.1, 0.0], [0.1, 1.0, 0.1], [0.2, 0.0, 1.0]  # three subjects, as sentence vectors


def test_a_read_runs_on_through_what_it_talks_about_until_its_call_to_action():
    t = Transcript((
        _seg(0.0, "Most boats here still fish for cod."),
        _seg(4.0, "Nets dry on the harbour wall."),
        _seg(10.0, "This video is sponsored by Quillnote."),  # one cue, and the name is never said again
        _seg(13.0, "It keeps your notes in step on every device."),
        _seg(17.0, "Plans, lists and sketches sit together."),
        _seg(21.0, "Back at the harbour the tide turns."),
        _seg(25.0, "Gulls follow the last boat in."),
    ), "en", "test")
    meaning = _meaning(t, {"Most": HARBOUR, "Nets": HARBOUR, "This": APP, "It": APP, "Plans": APP, "Back": HARBOUR,
                           "Gulls": HARBOUR})
    assert sponsor_reads(t) == []  # without vectors: a sponsor phrase named once is not a read
    reads = sponsor_reads(t, sentences=meaning)
    assert [(r.start, r.cues) for r in reads] == [(10.0, ("on its subject", "sponsor"))]
    assert reads[0].end == pytest.approx(17.0 + 0.4 * 5 + 0.3) and reads[0].confidence == 0.85
    # the programme after the read on a subject of its own, nearer the app than the harbour was: still not the read
    hills = _meaning(t, {"Most": HARBOUR, "Nets": HARBOUR, "This": APP, "It": APP, "Plans": APP,
                         "Back": [0.3, 0.4, 1.0], "Gulls": HILLS})
    assert [r.end for r in sponsor_reads(t, sentences=hills)] == [reads[0].end]
    # a call to action ends the read: what follows goes on only with a cue or the sponsor's name
    cta = Transcript(t.segments[:4] + (_seg(17.0, "Plans are free at quillnote dot app."),) + t.segments[5:], "en",
                     "test")
    after = _meaning(cta, {"Most": HARBOUR, "Nets": HARBOUR, "This": APP, "It": APP, "Plans": APP, "Back": APP,
                           "Gulls": HARBOUR})
    assert [(r.start, r.end, r.cues) for r in sponsor_reads(cta, sentences=after)] == [
        (10.0, pytest.approx(17.0 + 0.4 * 6 + 0.3), ("named again", "on its subject", "sponsor", "url"))]


def test_a_sponsor_phrase_inside_the_programme_does_not_run_on():
    t = Transcript((
        _seg(0.0, "The northern coast was mapped in 1850."),
        _seg(5.0, "The expedition was sponsored by the royal society."),
        _seg(9.0, "Its ships charted every bay."),
        _seg(13.0, "Their maps are still used today."),
    ), "en", "test")
    meaning = _meaning(t, {"The": HARBOUR, "Its": HARBOUR, "Their": [0.9, 0.2, 0.1]})
    assert sponsor_reads(t, sentences=meaning) == []


def _pic(times, black=None, logo=None, aspect=None) -> FrameSignals:
    n = len(times)
    return FrameSignals(np.asarray(times, float), np.zeros(n, bool) if black is None else np.asarray(black),
                          np.full(n, 100.0), np.zeros(n, np.float32),
                          np.full(n, 16 / 9) if aspect is None else np.asarray(aspect, float),
                          np.full(n, np.nan) if logo is None else np.asarray(logo, float), np.zeros(n, np.uint64),
                          np.zeros((n, 48), np.float32))


def test_separators_from_black_frames_silence_and_logo_changes():
    times = np.arange(0, 20, 0.5)
    black = (times >= 5.0) & (times <= 5.5)
    logo = np.where((times > 5.5) & (times < 12.0), 0.0, 1.0)
    db = np.full(100, -30.0)
    db[60:64] = signals.SILENCE_FLOOR_DB  # 12.0-12.8 s
    track = signals.Loudness(0.0, 0.2, 0.2, db, "rms")
    seps = separators(_pic(times, black=black, logo=logo), track)
    assert [(s.start, s.end, s.kind) for s in seps] == [
        (4.75, 5.75, "black"), (5.75, 5.75, "logo"), (11.75, 11.75, "logo"), (12.0, pytest.approx(12.8), "silence")]
    assert merge_intervals(seps) == [(4.75, 5.75), (11.75, 11.75), (12.0, pytest.approx(12.8))]


def test_break_edges_snap_to_black_frames_not_to_a_quiet_tail():
    """The programme falls silent at 40 s; black frames 47.75-48.25 open the break; a cut ends it."""
    seps = [Separator(40.0, 48.25, "silence"), Separator(47.75, 48.25, "black"), Separator(70.2, 70.2, "logo")]
    cuts = [(47.5, 48.0), (70.0, 70.5)]
    assert snap_start(48.25, seps, cuts) == 47.75  # the black run, not the silence at 40 s
    assert snap_end(70.2, seps, cuts) == 70.25  # no black: the cut there
    assert snap_start(30.0, seps, []) == 30.0  # nothing near: unchanged


def _voiced_track(parts: list[tuple[float, float, list[float]]], end: float = 200.0) -> signals.Loudness:
    """A 0.2 s loudness track, all of it speech at one level, whose cepstra are ``parts``' voices
    (``(start, end, first coefficients)``; a programme voice everywhere else)."""
    times = np.arange(0.0, end, 0.2)
    cep = np.zeros((times.size, signals.VOICE_COEFFS), np.float32)
    cep[:, 0] = 3.0  # the programme's voice
    rng = np.random.default_rng(7)
    cep += rng.normal(0.0, 0.05, cep.shape).astype(np.float32)  # no two windows alike
    for s, e, v in parts:
        sel = (times + 0.1 >= s) & (times + 0.1 < e)
        cep[sel, :len(v)] = v
    return signals.Loudness(0.0, 0.2, 0.2, np.full(times.size, -20.0), "rms", cep)


def test_outside_leaves_the_breaks_out():
    brk = [AdSegment(20.0, 30.0, "break", 1.0, ""), AdSegment(60.0, 120.0, "break", 1.0, "")]
    assert outside(0.0, 100.0, brk) == [(0.0, 20.0), (30.0, 60.0)]
    assert outside(25.0, 28.0, brk) == []
    assert outside(130.0, 140.0, brk) == [(130.0, 140.0)]


def test_a_spot_at_a_breaks_edge_that_sounds_like_the_break_joins_it():
    """Break 60-90 s (two ad voices); 90-100 s a third announcer, then the programme's voice again.
    Hard cuts at 100 and 105 s: the stretch to 100 s is the spot; to 105 s it runs into the programme."""
    brk = AdSegment(60.0, 90.0, "break", 0.9, "2 spots: no station logo", blocks=2,
                    spots=(Spot(60.0, 75.0, 0.9), Spot(75.0, 90.0, 0.9)))
    cuts = [(99.9, 100.1), (104.9, 105.1), (45.9, 46.1)]
    ads = [(60.0, 75.0, [0.0, 3.0]), (75.0, 90.0, [0.0, 3.0, 1.0])]
    units = [Unit(91.0, 95.0, "Harbor Shield pays for the repairs.", "speech", "sentence")]
    track = _voiced_track(ads + [(90.0, 100.0, [0.0, 2.5, 0.5])])
    (grown,) = voice_edges([brk], cuts, track, (0.0, 200.0), units)
    assert (grown.start, grown.end, grown.blocks) == (60.0, 100.0, 3)
    assert [(p.start, p.end) for p in grown.spots] == [(60.0, 75.0), (75.0, 90.0), (90.0, 100.0)]
    assert grown.spots[-1].text == "Harbor Shield pays for the repairs." and grown.reason.endswith(VOICED)
    # the same stretch in the programme's own voice stays out, and so does a new speaker who goes on talking
    assert voice_edges([brk], cuts, _voiced_track(ads), (0.0, 200.0), units) == [brk]
    guest = _voiced_track(ads + [(90.0, 160.0, [0.0, 0.0, 0.0, 3.0])])
    assert voice_edges([brk], cuts, guest, (0.0, 200.0), units) == [brk]
    # before the break: a spot from the cut at 46 s
    (early,) = voice_edges([brk], cuts, _voiced_track(ads + [(46.0, 60.0, [0.0, 2.5, 0.5])]), (0.0, 200.0), units)
    assert (early.start, early.end, early.spots[0].start) == (46.0, 90.0, 46.0)
    # no cepstra (a timeline from before they were measured) or no sound: as found
    assert voice_edges([brk], cuts, signals.Loudness(0.0, 0.2, 0.2, track.db, "rms"), (0.0, 200.0), units) == [brk]
    assert voice_edges([brk], cuts, None, (0.0, 200.0), units) == [brk]


def test_a_break_found_in_the_programme_by_mistake_does_not_grow_over_more_programme():
    """A programme whose voice swings every 7.5 s (two speakers, or one with a music bed), and a
    break 60-90 s found in it by mistake that sounds like the programme.  The stretch 90-100 s is
    a little nearer the break's voice than the programme's, but no farther from the programme's
    than the programme's own 10 s stretches are: it stays out."""
    brk = AdSegment(60.0, 90.0, "break", 0.6, "1 spot: louder", blocks=1, spots=(Spot(60.0, 90.0, 0.6),))
    swings = [(t, t + 7.5, [3.0, 1.5 if k % 2 else -1.5]) for k, t in enumerate(np.arange(0.0, 200.0, 7.5))
              if not 60.0 <= t < 100.0]
    track = _voiced_track(swings + [(60.0, 90.0, [3.0, 0.7]), (90.0, 100.0, [3.0, 0.6])])
    voices = Voices(track)
    assert voices.spread([(100.0, 145.0)], 10.0) > voices.spread([(60.0, 90.0)], 10.0)  # the programme swings
    assert voice_edges([brk], [(99.9, 100.1)], track, (0.0, 200.0), []) == [brk]
    # an announcer of its own at the same place joins, the swings notwithstanding
    ad = _voiced_track(swings + [(60.0, 90.0, [0.0, 3.0]), (90.0, 100.0, [0.0, 2.5, 0.5])])
    (grown,) = voice_edges([brk], [(99.9, 100.1)], ad, (0.0, 200.0), [])
    assert (grown.start, grown.end) == (60.0, 100.0)


def test_merge_breaks_lists_spots_and_never_overlaps():
    stats = FileStats(programme_db=-26.0, median_cut_rate=2.0, has_logo=True)
    f = {"duration": 10.0, "frames": 20, "logo_absent": 1.0, "other_aspect": 0.0, "loudness_delta_db": 6.0,
         "cuts_per_minute": 20.0, "repeated": 0.0, "separated": True, "cues": ["price"]}

    def block(s, e, conf):
        return Block(s, e, dict(f, duration=e - s), 5.0, conf, conf, "no station logo")

    seps = [Separator(19.5, 20.5, "black"), Separator(29.6, 30.4, "black"), Separator(40.0, 41.0, "black"),
            Separator(41.0, 45.0, "silence")]
    blocks = [block(0.0, 19.5, 0.1), block(20.5, 29.6, 0.9), block(30.4, 40.0, 0.9), block(45.0, 60.0, 0.05)]
    (brk,) = merge_breaks(blocks, seps, stats, [])
    assert (brk.start, brk.end, brk.blocks) == (19.5, 41.0, 2)  # black to black; the silence after is not the ad
    assert [(p.start, p.end) for p in brk.spots] == [(19.5, 29.6), (30.4, 41.0)]


def test_a_break_does_not_pause_for_short_unsure_blocks_and_a_spot_ends_at_a_pause():
    """Two spots, the second's end card in three short blocks (framing changes, none sure of itself)."""
    stats = FileStats(programme_db=-26.0, median_cut_rate=2.0, has_logo=True)

    f = {"duration": 10.0, "frames": 20, "logo_absent": 1.0, "other_aspect": 0.0, "loudness_delta_db": 6.0,
         "cuts_per_minute": 20.0, "repeated": 0.0, "separated": True, "cues": []}

    def block(s, e, conf):
        return Block(s, e, dict(f, duration=e - s), 0.0, conf, conf, "")

    seps = [Separator(19.5, 20.5, "black"), Separator(32.0, 33.0, "black"), Separator(33.0, 34.0, "silence"),
            Separator(40.0, 40.0, "aspect"), Separator(43.0, 43.0, "aspect"), Separator(46.0, 46.0, "aspect"),
            Separator(50.0, 50.0, "logo")]
    blocks = [block(0.0, 19.5, 0.1), block(20.5, 32.0, 0.95), block(34.0, 40.0, 0.9), block(40.0, 43.0, 0.4),
              block(43.0, 46.0, 0.45), block(46.0, 50.0, 0.8), block(50.0, 90.0, 0.1)]
    assert ad_blocks(blocks, stats) == [False, True, True, True, True, True, False]
    (brk,) = merge_breaks(blocks, seps, stats, [])
    assert (brk.start, brk.end) == (19.5, 50.0)
    # the pieces 34-40, 40-43, 43-46, 46-50 touch with no pause between them: one spot, 34-50
    assert [(p.start, p.end) for p in brk.spots] == [(19.5, 32.0), (34.0, 50.0)]
    # programme longer than SHORT_SPOT between two ads is not filled
    long_gap = [block(0.0, 10.0, 0.9), block(10.0, 25.0, 0.3), block(25.0, 41.0, 0.3), block(41.0, 50.0, 0.9)]
    assert ad_blocks(long_gap, stats) == [True, False, False, True]
    # pieces of at least MIN_SPOT s are spots of their own, and a pause always separates two spots
    assert join_pieces([Spot(0.0, 9.0, 0.9), Spot(9.0, 18.0, 0.9)], [Separator(9.0, 9.0, "aspect")]) == [
        Spot(0.0, 9.0, 0.9), Spot(9.0, 18.0, 0.9)]
    assert join_pieces([Spot(0.0, 12.0, 0.9), Spot(12.5, 15.0, 0.5)], [Separator(12.0, 12.5, "silence")]) == [
        Spot(0.0, 12.0, 0.9), Spot(12.5, 15.0, 0.5)]


def test_blocks_between_separators_merge_slivers():
    seps = [(4.75, 5.75), (11.75, 12.8), (13.0, 13.2)]
    assert blocks_between(seps, 0.0, 30.0) == [(0.0, 4.75), (5.75, 11.75), (12.8, 30.0)]
    assert blocks_between([], 0.0, 30.0) == [(0.0, 30.0)]


def test_a_spot_bounded_by_hard_cuts_alone_is_cut_out_of_its_programme_block():
    """Windows between cuts are scored; the group of windows reaching THRESHOLD is the spot."""
    def block(a, b, said=0.8):  # an ad is the stretch 40.0-55.0; a window scores by how much of it is the ad
        inside = max(0.0, min(b, 55.0) - max(a, 40.0)) / (b - a)
        p = 0.8 if inside > 0.9 else 0.1
        return Block(a, b, {"off_topic": said if inside > 0.9 else 0.3}, 0.0, p, p, "", "")

    blk = block(0.0, 120.0)
    cuts = [(10.0, 10.2), (39.9, 40.1), (45.9, 46.1), (54.9, 55.1), (80.0, 80.2), (119.5, 119.7)]
    pieces = cut_windows(blk, cuts, block)
    assert [(p.start, p.end, p.prior) for p in pieces] == [(0.0, 40.0, 0.1), (40.0, 55.0, 0.8), (55.0, 120.0, 0.1)]
    # windows 46-55 and 40-55 reach it (40-46 is under MIN_SPOT) and together cover the spot; the cut at
    # 119.6 lies within EDGE_REACH of the block's end and bounds nothing
    assert cut_windows(blk, [c for c in cuts if c[0] != 54.9], block) == [blk]  # no cut at the spot's end
    sure = Block(0.0, 120.0, {}, 0.0, 0.7, 0.7, "", "")
    assert cut_windows(sure, cuts, block) == [sure]  # an ad block is left whole
    read = Block(0.0, 120.0, {"read": True}, 0.0, 0.1, 0.1, "", "")
    assert cut_windows(read, cuts, block) == [read]  # a host's read is never cut
    # a stretch that looks like an ad but says nothing off the programme's subject (a loud montage of
    # fast cuts, no speech or the programme's own narration) stays programme
    assert cut_windows(blk, cuts, lambda a, b: block(a, b, said=None)) == [blk]
    assert cut_windows(blk, cuts, lambda a, b: block(a, b, said=0.4)) == [blk]


def test_window_bound_is_never_below_a_windows_points_and_rules_out_programme():
    rng = np.random.default_rng(7)
    times = np.arange(0, 300, 0.5)
    black = (times >= 100.0) & (times < 101.0)
    logo = np.where((times > 150.0) & (times < 170.0), 0.0, 1.0)  # a logo-less stretch: ad-like
    aspect = np.where((times > 200.0) & (times < 215.0), 4 / 3, 16 / 9)
    pic = _pic(times, black=black, logo=logo, aspect=aspect)
    pic.shot[rng.choice(len(times), 60, replace=False)] = 1.0
    db = -30.0 + rng.normal(0.0, 4.0, 3000)
    track = signals.Loudness(0.0, 0.1, 0.1, db, "rms")
    t = Transcript((Segment(152.0, 158.0, "Call now, only 9.99 at shopfast.com", ()),), "en", "test")
    ctx = block_context(pic, track, t, [], None)
    bound = window_bound(pic, ctx.stats, ctx.merged, ctx.seps)
    for a, b in rng.uniform(0, 290, (300, 2)):
        a, b = min(a, b), max(a, b) + 1.0
        assert bound(a, b) >= ctx.block(a, b).points - 1e-6
    assert bound(20.0, 50.0) < 0 < bound(150.0, 170.0)  # plain programme cannot reach THRESHOLD; no logo may


def test_block_score_and_prior():
    stats = FileStats(programme_db=-26.0, median_cut_rate=2.0, has_logo=True)
    spot = {"duration": 12.0, "frames": 24, "logo_absent": 1.0, "other_aspect": 0.0, "loudness_delta_db": 7.5,
            "cuts_per_minute": 25.0, "repeated": 0.0, "separated": True, "cues": ["price", "url"]}
    x = model_inputs(spot, stats)
    assert x == {"logo_absent": 1.0, "louder": 1.875, "aspect": 0.0, "fast_cuts": 2.0, "repeated": 0.0,
                 "separated": 1.0, "black_bounded": 0.0, "off_topic": 0.0, "text_cue": 2.0, "long": 0.0,
                 "lasting": 0.0, "sponsor_cue": 0.0, "short": 0.0}
    points, why = score_block(spot, stats)
    assert points == pytest.approx(INTERCEPT + sum(COEF[k] * v for k, v in x.items()), abs=1e-3)
    assert why == "; ".join(_label(k, [spot]) for k in COEF if COEF[k] * x[k] >= FIRED)
    assert prior_confidence(points) == pytest.approx(1 / (1 + np.exp(-points)))
    assert prior_confidence(points) > 0.9
    programme = dict(spot, duration=600.0)
    assert score_block(programme, stats) == (round(INTERCEPT + COEF["long"], 3), "600 s: too long for an ad")
    plain = {"duration": 60.0, "frames": 120, "logo_absent": 0.0, "other_aspect": 0.0, "loudness_delta_db": 0.5,
             "cuts_per_minute": 1.0, "repeated": 0.0, "separated": False, "cues": []}
    points, why = score_block(plain, stats)
    assert why == "programme-like" and prior_confidence(points) < 0.1


def test_model_inputs_scale_and_clip():
    stats = FileStats(programme_db=-26.0, median_cut_rate=9.0, has_logo=False)
    f = {"duration": 45.0, "frames": 90, "logo_absent": None, "other_aspect": None, "loudness_delta_db": -20.0,
         "cuts_per_minute": 9.0, "repeated": 0.25, "separated": False, "cues": ["price"], "cue_coverage": 0.1,
         "off_topic": 0.95, "black_bounded": True}
    assert model_inputs(f, stats) == {"logo_absent": 0.0, "louder": -2.0, "aspect": 0.0, "fast_cuts": 0.5,
                                      "repeated": 0.25, "separated": 0.0, "black_bounded": 1.0, "off_topic": 2.0,
                                      "text_cue": 0.0, "long": 0.0, "lasting": 0.5, "sponsor_cue": 0.0,
                                      "short": 0.0}
    sentence = dict(f, duration=4.0, separated=True, black_bounded=False)
    assert model_inputs(sentence, stats)["short"] == 0.5 and model_inputs(sentence, stats)["separated"] == 1.0
    talk = FileStats(programme_db=-26.0, median_cut_rate=9.0, has_logo=False, silences_per_minute=8.0)
    assert model_inputs(sentence, talk)["separated"] == 0.0  # silences everywhere set nothing apart
    assert model_inputs(dict(sentence, black_bounded=True), talk)["separated"] == 1.0
    # the first spot of a break: a pause before it, black frames after it
    first = dict(sentence, black_sides=black_sides(10.0, 22.0, [Separator(8.0, 10.0, "silence"),
                                                                   Separator(22.0, 22.5, "black")]))
    assert first["black_sides"] == 1 and model_inputs(first, talk)["separated"] == 1.0
    assert model_inputs(dict(first, black_sides=0), talk)["separated"] == 0.0


def test_black_spans_join_what_logo_flicker_splits():
    seps = [Separator(9.5, 10.0, "black"), Separator(10.0, 10.6, "silence"), Separator(14.0, 14.0, "logo"),
            Separator(25.0, 25.5, "black"), Separator(40.0, 41.0, "silence"), Separator(120.0, 120.5, "black")]
    assert black_spans(seps, (0.0, 200.0)) == [(10.6, 25.0)]  # 25.5 .. 120.0 is too long for one spot
    assert black_spans(seps, (12.0, 200.0)) == [(12.0, 25.0)]
    assert black_spans([], (0.0, 10.0)) == []


def test_spots_joined_by_hard_cuts_split_where_the_talk_changes():
    from vidq.analysis.evidence import Unit
    from vidq.analysis.segments import AdSegment, Spot, spot_cuts, split_spots

    def said(s, e, text):
        return Unit(s, e, text, "speech", "sentence")

    units = [said(1.0, 4.0, "Ice-cold cola."), said(4.5, 8.0, "Only 1.99."), said(13.2, 17.0, "Cedar sheds."),
             said(17.5, 21.0, "Built in a day."), said(25.6, 29.0, "Fresh bread.")]
    cola, shed, bread = np.eye(3, dtype=np.float32)
    vectors = np.stack([cola, cola, shed, shed, bread])
    cuts = [(1.9, 2.1), (12.3, 12.5), (14.9, 15.1), (24.9, 25.1)]  # cards change at 2.0 and 15.0 too
    assert spot_cuts(0.0, 36.0, (units, vectors), cuts) == [12.4, 25.0]
    assert spot_cuts(0.0, 36.0, (units, np.ones((5, 3), np.float32)), cuts) == []  # one subject: one spot
    assert spot_cuts(0.0, 36.0, (units, vectors), [(1.9, 2.1)]) == []  # no cut where the talk changes
    assert spot_cuts(0.0, 14.0, (units, vectors), cuts) == []  # too short for two spots
    brk = AdSegment(0.0, 36.0, "break", 0.9, "1 spot", blocks=1, spots=(Spot(0.0, 36.0, 0.9, "all"),))
    out = split_spots(brk, (units, vectors), cuts, units)
    assert [(p.start, p.end, p.text) for p in out.spots] == [
        (0.0, 12.4, "Ice-cold cola. Only 1.99."), (12.4, 25.0, "Cedar sheds. Built in a day."),
        (25.0, 36.0, "Fresh bread.")]
    assert out.blocks == 3 and (out.start, out.end) == (0.0, 36.0)


def test_a_one_spot_break_inside_a_named_sponsor_read_is_the_read():
    from vidq.analysis.segments import AdSegment, Spot, not_reads

    read = AdSegment(100.0, 120.0, "sponsor", 0.8, "read", blocks=0, cues=("sponsor", "url"))
    cta = AdSegment(100.0, 120.0, "sponsor", 0.8, "read", blocks=0, cues=("code", "url"))  # names no sponsor

    def brk(s, e, n=1):
        return AdSegment(s, e, "break", 0.9, "ads", blocks=n, spots=tuple(Spot(s, e, 0.9) for _ in range(n)))

    seps = [Separator(199.5, 200.0, "black"), Separator(230.0, 230.5, "black")]
    inside, two, boxed = brk(108.0, 116.0), brk(108.0, 116.0, 2), brk(200.0, 230.0)
    assert not_reads([inside, two, boxed], [read], seps) == [two, boxed]
    assert not_reads([inside], [cta], seps) == [inside]
    assert not_reads([brk(200.0, 230.0)], [AdSegment(195.0, 235.0, "sponsor", 0.8, "r", cues=("sponsor",))],
                     seps) == [brk(200.0, 230.0)]  # black frames on both sides: an inserted spot


def test_a_hosts_sponsor_read_separates_blocks_and_is_never_part_of_a_break():
    """An ad that keeps the logo runs straight into the host's read at a hard cut: the read's
    first words end the block, and the read itself is never filled into a break."""
    from vidq.analysis.segments import ad_blocks, as_read, block_context, blocks_between

    t = Transcript((
        _seg(2.0, "The valley fills with mist before dawn."),
        _seg(36.0, "This video is supported by Nimbus."),
        _seg(40.0, "Nimbus plans your week in one calm place."),
        _seg(52.0, "Back in the valley the mist is lifting."),
    ), "en", "test")
    read_end = 40.0 + 0.4 * 7 + 0.3
    ctx = block_context(_pic(np.arange(0, 60, 0.5)), None, t, [], None)
    assert [(s.start, s.end, s.kind) for s in ctx.seps] == [(36.0, 36.0, "read"), (read_end, read_end, "read")]
    assert blocks_between(ctx.merged, 0.0, 60.0) == [(0.0, 36.0), (36.0, read_end), (read_end, 60.0)]
    read = ctx.block(36.0, read_end)
    assert (read.features["read"], read.prior, read.confidence, read.reason) == (
        True, 0.0, 0.0, "a sponsor read: the host's own talk")
    assert "read" not in ctx.block(0.0, 36.0).features
    stats = FileStats(programme_db=-26.0, median_cut_rate=2.0, has_logo=True)
    first, last = Block(20.0, 36.0, {}, 3.0, 0.9, 0.9, ""), Block(48.0, 60.0, {}, 3.0, 0.9, 0.9, "")
    unsure = Block(36.0, 48.0, {}, 0.0, 0.2, 0.2, "")  # 12 s between two ads: filled in, unless it is a read
    assert ad_blocks([first, unsure, last], stats) == [True, True, True]
    assert ad_blocks([first, as_read(unsure, ctx.reads), last], stats) == [True, False, True]
    sure = Block(36.0, 48.0, {}, 3.0, 0.9, 0.9, "")  # however sure a model is, a host's read is not an ad
    assert ad_blocks([first, as_read(sure, ctx.reads), last], stats) == [True, False, True]


def test_a_sponsor_billboard_between_black_pauses_is_an_inserted_spot():
    """"The weather, brought to you by X" between two black pauses is a broadcaster's billboard:
    it separates nothing and stays an ad block; the same read over the programme is the host's."""
    from vidq.analysis.segments import block_context

    t = Transcript((
        _seg(36.0, "The weather is brought to you by Nimbus."),
        _seg(40.0, "Nimbus, rain or shine."),
    ), "en", "test")
    times = np.arange(0, 60, 0.5)
    black = ((times >= 33.0) & (times <= 33.5)) | ((times >= 45.0) & (times <= 45.5))
    boxed = block_context(_pic(times, black=black), None, t, [], None)
    assert [s.kind for s in boxed.seps] == ["black", "black"] and boxed.reads == []
    assert "read" not in boxed.block(33.75, 44.75).features
    free = block_context(_pic(times), None, t, [], None)
    assert [s.kind for s in free.seps] == ["read", "read"] and len(free.reads) == 1
