"""The sound of a video as the analysis keeps it: loudness and the voice's spectrum per window.

    track = sound_track(path, info, span, store=store, file_key=key)   # Loudness | None (no audio)

RMS level and mel cepstrum (:func:`vidq.media.signals.voice_cepstra`: whose voice, and
how the channel colours it) per ``LOUDNESS_WINDOW`` over the span, decoded at 16 kHz mono
in chunks (memory is one chunk), cached as ``LOUDNESS_STAGE``.  Silences follow from the
level; the cepstra tell a spot's announcer from the programme's speakers.  Knows nothing
about tasks or the CLI.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from vidq.media import signals
from vidq.media.types import Damage, VideoInfo
from vidq.store import Store

LOUDNESS_STAGE = "loudness/2"  # cache stage of the loudness track
LOUDNESS_WINDOW = 0.2  # seconds per loudness window
AUDIO_CHUNK = 30.0  # seconds of audio per decoded chunk (a multiple of LOUDNESS_WINDOW)
SAMPLE_RATE = 16000  # Hz


def _measured(samples: np.ndarray, start: float) -> signals.Loudness:
    """Loudness and voice cepstra of whole ``LOUDNESS_WINDOW`` s windows of 16 kHz mono ``samples``."""
    track = signals.loudness(samples, SAMPLE_RATE, window=LOUDNESS_WINDOW, start=start)
    return replace(track, cepstra=signals.voice_cepstra(samples, SAMPLE_RATE, window=LOUDNESS_WINDOW))


class LoudnessTap:
    """Measures loudness chunk by chunk while another stage (ASR) decodes the audio."""

    def __init__(self) -> None:
        self.damaged: list[Damage] = []  # spans the decoder could not read (filled with silence)
        self.parts: list[signals.Loudness] = []
        self.buffer = np.zeros(0, np.float32)  # samples not yet in a whole window
        self.start: float | None = None  # seconds of the first buffered sample

    def __call__(self, chunk) -> None:
        self.damaged += chunk.damaged
        if not chunk.samples.size:  # ASR decodes at SAMPLE_RATE, mono, contiguous chunks
            return
        if self.start is None:
            self.start = float(chunk.start)
        self.buffer = np.concatenate([self.buffer, chunk.samples.astype(np.float32, copy=False)])
        win = round(LOUDNESS_WINDOW * SAMPLE_RATE)
        whole = (self.buffer.size // win) * win
        if whole:
            self.parts.append(_measured(self.buffer[:whole], self.start))
            self.buffer = self.buffer[whole:]
            self.start += whole / SAMPLE_RATE

    def track(self) -> signals.Loudness | None:
        """The track measured so far (None when no audio went by)."""
        return signals.concat_loudness(self.parts) if self.parts else None


def sound_track(path: str | os.PathLike, info: VideoInfo, span: tuple[float, float], *, store: Store | None = None,
                file_key: str | None = None, tapped: signals.Loudness | None = None,
                damaged: list[Damage] | None = None) -> signals.Loudness | None:
    """RMS loudness of the audio over ``span``, per ``LOUDNESS_WINDOW``; None without audio.

    ``tapped``: the track a :class:`LoudnessTap` measured during ASR's decode of the same
    audio; used (and cached) instead of decoding the audio again.  ``damaged``: the audio
    spans known to be undecodable (the tap's); what decoding here finds, or the cache
    remembers, is added to it, and it is cached with the track.
    """
    from vidq.media.audio import iter_audio

    if info.audio is None:
        return None
    params = {"window": LOUDNESS_WINDOW, "rate": SAMPLE_RATE, "start": span[0], "end": span[1]}
    hit = store.get_arrays(file_key, LOUDNESS_STAGE, params) if store is not None and file_key else None
    if hit is not None:
        if damaged is not None:
            damaged += [Damage(float(a), float(b), "audio", "undecodable") for a, b in hit.get("damaged", [])]
        return signals.Loudness(float(hit["start"]), float(hit["hop"]), float(hit["window"]), hit["db"], "rms",
                                hit["cepstra"])
    found = list(damaged or [])
    if tapped is not None:
        track = tapped
    else:
        parts = []
        for c in iter_audio(path, sample_rate=SAMPLE_RATE, start=span[0], end=span[1], chunk_seconds=AUDIO_CHUNK,
                            info=info):
            found += c.damaged
            if c.samples.size:
                parts.append(_measured(c.samples, c.start))
        if damaged is not None:
            damaged[:] = found
        if not parts:
            return None
        track = signals.concat_loudness(parts)
    if store is not None and file_key:
        store.put_arrays(file_key, LOUDNESS_STAGE, params, {
            "start": np.array(track.start), "hop": np.array(track.hop), "window": np.array(track.window),
            "db": track.db, "cepstra": track.cepstra,
            "damaged": np.asarray([(d.start, d.end) for d in found], np.float64).reshape(-1, 2)})
    return track
