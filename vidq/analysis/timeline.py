"""The Timeline: everything the analysis found in one file, the one thing every job reads.

    tl = analyze(path, AnalysisOptions(), store=store)      # vidq.analysis.build
    tl.transcript          # speech (or subtitle) text with word times
    tl.screen              # on-screen lines with the span each stayed visible
    tl.signals             # per sampled frame picture signals; tl.cuts: shot changes
    tl.sound               # loudness and voice cepstra per 0.2 s (None without audio)
    tl.units, tl.vectors   # text evidence (speech sentences and windows, screen lines) and their vectors
    tl.index()             # an EvidenceIndex over them (hybrid retrieval)
    tl.segments            # ad breaks with their spots, sponsor reads, the blocks they came from
    tl.thumbs              # small JPEG stills every few seconds (reports)
    tl.clip(start, end)    # the same timeline restricted to a span

Times are seconds on the file timeline.  A Timeline is plain data; it is written to and
read back from the cache whole (:func:`timeline_to_store` / :func:`timeline_from_store`),
versioned by ``TIMELINE_VERSION``.  Knows nothing about jobs or the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vidq.analysis.evidence import EvidenceIndex, Unit, screen_units, speech_units
from vidq.analysis.picture import FrameSignals, thumbs_from_arrays, thumbs_to_arrays
from vidq.analysis.screen import ScreenLine, lines_from_json, lines_to_json
from vidq.analysis.segments import AdSegment, Block, FileStats, Segments, Separator, Spot
from vidq.media import signals
from vidq.media.probe import info_from_dict, info_to_dict
from vidq.media.types import VideoInfo
from vidq.speech import Transcript, clip_transcript
from vidq.speech.types import transcript_from_dict, transcript_to_dict

TIMELINE_VERSION = 32  # bump when the meaning or stored form of a Timeline changes
TIMELINE_STAGE = f"timeline/{TIMELINE_VERSION}"  # cache stage of whole timelines


@dataclass
class Timeline:
    """One file's analysis; see the module docstring."""

    path: Path  # the file as given
    file_key: str | None  # content digest (None without a cache)
    info: VideoInfo  # probe
    span: tuple[float, float]  # seconds analysed
    transcript: Transcript  # clipped to the span
    signals: FrameSignals  # per sampled frame
    screen: list[ScreenLine]  # on-screen lines, by start
    sound: signals.Loudness | None  # loudness and voice cepstra per window (None: no audio)
    units: list[Unit]  # speech sentences, speech windows, then screen lines, each by start
    vectors: np.ndarray  # (len(units), D) float32 unit rows (D == 0: no sentence encoder)
    segments: Segments  # breaks (with spots), sponsor reads, blocks, separators
    thumbs: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds, JPEG)
    meta: dict[str, Any] = field(default_factory=dict)  # what ran, with which models, how long
    version: int = TIMELINE_VERSION

    @property
    def start(self) -> float:
        return self.span[0]

    @property
    def end(self) -> float:
        return self.span[1]

    @property
    def cuts(self) -> list[tuple[float, float]]:
        return self.segments.cuts

    def index(self, rows: list[int] | None = None) -> EvidenceIndex:
        """Hybrid retrieval over the units (or the ``rows`` of them); queries are embedded on demand."""
        units = self.units if rows is None else [self.units[i] for i in rows]
        if self.vectors.ndim != 2 or self.vectors.shape[1] == 0:
            return EvidenceIndex(units, None, None)
        from vidq.analysis.evidence import _LazyMiniLM

        vecs = self.vectors if rows is None else self.vectors[rows]
        return EvidenceIndex(units, vecs, _LazyMiniLM())

    def rows(self, *, source: str | None = None, kind: str | None = None) -> list[int]:
        """Indices of the units of a ``source`` ("speech"/"screen") and ``kind`` ("sentence"/"window"/"line")."""
        return [i for i, u in enumerate(self.units)
                if (source is None or u.source == source) and (kind is None or u.kind == kind)]

    def sentences(self) -> tuple[list[Unit], np.ndarray] | None:
        """The spoken sentences and their vectors (``(N, D)``), as ``label_segments`` takes them; None
        without a sentence encoder."""
        if self.vectors.ndim != 2 or self.vectors.shape[1] == 0:
            return None
        rows = self.rows(source="speech", kind="sentence")
        return [self.units[i] for i in rows], self.vectors[rows]

    def thumbnail_at(self, t: float) -> tuple[float, bytes] | None:
        """The first thumbnail at or after ``t`` (else the last one before)."""
        if not self.thumbs:
            return None
        after = [th for th in self.thumbs if th[0] >= t - 1e-6]
        return after[0] if after else self.thumbs[-1]

    def clip(self, start: float | None, end: float | None) -> Timeline:
        """The timeline restricted to ``[start, end]`` (None: the timeline's own bound)."""
        lo = self.start if start is None else max(self.start, float(start))
        hi = self.end if end is None else min(self.end, float(end))
        if (lo, hi) == self.span:
            return self
        sig = self.signals
        sel = (sig.times >= lo) & (sig.times <= hi)
        clipped = FrameSignals(**{k: v[sel] for k, v in asdict(sig).items()})
        rows = [i for i, u in enumerate(self.units) if u.end >= lo and u.start <= hi and (lo <= u.mid <= hi
                                                                                       or u.source == "screen")]
        sound = self.sound
        if sound is not None:
            first = max(0, int(np.floor((lo - sound.start) / sound.hop)))
            last = max(first, int(np.ceil((hi - sound.start) / sound.hop)))
            sound = signals.Loudness(sound.start + first * sound.hop, sound.hop, sound.window, sound.db[first:last],
                                     sound.weighting, None if sound.cepstra is None else sound.cepstra[first:last])
        segs = self.segments

        def inside(a: AdSegment) -> bool:
            return a.end > lo and a.start < hi

        clipped_segs = Segments([a for a in segs.breaks if inside(a)], [a for a in segs.sponsors if inside(a)],
                                [b for b in segs.blocks if b.end > lo and b.start < hi],
                                [s for s in segs.separators if s.end >= lo and s.start <= hi], segs.stats,
                                segs.repeats, [c for c in segs.cuts if lo <= c[1] and c[0] <= hi])
        return replace(self, span=(lo, hi), transcript=clip_transcript(self.transcript, lo, hi), signals=clipped,
                       screen=[ln for ln in self.screen if ln.end >= lo and ln.start <= hi], sound=sound,
                       units=[self.units[i] for i in rows],
                       vectors=self.vectors[rows] if self.vectors.shape[0] else self.vectors, segments=clipped_segs,
                       thumbs=[t for t in self.thumbs if lo <= t[0] <= hi])


def build_units(transcript: Transcript, screen: list[ScreenLine]) -> list[Unit]:
    """The text evidence of a timeline: speech sentences and windows, then screen lines."""
    return speech_units(transcript) + screen_units(screen)


# -- the cache form ----------------------------------------------------------------------------
def _segment_to_json(a: AdSegment) -> dict[str, Any]:
    d = asdict(a)
    d["spots"] = [asdict(s) for s in a.spots]
    return d


def _segment_from_json(d: dict[str, Any]) -> AdSegment:
    d = dict(d)
    d["spots"] = tuple(Spot(**s) for s in d.get("spots", ()))
    d["cues"] = tuple(d.get("cues", ()))
    return AdSegment(**d)


def timeline_to_json(tl: Timeline) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(JSON-able document, arrays) of a timeline; :func:`timeline_from_json` is the inverse."""
    segs = tl.segments
    doc = {
        "version": tl.version, "path": str(tl.path), "file_key": tl.file_key, "info": info_to_dict(tl.info),
        "span": list(tl.span), "transcript": transcript_to_dict(tl.transcript), "screen": lines_to_json(tl.screen),
        "segments": {
            "breaks": [_segment_to_json(a) for a in segs.breaks],
            "sponsors": [_segment_to_json(a) for a in segs.sponsors],
            "blocks": [asdict(b) for b in segs.blocks],
            "separators": [asdict(s) for s in segs.separators],
            "stats": asdict(segs.stats), "repeats": segs.repeats, "cuts": [list(c) for c in segs.cuts],
        },
        "meta": tl.meta,
    }
    arrays = {f"sig_{k}": np.asarray(v) for k, v in asdict(tl.signals).items()}
    arrays["vectors"] = np.asarray(tl.vectors, np.float32)
    arrays.update(thumbs_to_arrays(tl.thumbs))
    if tl.sound is not None:
        arrays["sound_db"] = tl.sound.db
        if tl.sound.cepstra is not None:
            arrays["sound_cepstra"] = tl.sound.cepstra
        doc["sound"] = {"start": tl.sound.start, "hop": tl.sound.hop, "window": tl.sound.window,
                        "weighting": tl.sound.weighting}
    return doc, arrays


def timeline_from_json(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Timeline:
    """Rebuild a timeline stored by :func:`timeline_to_json` (``KeyError``/``ValueError`` when damaged)."""
    if int(doc["version"]) != TIMELINE_VERSION:
        raise ValueError(f"timeline version {doc['version']} is not {TIMELINE_VERSION}")
    transcript = transcript_from_dict(doc["transcript"])
    screen = lines_from_json(doc["screen"])
    s = doc["segments"]
    segs = Segments(
        [_segment_from_json(a) for a in s["breaks"]], [_segment_from_json(a) for a in s["sponsors"]],
        [Block(**b) for b in s["blocks"]], [Separator(**x) for x in s["separators"]], FileStats(**s["stats"]),
        int(s["repeats"]), [(float(a), float(b)) for a, b in s["cuts"]])
    sig = FrameSignals.from_arrays({k[4:]: v for k, v in arrays.items() if k.startswith("sig_")})
    sound = None
    if "sound" in doc:
        d = doc["sound"]
        sound = signals.Loudness(float(d["start"]), float(d["hop"]), float(d["window"]), arrays["sound_db"],
                                 d["weighting"], arrays.get("sound_cepstra"))
    units = build_units(transcript, screen)
    vectors = arrays["vectors"].astype(np.float32)
    if vectors.shape[0] != len(units):
        raise ValueError(f"{len(units)} units but {vectors.shape[0]} vectors")
    return Timeline(Path(doc["path"]), doc["file_key"], info_from_dict(doc["info"]),
                    (float(doc["span"][0]), float(doc["span"][1])), transcript, sig, screen, sound, units, vectors,
                    segs, thumbs_from_arrays(arrays), dict(doc["meta"]))
