"""The analysis layer: one file analysed once into a Timeline that every job reads.

    tl = analyze("show.ts", AnalysisOptions(), store=store)
    tl.transcript, tl.screen, tl.signals, tl.sound, tl.units, tl.vectors, tl.segments, tl.thumbs
    hits = tl.index().search("secret code")

Modules, in the order a timeline is built:

    picture.py    the one decode pass: picture signals, OCR (screen.py) and thumbnails
    sound.py      loudness per window
    evidence.py   text units (speech sentences and windows, screen lines), tokens, hybrid retrieval
    segments.py   ad breaks and their spots, sponsor reads
    topics.py     chapter boundaries (TextTiling in tiling.py, snapped to cuts and titles)
    extractive.py choosing sentences and key phrases that are already there
    timeline.py   the Timeline and its cache form
    build.py      analyze(): the stages, cached one by one

Sits above media, speech, models and store; knows nothing about jobs or the CLI.
"""

from vidq.analysis.build import AnalysisOptions, analyze
from vidq.analysis.picture import PictureOptions
from vidq.analysis.timeline import TIMELINE_STAGE, TIMELINE_VERSION, Timeline

__all__ = ["TIMELINE_STAGE", "TIMELINE_VERSION", "AnalysisOptions", "PictureOptions", "Timeline", "analyze"]
