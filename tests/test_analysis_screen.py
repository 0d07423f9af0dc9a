"""The screen reader: OCR every few seconds, line spans to the half second by comparing regions."""

from __future__ import annotations

import numpy as np
import pytest

from vidq.analysis.screen import ScreenReader
from vidq.models.lite.ocr import OcrLine, OcrOptions

BOX = (20, 40, 100, 52)  # x0, y0, x1, y1 of the caption


class ScriptedOcr:
    """Reads "BLUE PELICAN" when the caption's pattern is in its box (a stand-in for RapidOCR)."""

    options = OcrOptions()

    def __init__(self):
        self.calls: list[float] = []  # whole frames read
        self.regions: list[tuple[int, int, int, int]] = []  # parts of frames read

    def read(self, image: np.ndarray, region: tuple[int, int, int, int] | None = None):
        x0, y0, x1, y1 = BOX
        if region is None:
            self.calls.append(float(image[0, 0, 0]))
        else:
            self.regions.append(region)
            if not (region[0] <= x0 and region[1] <= y0 and region[2] >= x1 and region[3] >= y1):
                return ()
        shown = image[y0:y1, x0:x1]
        if (shown == CAPTION).all() or (shown == OVER_ANOTHER_SHOT).all():
            return (OcrLine("BLUE PELICAN", tuple(float(v) for v in BOX), 0.93),)
        return ()


CAPTION = np.tile(np.array([[255], [0]], np.uint8), (6, 80))[..., None].repeat(3, axis=2)  # (12, 80, 3) stripes
OVER_ANOTHER_SHOT = np.where(CAPTION == 0, 128, 255).astype(np.uint8)  # the same text over another picture


def frame(t: float, shown: bool, rng) -> np.ndarray:
    img = rng.integers(0, 256, size=(90, 160, 3), dtype=np.uint8)  # moving noise: never a near-duplicate
    if shown:
        x0, y0, x1, y1 = BOX
        img[y0:y1, x0:x1] = CAPTION
    return img


@pytest.mark.parametrize("appear, vanish", [(3.5, 10.0), (0.0, 4.5), (6.0, 19.5)])
def test_spans_are_exact_to_the_frame_while_ocr_reads_every_3_s(appear, vanish):
    rng = np.random.default_rng(1)
    ocr = ScriptedOcr()
    reader = ScreenReader(ocr, every=3.0)
    times = np.arange(0, 20, 0.5)
    for t in times:
        reader.feed(frame(t, appear <= t <= vanish, rng), float(t))
    (line,) = reader.finish()
    assert (line.text, line.start, line.end) == ("BLUE PELICAN", appear, vanish)
    assert line.frames == len([t for t in np.arange(0, 20, 3.0) if appear <= t <= vanish])
    assert reader.reads == len(ocr.calls) == 7  # 0, 3, ..., 18 s: OCR ran on 7 of 40 frames


def test_a_cut_brings_a_read_forward_and_lines_split_by_an_absence():
    rng = np.random.default_rng(2)
    ocr = ScriptedOcr()
    reader = ScreenReader(ocr, every=3.0, min_gap=1.0)
    shown = {t: (1.0 <= t <= 2.0) or (8.0 <= t <= 9.0) for t in np.arange(0, 12, 0.5)}
    for t, on in shown.items():
        reader.feed(frame(t, on, rng), float(t), changed=t in (1.0, 8.0))  # the caption comes with a cut
    lines = reader.finish()
    assert [(ln.start, ln.end) for ln in lines] == [(1.0, 2.0), (8.0, 9.0)]


def test_a_caption_that_stays_across_cuts_is_followed_by_reading_its_box_there():
    rng = np.random.default_rng(3)
    ocr = ScriptedOcr()
    reader = ScreenReader(ocr, every=3.0, min_gap=1.0)
    for t in np.arange(0, 8, 0.5):
        img = frame(t, 1.5 <= t <= 4.5, rng)
        if t == 2.5:  # between the cuts at 2.5 and 3.0 the text sits over another shot
            x0, y0, x1, y1 = BOX
            img[y0:y1, x0:x1] = OVER_ANOTHER_SHOT
        reader.feed(img, float(t), changed=t in (2.5, 3.0))
    (line,) = reader.finish()
    # read whole at 0, 2.5 (the cut) and 5.5 (the cut at 3.0 comes too soon after a read for one); the
    # start is found back across the cut at 2.5, the end forward across the one at 3.0, each by reading
    # the caption's box once
    assert (line.start, line.end) == (1.5, 4.5)
    assert len(ocr.calls) == 3 and reader.cut_checks == len(ocr.regions) == 2


def test_a_cut_does_not_carry_a_caption_that_is_gone():
    rng = np.random.default_rng(4)
    ocr = ScriptedOcr()
    reader = ScreenReader(ocr, every=3.0, min_gap=1.0)
    for t in np.arange(0, 8, 0.5):
        reader.feed(frame(t, 2.5 <= t <= 4.5, rng), float(t), changed=t == 2.5)  # the caption comes with a cut
    (line,) = reader.finish()
    assert (line.start, line.end) == (2.5, 4.5)
    assert reader.cut_checks == 1  # the frame before the cut was read at the box and showed nothing
