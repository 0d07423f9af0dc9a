"""Plain data passed between the media layer and everything above it.

All times are seconds (float) on the file's presentation timeline, taken from PTS and
shifted so the container's start time is 0 (and, where the stream clock jumps, made
continuous: see ``Discontinuity``).  Nothing here decodes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

SampleMode = Literal["uniform", "fps", "every", "keyframes"]
Accuracy = Literal["exact", "fast"]
ResizePolicy = Literal["fit", "pad", "crop", "stretch"]


@dataclass(frozen=True)
class VideoStream:
    """One video stream as ``probe`` sees it."""

    index: int  # stream index in the container
    codec: str  # e.g. "h264"
    width: int  # coded width in pixels (before rotation)
    height: int  # coded height in pixels (before rotation)
    rotation: int  # display rotation in degrees, one of 0, 90, 180, 270
    sample_aspect: str  # sample aspect ratio "num:den" ("1:1" for square pixels)
    pix_fmt: str  # e.g. "yuv420p"
    fps_nominal: float | None  # r_frame_rate / guessed rate
    fps_average: float | None  # avg_frame_rate (frames / duration)
    frame_count: int | None  # number of frames
    frame_count_exact: bool  # True when counted from the index or packets, False when estimated
    vfr: bool  # variable frame rate detected
    duration: float | None  # stream duration in seconds
    start_time: float  # stream start in seconds on the container clock
    keyframes: tuple[float, ...] | None  # keyframe times (0-based seconds) from the index; None if unknown
    bit_rate: int | None = None  # bits per second, when known
    keyframe_pos: tuple[int, ...] | None = None  # byte offset of each keyframe, only where the clock jumps (seeks go by byte)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown: rotation and sample aspect applied."""
        num, _, den = self.sample_aspect.partition(":")
        try:
            sar = int(num) / int(den) if int(num) > 0 and int(den) > 0 else 1.0
        except ValueError:
            sar = 1.0
        w = round(self.width * sar) if sar > 1 else self.width
        h = round(self.height / sar) if sar < 1 else self.height
        return (h, w) if self.rotation in (90, 270) else (w, h)


@dataclass(frozen=True)
class AudioStream:
    index: int  # stream index in the container
    codec: str  # e.g. "aac"
    sample_rate: int  # Hz
    channels: int  # channel count
    duration: float | None  # seconds
    language: str | None = None  # ISO 639 tag from metadata, if any


@dataclass(frozen=True)
class SubtitleStream:
    index: int  # stream index in the container
    codec: str  # e.g. "subrip", "mov_text", "webvtt", "ass"
    language: str | None = None  # ISO 639 tag from metadata, if any
    title: str | None = None  # metadata title, if any


@dataclass(frozen=True)
class Damage:
    """A span of a stream that could not be read: seconds on the file timeline, ``start <= end``."""

    start: float  # seconds, first moment affected
    end: float  # seconds, first moment readable again (the end of the file for a cut-off tail)
    stream: str  # "video", "audio" or "file" (every stream)
    why: str  # e.g. "undecodable packets", "missing packets", "truncated"


@dataclass(frozen=True)
class Discontinuity:
    """A jump of the stream clock (an MPEG-TS splice or channel change), made continuous by vidq.

    The part of the file after byte ``pos`` is shown from ``at`` seconds on, one frame after the
    part before it; its raw clock (as the demuxer reports it) runs from ``raw_after`` to
    ``raw_end`` seconds where the part before ended at ``raw_before``.  ``jump`` is how far the
    clock jumped (negative: backwards) beyond one frame.
    """

    at: float  # seconds on the file timeline where the new part begins
    jump: float  # seconds the raw clock jumped, beyond one frame interval
    pos: int  # byte offset of the new part's first video packet
    raw_before: float  # raw clock (seconds) of the last video frame before the jump
    raw_after: float  # raw clock (seconds) of the first video frame after it
    raw_end: float  # raw clock (seconds) of the last video frame of the part it begins


@dataclass(frozen=True)
class VideoInfo:
    """What ``media.probe(path)`` returns."""

    path: str  # the file as given
    container: str  # format name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float  # seconds; > 0 for a usable file
    size_bytes: int  # file size
    bit_rate: int | None  # container bit rate, bits per second
    start_time: float  # container start time in seconds (subtracted from every PTS)
    video: VideoStream | None  # the best video stream (None: audio-only file)
    video_streams: tuple[VideoStream, ...] = ()
    audio_streams: tuple[AudioStream, ...] = ()
    subtitle_streams: tuple[SubtitleStream, ...] = ()
    damaged: tuple[Damage, ...] = ()  # spans the container shows to be damaged or missing
    discontinuities: tuple[Discontinuity, ...] = ()  # clock jumps, mapped away (MPEG-TS/PS only)
    partial: bool = False  # the file grew while it was probed: this describes its first size_bytes

    @property
    def audio(self) -> AudioStream | None:
        return self.audio_streams[0] if self.audio_streams else None


@dataclass(frozen=True)
class SamplePlan:
    """Which frames to take: target times in seconds, ascending, within [start, end]."""

    times: tuple[float, ...]  # target presentation times, seconds, strictly ascending
    mode: SampleMode  # how the targets were chosen
    accuracy: Accuracy  # exact: the frame displayed at each time; fast: nearest decodable within tolerance
    tolerance: float  # seconds; fast mode may return a frame this far from its target
    start: float  # clip start in seconds (inclusive)
    end: float  # clip end in seconds (inclusive)

    def __len__(self) -> int:
        return len(self.times)


@dataclass
class FrameBatch:
    """A batch of decoded frames, in plan order.

    ``images`` has shape (B, H, W, 3), dtype uint8, RGB.  ``pts`` are the presentation
    times (seconds) of the frames actually decoded; ``indices`` are their positions in
    the ``SamplePlan`` (0-based), so ``plan.times[indices[i]]`` is what was asked for.
    """

    images: np.ndarray  # (B, H, W, 3) uint8 RGB
    pts: np.ndarray  # (B,) float64 seconds
    indices: np.ndarray  # (B,) int64 positions in the plan
    frame_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (B,) decode-order index when known, else -1
    damaged: tuple[Damage, ...] = ()  # spans found undecodable while this batch was decoded

    def __len__(self) -> int:
        return int(self.images.shape[0])
