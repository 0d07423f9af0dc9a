"""Output geometry of decoded frames: resize policies, display rotation, padding and cropping.

``plan_geometry`` turns a stream's display size, a requested ``size`` and a policy into
the size a decoder should scale each frame to and the final array shape; ``finish``
applies rotation and pad/crop to a frame already scaled by the decoder (scaling itself
happens inside the decoder, e.g. swscale, so full-size RGB frames are never made).

Policies, for a requested box (W, H) (an int S means the box S x S, except for ``fit``
where it means "longest side S"):

- ``fit``: keep the aspect ratio, fit inside the box; the array is the scaled size.
- ``pad``: as ``fit``, then centre on a black W x H canvas.
- ``crop``: keep the aspect ratio, cover the box, then cut the centre W x H.
- ``stretch``: scale to W x H exactly, ignoring the aspect ratio.

This module knows nothing about files, codecs or models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidq.errors import InputError
from vidq.media.types import ResizePolicy

POLICIES: tuple[str, ...] = ("fit", "pad", "crop", "stretch")
MAX_SIDE = 16384  # pixels; larger requests are a typo, not a wish


@dataclass(frozen=True)
class Geometry:
    """How one stream's frames become arrays: scale (in display orientation), rotate, pad or crop."""

    rotation: int  # clockwise degrees applied after scaling: 0, 90, 180, 270
    scaled: tuple[int, int]  # (w, h) after scaling, in display orientation
    out: tuple[int, int]  # (W, H) of the final array
    offset: tuple[int, int]  # pad: where the scaled image sits on the canvas; crop: top-left of the cut

    @property
    def decode_size(self) -> tuple[int, int]:
        """(w, h) the decoder should scale coded frames to (before rotation)."""
        w, h = self.scaled
        return (h, w) if self.rotation in (90, 270) else (w, h)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of each output frame: (H, W, 3)."""
        return (self.out[1], self.out[0], 3)


def plan_geometry(display_size: tuple[int, int], rotation: int, size: int | tuple[int, int] | None,
                  policy: ResizePolicy = "fit") -> Geometry:
    """Geometry for frames shown at ``display_size`` (w, h), rotated ``rotation`` degrees clockwise."""
    if policy not in POLICIES:
        raise InputError(f"unknown resize policy {policy!r} (choose from: {', '.join(POLICIES)})")
    dw, dh = max(1, int(display_size[0])), max(1, int(display_size[1]))
    rotation = int(rotation) % 360
    if size is None:
        return Geometry(rotation, (dw, dh), (dw, dh), (0, 0))
    if isinstance(size, int):
        _check_side(size)
        if policy == "fit":
            s = size / max(dw, dh)
            scaled = (max(1, round(dw * s)), max(1, round(dh * s)))
            return Geometry(rotation, scaled, scaled, (0, 0))
        box = (size, size)
    else:
        box = (int(size[0]), int(size[1]))
        _check_side(box[0])
        _check_side(box[1])
    bw, bh = box
    if policy == "stretch":
        return Geometry(rotation, box, box, (0, 0))
    if policy in ("fit", "pad"):
        s = min(bw / dw, bh / dh)
        scaled = (min(bw, max(1, round(dw * s))), min(bh, max(1, round(dh * s))))
        if policy == "fit":
            return Geometry(rotation, scaled, scaled, (0, 0))
        return Geometry(rotation, scaled, box, ((bw - scaled[0]) // 2, (bh - scaled[1]) // 2))
    s = max(bw / dw, bh / dh)
    scaled = (max(bw, round(dw * s)), max(bh, round(dh * s)))
    return Geometry(rotation, scaled, box, ((scaled[0] - bw) // 2, (scaled[1] - bh) // 2))


def _check_side(side: int) -> None:
    if not 1 <= side <= MAX_SIDE:
        raise InputError(f"frame size {side} is out of range (1..{MAX_SIDE} pixels)")


def finish(image: np.ndarray, geom: Geometry) -> np.ndarray:
    """Rotate a decoder-scaled (h, w, 3) frame for display, then pad or crop it to ``geom.out``."""
    if geom.rotation:
        image = np.rot90(image, k=-(geom.rotation // 90))  # k<0: clockwise
    sw, sh = geom.scaled
    if image.shape[1] != sw or image.shape[0] != sh:
        raise ValueError(f"decoder returned {image.shape[1]}x{image.shape[0]}, expected {sw}x{sh}")
    ow, oh = geom.out
    if (ow, oh) == (sw, sh):
        return np.ascontiguousarray(image)
    x, y = geom.offset
    if ow >= sw and oh >= sh:  # pad
        canvas = np.zeros((oh, ow, 3), dtype=np.uint8)
        canvas[y:y + sh, x:x + sw] = image
        return canvas
    return np.ascontiguousarray(image[y:y + oh, x:x + ow])  # crop
