"""The media layer: probe, sampling plans, streaming decode + resize, audio extraction.

Knows nothing about models or tasks.  Times always come from PTS.
"""

from vidq.media.types import AudioStream, FrameBatch, SamplePlan, SubtitleStream, VideoInfo, VideoStream

__all__ = ["AudioStream", "FrameBatch", "SamplePlan", "SubtitleStream", "VideoInfo", "VideoStream"]
