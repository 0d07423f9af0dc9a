"""Media signals for ad detection: exact values on synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from vidq.media import signals as S


def solid(rgb, n=1, h=90, w=160):
    return np.broadcast_to(np.array(rgb, np.uint8), (n, h, w, 3)).copy()


# -- picture ----------------------------------------------------------------------------------
def test_mean_luma_is_bt601():
    frames = np.concatenate([solid((255, 0, 0)), solid((0, 255, 0)), solid((0, 0, 255)), solid((255, 255, 255))])
    np.testing.assert_allclose(S.mean_luma(frames), [76.245, 149.685, 29.07, 255.0], atol=1e-3)


def test_black_frames_follow_comskip_thresholds():
    black = solid((0, 0, 0))
    one_dot = black.copy()
    one_dot[0, 10, 10] = 255  # 1 of 14,400 pixels: noise
    caption = black.copy()
    caption[0, 80:88, 20:140] = 255  # 960 lit pixels (6.7%): a caption on a dark scene
    dark_grey = solid((30, 30, 30))  # mean 30 > 20
    flags = S.black_frames(np.concatenate([black, one_dot, caption, dark_grey, solid((16, 16, 16))]))
    assert flags.tolist() == [True, True, False, False, True]


def test_color_histograms_bins_and_normalisation():
    red = solid((255, 0, 0))
    half = solid((255, 0, 0))
    half[0, :, 80:] = (0, 0, 255)
    hist = S.color_histograms(np.concatenate([red, half]), bins=8)
    assert hist.shape == (2, 512)
    np.testing.assert_allclose(hist.sum(axis=1), [1.0, 1.0])
    assert hist[0, (7 * 8 + 0) * 8 + 0] == 1.0  # red -> bin (7, 0, 0)
    assert hist[1, 448] == 0.5 and hist[1, 7] == 0.5  # blue -> bin (0, 0, 7)
    with pytest.raises(ValueError):
        S.color_histograms(red, bins=7)


def test_shot_change_scores_and_streaming_prev():
    frames = np.concatenate([solid((255, 0, 0)), solid((255, 0, 0)), solid((0, 0, 255)), solid((0, 0, 255))])
    hists = S.color_histograms(frames)
    np.testing.assert_allclose(S.shot_change_scores(hists), [0, 0, 1, 0])
    # in two batches, passing the last histogram of the first batch
    first, second = hists[:2], hists[2:]
    np.testing.assert_allclose(S.shot_change_scores(second, prev=first[-1]), [1, 0])


def test_change_rate_per_minute():
    times = np.arange(120, dtype=float)
    changes = np.zeros(120, bool)
    changes[[10, 20, 70]] = True
    centres, rate = S.change_rate(times, changes, window=60.0, hop=30.0)
    np.testing.assert_allclose(centres, [30, 60, 90])
    np.testing.assert_allclose(rate, [2, 1, 1])


def test_letterbox_and_active_aspect():
    letter = solid((128, 128, 128))
    letter[0, :12] = 0
    letter[0, -12:] = 0
    pillar = solid((200, 50, 50))
    pillar[0, :, :20] = 0
    pillar[0, :, -20:] = 0
    frames = np.concatenate([letter, pillar, solid((0, 0, 0)), solid((128, 128, 128))])
    assert S.letterbox(frames).tolist() == [[12, 12, 0, 0], [0, 0, 20, 20], [0, 0, 0, 0], [0, 0, 0, 0]]
    aspect = S.active_aspect(frames)
    np.testing.assert_allclose(aspect[[0, 1, 3]], [160 / 66, 120 / 90, 160 / 90])
    assert np.isnan(aspect[2])


def test_logo_mask_and_presence():
    rng = np.random.default_rng(0)
    frames = []
    for i in range(15):
        f = solid((int(rng.integers(60, 200)),) * 3)  # flat picture: no edges anywhere
        if i < 10:  # station logo: a white box in the top-right corner
            f[0, 4:14, 140:154] = 255
        frames.append(f)
    edges = S.corner_edges(np.concatenate(frames))
    assert edges.shape == (15, 4, round(90 * S.CORNER_FRACTION), round(160 * S.CORNER_FRACTION))
    mask = S.logo_mask(edges)
    assert mask[1].sum() > 0 and mask[0].sum() == mask[2].sum() == mask[3].sum() == 0
    presence = S.logo_presence(edges, mask)
    np.testing.assert_allclose(presence, [1.0] * 10 + [0.0] * 5)
    assert np.isnan(S.logo_presence(edges, np.zeros_like(mask))).all()


def test_a_translucent_logo_over_a_bright_picture_is_still_on_screen():
    def logo(f, level):
        f[0, 4:14, 140:154] = level
        return f

    on = [logo(solid((100, 100, 100)), 255) for _ in range(10)]  # white over grey: strong edges, the mask
    faint = [logo(solid((230, 230, 230)), 245) for _ in range(3)]  # translucent over bright: 15 levels of edge
    checker = solid((230, 230, 230))
    checker[0, ::2, ::2] = checker[0, 1::2, 1::2] = 245  # a busy picture: faint edges everywhere, no logo
    frames = np.concatenate(on + faint + [checker, solid((230, 230, 230))])
    grads = S.corner_gradients(frames)
    edges, weak = S.edges_above(grads, S.EDGE_THRESHOLD), S.edges_above(grads, S.FAINT_EDGE_THRESHOLD)
    np.testing.assert_array_equal(edges, S.corner_edges(frames))
    mask = S.logo_mask(edges[:10])
    assert not edges[10:13][:, mask].any()  # the faint logo leaves no edge at the usual threshold ...
    np.testing.assert_allclose(S.logo_presence(edges, mask), [1.0] * 10 + [0.0] * 5)
    # ... but its faint outline, where the rest of the corner has none, says it is there.  The checkerboard's
    # edges are on the mask and off it alike: every pixel but the corner's last one, which has no neighbour
    # to differ from, so the mask's share beats the rest's by that one pixel only
    off = int((~mask[1]).sum())
    np.testing.assert_allclose(S.logo_presence(edges, mask, weak), [1.0] * 13 + [1 / off, 0.0])


def test_frame_hashes_exact_bits():
    ramp_up = np.broadcast_to(np.linspace(0, 255, 160).astype(np.uint8)[None, :, None], (90, 160, 3))[None].copy()
    ramp_down = ramp_up[:, :, ::-1].copy()
    hashes = S.frame_hashes(np.concatenate([solid((90, 90, 90)), ramp_up, ramp_down]))
    assert hashes.dtype == np.uint64
    assert hashes.tolist() == [0, 2**64 - 1, 0]
    assert S.hamming(hashes[1], hashes[0]) == 64
    assert S.hamming(np.uint64(0b1011), np.uint64(0b0001)) == 2


@pytest.mark.parametrize("h, w", [(90, 160), (91, 161), (719, 1279), (37, 1000), (1080, 1920)])
def test_dhash_is_exact_on_flat_near_flat_and_ramp_frames(h, w):
    """Cells of unequal size (161 px into 9 columns) must not leak float noise into the bits."""
    rng = np.random.default_rng(h * w)
    flat = np.full((h, w), 90, np.uint8)
    near_flat = (90 + rng.integers(0, 2, size=(h, w))).astype(np.uint8)  # one level of noise
    ramp = np.broadcast_to(np.linspace(0, 255, w)[None, :], (h, w)).astype(np.uint8)
    planes = np.stack([flat, near_flat, ramp, ramp[:, ::-1]])
    # with every column 0..255 over >= 9 px, each cell is brighter than its left neighbour
    # by far more than the dead band: all 64 bits for the rising ramp, none for the falling one
    expected = [0, 0, 2**64 - 1, 0]
    for dtype in (np.uint8, np.int32, np.float32, np.float64):
        plane = planes.astype(dtype)
        if dtype in (np.float32, np.float64):
            plane = plane + dtype(1e-5) * rng.standard_normal(plane.shape).astype(dtype)  # last-bit noise
        assert S.dhash(plane).tolist() == expected, dtype
    rgb = np.repeat(planes[..., None], 3, axis=-1)
    assert S.frame_hashes(rgb).tolist() == expected
    for level in (0, 1, 16, 127, 128, 254, 255):
        assert S.frame_hashes(np.full((1, h, w, 3), level, np.uint8)).tolist() == [0]


def test_dhash_dead_band_boundary():
    # two halves one level apart: below the default band (no bit), above a band of 0.5
    plane = np.zeros((1, 8, 18), np.int32)  # 9 columns of 2 px
    plane[:, :, 10:] = 1
    assert S.dhash(plane).tolist() == [0]
    bit = sum(1 << (8 * r + 4) for r in range(8))  # cells 4 -> 5 straddle the step
    assert S.dhash(plane, dead_band=0.5).tolist() == [bit]
    assert S.dhash(plane.astype(np.float64), dead_band=0.5).tolist() == [bit]
    # a step of 2 levels clears the default band
    assert S.dhash(plane * 2).tolist() == [bit]


def test_luma_and_black_frames_are_exact_at_thresholds():
    at = solid((20, 20, 20))  # mean luma exactly 20 = BLACK_MAX_MEAN: black
    above = solid((21, 20, 20))  # 20.299
    assert S.mean_luma(at).tolist() == [20.0]
    assert S.black_frames(np.concatenate([at, above])).tolist() == [True, False]
    assert S.luma_milli(solid((1, 2, 3))).ravel()[0] == 299 + 2 * 587 + 3 * 114


def _random_hashes(n, seed):
    return np.random.default_rng(seed).integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)


def test_repeated_segments_finds_the_ad_aired_twice():
    hashes = _random_hashes(300, 1)
    times = np.arange(300, dtype=float)
    ad = hashes[50:70].copy()
    ad[::3] ^= np.uint64(0b101)  # re-encoded: 2 bits differ on some frames
    hashes[200:220] = ad
    pairs = S.repeated_segments(hashes, times)
    assert len(pairs) == 1
    p = pairs[0]
    assert (p.first_start, p.first_end, p.second_start, p.second_end) == (50.0, 70.0, 200.0, 220.0)
    assert p.frames == 20 and p.offset == 150.0
    assert p.distance == pytest.approx(2 * 7 / 20)


def test_repeated_segments_ignores_static_shots_and_invalid_frames():
    hashes = _random_hashes(300, 2)
    times = np.arange(300, dtype=float)
    hashes[100:110] = hashes[20]  # a title card that comes back: one distinct hash
    hashes[150:170] = hashes[30:50]  # a real repeat, but marked invalid (e.g. black frames)
    valid = np.ones(300, bool)
    valid[150:170] = False
    assert S.repeated_segments(hashes, times, valid=valid) == []
    assert S.repeated_segments(_random_hashes(500, 3), np.arange(500, dtype=float)) == []


# -- sound ------------------------------------------------------------------------------------
def test_loudness_rms_dbfs_exact():
    sr = 16000
    square = np.where(np.arange(sr) % 40 < 20, 0.5, -0.5)
    track = S.loudness(square, sr, window=0.1)
    assert len(track) == 10 and track.hop == 0.1 and track.window == 0.1
    np.testing.assert_allclose(track.db, -6.0206, atol=1e-4)
    np.testing.assert_allclose(track.times, np.arange(10) * 0.1 + 0.05)
    assert (S.loudness(np.zeros(sr), sr).db == S.SILENCE_FLOOR_DB).all()


def test_k_weighting_matches_bs1770():
    # The BS.1770 48 kHz filter gives +0.691 dB at 997 Hz, so a full-scale sine reads -3.01 LUFS.
    assert 10 * np.log10(S.k_weighting_power(np.array([997.0]), 48000))[0] == pytest.approx(0.691, abs=2e-3)
    sr = 48000
    sine = np.sin(2 * np.pi * 997 * np.arange(2 * sr) / sr)
    lufs = S.loudness(sine, sr, weighting="k").db
    np.testing.assert_allclose(lufs, -3.01, atol=0.01)
    # high frequencies weigh more than bass
    gains = 10 * np.log10(S.k_weighting_power(np.array([30.0, 1000.0, 8000.0]), 16000))
    assert gains[0] < -5 and 0 < gains[1] < 1 and gains[2] > 3


def test_silences_and_loudness_jumps():
    sr = 16000
    tone = 0.05 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    signal = np.concatenate([tone, np.zeros(sr // 2), tone])
    track = S.loudness(signal, sr, window=0.1)
    assert S.silences(track) == [(pytest.approx(1.0), pytest.approx(1.5))]
    assert S.silences(track, min_duration=0.6) == []
    quiet = 10 ** (-30 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(5 * sr) / sr)
    loud = quiet * 10 ** (10 / 20)
    jumps = S.loudness_jumps(S.loudness(np.concatenate([quiet, loud, quiet]), sr, window=0.1))
    assert [round(t, 3) for t, _ in jumps] == [5.0, 10.0]
    np.testing.assert_allclose([d for _, d in jumps], [10.0, -10.0], atol=0.01)


def test_concat_loudness_equals_one_pass():
    sr = 8000
    x = np.random.default_rng(4).standard_normal(4 * sr) * 0.1
    whole = S.loudness(x, sr, window=0.5)
    parts = [S.loudness(x[:2 * sr], sr, window=0.5), S.loudness(x[2 * sr:], sr, window=0.5, start=2.0)]
    joined = S.concat_loudness(parts)
    np.testing.assert_allclose(joined.db, whole.db)
    with pytest.raises(ValueError):
        S.concat_loudness([parts[0], S.loudness(x, sr, window=0.25)])


def _vowel(f0: float, formants: tuple[float, ...], seconds: float, sr: int = 16000) -> np.ndarray:
    """A buzz at ``f0`` with its harmonics weighted by resonances at ``formants``: a crude vowel."""
    t = np.arange(round(seconds * sr)) / sr
    out = np.zeros_like(t)
    for h in range(1, int(7000 // f0)):
        f = h * f0
        out += sum(1.0 / (1.0 + ((f - fm) / 120.0) ** 2) for fm in formants) * np.sin(2 * np.pi * f * t)
    return 0.1 * out / np.abs(out).max()


def test_voice_cepstra_describe_the_spectrum_not_the_level():
    sr = 16000
    a = _vowel(110.0, (700.0, 1200.0), 2.0)
    b = _vowel(220.0, (300.0, 2300.0), 2.0)
    ca = S.voice_cepstra(a, sr, window=0.2)
    assert ca.shape == (10, S.VOICE_COEFFS) and ca.dtype == np.float32
    np.testing.assert_allclose(S.voice_cepstra(0.2 * a, sr, window=0.2), ca, atol=0.01)  # c0 (the level) is left out
    same = np.linalg.norm(ca[:5].mean(0) - ca[5:].mean(0))
    other = np.linalg.norm(ca.mean(0) - S.voice_cepstra(b, sr, window=0.2).mean(0))
    assert same < 0.1 < 1.0 < other  # one voice reads as itself, another far from it
    # per chunk, as the sound stage measures it while ASR decodes: the same windows as one pass
    parts = [S.voice_cepstra(a[:sr], sr, window=0.2), S.voice_cepstra(a[sr:], sr, window=0.2)]
    np.testing.assert_allclose(np.concatenate(parts), ca, atol=1e-5)
    assert S.voice_cepstra(a[:1000], sr, window=0.2).shape == (0, S.VOICE_COEFFS)


def test_concat_loudness_keeps_the_cepstra():
    db = np.zeros(3)
    one = S.Loudness(0.0, 0.2, 0.2, db, "rms", np.ones((3, S.VOICE_COEFFS), np.float32))
    two = S.Loudness(0.6, 0.2, 0.2, db, "rms", np.zeros((3, S.VOICE_COEFFS), np.float32))
    joined = S.concat_loudness([one, two])
    assert joined.cepstra.shape == (6, S.VOICE_COEFFS) and joined.cepstra[:3].min() == 1 and joined.cepstra[3:].max() == 0
    assert S.concat_loudness([one, S.Loudness(0.6, 0.2, 0.2, db, "rms")]).cepstra is None


def test_gated_level_drops_pauses_and_silence():
    speech_with_pauses = np.array([-20.0] * 5 + [-45.0] * 5 + [S.SILENCE_FLOOR_DB] * 3)
    assert S.gated_level(speech_with_pauses) == pytest.approx(-20.0)
    assert S.gated_level(np.array([-30.0, -26.0])) == pytest.approx(10 * np.log10((1e-3 + 10 ** -2.6) / 2))
    assert np.isnan(S.gated_level(np.full(4, S.SILENCE_FLOOR_DB)))


def test_color_grid_and_colour_aware_repeats():
    left_red = solid((255, 0, 0), h=80, w=160)
    left_red[0, :, 80:] = (0, 0, 255)
    grid = S.color_grid(left_red, grid=2)
    assert grid.shape == (1, 12)
    assert grid[0].tolist() == [255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 255]
    # two plain cards of different colours hash alike, so only colour tells them apart
    hashes = _random_hashes(200, 5)
    colors = np.zeros((200, 48), np.float32)
    hashes[120:135] = hashes[20:35]
    colors[120:135] = 200.0  # same structure, other colours: not a repeat
    times = np.arange(200, dtype=float)
    assert len(S.repeated_segments(hashes, times)) == 1
    assert S.repeated_segments(hashes, times, colors=colors) == []


def test_repeats_prefer_the_best_supported_offset():
    # a spot whose card sequence repeats inside it (A B C D A B): the other airing matches
    # at the true offset (6 frames) and at a false one (shifted by 4 frames, 2 frames)
    hashes = _random_hashes(300, 6)
    spot = _random_hashes(4, 7)
    cards = np.concatenate([np.repeat(spot, 2), np.repeat(spot[:2], 2)])  # 12 frames
    hashes[40:52] = cards
    hashes[200:212] = cards
    pairs = S.repeated_segments(hashes, np.arange(300, dtype=float), min_distinct=3)
    assert [(p.first_start, p.first_end, p.second_start, p.second_end) for p in pairs] == [(40.0, 52.0, 200.0, 212.0)]
