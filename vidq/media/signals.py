"""Cheap picture and sound signals: what comskip and MythTV's commercial flagging look at.

Pure functions over what the media layer streams: frames as ``(B, H, W, 3)`` uint8 RGB
arrays (``FrameBatch.images``) with their times, and mono float32 PCM (``AudioChunk``
samples) with a sample rate.  No models, no files, no state between calls except what a
caller passes back in (``prev=`` for histograms across batches).

Picture::

    luma_milli(images)                     -> (B, H, W) int32 BT.601 luma in thousandths (exact)
    mean_luma(images)                      -> (B,) float64, 0..255 (BT.601 luma)
    black_frames(images)                   -> (B,) bool, comskip-style thresholds
    color_histograms(images, bins=8)       -> (B, bins**3) float32, rows sum to 1
    shot_change_scores(hists, prev=None)   -> (B,) float32 in [0, 1] (total variation distance)
    change_rate(times, changes, window)    -> (window centres, changes per minute)
    letterbox(images)                      -> (B, 4) int: black bars top, bottom, left, right
    active_aspect(images)                  -> (B,) float: width / height of the picture inside bars
    corner_gradients(images)               -> (B, 4, h, w) luma gradients of the four corners
    corner_edges(images)                   -> (B, 4, h, w) bool edge maps of the four corners
    logo_mask(edges) / logo_presence(edges, mask, faint)  -> station-logo mask / per-frame presence
    frame_hashes(images)                   -> (B,) uint64 difference hashes (dHash, 64 bits, dead band)
    dhash(plane)                           -> the same over any (B, H, W) luma plane (int exact, float64)
    color_grid(images)                     -> (B, 48) float32 mean colour of 4x4 cells
    repeated_segments(hashes, times, colors=...)  -> list[RepeatPair]: the same footage aired twice

Sound::

    loudness(samples, rate, weighting="rms"|"k")  -> Loudness (dBFS per window, or LUFS-ish)
    silences(track)                        -> list[(start, end)] seconds
    loudness_jumps(track)                  -> list[(time, delta dB)]

Times are seconds on the file timeline, as everywhere in ``vidq.media``.  This module
knows nothing about decoding, models, ads or tasks: deciding what is an ad is the job of
the layer above, which combines these signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LUMA_MILLI = (299, 587, 114)  # BT.601 R, G, B -> Y in thousandths of a level (integer: exact)

# Black frames, after comskip's defaults (comskip.ini: max_avg_brightness=19,
# max_brightness=60, maxbright=1 pixel; we allow a small fraction of pixels for noise).
BLACK_MAX_MEAN = 20.0  # a black frame's mean luma is at most this (0..255)
BLACK_PIXEL = 60.0  # pixels brighter than this (0..255) count against blackness
BLACK_MAX_BRIGHT_FRACTION = 0.002  # at most this fraction of pixels may be brighter than BLACK_PIXEL

SHOT_THRESHOLD = 0.35  # shot_change_scores above this are shot changes (histogram TV distance)
BAR_LUMA = 32.0  # a row/column whose 99th-percentile luma is at most this is part of a black bar
CORNER_FRACTION = 0.22  # corner regions for logo detection: this fraction of width and of height
EDGE_THRESHOLD = 48.0  # luma gradient magnitude (|dx| + |dy|, 0..510) that counts as an edge
FAINT_EDGE_THRESHOLD = 12.0  # ... a faint one: a translucent logo's outline over a bright or flat picture
LOGO_STABLE_FRACTION = 0.6  # a logo pixel is an edge in at least this fraction of frames

SILENCE_FLOOR_DB = -120.0  # the dB value reported for digital silence (instead of -inf)
SILENCE_DB = -50.0  # windows quieter than this (dBFS / LUFS) are silent
LOUDNESS_WINDOW = 0.4  # seconds; BS.1770's momentary-loudness window
K_OFFSET_DB = -0.691  # BS.1770: LUFS = -0.691 + 10 log10(mean square of the K-weighted signal)
# BS.1770 K-weighting as two biquads: a high shelf (+4 dB above ~1.7 kHz) and the RLB
# high-pass (~38 Hz); analog-prototype parameters that reproduce the 48 kHz coefficients.
K_SHELF = (1681.974450955533, 3.999843853973347, 0.7071752369554196)  # (f0 Hz, gain dB, Q)
K_SHELF_BAND = 0.4996667741545416  # exponent of the shelf's band-edge gain
K_HIGHPASS = (38.13547087602444, 0.5003270373238773)  # (f0 Hz, Q)

HASH_DEAD_BAND = 1.0  # luma levels (0..255): neighbouring dHash cells closer than this set no bit
HASH_MAX_DISTANCE = 10  # dHash bits two frames of the same footage may differ by (re-encoding, sampling phase)
COLOR_MAX_DIFF = 12.0  # mean |colour difference| (0..255) of color_grid cells for the same footage


# -- picture ----------------------------------------------------------------------------------
def _check_images(images: np.ndarray) -> np.ndarray:
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (B, H, W, 3), got {images.shape}")
    return images


def luma_milli(images: np.ndarray) -> np.ndarray:
    """BT.601 luma of each pixel in thousandths, exactly: ``(B, H, W, 3)`` uint8 RGB -> ``(B, H, W)`` int32.

    ``299 R + 587 G + 114 B`` (0..255000).  Integer arithmetic makes every comparison
    below independent of float rounding (and of the numpy version or the CPU's SIMD
    width): a grey pixel of level v is exactly ``1000 v``.
    """
    img = _check_images(images)
    r, g, b = (img[..., k].astype(np.int32) for k in range(3))
    return LUMA_MILLI[0] * r + LUMA_MILLI[1] * g + LUMA_MILLI[2] * b


def luma(images: np.ndarray) -> np.ndarray:
    """BT.601 luma of each pixel: ``(B, H, W, 3)`` uint8 RGB -> ``(B, H, W)`` float32 in 0..255."""
    return (luma_milli(images) / 1000.0).astype(np.float32)


def mean_luma(images: np.ndarray) -> np.ndarray:
    """Mean luma of each frame, ``(B,)`` float64 in 0..255 (exact sums, one division)."""
    y = luma_milli(images).reshape(images.shape[0], -1)
    return y.sum(axis=1, dtype=np.int64) / (1000.0 * max(1, y.shape[1]))


def black_frames(
    images: np.ndarray,
    *,
    max_mean: float = BLACK_MAX_MEAN,
    pixel: float = BLACK_PIXEL,
    max_bright_fraction: float = BLACK_MAX_BRIGHT_FRACTION,
) -> np.ndarray:
    """Which frames are black: mean luma <= ``max_mean`` and almost no pixel above ``pixel``.

    The second condition keeps a dark scene with a lit caption from counting as black
    (comskip's ``max_brightness``/``maxbright``).  Returns ``(B,)`` bool.  Compared in
    integer thousandths of a level, so a frame exactly at a threshold decides the same
    way everywhere.
    """
    y = luma_milli(images).reshape(images.shape[0], -1)
    n = max(1, y.shape[1])
    bright = (y > round(pixel * 1000)).sum(axis=1)
    dark = y.sum(axis=1, dtype=np.int64) <= round(max_mean * 1000) * n
    return dark & (bright <= max_bright_fraction * n)


def color_histograms(images: np.ndarray, bins: int = 8) -> np.ndarray:
    """Joint RGB histogram of each frame with ``bins`` levels per channel.

    Returns ``(B, bins**3)`` float32; each row sums to 1.
    """
    _check_images(images)
    if not 1 <= bins <= 256 or 256 % bins:
        raise ValueError(f"bins must divide 256, got {bins}")
    shift = int(np.log2(256 // bins))
    q = (images >> shift).astype(np.int64)  # (B, H, W, 3) in 0..bins-1
    code = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]  # (B, H, W)
    b = images.shape[0]
    flat = code.reshape(b, -1) + (np.arange(b, dtype=np.int64) * bins**3)[:, None]
    counts = np.bincount(flat.ravel(), minlength=b * bins**3).reshape(b, bins**3)
    return (counts / max(1, code[0].size)).astype(np.float32)


def histogram_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Total variation distance between histograms (last axis), in [0, 1]."""
    return 0.5 * np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).sum(axis=-1)


def shot_change_scores(hists: np.ndarray, prev: np.ndarray | None = None) -> np.ndarray:
    """Histogram distance of each frame to the one before it, ``(B,)`` float32 in [0, 1].

    ``hists``: ``(B, K)`` from :func:`color_histograms`.  ``prev`` (``(K,)``) is the last
    histogram of the previous batch, so a stream of batches gives the same scores as one
    big batch; without it the first score is 0.
    """
    scores = np.zeros(hists.shape[0], dtype=np.float32)
    if hists.shape[0] > 1:
        scores[1:] = histogram_distance(hists[1:], hists[:-1])
    if prev is not None and hists.shape[0]:
        scores[0] = histogram_distance(hists[0], prev)
    return scores


def change_rate(times: np.ndarray, changes: np.ndarray, window: float = 60.0,
                hop: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How many changes happen per minute in sliding windows of ``window`` seconds.

    ``times`` ``(N,)`` ascending seconds and ``changes`` ``(N,)`` bool (e.g. shot
    changes).  Windows start at ``times[0]`` every ``hop`` seconds (default window / 2).
    Returns (window centres ``(W,)``, changes per minute ``(W,)``), both float64.
    """
    times = np.asarray(times, np.float64)
    changes = np.asarray(changes, bool)
    if times.size == 0:
        return np.zeros(0), np.zeros(0)
    hop = window / 2 if hop is None else hop
    if window <= 0 or hop <= 0:
        raise ValueError("window and hop must be positive")
    starts = np.arange(times[0], max(times[0], times[-1] - window) + hop / 2, hop)
    event_times = times[changes]
    lo = np.searchsorted(event_times, starts, side="left")
    hi = np.searchsorted(event_times, starts + window, side="left")
    return starts + window / 2, (hi - lo) * (60.0 / window)


def letterbox(images: np.ndarray, *, bar_luma: float = BAR_LUMA) -> np.ndarray:
    """Black bars around the picture: ``(B, 4)`` int64 rows/columns (top, bottom, left, right).

    A row or column belongs to a bar when its 99th-percentile luma is at most
    ``bar_luma``, counted inward from each edge.  A frame that is black all over has no
    picture to frame and reports zero bars.
    """
    y = luma_milli(images)  # (B, H, W) int32 thousandths
    limit = bar_luma * 1000
    rows = np.percentile(y, 99, axis=2) <= limit  # (B, H) dark rows
    cols = np.percentile(y, 99, axis=1) <= limit  # (B, W) dark columns
    out = np.zeros((images.shape[0], 4), dtype=np.int64)
    for i in range(images.shape[0]):
        if rows[i].all() or cols[i].all():
            continue
        out[i, 0] = _leading(rows[i])
        out[i, 1] = _leading(rows[i][::-1])
        out[i, 2] = _leading(cols[i])
        out[i, 3] = _leading(cols[i][::-1])
    return out


def _leading(flags: np.ndarray) -> int:
    """Number of leading True values."""
    false = np.flatnonzero(~flags)
    return int(false[0]) if false.size else int(flags.size)


def active_aspect(images: np.ndarray, *, pixel_aspect: float = 1.0, bar_luma: float = BAR_LUMA) -> np.ndarray:
    """Display aspect ratio (width / height) of the picture inside any black bars, ``(B,)``.

    NaN for frames that are black all over.  ``pixel_aspect`` is the sample aspect ratio.
    """
    bars = letterbox(images, bar_luma=bar_luma)
    h, w = images.shape[1:3]
    active_h = h - bars[:, 0] - bars[:, 1]
    active_w = w - bars[:, 2] - bars[:, 3]
    aspect = active_w * pixel_aspect / np.maximum(active_h, 1)
    black = black_frames(images)
    return np.where(black, np.nan, aspect).astype(np.float64)


def corner_gradients(images: np.ndarray, *, fraction: float = CORNER_FRACTION) -> np.ndarray:
    """Luma gradients ``|dx| + |dy|`` of the four corner regions, where station logos sit.

    Returns ``(B, 4, h, w)`` int32 in thousandths of a level, for corners top-left, top-right,
    bottom-left, bottom-right; ``h = round(H * fraction)``, ``w = round(W * fraction)``.
    """
    y = luma_milli(images)  # int32 thousandths: the gradients below are exact
    b, height, width = y.shape
    ch, cw = max(2, round(height * fraction)), max(2, round(width * fraction))
    out = np.zeros((b, 4, ch, cw), dtype=np.int32)
    regions = ((0, 0), (0, width - cw), (height - ch, 0), (height - ch, width - cw))
    for k, (r, c) in enumerate(regions):
        patch = y[:, r:r + ch, c:c + cw]
        out[:, k, :, :-1] += np.abs(np.diff(patch, axis=2))
        out[:, k, :-1, :] += np.abs(np.diff(patch, axis=1))
    return out


def corner_edges(images: np.ndarray, *, fraction: float = CORNER_FRACTION,
                 threshold: float = EDGE_THRESHOLD) -> np.ndarray:
    """Edge maps of the four corner regions (:func:`corner_gradients` above ``threshold``), ``(B, 4, h, w)`` bool."""
    return edges_above(corner_gradients(images, fraction=fraction), threshold)


def edges_above(gradients: np.ndarray, threshold: float) -> np.ndarray:
    """Where :func:`corner_gradients` exceed ``threshold`` (0..510 levels): an edge map, bool."""
    return gradients > round(threshold * 1000)


def logo_mask(edges: np.ndarray, *, min_fraction: float = LOGO_STABLE_FRACTION) -> np.ndarray:
    """Pixels that are edges in at least ``min_fraction`` of the frames: the logo's outline.

    ``edges``: ``(B, 4, h, w)`` from :func:`corner_edges` over (a sample of) the whole
    programme.  Returns ``(4, h, w)`` bool; all False when nothing is stable.
    """
    if edges.shape[0] == 0:
        return np.zeros(edges.shape[1:], dtype=bool)
    return edges.mean(axis=0) >= min_fraction


def logo_presence(edges: np.ndarray, mask: np.ndarray, faint: np.ndarray | None = None) -> np.ndarray:
    """How much of the station logo is on screen in each frame, ``(B,)`` float64 in [0, 1].

    The fraction of the logo mask's pixels that are edges (``edges``, :func:`corner_edges`):
    near 1 while the logo is on screen, near 0 when it is gone (ad breaks).  A translucent
    logo over a bright or flat picture leaves only faint edges; with ``faint`` (edge maps at
    ``FAINT_EDGE_THRESHOLD``) a frame's presence is at least the share of the mask's pixels
    that are faint edges less the share of the corner's other pixels that are, so a busy
    picture, faint edges everywhere, does not pass for the logo.  An empty mask (no logo
    found) gives NaN for every frame.
    """
    n = int(mask.sum())
    if n == 0:
        return np.full(edges.shape[0], np.nan)
    plain = (edges & mask[None]).reshape(edges.shape[0], -1).sum(axis=1) / n
    if faint is None:
        return plain
    corrected = np.zeros(edges.shape[0])
    for k in np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1)):  # corners holding some of the logo
        on, off = mask[k], ~mask[k]
        f = faint[:, k]
        in_logo = (f & on).reshape(len(f), -1).sum(axis=1) / on.sum()
        around = (f & off).reshape(len(f), -1).sum(axis=1) / max(int(off.sum()), 1)
        corrected += np.clip(in_logo - around, 0.0, 1.0) * on.sum() / n
    return np.maximum(plain, corrected)


def cell_sums(plane: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``(B, H, W)`` over a ``rows`` x ``cols`` grid of near-equal cells (H >= rows, W >= cols).

    Returns (sums ``(B, rows, cols)``, cell areas ``(rows, cols)`` int64).  Integer planes
    are summed exactly in int64, float planes in float64; cell edges are
    ``floor(i * H / rows)``, so cells differ by at most one row or column.
    """
    _, h, w = plane.shape
    if h < rows or w < cols:
        raise ValueError(f"frames of {w}x{h} are smaller than the {cols}x{rows} grid")
    acc = np.int64 if np.issubdtype(plane.dtype, np.integer) or plane.dtype == bool else np.float64
    r_edges = (np.arange(rows + 1) * h) // rows
    c_edges = (np.arange(cols + 1) * w) // cols
    summed = np.add.reduceat(np.add.reduceat(plane.astype(acc, copy=False), r_edges[:-1], axis=1),
                             c_edges[:-1], axis=2)
    area = (np.diff(r_edges)[:, None] * np.diff(c_edges)[None, :]).astype(np.int64)
    return summed, area


def dhash(plane: np.ndarray, *, dead_band: float = HASH_DEAD_BAND) -> np.ndarray:
    """64-bit difference hash of each ``(B, H, W)`` luma plane (0..255 units, any dtype), ``(B,)`` uint64.

    The plane is area-averaged to 8 rows x 9 columns; bit ``8 * r + c`` is set when cell
    ``(r, c + 1)`` is brighter than cell ``(r, c)`` by more than ``dead_band`` levels, so
    cells equal within the band (flat regions, black bars, compression noise) set no bit
    and a uniform or near-uniform frame hashes to 0.  Integer planes compare exactly
    (cross-multiplied sums); float planes compare float64 means, and rounding noise is
    far below the band.
    """
    sums, area = cell_sums(plane, 8, 9)
    a0, a1 = area[:, :-1], area[:, 1:]
    if sums.dtype == np.int64 and float(dead_band).is_integer():
        # mean1 - mean0 > band  <=>  s1 a0 - s0 a1 > band a0 a1  (areas are positive)
        bits = sums[:, :, 1:] * a0 - sums[:, :, :-1] * a1 > int(dead_band) * a0 * a1
    else:
        means = sums / area
        bits = means[:, :, 1:] - means[:, :, :-1] > dead_band
    weights = np.uint64(1) << np.arange(64, dtype=np.uint64)
    return (bits.reshape(plane.shape[0], 64).astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def frame_hashes(images: np.ndarray) -> np.ndarray:
    """64-bit difference hash (dHash) of each RGB frame's luma, ``(B,)`` uint64; see :func:`dhash`.

    Robust to scaling and re-encoding; a uniform frame hashes to 0.  Computed on exact
    integer luma (thousandths of a level), so the bits never depend on float rounding.
    """
    return dhash(luma_milli(images), dead_band=HASH_DEAD_BAND * 1000)


def color_grid(images: np.ndarray, grid: int = 4) -> np.ndarray:
    """Mean colour of each cell of a ``grid`` x ``grid`` split, ``(B, grid * grid * 3)`` float32 (0..255).

    Complements :func:`frame_hashes`, which sees structure but not colour: two plain
    cards of different colours hash alike.  Sums are exact integers, divided once.
    """
    _check_images(images)
    b = images.shape[0]
    cells = []
    for ch in range(3):
        sums, area = cell_sums(images[..., ch], grid, grid)
        cells.append(sums / area)
    return np.stack(cells, axis=-1).reshape(b, grid * grid * 3).astype(np.float32)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between uint64 hashes (broadcasting); int array of 0..64."""
    x = np.bitwise_xor(np.asarray(a, np.uint64), np.asarray(b, np.uint64))
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    as_bytes = np.ascontiguousarray(x).view(np.uint8).reshape(*x.shape, 8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1)


@dataclass(frozen=True)
class RepeatPair:
    """The same footage seen twice: an interval and its later repeat."""

    first_start: float  # seconds: the first airing
    first_end: float  # seconds
    second_start: float  # seconds: the repeat
    second_end: float  # seconds
    frames: int  # matched frame pairs supporting it
    distance: float  # mean dHash distance of the matched pairs (bits, 0..64)

    @property
    def offset(self) -> float:
        """Seconds from the first airing to the repeat."""
        return self.second_start - self.first_start


def repeated_segments(
    hashes: np.ndarray,
    times: np.ndarray,
    *,
    colors: np.ndarray | None = None,
    valid: np.ndarray | None = None,
    max_distance: int = HASH_MAX_DISTANCE,
    max_color_diff: float = COLOR_MAX_DIFF,
    min_duration: float = 4.0,
    min_separation: float = 30.0,
    max_gap: float | None = None,
    min_distinct: int = 4,
    max_matches: int = 6,
    block: int = 1024,
) -> list[RepeatPair]:
    """Find footage that appears twice (an ad aired in two breaks) from frame hashes.

    ``hashes`` ``(N,)`` uint64 from :func:`frame_hashes` at ``times`` ``(N,)`` ascending
    seconds (any sampling rate, ideally >= 1 frame/s).  ``colors`` ``(N, K)`` from
    :func:`color_grid` (recommended) also requires the mean absolute colour difference to
    be at most ``max_color_diff``.  ``valid`` ``(N,)`` bool excludes frames (pass
    ``~black_frames(...)``: every black frame looks alike).  Two frames match when their
    hashes differ by at most ``max_distance`` bits and they are at least
    ``min_separation`` seconds apart.  Sampling at the same rate but a different phase
    (the repeat is not frame-aligned with the first airing) costs a few bits; the default
    tolerance allows that.  Matches whose time offset agrees (within ``max_gap``,
    default 3 sampling intervals or 3 s) are chained in time; a chain counts when it lasts at
    least ``min_duration`` seconds over at least ``min_distinct`` distinct hashes, so a
    static shot that recurs (a studio, a title card) is not a repeat.  Frames matching more
    than ``max_matches`` others are generic (logo-only, plain colour) and ignored.

    Cost: about N^2 / 2 popcounts (only pairs ``min_separation`` apart), in ``block``-row slices.
    Returns pairs ordered by ``first_start``; the first interval always precedes the second.
    """
    hashes = np.asarray(hashes, np.uint64)
    times = np.asarray(times, np.float64)
    n = hashes.shape[0]
    if times.shape != (n,):
        raise ValueError(f"hashes {hashes.shape} and times {times.shape} differ in length")
    if n < 2:
        return []
    keep = np.ones(n, bool) if valid is None else np.asarray(valid, bool).copy()
    step = float(np.median(np.diff(times))) if n > 1 else 1.0
    gap = max(3.0, 3.0 * step) if max_gap is None else max_gap
    # Collapse runs of identical consecutive hashes to their first frame (static shots).
    same = np.zeros(n, bool)
    same[1:] = hashes[1:] == hashes[:-1]
    idx = np.flatnonzero(keep & ~same)
    # the last frame of each collapsed run, so intervals end where the static shot ends
    run_last = _run_ends(same, idx)
    h, t = hashes[idx], times[idx]
    t_end = times[run_last]
    col = None if colors is None else np.asarray(colors, np.float32)[idx]
    pairs_i: list[np.ndarray] = []
    pairs_j: list[np.ndarray] = []
    for lo in range(0, idx.size, block):
        first = int(np.searchsorted(t, t[lo] + min_separation, side="left"))  # no earlier frame can match
        if first >= idx.size:
            break
        d = hamming(h[lo:lo + block, None], h[None, first:])  # (b, M - first) bits
        ok = (d <= max_distance) & ((t[None, first:] - t[lo:lo + block, None]) >= min_separation)
        if col is not None:
            rows, cols_ = np.nonzero(ok)
            close = np.abs(col[lo + rows] - col[first + cols_]).mean(axis=1) <= max_color_diff
            ok[rows[~close], cols_[~close]] = False
        i, j = np.nonzero(ok)
        pairs_i.append(i + lo)
        pairs_j.append(j + first)
    pi = np.concatenate(pairs_i) if pairs_i else np.zeros(0, np.int64)
    pj = np.concatenate(pairs_j) if pairs_j else np.zeros(0, np.int64)
    if pi.size == 0:
        return []
    counts = np.bincount(np.concatenate([pi, pj]), minlength=idx.size)
    good = (counts[pi] <= max_matches) & (counts[pj] <= max_matches)
    pi, pj = pi[good], pj[good]
    offsets = t[pj] - t[pi]
    order = np.lexsort((t[pi], offsets))
    pi, pj, offsets = pi[order], pj[order], offsets[order]
    used = np.zeros(pi.size, bool)
    found: list[RepeatPair] = []
    # Greedy chaining: take matches in order of offset, grow a chain along time while the
    # offset stays within `gap` of the chain's first offset and time gaps stay <= gap.
    for a in range(pi.size):
        if used[a]:
            continue
        members = [a]
        used[a] = True
        last_t = t[pi[a]]
        base = offsets[a]
        lo_c = int(np.searchsorted(offsets, base - gap, side="left"))
        hi_c = int(np.searchsorted(offsets, base + gap, side="right"))
        cand = lo_c + np.flatnonzero(~used[lo_c:hi_c])
        for c in cand[np.argsort(t[pi[cand]], kind="stable")]:
            tc = t[pi[c]]
            if tc < last_t or tc - last_t > gap:
                if tc > last_t + gap:
                    break
                continue
            members.append(c)
            used[c] = True
            last_t = tc
        ii, jj = pi[members], pj[members]
        duration = t[ii].max() - t[ii].min() + step
        if duration < min_duration or np.unique(h[ii]).size < min_distinct:
            continue
        found.append(RepeatPair(
            first_start=float(t[ii].min()), first_end=float(t_end[ii].max() + step),
            second_start=float(t[jj].min()), second_end=float(t_end[jj].max() + step),
            frames=len(members), distance=float(hamming(h[ii], h[jj]).mean()),
        ))
    return _merge_repeats(_drop_conflicts(found), gap)


def _run_ends(same: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """For each run start in ``idx``, the index of the run's last frame (``same[k]``: frame k
    repeats frame k - 1)."""
    n = same.shape[0]
    out = np.empty(idx.shape[0], dtype=np.int64)
    for k, j in enumerate(idx):
        e = j
        while e + 1 < n and same[e + 1]:
            e += 1
        out[k] = e
    return out


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Overlap of two intervals as a fraction of the shorter one."""
    inter = min(a1, b1) - max(a0, b0)
    return max(0.0, inter) / max(1e-9, min(a1 - a0, b1 - b0))


def _drop_conflicts(pairs: list[RepeatPair]) -> list[RepeatPair]:
    """Of chains covering the same footage at different offsets (a card shown twice inside
    one spot matches the other airing twice), keep the best supported."""
    kept: list[RepeatPair] = []
    for p in sorted(pairs, key=lambda p: (-p.frames, p.distance, p.first_start)):
        clash = any(
            abs(p.offset - q.offset) > 1e-9 and (
                _overlap(p.first_start, p.first_end, q.first_start, q.first_end) > 0.3
                or _overlap(p.second_start, p.second_end, q.second_start, q.second_end) > 0.3)
            for q in kept)
        if not clash:
            kept.append(p)
    return kept


def _merge_repeats(pairs: list[RepeatPair], gap: float) -> list[RepeatPair]:
    """Merge pairs whose intervals overlap on both sides (one repeat split in pieces)."""
    pairs = sorted(pairs, key=lambda p: (p.first_start, p.second_start))
    out: list[RepeatPair] = []
    for p in pairs:
        q = out[-1] if out else None
        if (q is not None and p.first_start <= q.first_end + gap and p.second_start <= q.second_end + gap
                and abs(p.offset - q.offset) <= 2 * gap):
            n = q.frames + p.frames
            out[-1] = RepeatPair(q.first_start, max(q.first_end, p.first_end), min(q.second_start, p.second_start),
                                 max(q.second_end, p.second_end), n,
                                 (q.distance * q.frames + p.distance * p.frames) / n)
        else:
            out.append(p)
    return out


# -- sound ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Loudness:
    """Level per analysis window of an audio signal.

    Window ``i`` covers ``[start + i * hop, start + i * hop + window)`` seconds.
    """

    start: float  # seconds on the file timeline of the first window's first sample
    hop: float  # seconds between window starts
    window: float  # seconds per window
    db: np.ndarray  # (W,) float64: dBFS (RMS) or LUFS-ish (K-weighted); SILENCE_FLOOR_DB for digital silence
    weighting: str  # "rms" (unweighted) or "k" (BS.1770 K-weighting)
    cepstra: np.ndarray | None = None  # (W, VOICE_COEFFS) float32: each window's mel cepstrum (voice_cepstra)

    @property
    def times(self) -> np.ndarray:
        """Window centres in seconds, ``(W,)``."""
        return self.start + np.arange(self.db.shape[0]) * self.hop + self.window / 2

    def __len__(self) -> int:
        return int(self.db.shape[0])


def _biquad_power(b: Sequence[float], a: Sequence[float], freqs: np.ndarray, rate: float) -> np.ndarray:
    """|H(e^jw)|^2 of a biquad at ``freqs`` (Hz)."""
    z = np.exp(-2j * np.pi * np.asarray(freqs, np.float64) / rate)
    num = b[0] + b[1] * z + b[2] * z * z
    den = a[0] + a[1] * z + a[2] * z * z
    return np.abs(num / den) ** 2


def k_weighting_power(freqs: np.ndarray, sample_rate: float) -> np.ndarray:
    """Power gain of BS.1770's K-weighting filter at ``freqs`` (Hz) for ``sample_rate``.

    About 1.0 (0 dB) in the midrange, +4 dB above ~2 kHz, rolling off below ~40 Hz.
    """
    f0, gain_db, q = K_SHELF
    k = np.tan(np.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)  # high-frequency gain
    vb = vh ** K_SHELF_BAND  # gain at the shelf's band edge
    shelf_b = (vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k)
    shelf_a = (1 + k / q + k * k, 2 * (k * k - 1), 1 - k / q + k * k)
    f1, q1 = K_HIGHPASS
    k1 = np.tan(np.pi * f1 / sample_rate)
    hp_b = (1.0, -2.0, 1.0)
    hp_a = (1.0, 2 * (k1 * k1 - 1) / (1 + k1 / q1 + k1 * k1), (1 - k1 / q1 + k1 * k1) / (1 + k1 / q1 + k1 * k1))
    return _biquad_power(shelf_b, shelf_a, freqs, sample_rate) * _biquad_power(hp_b, hp_a, freqs, sample_rate)


def loudness(
    samples: np.ndarray,
    sample_rate: int,
    *,
    window: float = LOUDNESS_WINDOW,
    hop: float | None = None,
    start: float = 0.0,
    weighting: str = "rms",
) -> Loudness:
    """Level of ``samples`` ``(n,)`` (mono float in [-1, 1]) per window.

    ``weighting="rms"``: dBFS of the RMS (a full-scale square wave is 0 dB, a full-scale
    sine -3.01 dB).  ``weighting="k"``: LUFS-ish momentary loudness, BS.1770's K-weighting
    applied per window in the frequency domain (|X(f)|^2 |H(f)|^2, Parseval) and the -0.691
    dB offset, without gating; a full-scale 997 Hz sine reads about -3.0.  ``hop`` defaults
    to ``window`` (no overlap).  Only whole windows are measured.
    """
    if weighting not in ("rms", "k"):
        raise ValueError(f"weighting must be 'rms' or 'k', got {weighting!r}")
    x = np.asarray(samples, np.float64).reshape(-1)
    hop = window if hop is None else hop
    win_n = max(1, round(window * sample_rate))
    hop_n = max(1, round(hop * sample_rate))
    count = 0 if x.size < win_n else 1 + (x.size - win_n) // hop_n
    db = np.full(count, SILENCE_FLOOR_DB)
    if count:
        frames = np.lib.stride_tricks.sliding_window_view(x, win_n)[::hop_n][:count]  # (W, win_n)
        if weighting == "rms":
            power = (frames * frames).mean(axis=1)
            offset = 0.0
        else:
            spec = np.fft.rfft(frames, axis=1)  # (W, win_n // 2 + 1)
            gain = k_weighting_power(np.fft.rfftfreq(win_n, 1.0 / sample_rate), sample_rate)
            weights = np.full(spec.shape[1], 2.0)  # one-sided spectrum: count positive frequencies twice
            weights[0] = 1.0
            if win_n % 2 == 0:
                weights[-1] = 1.0
            power = (np.abs(spec) ** 2 * gain * weights).sum(axis=1) / (win_n * win_n)
            offset = K_OFFSET_DB
        positive = power > 1e-12
        db[positive] = offset + 10 * np.log10(power[positive])
    return Loudness(start=start, hop=hop_n / sample_rate, window=win_n / sample_rate, db=db, weighting=weighting)


def concat_loudness(parts: Sequence[Loudness]) -> Loudness:
    """Join per-chunk tracks of contiguous audio (``AudioChunk`` s) into one track.

    Every part must share hop, window and weighting; chunk lengths should be multiples of
    the hop so windows stay on one grid.
    """
    if not parts:
        raise ValueError("no loudness tracks to join")
    first = parts[0]
    for p in parts[1:]:
        if (p.hop, p.window, p.weighting) != (first.hop, first.window, first.weighting):
            raise ValueError("loudness tracks differ in hop, window or weighting")
    cep = np.concatenate([p.cepstra for p in parts]) if all(p.cepstra is not None for p in parts) else None
    return Loudness(first.start, first.hop, first.window, np.concatenate([p.db for p in parts]), first.weighting, cep)


VOICE_FRAME = 0.025  # seconds per spectral frame of voice_cepstra (speech's usual 25 ms ...)
VOICE_STEP = 0.010  # ... every 10 ms)
VOICE_BANDS = 40  # mel bands from 60 Hz to 7.6 kHz
VOICE_COEFFS = 12  # cepstral coefficients kept: c1..c12, the shape of the spectrum, not its level (c0)


def mel_filters(sample_rate: int, n_fft: int, bands: int = VOICE_BANDS, low: float = 60.0,
                high: float = 7600.0) -> np.ndarray:
    """``(bands, n_fft // 2 + 1)`` triangular mel filters from ``low`` to ``high`` Hz (HTK mel scale)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = 700.0 * (10 ** (np.linspace(*(2595.0 * np.log10(1 + np.array([low, high]) / 700.0)), bands + 2) / 2595.0)
                     - 1.0)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)


def voice_cepstra(samples: np.ndarray, sample_rate: int, *, window: float = LOUDNESS_WINDOW) -> np.ndarray:
    """``(W, VOICE_COEFFS)`` float32: the mel cepstrum (c1..c12) of each whole ``window`` of ``samples``.

    The window's power spectrum is the mean of its 25 ms frames' (every 10 ms), so the pauses
    between words weigh little; its log mel-band energies' DCT without c0 describes the
    spectral envelope (who speaks, and how the channel colours it), not the level.  Windows
    line up with :func:`loudness` of the same ``window`` (no overlap).
    """
    x = np.asarray(samples, np.float64).reshape(-1)
    win_n = max(1, round(window * sample_rate))
    frame, step = round(VOICE_FRAME * sample_rate), round(VOICE_STEP * sample_rate)
    count = x.size // win_n
    if not count or win_n < frame:
        return np.zeros((count, VOICE_COEFFS), np.float32)
    n_fft = 1 << (frame - 1).bit_length()
    windows = x[:count * win_n].reshape(count, win_n)
    frames = np.lib.stride_tricks.sliding_window_view(windows, frame, axis=1)[:, ::step]  # (W, F, frame)
    power = (np.abs(np.fft.rfft(frames * np.hanning(frame), n_fft, axis=2)) ** 2).mean(axis=1)  # (W, n_fft/2+1)
    logmel = np.log(power @ mel_filters(sample_rate, n_fft).T + 1e-10)
    k = np.arange(1, VOICE_COEFFS + 1)[:, None]
    dct = np.cos(np.pi / VOICE_BANDS * (np.arange(VOICE_BANDS)[None] + 0.5) * k)  # DCT-II rows c1..c12
    return (logmel @ dct.T).astype(np.float32)


def silences(track: Loudness, *, threshold_db: float = SILENCE_DB, min_duration: float = 0.3) -> list[tuple[float, float]]:
    """Intervals ``(start, end)`` in seconds where every window is below ``threshold_db``.

    Consecutive quiet windows form one interval from the first one's start to the last
    one's end; intervals shorter than ``min_duration`` are dropped.
    """
    quiet = track.db < threshold_db
    out: list[tuple[float, float]] = []
    for lo, hi in _runs(quiet):
        s = track.start + lo * track.hop
        e = track.start + (hi - 1) * track.hop + track.window
        if e - s >= min_duration - 1e-9:
            out.append((s, e))
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges of the True runs in a bool array."""
    padded = np.concatenate([[False], np.asarray(flags, bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def gated_level(db: np.ndarray, *, silence_db: float = SILENCE_DB, gate_db: float = 10.0) -> float:
    """BS.1770-style gated level of some windows (dB): the power mean after dropping silent
    windows and those more than ``gate_db`` below the power mean of the rest.

    Pauses between sentences drop out, so the level follows what is heard, not how much
    of the time someone talks.  NaN when every window is silent.
    """
    x = np.asarray(db, np.float64)
    x = x[x >= silence_db]
    if x.size == 0:
        return float("nan")
    first = 10 * np.log10(np.mean(10 ** (x / 10)))
    kept = x[x >= first - gate_db]
    return float(10 * np.log10(np.mean(10 ** (kept / 10))))


def loudness_jumps(
    track: Loudness,
    *,
    span: float = 4.0,
    min_jump_db: float = 6.0,
    silence_db: float = SILENCE_DB,
    gate_db: float = 10.0,
) -> list[tuple[float, float]]:
    """Points where the level steps by at least ``min_jump_db``: ``(time, delta dB)``.

    At each window boundary the :func:`gated_level` of the ``span`` seconds before is
    compared with the ``span`` seconds after (silence at a break boundary and pauses
    between sentences do not count).  Of several boundaries within ``span`` of each other
    the largest step is kept.  Positive delta: louder after (entering a loud ad).
    """
    n = len(track)
    per = max(1, round(span / track.hop))
    if n < 2 * per:
        return []
    deltas = np.full(n, np.nan)
    for k in range(per, n - per + 1):
        before = gated_level(track.db[k - per:k], silence_db=silence_db, gate_db=gate_db)
        after = gated_level(track.db[k:k + per], silence_db=silence_db, gate_db=gate_db)
        deltas[k] = after - before
    strength = np.nan_to_num(np.abs(deltas), nan=0.0)
    out: list[tuple[float, float]] = []
    for k in np.argsort(-strength, kind="stable"):
        if strength[k] < min_jump_db:
            break
        time = track.start + k * track.hop
        if all(abs(time - t0) > span for t0, _ in out):
            out.append((float(time), float(deltas[k])))
    return sorted(out)
