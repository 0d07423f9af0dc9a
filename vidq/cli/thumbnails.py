"""Small JPEG thumbnails of a video at chosen times, for the HTML pages.

    thumbnails_for("talk.mp4", [12.0, 95.5]) -> [(12.0, b"\\xff\\xd8..."), (95.4, b"\\xff\\xd8...")]

The HTML pages take their pictures from the stills the file's analysis kept in its one
decode pass (``Timeline.thumbs``, carried by every job's result); this decodes the few frames
asked for (``vidq.media.decode``, nearest cheaply decodable frame) only for a result without
them.  Knows nothing about the jobs or the page.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable

from vidq.media import SamplePlan, decode, probe
from vidq.store import Store

THUMB_SIDE = 192  # pixels: the longest side of a thumbnail (192x108 for 16:9)
JPEG_QUALITY = 70  # PIL JPEG quality of a thumbnail (about 4-8 KB at THUMB_SIDE)
TOLERANCE = 1.0  # seconds: a thumbnail may be this far from its target (decodes far fewer frames)


def thumbnails_for(path: str | os.PathLike, times: Iterable[float], *, side: int = THUMB_SIDE,
                   quality: int = JPEG_QUALITY, store: Store | None = None) -> list[tuple[float, bytes]]:
    """JPEG thumbnails near each of ``times`` (seconds), as ``(pts, jpeg_bytes)`` in time order.

    ``pts`` is when the frame is shown (within ``TOLERANCE`` of its target); times outside
    the file are dropped, repeated times give one thumbnail.  Raises ``MediaError`` (exit 2)
    for a file without video.
    """
    from PIL import Image

    info = probe(path, store=store)
    end = info.duration
    wanted = sorted({round(min(max(0.0, float(t)), end), 3) for t in times if 0.0 <= float(t) <= end})
    if not wanted:
        return []
    plan = SamplePlan(tuple(wanted), "uniform", "fast", tolerance=TOLERANCE, start=0.0, end=end)
    out: list[tuple[float, bytes]] = []
    for batch in decode(path, plan, info=info, size=side, batch_size=16):
        for image, pts in zip(batch.images, batch.pts):
            buf = io.BytesIO()
            Image.fromarray(image).save(buf, format="JPEG", quality=quality, optimize=True)
            out.append((round(float(pts), 3), buf.getvalue()))
    return sorted(out, key=lambda item: item[0])
