"""The media layer: probe, sampling plans, streaming decode + resize, audio extraction.

    probe(path, *, store=None) -> VideoInfo
    plan_samples(info, *, frames=None, fps=None, every=None, keyframes=False, start=None, end=None,
                 accuracy="exact", tolerance=None) -> SamplePlan
    decode(path, plan, *, info=None, size=None, policy="fit", batch_size=16, backend="auto",
           progress=None) -> Iterator[FrameBatch]
    iter_audio(path, *, sample_rate=16000, start=None, end=None, chunk_seconds=30.0,
               stream_index=None) -> Iterator[AudioChunk]
    load_audio(path, *, sample_rate=16000, start=None, end=None) -> np.ndarray

Knows nothing about models or tasks.  Times always come from PTS.
"""

from vidq.media.audio import AudioChunk, iter_audio, load_audio
from vidq.media.decode import BACKENDS, decode
from vidq.media.plan import DEFAULT_FRAMES, plan_samples
from vidq.media.probe import probe, require_video
from vidq.media.resize import POLICIES
from vidq.media.types import (
    Accuracy,
    AudioStream,
    FrameBatch,
    ResizePolicy,
    SamplePlan,
    SubtitleStream,
    VideoInfo,
    VideoStream,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_FRAMES",
    "POLICIES",
    "Accuracy",
    "AudioChunk",
    "AudioStream",
    "FrameBatch",
    "ResizePolicy",
    "SamplePlan",
    "SubtitleStream",
    "VideoInfo",
    "VideoStream",
    "decode",
    "iter_audio",
    "load_audio",
    "plan_samples",
    "probe",
    "require_video",
]
