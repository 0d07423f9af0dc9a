"""A model that sees pictures looks at one window of a video and says yes or no.

    verdict, reason = look(tl, backend, start, end, "Does this clip show a red car?", store=store)

Shared by the jobs that verify with a VLM (``find`` checks a hit, ``ads`` checks a
block); not a job itself.  The window's frames are sampled uniformly over ``[start, end]``
with the words spoken since the previous frame, stamped with their times on the file's
timeline.  Each answer is a timeline observation: it is cached by model, prompt and window
(``LOOK_STAGE``), so asking again costs nothing.

Knows nothing about Typer or rendering.
"""

from __future__ import annotations

from typing import Any

from vidq.analysis import Timeline
from vidq.media import decode, plan_samples
from vidq.speech import align_to_frames
from vidq.store import Store

LOOK_STAGE = "look/1"  # cache stage of a VLM's verdict on a window
LOOK_FRAMES = 8  # frames shown per window
LOOK_MAX_TOKENS = 40  # tokens of the yes/no and its reason


def parse_verdict(text: str) -> tuple[float, str]:
    """A VLM's reply -> (verdict 1 yes / 0 no / 0.5 unclear, one-line reason)."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    words = line.lower().lstrip("\"'*([ ").split()
    first = words[0].strip(".,:;!*\"')") if words else ""
    verdict = 1.0 if first == "yes" else 0.0 if first == "no" else 0.5
    reason = " ".join(line.split())[:200] or "(no answer)"
    return verdict, reason


def look(tl: Timeline, backend: Any, start: float, end: float, prompt: str, *, accuracy: str = "fast",
         frames: int = LOOK_FRAMES, store: Store | None = None) -> tuple[float, str]:
    """Ask ``backend`` about ``[start, end]`` of the timeline's file: (verdict 1/0/0.5, reason)."""
    from vidq.models.base import GenerateOptions, VideoInput

    side = int(getattr(backend, "frame_size", None) or 448)  # the backend's own frame size
    lo, hi = max(tl.start, start), min(tl.end, max(end, start + 0.5))
    if hi <= lo:
        hi = min(tl.info.duration, lo + 1.0)
    params = {"model": backend.name, "prompt": prompt, "window": [round(lo, 3), round(hi, 3)], "frames": frames,
              "side": side, "accuracy": accuracy}
    cached = store.get_json(tl.file_key, LOOK_STAGE, params) if store is not None and tl.file_key else None
    if cached is not None:
        return float(cached[0]), str(cached[1])
    plan = plan_samples(tl.info, frames=frames, start=lo, end=hi, accuracy=accuracy)
    subs = align_to_frames(tl.transcript, plan.times, start=plan.start, end=plan.end)
    video = tl.info.video
    size = min(side, max(video.display_size)) if video is not None else side
    batches = decode(tl.path, plan, info=tl.info, size=size, batch_size=frames)
    reply = backend.answer(VideoInput(batches, plan.times, subs, duration=tl.info.duration, span=(lo, hi)), prompt,
                           GenerateOptions(max_new_tokens=LOOK_MAX_TOKENS))
    verdict, reason = parse_verdict(reply.text)
    if store is not None and tl.file_key:
        store.put_json(tl.file_key, LOOK_STAGE, params, [verdict, reason])
    return verdict, reason
