"""The evaluation families: the held-out truth is self-consistent and shares nothing with tuning,
the fresh (blind) family shares nothing with either, and (slow) a built held-out or fresh file
shows what its truth says: black frames, speechless tails, loudness, framing."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from vidq.testing import families as F
from vidq.testing import fresh as FR
from vidq.testing import heldout as H
from vidq.testing import scenarios as S
from vidq.testing import tuning as T

PLANNED = (0, 3, 6, 7)  # held-out files planned (truth only): a cut-edged break, no ads, 4 spots at a topic change, 2 breaks


@pytest.fixture(scope="module")
def planned():
    return [S.plan_scenario(H.heldout_recipe(i)) for i in PLANNED]


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _says(text: str, word: str) -> bool:
    """``word`` (or its plural) occurs in ``text`` as whole words."""
    return re.search(rf"\b{re.escape(_words(word))}(e?s)?\b", _words(text)) is not None


def _texts(topics, needles, ads, sponsors, queries: bool = True) -> set[str]:
    """Every sentence, title, question, needle, query, ad wording (and "ad for X" query) and sponsor wording."""
    out = {s for t in topics for s in t.sentences} | {t.title for t in topics}
    out |= {q for t in topics for _, q, _ in t.questions}
    out |= {n.text for n in needles} | {n.query for n in needles}
    out |= {a.speech for a in ads} | {c for a in ads for c in a.cards} | {s.text for s in sponsors}
    return out | {a.search for a in ads} if queries else out


def test_recipes_are_deterministic_and_cover_the_variations():
    recipes = F.family_recipes("heldout")
    assert recipes == F.family_recipes("heldout") and len(recipes) == F.DEFAULT_FILES
    assert [r.digest() for r in recipes] == [r.digest() for r in F.family_recipes("heldout")]
    assert len({r.digest() for r in recipes}) == len(recipes)
    breaks = [b for r in recipes for b in r.breaks]
    assert sum(not r.breaks for r in recipes) == 2
    assert {len(b.ads) for b in breaks} == {1, 2, 3, 4}
    assert {b.edges for b in breaks} == {"black", "cut"} and {b.between for b in breaks} == {"black", "cut"}
    assert any(3.0 <= b.tail <= 15.0 for b in breaks) and max(b.tail for b in breaks) <= 15.0
    assert {b.tail_bed for b in breaks if b.tail} == {True, False}
    assert any(b.offset == 0.0 for b in breaks)  # a break at a topic change
    assert any(r.sponsor is not None for r in recipes) and any(r.sponsor is None for r in recipes)
    assert len({r.sponsor_read.brand for r in recipes if r.sponsor}) >= 3
    ads = [a for b in breaks for a in b.ads]
    assert min(a.loud_db for a in ads) <= 0.0 and max(a.loud_db for a in ads) >= 8.0
    assert any(a.keeps_logo for a in ads) and any(a.saturation < 1.0 for a in ads)
    assert any(r.style.logo is None for r in recipes) and any(r.style.shot_seconds for r in recipes)
    assert all(r.family == "heldout" for r in recipes) and all(r.family == "tuning" for r in F.family_recipes("tuning"))


def test_tuning_recipes_vary_what_broadcasts_vary():
    recipes = F.family_recipes("tuning")
    assert recipes == F.family_recipes("tuning") and len({r.digest() for r in recipes}) == len(recipes)
    breaks = [b for r in recipes for b in r.breaks]
    assert sum(not r.breaks for r in recipes) == 1 and {len(b.ads) for b in breaks} == {1, 2, 3, 4}
    assert {b.edges for b in breaks} == {"black", "cut"} and {b.between for b in breaks} == {"black", "cut"}
    assert any(b.tail >= 8 for b in breaks) and {b.tail_bed for b in breaks if b.tail} == {True, False}
    ads = [a for b in breaks for a in b.ads]
    assert min(a.loud_db for a in ads) <= 0.0 and max(a.loud_db for a in ads) >= 8.0
    assert any(a.keeps_logo for a in ads) and any(a.saturation < 1.0 for a in ads) and any(not a.mover for a in ads)
    assert any(r.style.logo is None for r in recipes) and len({r.style.voice for r in recipes}) == len(recipes)
    assert len({r.sponsor_read.brand for r in recipes if r.sponsor}) >= 3
    for ad in T.NEW_ADS:  # the new spots never name what they sell
        assert ad.category in ad.avoid or all(w in ad.avoid for w in ad.category.split()), ad.brand
        assert not any(_says(text, word) for word in ad.avoid for text in (ad.speech, ad.brand, *ad.cards)), ad.brand


def test_heldout_shares_no_voice_font_text_or_brand_with_tuning():
    tuning, heldout = F.family_recipes("tuning"), F.family_recipes("heldout")
    tuning_voices = {S.CLASSIC_STYLE.voice, *T.VOICES, *T.AD_VOICES} | {a.voice for a in T.ADS if a.voice}
    tuning_fonts = {Path(p).name for r in tuning for p in S.style_fonts(r.style)}
    for r in heldout:
        assert r.style.voice not in tuning_voices
        assert all(a.voice and a.voice not in tuning_voices for b in r.breaks for a in b.ads)
        fonts = {Path(p).name for p in S.style_fonts(r.style)}
        assert not fonts & tuning_fonts and not any("Mono" in f for f in fonts), fonts
    assert len({r.style.voice for r in heldout}) == len(heldout) and len({r.style.wpm for r in heldout}) >= 8

    classic = _texts(S.TOPICS, S.NEEDLES, T.ADS, T.SPONSORS, queries=False)
    held = _texts(H.TOPICS, H.NEEDLES, H.ADS, H.SPONSORS, queries=False)  # both ask for a soda ad
    assert not classic & held
    assert not {a.category for a in T.NEW_ADS} & {a.category for a in H.ADS}
    brands = {a.brand.lower() for a in T.ADS} | {s.brand.lower() for s in T.SPONSORS}
    held_brands = {a.brand.lower() for a in H.ADS} | {s.brand.lower() for s in H.SPONSORS}
    assert not brands & held_brands
    assert not any(_says(t, b) for t in held for b in brands)
    assert len(H.TOPICS) == 16 and len(H.NEEDLES) == 12 and len(H.ADS) == 14
    assert len({a.category for a in H.ADS}) == len(H.ADS)


def test_no_heldout_ad_says_or_shows_its_category():
    for ad in H.ADS:
        assert ad.category in ad.avoid or all(w in ad.avoid for w in ad.category.split()), ad.brand
        for word in ad.avoid:
            for text in (ad.speech, ad.brand, *ad.cards):
                assert not _says(text, word), (ad.brand, word, text)
        assert ad.search.startswith("ad for ") and ad.search.endswith(ad.category)


def test_planned_truth_is_self_consistent(planned):
    ads_by_brand = {a.brand: a for a in H.ADS}
    for sc in planned:
        ev = list(sc.events)
        assert ev == sorted(ev, key=lambda e: (e.start, e.kind, e.end)), sc.name
        assert all(0.0 <= e.start <= e.end <= sc.duration + 1e-6 for e in ev), sc.name
        assert 150.0 <= sc.duration <= 400.0 and sc.family == "heldout"
        breaks, spots = sc.ad_breaks, sc.ads
        for brk in breaks:
            inside = [a for a in spots if brk.start <= a.start < brk.end]
            assert inside and all(a.end <= brk.end + 1e-6 for a in inside)
            assert brk.category == ", ".join(a.category for a in inside)
            blacks = [b for b in sc.of_kind("black") if brk.start <= b.start < brk.end]
            edges = [brk.start] + [x for a in inside for x in (a.start, a.end)] + [brk.end]
            # everything between the break's edges and its spots is black, nothing else
            holes = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a > 1e-6]
            assert sorted(holes) == [(b.start, b.end) for b in blacks], (sc.name, holes, blacks)
        assert all(any(b.start <= a.start < b.end for b in breaks) for a in spots)
        for a in spots:
            ad = ads_by_brand[a.label]
            assert a.category == ad.category and a.query == ad.search and a.text == ad.speech
            cards = [e.text for e in sc.of_kind("screen") if e.label == "ad" and a.start <= e.start < a.end]
            assert cards and set(cards) <= set(ad.cards)
            assert not any(_says(t, w) for t in (a.text, *cards) for w in ad.avoid), a.label
        spoken = [e for e in sc.of_kind("speech") if e.label != "ad"]
        for tail in sc.of_kind("tail"):
            assert any(abs(b.start - tail.end) < 1e-6 for b in breaks) and 3.0 <= tail.end - tail.start <= 15.0
            assert not [s for s in spoken if s.start < tail.end and s.end > tail.start], (sc.name, tail)
        covered = [(b.start, b.end) for b in breaks] + [(t.start, t.end) for t in sc.of_kind("tail")]
        for item in sc.needles + sc.sponsors:
            assert all(item.end <= s or item.start >= e for s, e in covered), (sc.name, item)
        for q in sc.qa:
            assert any(e.start == q.start and e.end == q.end for e in spoken), q
        assert sc.info["voice"] not in ("en-us",) and "Mono" not in sc.info["font"]
    assert sum(len(sc.of_kind("tail")) for sc in planned) >= 3
    assert any(not sc.ad_breaks for sc in planned)


def test_eval_truth_files_load_in_vidq_eval(planned, tmp_path):
    from vidq.eval.mc import load_items
    from vidq.eval.retrieval import load_truth

    paths = F.write_eval_truth(planned, tmp_path)
    assert sorted(paths) == sorted(F.TRUTH_FILES)
    find = load_truth(paths["find.jsonl"], need_query=True)
    ads = load_truth(paths["ads.jsonl"], need_query=False)
    mc = load_items(paths["mc.jsonl"])
    assert len(find) == sum(len(sc.needles) + len({a.category for a in sc.ads}) for sc in planned)
    assert [r.id for r in ads] == [sc.name for sc in planned]
    assert len(mc) == sum(len(sc.qa) for sc in planned) and {m.group for m in mc} == {"heldout"}
    assert all(r.video.parent == tmp_path for r in find + ads)
    for sc in planned:
        absent = F.absent_queries(sc)
        assert [k for k, _ in absent] == ["needle", "ad"]
        assert not {q for _, q in absent} & ({n.query for n in sc.needles} | {a.query for a in sc.ads})
    rows = [json.loads(line) for line in paths["absent.jsonl"].read_text().splitlines()]
    assert len(rows) == 2 * len(planned) and all(r["video"].endswith(".mp4") for r in rows)


def _small_heldout_recipe() -> S.Recipe:
    """Two held-out topics of 40 s and one break of three spots (one as loud as the programme), opened
    and closed by black frames, hard cuts between the spots, after a 6 s tail whose bed fades out."""
    base = H.heldout_recipe(7)
    by = {a.brand: a for a in H.ADS}
    spots = (by["Ledger and Pine"], by["Stride Pro"], by["Cloudrest"])  # +1 dB and logo kept, +8 dB, 0 dB
    brk = S.BreakSpec(topic=1, offset=20.0, ads=spots, edges="black", between="cut", black=0.8, tail=6.0,
                      tail_bed=False, resume=1.0)
    style = dataclasses.replace(base.style, shot_seconds=0.0, noise_db=-62.0)
    return dataclasses.replace(base, name="heldout-small", topics=H.TOPICS[:2], topic_seconds=40.0,
                               needles=((H.NEEDLES[1], 0.2),), breaks=(brk,), sponsor=None, style=style)


def _built(tmp_path, recipe: S.Recipe, black_frames: int) -> tuple[S.Scenario, np.ndarray, np.ndarray]:
    """Build ``recipe``; check its length and that exactly its truth's ``black_frames`` frames are black.
    Returns the scenario, every frame (n, h, w, 3) and their times."""
    from vidq.media import decode, plan_samples, probe
    from vidq.media import signals as SG

    sc = S.build_scenario(tmp_path, recipe)
    assert sc.build_seconds < 60.0
    info = probe(sc.video)
    assert info.duration == pytest.approx(sc.duration, abs=0.1)
    batches = list(decode(sc.video, plan_samples(info, fps=S.FPS)))
    images, pts = np.concatenate([b.images for b in batches]), np.concatenate([b.pts for b in batches])
    in_black = np.zeros(pts.size, bool)
    for e in sc.of_kind("black"):
        in_black |= (pts >= e.start - 1e-6) & (pts < e.end - 1e-6)
    assert in_black.sum() == black_frames
    np.testing.assert_array_equal(SG.black_frames(images), in_black)
    return sc, images, pts


@pytest.mark.slow
def test_a_built_heldout_file_matches_its_truth(tmp_path):
    from vidq.media import load_audio
    from vidq.media import signals as SG

    sc, images, pts = _built(tmp_path, _small_heldout_recipe(), 2 * 4)  # black before and after the break, 0.8 s each
    # the hard cuts between the spots are shot changes at the truth's times
    scores = SG.shot_change_scores(SG.color_histograms(images))
    for spot in sc.ads[1:]:
        assert scores[np.argmin(np.abs(pts - spot.start))] > SG.SHOT_THRESHOLD, spot.label

    audio = load_audio(sc.video, sample_rate=16000)
    track = SG.loudness(audio, 16000, window=0.2, weighting="k")

    def level(lo, hi):
        sel = (track.times >= lo) & (track.times < hi)
        return SG.gated_level(track.db[sel], silence_db=-200.0)

    (tail,) = sc.of_kind("tail")
    speech = [e for e in sc.of_kind("speech") if e.label == "programme" and e.end < tail.start]
    programme = np.median([level(e.start, e.end) for e in speech])
    assert level(tail.start + 0.6, tail.end) < programme - 20.0  # no speech, the bed faded out: the noise floor
    assert level(tail.start + 0.6, tail.end) > -80.0  # ... which is not digital silence
    loud = {a.label: level(a.start + 1.0, a.end - 1.0) - programme for a in sc.ads}
    assert loud["Stride Pro"] > loud["Cloudrest"] + 4.0
    assert abs(loud["Cloudrest"]) < 4.0  # a spot as loud as the programme


# -- the fresh (blind) family -------------------------------------------------------------------------
# Whoever tunes the jobs must not see this family's content, so these tests assert on counts and flags
# computed beforehand: a failure prints numbers, never a text, brand or category.
OTHERS = {  # the other families' content: (topics, needles, ads, sponsors)
    "tuning": (S.TOPICS, S.NEEDLES, T.ADS, T.SPONSORS),
    "heldout": (H.TOPICS, H.NEEDLES, H.ADS, H.SPONSORS),
}
FRESH = (FR.TOPICS, FR.NEEDLES, FR.ADS, FR.SPONSORS)


def _shared(a, b) -> int:
    """How many items the iterables ``a`` and ``b`` have in common."""
    return len(set(a) & set(b))


def test_fresh_recipes_are_deterministic_and_cover_the_variations():
    recipes = F.family_recipes("fresh")
    same = recipes == F.family_recipes("fresh") and [r.digest() for r in recipes] == [
        r.digest() for r in F.family_recipes("fresh")]
    assert same and len(recipes) == F.DEFAULT_FILES and len({r.digest() for r in recipes}) == len(recipes)
    names_ok = [r.name for r in recipes] == [f"fresh-{i:02d}" for i in range(10)] and {r.family for r in recipes} == {
        "fresh"}
    slices_ok = F.family_recipes("fresh", n=2, first=4) == recipes[4:6]
    seeded_differs = F.family_recipes("fresh", n=1, seed=7) != recipes[:1]
    assert names_ok and slices_ok and seeded_differs
    breaks = [b for r in recipes for b in r.breaks]
    assert 1 <= sum(not r.breaks for r in recipes) <= 2
    assert {len(b.ads) for b in breaks} == {1, 2, 3, 4}
    assert {b.edges for b in breaks} == {"black", "cut"} and {b.between for b in breaks} == {"black", "cut"}
    tails = [b.tail for b in breaks]
    assert 0.0 in tails and any(0 < t <= 4 for t in tails) and any(t >= 10 for t in tails) and max(tails) <= 20
    assert {b.tail_bed for b in breaks if b.tail} == {True, False}
    assert any(b.offset == 0.0 for b in breaks) and min(b.black for b in breaks) <= 0.3
    for r in recipes:  # breaks well apart
        points = [b.topic * r.topic_seconds + b.offset for b in r.breaks]
        assert all(q - p - a.resume >= FR.BREAK_SPACING for (p, a), q in zip(zip(points, r.breaks), points[1:]))
    ads = [a for b in breaks for a in b.ads]
    assert min(a.loud_db for a in ads) <= 0.0 and max(a.loud_db for a in ads) >= 8.0
    styles = (any(a.keeps_logo for a in ads), any(a.saturation < 1.0 for a in ads), any(not a.mover for a in ads))
    assert styles == (True, True, True)
    assert {a.framing for a in ads} == {"full", "pillarbox", "letterbox", "windowbox"}
    reads = {r.sponsor_read.text for r in recipes if r.sponsor is not None}
    assert len(reads) >= 4 and any(r.sponsor is None for r in recipes)
    link_and_code = sum(bool("dot" in t and re.search(r"\b[A-Z]{5,}\b", t)) for t in reads)
    neither = sum(bool("dot" not in t and not re.search(r"\b[A-Z]{5,}\b", t)) for t in reads)
    classic_cue = sum(_says(t, "sponsored by") for t in reads)
    assert (link_and_code >= 1, neither >= 1, classic_cue) == (True, True, 0)
    assert any(r.style.logo is None for r in recipes) and any(r.style.shot_seconds for r in recipes)
    assert {r.style.motion for r in recipes} >= {"orbit", "bounce"}


def test_fresh_shares_no_content_or_look_with_the_other_families():
    texts = _texts(*FRESH)
    brands = {a.brand.lower() for a in FR.ADS} | {s.brand.lower() for s in FR.SPONSORS}
    categories = {a.category for a in FR.ADS}
    sizes = (len(FR.TOPICS) >= 12, len(FR.NEEDLES) >= 10, len(FR.ADS) >= 12, len(FR.SPONSORS) >= 4,
             len(categories) == len(FR.ADS), sum(len(t.questions) for t in FR.TOPICS) >= 24,
             {n.channel for n in FR.NEEDLES} == {"speech", "screen"})
    assert all(sizes)
    for name, (topics, needles, ads, sponsors) in OTHERS.items():
        other = _texts(topics, needles, ads, sponsors)
        other_brands = {a.brand.lower() for a in ads} | {s.brand.lower() for s in sponsors}
        counts = {
            "texts": _shared(map(_words, texts), map(_words, other)),
            "brands": _shared(brands, other_brands),
            "their brands said here": sum(_says(t, b) for t in texts for b in other_brands),
            "our brands said there": sum(_says(t, b) for t in other for b in brands),
            "categories": _shared(categories, (a.category for a in ads)),
            "topic colours": _shared((t.color for t in FR.TOPICS), (t.color for t in topics)),
            "patterns": _shared((t.pattern for t in FR.TOPICS), (t.pattern for t in topics)),
            "ad colours": _shared((c for a in FR.ADS for c in a.colors), (c for a in ads for c in a.colors)),
            "ad text looks": _shared((a.text for a in FR.ADS), (a.text for a in ads)),
        }
        assert counts == dict.fromkeys(counts, 0), name

    voices = {(v, w) for v, w in FR.VOICES} | {(a.voice, a.wpm) for a in FR.ADS}
    used = {(S.CLASSIC_STYLE.voice, S.CLASSIC_STYLE.wpm)} | set(H.VOICES) | {(a.voice, a.wpm) for a in H.ADS}
    classic = S.CLASSIC_STYLE
    counts = {
        "voice pairs missing": len(FR.VOICES) + len(FR.ADS) - len(voices),
        "voices": _shared((v for v, _ in voices), [v for v, _ in used] + [*T.VOICES, *T.AD_VOICES]),  # any speed
        "speeds": _shared((w for _, w in voices), (w for _, w in used)),
        "fonts": _shared((f[0] for f in FR.FONTS), [f[0] for f in H.FONTS] + [f[0] for f in T.FONTS]),
        "mono fonts": sum("Mono" in name for f in FR.FONTS for name in f),
        "captions": _shared((c for c, _ in FR.CAPTIONS), [c for c, _ in (*H.CAPTIONS, *T.CAPTIONS)] + [classic.caption]),
        "signs": _shared((c for c, _ in FR.SIGNS), [*H.SIGNS, *T.SIGNS, classic.sign]),
        "logos": _shared((lg.text for lg in FR.LOGOS if lg),
                         [lg.text for lg in (*H.LOGOS, *T.LOGOS) if lg] + [classic.logo.text]),
        "layouts": _shared(FR.LAYOUTS, [*H.LAYOUTS, *T.LAYOUTS, (classic.panel, classic.motion)]),
        "beds": _shared((c for c, _ in FR.BEDS), [c for c, _ in (*H.BEDS, *T.BEDS)] + [classic.bed_chord]),
        "logo on the caption's or sign's corner": sum(
            r.style.logo is not None
            and r.style.logo.corner in {dict(FR.CAPTIONS)[r.style.caption], dict(FR.SIGNS)[r.style.sign]}
            for r in F.family_recipes("fresh")),
    }
    assert counts == dict.fromkeys(counts, 0)


def test_no_fresh_ad_says_or_shows_its_category():
    unnamed = sum(not (a.category in a.avoid or all(w in a.avoid for w in a.category.split())) for a in FR.ADS)
    said = sum(_says(text, word) for a in FR.ADS for word in a.avoid for text in (a.speech, a.brand, *a.cards))
    queries = sum(not (a.search.startswith("ad for ") and a.search.endswith(a.category)) for a in FR.ADS)
    assert (unnamed, said, queries) == (0, 0, 0)


def test_planned_fresh_truth_is_self_consistent():
    """Three files planned (espeak-ng only): truth in order, spots inside breaks, tails without narration,
    the avoided words recorded, and eval rows for every needle and category."""
    for i in (0, 5, 8):
        sc = S.plan_scenario(FR.fresh_recipe(i))
        ev = list(sc.events)
        spoken = [e for e in sc.of_kind("speech") if e.label != "ad"]
        aired = {e.label for e in sc.ads}
        rows = F.eval_rows(sc)
        checks = {
            "in order": ev == sorted(ev, key=lambda e: (e.start, e.kind, e.end)),
            "inside the video": all(0.0 <= e.start <= e.end <= sc.duration + 1e-6 for e in ev),
            "spots inside breaks": bool(sc.ad_breaks) and all(
                any(b.start <= a.start and a.end <= b.end + 1e-6 for b in sc.ad_breaks) for a in sc.ads),
            "silent tails": not any(s.start < t.end and s.end > t.start for t in sc.of_kind("tail") for s in spoken),
            "avoided words": sc.info["ad_avoid"] == {a.brand: list(a.avoid) for a in FR.ADS if a.brand in aired},
            "find rows": len(rows["find.jsonl"]) == len(sc.needles) + len({a.category for a in sc.ads}),
            "absent kinds": [k for k, _ in F.absent_queries(sc)] == ["needle", "ad"],
            "mc rows": len(rows["mc.jsonl"]) == len(sc.qa) >= 6,
            "family": sc.family == "fresh",
        }
        assert checks == dict.fromkeys(checks, True), i


def _small_fresh_recipe() -> S.Recipe:
    """Two fresh topics of 35 s and one break: a moving windowbox spot and a muted spot that keeps the logo,
    opened and closed by black frames, a hard cut between them, after a 5 s tail whose bed fades out."""
    base = FR.fresh_recipe(0)
    boxed = next(a for a in FR.ADS if a.framing == "windowbox" and a.mover)
    muted = next(a for a in FR.ADS if a.saturation < 1.0 and a.keeps_logo and a.framing == "full")
    brk = S.BreakSpec(topic=1, offset=18.0, ads=(boxed, muted), edges="black", between="cut",
                      black=0.6, tail=5.0, tail_bed=False, resume=1.0)
    style = dataclasses.replace(base.style, shot_seconds=0.0, noise_db=-64.0, caption_seconds=3.0,
                                logo=FR.LOGOS[0], motion="orbit", panel=0.45)
    topics = tuple(t for t in FR.TOPICS if t.pattern in ("plasma", "spectrum"))[:1] + \
        tuple(t for t in FR.TOPICS if t.pattern in ("chart", "rgbscroll"))[:1]
    return dataclasses.replace(base, name="fresh-small", topics=topics, topic_seconds=35.0,
                               needles=((FR.NEEDLES[1], 0.2),), breaks=(brk,), sponsor=None, style=style)


@pytest.mark.slow
def test_a_built_fresh_file_matches_its_truth(tmp_path):
    from vidq.media import signals as SG

    sc, images, pts = _built(tmp_path, _small_fresh_recipe(), 2 * 3)  # black before and after the break, 0.6 s each
    first, second = sc.ads
    # the windowbox spot: black on all four sides around the card
    inside = images[(pts >= first.start + 0.5) & (pts < first.end - 0.5)]
    assert inside[:, :, :8].max() < 40 and inside[:, :8].max() < 40 and inside[:, 20:-20, 40:-40].mean() > 40
    scores = SG.shot_change_scores(SG.color_histograms(images))
    assert scores[np.argmin(np.abs(pts - second.start))] > SG.SHOT_THRESHOLD
    # the programme's pattern panel moves
    programme = images[(pts >= 5.0) & (pts < 10.0)]
    assert np.abs(np.diff(programme.astype(np.int16), axis=0)).mean() > 1.0
