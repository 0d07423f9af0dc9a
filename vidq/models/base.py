"""The backend contract every model implements (local VLMs, ``lite``, OpenAI-compatible HTTP).

A backend turns sampled frames + per-frame subtitle text + a prompt into text, and says
what it used.  It knows nothing about tasks or the CLI.  Two calls, so callers can time
and reuse the expensive half:

    prepared = backend.prepare(video, prompt, options)   # encode, compress, interleave
    result = backend.generate(prepared, options)         # run the LLM

``video`` may be ``None`` for text-only prompts (e.g. a summary of summaries).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vidq.errors import ModelError
from vidq.media.types import FrameBatch


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; tasks choose their strategy from this."""

    sees_images: bool  # consumes pixels (False for `lite`, which reads speech and on-screen text)
    max_context: int  # context window in tokens
    writes_text: bool = False  # writes prose from text evidence it is given (a text LLM); False: `lite`'s
    # extractive tools only.  Jobs read it only when sees_images is False: such a backend gets the
    # timeline's text (transcript, on-screen text, segment labels, times) and writes from it.
    compressions: tuple[str, ...] = ("none",)  # --compress strategies it supports
    kv_compression: bool = False  # supports `--compress kv` (windowed prefill with KV pruning)


class ContextExceeded(ModelError):
    """A prompt longer than the model's context; ``context`` is the size in tokens the model
    (or its server) named, so a caller that builds prompts to a budget can refit once."""

    def __init__(self, line: str, context: int):
        super().__init__(line)
        self.context = context


@dataclass(frozen=True)
class GenerateOptions:
    """Per-call options; ``dataclasses.replace`` to override."""

    max_new_tokens: int = 512  # upper bound on generated tokens
    temperature: float = 0.0  # 0 means greedy decoding
    compress: str = "auto"  # none|slowfast|progressive|prompt|kv|videoxl|auto (planner decides)
    ratio: int | None = None  # compression ratio r for kv/videoxl (None: planner decides)
    tokens_per_frame: int | None = None  # override the model's visual tokens per frame
    system: str | None = None  # system prompt; None uses the backend's default
    seed: int = 0  # for sampling when temperature > 0


@dataclass
class VideoInput:
    """Frames to show the model, streamed in batches, with per-frame subtitle text.

    ``subtitles[i]`` is the text spoken since the previous sampled frame, for plan
    position ``i`` (``FrameBatch.indices`` index into it).  ``None`` means no subtitles.
    """

    batches: Iterable[FrameBatch]  # decoded frames in plan order; consumed once
    times: Sequence[float]  # target time of every plan position, seconds
    subtitles: Sequence[str] | None = None  # per plan position, or None
    duration: float | None = None  # video duration in seconds, for the prompt header
    span: tuple[float, float] | None = None  # the window shown (seconds on the file), for the header; None: all


@dataclass
class Prepared:
    """A backend's encoded input, ready for ``generate``.  ``payload`` is backend-private."""

    backend: str  # the backend name that made it
    payload: Any  # backend-specific (embeddings, chat messages, ...)
    meta: dict[str, Any] = field(default_factory=dict)  # what was used so far (frames, tokens, compression)


@dataclass
class Generation:
    """The answer and what produced it (rendered into a job's JSON ``meta``)."""

    text: str  # the generated text, stripped
    meta: dict[str, Any] = field(default_factory=dict)
    # meta keys used across backends: model, device, quant, frames, tokens_per_frame,
    # visual_tokens, compression, ratio, context_length, peak_memory_bytes, timings (dict of seconds)


class Backend(abc.ABC):
    """Base class of every model backend."""

    name: str = "backend"  # registry name, e.g. "qwen2.5-vl-7b", "lite", "openai:gpt-4o"
    capabilities: Capabilities = Capabilities(sees_images=False, max_context=2048)
    frame_size: int | None = None  # longest frame side (px) the backend wants from the decoder; None: any

    def suggest_frames(self, frames: int, options: GenerateOptions) -> int:
        """How many of ``frames`` requested frames this backend takes under ``options``
        (local VLMs ask the budget planner); call it before sampling.  Default: all."""
        return frames

    @abc.abstractmethod
    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        """Encode frames, compress visual tokens, interleave timestamps and subtitles."""

    @abc.abstractmethod
    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        """Run the language model on a prepared input."""

    def answer(self, video: VideoInput | None, prompt: str, options: GenerateOptions | None = None) -> Generation:
        """``prepare`` then ``generate``, merging both metas."""
        options = options or GenerateOptions()
        prepared = self.prepare(video, prompt, options)
        result = self.generate(prepared, options)
        result.meta = {**prepared.meta, **result.meta}
        return result

    def close(self) -> None:
        """Free weights and device memory (optional)."""
