"""The evaluation families: the held-out truth is self-consistent and shares nothing with tuning,
and (slow) a built held-out file shows what its truth says: black frames, speechless tails, loudness."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from vidq.testing import families as F
from vidq.testing import heldout as H
from vidq.testing import scenarios as S

PLANNED = (0, 3, 6, 7)  # held-out files planned (truth only): a cut-edged break, no ads, 4 spots at a topic change, 2 breaks


@pytest.fixture(scope="module")
def planned():
    return [S.plan_scenario(H.heldout_recipe(i)) for i in PLANNED]


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _says(text: str, word: str) -> bool:
    """``word`` (or its plural) occurs in ``text`` as whole words."""
    return re.search(rf"\b{re.escape(_words(word))}(e?s)?\b", _words(text)) is not None


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


def test_heldout_shares_no_voice_font_text_or_brand_with_tuning():
    tuning, heldout = F.family_recipes("tuning"), F.family_recipes("heldout")
    assert all(r.style == S.CLASSIC_STYLE for r in tuning)
    tuning_voices = {S.CLASSIC_STYLE.voice} | {a.voice or S.CLASSIC_STYLE.voice for a in S.ADS.values()}
    tuning_fonts = {Path(p).name for p in S.style_fonts(S.CLASSIC_STYLE)}
    for r in heldout:
        assert r.style.voice not in tuning_voices
        assert all(a.voice and a.voice not in tuning_voices for b in r.breaks for a in b.ads)
        fonts = {Path(p).name for p in S.style_fonts(r.style)}
        assert not fonts & tuning_fonts and not any("Mono" in f for f in fonts), fonts
    assert len({r.style.voice for r in heldout}) == len(heldout) and len({r.style.wpm for r in heldout}) >= 8

    def texts(topics, needles, ads, sponsors):
        out = {s for t in topics for s in t.sentences} | {t.title for t in topics}
        out |= {q for t in topics for _, q, _ in t.questions}
        out |= {n.text for n in needles} | {n.query for n in needles}
        out |= {a.speech for a in ads} | {c for a in ads for c in a.cards} | {s.text for s in sponsors}
        return out

    classic = texts(S.TOPICS, S.NEEDLES, S.ADS.values(), [S.SPONSOR])
    held = texts(H.TOPICS, H.NEEDLES, H.ADS, H.SPONSORS)
    assert not classic & held
    brands = {a.brand.lower() for a in S.ADS.values()} | {S.SPONSOR.brand.lower()}
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


@pytest.mark.slow
def test_a_built_heldout_file_matches_its_truth(tmp_path):
    from vidq.media import decode, load_audio, plan_samples, probe
    from vidq.media import signals as SG

    sc = S.build_scenario(tmp_path, _small_heldout_recipe())
    assert sc.build_seconds < 60.0
    info = probe(sc.video)
    assert info.duration == pytest.approx(sc.duration, abs=0.1)
    batches = list(decode(sc.video, plan_samples(info, fps=S.FPS)))
    images, pts = np.concatenate([b.images for b in batches]), np.concatenate([b.pts for b in batches])
    in_black = np.zeros(pts.size, bool)
    for e in sc.of_kind("black"):
        in_black |= (pts >= e.start - 1e-6) & (pts < e.end - 1e-6)
    assert in_black.sum() == 2 * 4  # black before and after the break, 0.8 s each
    np.testing.assert_array_equal(SG.black_frames(images), in_black)
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
