"""``ads``: inserted ad breaks (with their spots) and sponsor reads, read off the file's timeline.

    result = detect_ads("show.ts", JobOptions(), store=store)
    result.segments      # list[AdSegment]: start, end, kind ("break" | "sponsor"), confidence, reason, spots

The analysis (:mod:`vidq.analysis.segments`) already labels the timeline: blocks between
black frames, silences and logo/framing changes, scored on picture and sound signals and
text cues, runs of ad blocks as breaks whose edges snap to the black frames or cuts that
bound them, each block of a break a spot, and sponsor reads in the speech.  This job
reads that labelling; with a backend that sees images it also shows each candidate block
(frames + words) to the model, whose yes/no sets ``VERIFY_WEIGHT`` of the confidence, and
merges the blocks again.

Times are seconds on the file timeline.  This module knows nothing about Typer or the
output formats (EDL, ffmetadata, CSV are rendered by the CLI).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from typing import Any

from vidq.analysis.segments import (
    MAX_SPOT,
    AdSegment,
    Block,
    Spot,
    merge_breaks,
    sponsor_reads,
    voice_edges,
)
from vidq.errors import InputError
from vidq.media import probe
from vidq.progress import ProgressFn, StageClock, no_progress
from vidq.store import Store
from vidq.tasks.look import look
from vidq.tasks.pipeline import JobOptions, base_meta, load_job_backend, open_timeline

log = logging.getLogger("vidq.tasks")

VERIFY_MIN_PRIOR = 0.2  # blocks below this prior are not shown to a VLM
VERIFY_WEIGHT = 0.6  # share of a VLM's yes/no in the confidence
PROMPT = ("Is this clip a TV commercial, an advertisement or a sponsored message rather than the programme "
          'itself? Answer "yes" or "no" first, then give a one-line reason.')
LIMITS = ("lite reads speech and on-screen text and measures picture and sound signals; it cannot see what a "
          "picture shows")

__all__ = ["VERIFY_WEIGHT", "AdSegment", "AdsResult", "Block", "Spot", "detect_ads"]


@dataclass
class AdsResult:
    """What ``detect_ads`` returns."""

    file: str  # the file as given
    duration: float  # seconds of the file
    span: tuple[float, float]  # the part examined (--start/--end)
    segments: list[AdSegment]  # time order; breaks carry their spots
    model: str  # "lite" or the classifying backend's name
    sees_images: bool  # whether blocks were classified by a model that sees pictures
    blocks: list[Block] = field(default_factory=list)  # every block with its features (for --json / debugging)
    meta: dict[str, Any] = field(default_factory=dict)  # base meta, signal summary, timings
    thumbs: list[tuple[float, bytes]] = field(default_factory=list, repr=False)  # the timeline's stills


def detect_ads(
    path: str | os.PathLike,
    options: JobOptions,
    *,
    backend: Any = None,
    store: Store | None = None,
    progress: ProgressFn | None = None,
) -> AdsResult:
    """Find ad breaks and sponsor reads in ``path``; see the module docstring.

    ``backend`` defaults to ``load_job_backend(options)``; only a backend that sees
    images is asked to classify blocks.  Raises ``InputError``/``MediaError`` (exit 2) for
    unusable files, ``ModelError`` (exit 3) when a model fails.
    """
    report = progress or no_progress
    clock = StageClock()
    options.validate()
    with clock.stage("probe"):
        probe(path, store=store)  # a bad file fails before any model loads
    if backend is None:
        with clock.stage("load"):
            backend = load_job_backend(options, store=store)
    sees = bool(backend.capabilities.sees_images)
    tl = open_timeline(path, options, store=store, clock=clock, progress=report,
                       frames=None if sees else options.frames)
    if tl.signals.times.size < 4:
        raise InputError(f"{path}: too short to look for ads ({tl.end - tl.start:.1f} s)")
    segs = tl.segments
    blocks = list(segs.blocks)
    if sees:
        with clock.stage("classify"):
            for k, b in enumerate(blocks):
                if b.prior < VERIFY_MIN_PRIOR or b.features["duration"] > MAX_SPOT or b.features.get("read"):
                    continue
                verdict, reason = look(tl, backend, b.start, b.end, PROMPT, accuracy=options.accuracy, store=store)
                conf = round(VERIFY_WEIGHT * verdict + (1 - VERIFY_WEIGHT) * b.prior, 3)
                blocks[k] = replace(b, confidence=conf, reason=f"{b.reason}; {backend.name}: {reason}")
        with clock.stage("merge"):
            breaks = merge_breaks(blocks, segs.separators, segs.stats, segs.cuts, backend.name)
            breaks = voice_edges(breaks, segs.cuts, tl.sound, tl.span,
                                 [u for u in tl.units if u.source == "screen" or u.kind == "sentence"])
            sponsors = sponsor_reads(tl.transcript, exclude=[(b.start, b.end) for b in breaks], sentences=tl.sentences())
    else:
        breaks, sponsors = segs.breaks, segs.sponsors
    segments = sorted(breaks + sponsors, key=lambda a: a.start)
    meta = base_meta(tl, clock, model=backend.name, sees_images=sees,
                     signals={"frames": int(tl.signals.times.size), "black_frames": int(tl.signals.black.sum()),
                              "separators": len(segs.separators), "blocks": len(blocks),
                              "logo_found": segs.stats.has_logo,
                              "programme_db": None if segs.stats.programme_db is None
                              else round(segs.stats.programme_db, 2),
                              "repeats": segs.repeats})
    if not sees:
        meta["limits"] = LIMITS if not getattr(backend.capabilities, "writes_text", False) else (
            f"{backend.name} cannot see pictures: ad breaks and sponsor reads come from picture and sound signals "
            "and text cues, as with lite; the text model is not asked")
    return AdsResult(str(path), tl.info.duration, tl.span, segments, backend.name, sees, blocks, meta, tl.thumbs)
