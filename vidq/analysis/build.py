"""``analyze(path, options)``: build (or load) the Timeline of one file, stage by stage.

Stages, each cached in the :class:`~vidq.store.Store` on its own (so a run killed half-way
resumes at the first unfinished one), then the whole timeline under ``TIMELINE_STAGE``:

1. **probe** (``vidq.media.probe``);
2. **transcript** (``vidq.speech``: subtitles when there are some, else ASR) and, at the
   same time in a second thread, the **picture pass** (``vidq.analysis.picture``: one
   decode of ``fps`` frames a second feeding the picture signals, OCR and thumbnails).
   ASR leaves part of the CPU idle (feature extraction, VAD and beam bookkeeping are
   single-threaded), which the picture pass fills;
3. **sound** (loudness per 0.2 s);
4. **units and vectors** (speech sentences and windows, screen lines; MiniLM vectors);
5. **segments** (ad breaks with their spots, sponsor reads: ``vidq.analysis.segments``).

A job on an analysed file therefore decodes nothing and transcribes nothing: it loads the
timeline (tens of milliseconds).  A span (``start``/``end``) is cut from a cached timeline
of the whole file when there is one, else analysed on its own.

Knows nothing about jobs or the CLI.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vidq import __version__
from vidq.analysis.evidence import embed_units, screen_units
from vidq.analysis.picture import PictureOptions, picture_pass
from vidq.analysis.segments import label_segments
from vidq.analysis.sound import LoudnessTap, sound_track
from vidq.analysis.timeline import (
    TIMELINE_STAGE,
    TIMELINE_VERSION,
    Timeline,
    build_units,
    timeline_from_json,
    timeline_to_json,
)
from vidq.media import damage, probe, require_video
from vidq.media.plan import clip_span
from vidq.media.probe import settle
from vidq.media.types import Damage
from vidq.progress import ProgressFn, StageClock, no_progress
from vidq.speech import SpeechOptions, get_transcript
from vidq.store import Store

log = logging.getLogger("vidq.analysis")


@dataclass(frozen=True)
class AnalysisOptions:
    """What decides a timeline; every field is part of its cache key."""

    subtitles: str = "auto"  # auto|asr|none|PATH (see vidq.speech)
    asr_engine: str = "faster-whisper"  # speech engine
    asr_model: str = "tiny.en"  # speech model name or path
    language: str | None = None  # spoken language (None: detect)
    device: str = "auto"  # where ASR runs
    offline: bool = False  # never touch the network
    start: float | None = None  # clip start, seconds (None: the file's start)
    end: float | None = None  # clip end, seconds (None: the file's end)
    pictures: PictureOptions = field(default_factory=PictureOptions)  # the picture pass
    embeddings: bool = True  # sentence vectors for the units (False: lexical retrieval only)

    def speech(self) -> SpeechOptions:
        return SpeechOptions(subtitles=self.subtitles, engine=self.asr_engine, model=self.asr_model,
                             language=self.language, device=self.device, offline=self.offline)

    def key(self, span: tuple[float, float]) -> dict[str, Any]:
        """Cache parameters of a timeline over ``span`` (device and offline do not change it)."""
        d = asdict(self)
        for k in ("device", "offline", "start", "end"):
            d.pop(k)
        d["span"] = [round(span[0], 6), round(span[1], 6)]
        return d


def analyze(path: str | os.PathLike, options: AnalysisOptions | None = None, *, store: Store | None = None,
            progress: ProgressFn | None = None, clock: StageClock | None = None) -> Timeline:
    """The Timeline of ``path`` over ``options.start``..``options.end``; see the module docstring.

    Raises ``MediaError``/``InputError`` (exit 2) for unusable files or spans, ``ModelError`` /
    ``MissingDependency`` (exit 3) when a model cannot run.
    """
    options, not_read = _installed(options or AnalysisOptions())
    clock = clock or StageClock()
    report = progress or no_progress
    with clock.stage("probe"):
        info = probe(path, store=store)
        require_video(info)
        span = clip_span(info, options.start, options.end)
    key = store.key_for(path) if store is not None else None
    if key is None or store is None:
        return _noted(_build(Path(path), info, span, options, None, None, report, clock, not_read))
    with clock.stage("timeline_cache"):
        found = _cached(store, key, options, info, span, path)
    if found is not None:
        return _noted(found)
    # one process analyses a file at a time; another one waits here and then reads its timeline
    with store.locked(key, TIMELINE_STAGE, options.key(span)):
        with clock.stage("timeline_cache"):
            found = _cached(store, key, options, info, span, path)
        if found is not None:
            return _noted(found)
        tl = _build(Path(path), info, span, options, store, key, report, clock, not_read)
        doc, arrays = timeline_to_json(tl)
        store.put_arrays(key, TIMELINE_STAGE, options.key(span), arrays)
        store.put_json(key, TIMELINE_STAGE, options.key(span), doc)  # last: the entry that says it is complete
    return _noted(tl)


def _cached(store: Store, key: str, options: AnalysisOptions, info, span: tuple[float, float],
            path: str | os.PathLike) -> Timeline | None:
    """A stored timeline of exactly ``span``, or one of the whole file cut to it."""
    wanted = [options.key(span)]
    if options.start is not None or options.end is not None:
        whole = replace(options, start=None, end=None)
        wanted.append(whole.key(clip_span(info, None, None)))
    for params in wanted:
        doc = store.get_json(key, TIMELINE_STAGE, params)
        arrays = store.get_arrays(key, TIMELINE_STAGE, params) if doc is not None else None
        if doc is None or arrays is None:
            continue
        try:
            tl = timeline_from_json(doc, arrays)
        except (KeyError, TypeError, ValueError) as e:
            log.debug("ignoring a damaged timeline in the cache (%s)", e)
            continue
        tl = replace(tl, path=Path(path)).clip(*span)
        tl.meta = {**tl.meta, "cached": True}
        return tl
    return None


class _Cancelled(Exception):
    """The other stage failed: stop the picture pass."""


def _installed(options: AnalysisOptions) -> tuple[AnalysisOptions, tuple[str, ...]]:
    """``options`` less the readers whose packages are missing (a video model installed without
    the offline extra), with a line for each: the timeline says what it did not read, and its
    cache key says so too, so installing them later builds the whole timeline again."""
    from vidq.models.lite import missing_reader

    notes: list[str] = []
    if options.pictures.ocr and (package := missing_reader("ocr")):
        options = replace(options, pictures=replace(options.pictures, ocr=False))
        notes.append(f"on-screen text was not read ({package} is not installed: pip install 'vidq[offline]')")
    if options.embeddings and (package := missing_reader("embed")):
        options = replace(options, embeddings=False)
        notes.append(f"no sentence vectors, so retrieval matches words only ({package} is not installed: "
                     "pip install 'vidq[offline]')")
    return options, tuple(notes)


def _build(path: Path, info, span: tuple[float, float], options: AnalysisOptions, store: Store | None,
           key: str | None, report: ProgressFn, clock: StageClock, not_read: tuple[str, ...] = ()) -> Timeline:
    stop = threading.Event()
    pictures: dict[str, Any] = {}

    def picture_progress(stage: str, done: float, total: float | None = None) -> None:
        if stop.is_set():
            raise _Cancelled()
        report(stage, done, total)

    def run_pictures() -> None:
        import time

        t0 = time.perf_counter()
        _yield_to_speech()
        try:
            pictures["result"] = picture_pass(path, info, span, options.pictures, store=store, file_key=key,
                                              progress=picture_progress)
            if options.embeddings:  # the screen lines are known now: embed them while ASR still runs
                screen = screen_units(pictures["result"].screen)
                pictures["vectors"] = _embed(screen, store, key)
        except BaseException as e:  # handed to the main thread, which re-raises it
            pictures["error"] = e
        finally:
            pictures["seconds"] = time.perf_counter() - t0

    heard = LoudnessTap()  # the sound is measured from the audio ASR decodes anyway
    worker = threading.Thread(target=run_pictures, name="vidq-pictures", daemon=True)
    worker.start()
    try:
        with clock.stage("transcribe"):
            # the span as given (None: the whole file), so `vidq transcribe` and jobs share one cache entry
            transcript = get_transcript(path, options=options.speech(), info=info, store=store,
                                        start=options.start, end=options.end, progress=report, audio_tap=heard)
    except BaseException:
        stop.set()
        worker.join()
        raise
    with clock.stage("pictures_wait"):
        worker.join()
    clock.add("pictures", pictures.get("seconds", 0.0))
    if "error" in pictures:
        raise pictures["error"]
    pic = pictures["result"]
    lost = list(heard.damaged)  # audio that could not be decoded
    with clock.stage("sound"):
        track = sound_track(path, info, span, store=store, file_key=key, tapped=heard.track(), damaged=lost)
    with clock.stage("embed"):
        units = build_units(transcript, pic.screen)
        vectors = _vectors(units, options, store, key, pictures.get("vectors"))
    with clock.stage("segments"):
        sentences = [i for i, u in enumerate(units) if u.source == "speech" and u.kind == "sentence"]
        segments = label_segments(pic.signals, track, transcript, [u for u in units if u.source == "screen"], span,
                                  sentences=([units[i] for i in sentences], vectors[sentences]))
    meta = {
        "vidq": __version__, "timeline": TIMELINE_VERSION, "pictures": pic.meta,
        "transcript": {"source": transcript.source, "language": transcript.language,
                       "segments": len(transcript.segments)},
        "units": len(units), "embeddings": _embed_label() if options.embeddings else None,
        "timings": {k: round(v, 3) for k, v in clock.seconds.items()},
        **_media_notes(path, info, pic.meta.get("damaged", []), lost),
    }
    if not_read:
        meta["not_read"] = list(not_read)
    return Timeline(path, key, info, span, transcript, pic.signals, pic.screen, track, units, vectors, segments,
                    pic.thumbs, meta)


PICTURE_NICE = 10  # niceness of the picture thread while ASR runs beside it


def _yield_to_speech() -> None:
    """Lower the calling thread's CPU priority (Linux: niceness is per thread, and the decoder
    threads it starts inherit it), so that ASR, the longer of the two, keeps the cores it can use
    and the picture pass takes the rest.  On a machine with cores to spare nothing changes; where
    threads have no niceness of their own, nothing is done."""
    if sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), PICTURE_NICE))
    except OSError as e:  # a sandbox may refuse it; the pass only runs at the default priority then
        log.debug("could not lower the picture pass's priority (%s)", e)


# -- damaged and growing files (vidq.media finds the spans; the timeline keeps them) ------------
def _media_notes(path: Path, info, seen: list, heard: list[Damage]) -> dict[str, Any]:
    """``damaged``: what probe, the picture pass (``seen``: [start, end] pairs) and the sound pass
    (``heard``) could not read; ``partial``: the file grew while it was read."""
    info, spans = settle(info, path, [*(Damage(a, b, "video", "undecodable") for a, b in seen), *heard])
    return {"damaged": damage.to_json(spans), "partial": info.partial}


_SAID: set[str] = set()  # warnings given in this process (`vidq report` runs several jobs on one timeline)


def _noted(tl: Timeline) -> Timeline:
    """Say once on stderr that the timeline skips damaged spans, covers only part of a growing
    file, or did not read what a missing package reads."""
    notes = [f"{tl.path}: {note}" for note in tl.meta.get("not_read", [])]
    if tl.meta.get("damaged"):
        notes.append(damage.summary(str(tl.path), damage.from_json(tl.meta["damaged"])))
    if tl.meta.get("partial"):
        notes.append(f"{tl.path}: partial: the file grew while it was read (a recording in progress?); "
                     f"the analysis covers its first {tl.info.duration:.3f} s")
    for note in notes:
        if note not in _SAID:
            _SAID.add(note)
            log.warning("%s", note)
    return tl


def _embed_label() -> str:
    from vidq.models.lite.embed import MODEL_LABEL

    return MODEL_LABEL


def _embed(units, store: Store | None, key: str | None) -> dict[str, np.ndarray] | None:
    """``{text: vector}`` of ``units`` (cached by their texts); None without a sentence encoder."""
    if not units:
        return {}
    try:
        vectors, _ = embed_units(units, store=store, file_key=key)
    except ImportError as e:  # the offline extra (MiniLM) is missing: lexical retrieval still works
        log.info("sentence vectors unavailable (%s); retrieval is lexical only", e)
        return None
    return {u.text: v for u, v in zip(units, vectors)}


def _vectors(units, options: AnalysisOptions, store: Store | None, key: str | None,
             known: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Unit vectors: sentences and screen lines are embedded (``known`` ones, embedded already,
    are reused); an 8-word window takes the vector of the sentence it overlaps most (windows are
    for word-level lexical matches; embedding them too would double the stage for little)."""
    if not options.embeddings or not units:
        return np.zeros((len(units), 0), np.float32)
    known = dict(known or {})
    own = [i for i, u in enumerate(units) if u.kind != "window"]
    fresh = _embed([units[i] for i in own if units[i].text not in known], store, key)
    if fresh is None:
        return np.zeros((len(units), 0), np.float32)
    known.update(fresh)
    dim = next((v.shape[0] for v in known.values()), 0)
    if dim == 0:
        return np.zeros((len(units), 0), np.float32)
    out = np.zeros((len(units), dim), np.float32)
    for i in own:
        out[i] = known[units[i].text]
    sentences = [i for i in own if units[i].source == "speech"]
    starts = np.array([units[i].start for i in sentences])
    for w in (i for i, u in enumerate(units) if u.kind == "window"):
        u = units[w]
        near = sentences[max(0, int(np.searchsorted(starts, u.start, side="right")) - 2):
                         int(np.searchsorted(starts, u.end, side="right"))]
        best = max(near, key=lambda i: min(units[i].end, u.end) - max(units[i].start, u.start), default=None)
        if best is not None:
            out[w] = out[best]
    return out
