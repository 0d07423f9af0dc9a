"""The chat prompt around a video: template rendering and the interleave stage.

``render_chat`` renders the model's own chat template with two sentinels where the video
and the question go, and returns the token ids before, the question's ids and the ids
after, so special tokens come from the template while user text (questions, subtitles)
is tokenized with special-token parsing off (a subtitle saying ``<|video_pad|>`` stays
text).  ``interleave`` lays each frame out MiniGPT4-Video style: timestamp, the frame's
visual rows wrapped in the family's tokens, then its subtitle text.

Knows nothing about models' internals, compression strategies or the CLI.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidq.errors import ModelError
from vidq.models.vlm import layout
from vidq.models.vlm.layout import Piece
from vidq.timefmt import hms

log = logging.getLogger("vidq.models")

VIDEO_SENTINEL = "\u2063VIDQ_VIDEO\u2063"  # invisible separators: never in real text
QUESTION_SENTINEL = "\u2063VIDQ_QUESTION\u2063"
DEFAULT_SYSTEM = (
    "You are a careful assistant that watches videos. Each frame is shown after its time in brackets "
    "[mm:ss.s] and before the words spoken since the previous frame, if any. Answer from what you see "
    "and hear, and cite times when you can."
)


@dataclass(frozen=True)
class ChatParts:
    """Token ids of the rendered chat template, split where the video and question go."""

    prefix: tuple[int, ...]  # system turn + user turn up to the video
    question: tuple[int, ...]  # the user's prompt (special tokens not parsed)
    suffix: tuple[int, ...]  # rest of the user turn + the assistant header


def encode_text(tokenizer: Any, text: str, *, specials: bool = False) -> list[int]:
    """Token ids of ``text`` with no BOS/EOS; special-token strings are parsed only if ``specials``."""
    if not text:
        return []
    out = tokenizer(text, add_special_tokens=False, split_special_tokens=not specials)
    return list(out["input_ids"])


def load_template(tokenizer: Any, find: Callable[[str], Path | None]) -> str:
    """The chat template: the tokenizer's, else the model's ``chat_template.jinja`` or
    ``chat_template.json`` (``find(filename)`` returns the file's path, or None)."""
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default") or next(iter(template.values()), None)
    if template:
        return str(template)
    jinja = find("chat_template.jinja")
    if jinja is not None:
        return jinja.read_text(encoding="utf-8")
    js = find("chat_template.json")
    if js is not None:
        try:
            data = json.loads(js.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(f"{js}: unreadable chat template ({e})") from e
        if isinstance(data, dict) and data.get("chat_template"):
            return str(data["chat_template"])
    raise ModelError("the model ships no chat template (tokenizer, chat_template.jinja or chat_template.json)")


def render_chat(tokenizer: Any, template: str, prompt: str, system: str | None) -> ChatParts:
    """Render ``template`` with sentinels and tokenize its three parts (see module docstring)."""
    messages = [
        {"role": "system", "content": [{"type": "text", "text": system if system is not None else DEFAULT_SYSTEM}]},
        {"role": "user", "content": [{"type": "text", "text": VIDEO_SENTINEL + QUESTION_SENTINEL}]},
    ]
    try:
        rendered = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False,
                                                 add_generation_prompt=True)
    except Exception as e:  # jinja errors come in many types
        raise ModelError(f"the model's chat template failed to render: {e}") from e
    head, sep, rest = rendered.partition(VIDEO_SENTINEL + QUESTION_SENTINEL)
    if not sep:
        raise ModelError("the model's chat template dropped the user message; cannot place the video")
    return ChatParts(
        prefix=tuple(encode_text(tokenizer, head, specials=True)),
        question=tuple(encode_text(tokenizer, "\n" + prompt.strip())),
        suffix=tuple(encode_text(tokenizer, rest, specials=True)),
    )


def header_text(frames: int, duration: float | None, subtitles: bool,
                span: tuple[float, float] | None = None) -> str:
    """One line before the frames: what they come from (the window's real start and end
    when they show part of the video) and how they are laid out.

    >>> header_text(8, 90.0, False, (40.0, 48.0))
    '8 frames from 00:00:40.000 to 00:00:48.000 of a 00:01:30.000 video:\\n'
    """
    video = f"a {hms(duration)} video" if duration else "a video"
    part = bool(span) and not (span[0] <= 0.05 and (duration is None or span[1] >= duration - 0.05))
    where = f"{hms(span[0])} to {hms(span[1])} of {video}" if part and span else video
    words = ", each followed by the words spoken since the previous frame" if subtitles else ""
    return f"{frames} frames from {where}{words}:\n"


def frame_pieces(tokenizer: Any, stamp: str, features: Any, blocks: tuple[tuple[int, int], ...],
                 subtitle: str | None, open_ids: Sequence[int], close_ids: Sequence[int],
                 deepstack: tuple[Any, ...] | None = None) -> list[Piece]:
    """One frame: ``stamp`` text, wrapped visual rows, subtitle text (or a newline)."""
    pieces = [layout.text(encode_text(tokenizer, stamp) + list(open_ids))]
    pieces.append(layout.visual(features, blocks, deepstack))
    words = (subtitle or "").strip()
    tail = list(close_ids) + encode_text(tokenizer, (" " + words if words else "") + "\n")
    pieces.append(layout.text(tail))
    return pieces
