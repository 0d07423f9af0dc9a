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
        self.calls: list[float] = []

    def read(self, image: np.ndarray):
        self.calls.append(float(image[0, 0, 0]))
        x0, y0, x1, y1 = BOX
        if (image[y0:y1, x0:x1] == CAPTION).all():
            return (OcrLine("BLUE PELICAN", tuple(float(v) for v in BOX), 0.93),)
        return ()


CAPTION = np.tile(np.array([[255], [0]], np.uint8), (6, 80))[..., None].repeat(3, axis=2)  # (12, 80, 3) stripes


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
