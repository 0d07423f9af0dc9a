"""Helpers for the ``vidq eval`` tests: a static haystack video and a scripted backend.

The scripted backend "reads" exactly what the eval inserts: it recognises a generated
text-needle card by comparing frames pixel for pixel with cards rendered for every secret
word, and it reads speech needles from the subtitles; it only looks at the first half of
the frame positions it is given, so a grid has both hits and misses at known depths.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from vidq.eval.needles import SECRET_WORDS, render_text_frame
from vidq.eval.scoring import LETTERS
from vidq.models.base import (
    Backend,
    Capabilities,
    GenerateOptions,
    Generation,
    Prepared,
    VideoInput,
)

COLORS = ("0x1f4fd0", "0xd03a1f", "0x2fa84a", "0xe0c020")


def make_haystack(path: Path, *, scenes: int = 4, seconds: float = 15.0, fps: int = 5, audio: bool = False) -> Path:
    """``scenes`` static colour scenes of ``seconds`` each, 320x180 H.264 (plus a tone if ``audio``)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None, "ffmpeg is needed to make test media"
    cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-y"]
    for i in range(scenes):
        cmd += ["-f", "lavfi", "-i", f"color=c={COLORS[i % len(COLORS)]}:s=320x180:r={fps}:d={seconds}"]
    graph = "".join(f"[{i}:v]" for i in range(scenes)) + f"concat=n={scenes}:v=1:a=0[v]"
    cmd += ["-filter_complex", graph, "-map", "[v]"]
    if audio:
        cmd += ["-f", "lavfi", "-t", str(scenes * seconds), "-i", "sine=frequency=440:sample_rate=16000"]
        cmd += ["-map", f"{scenes}:a", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(2 * fps), "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


class ScriptedBackend(Backend):
    """Sees needle cards in the first half of the positions it gets; reads subtitles the same way."""

    name = "scripted"
    capabilities = Capabilities(sees_images=True, max_context=4096)

    def __init__(self) -> None:
        self.calls: list[dict] = []  # one per prepare: frames seen, shape, prompt
        self._cards: dict[tuple[int, int], dict[str, np.ndarray]] = {}

    def _card_words(self, w: int, h: int) -> dict[str, np.ndarray]:
        if (w, h) not in self._cards:
            self._cards[(w, h)] = {word: render_text_frame(f"The secret word is {word}", w, h) for word in SECRET_WORDS}
        return self._cards[(w, h)]

    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        seen: list[str] = []
        n = len(video.times) if video is not None else 0
        shapes = set()
        count = 0
        if video is not None:
            for batch in video.batches:
                for k in range(len(batch)):
                    count += 1
                    pos = int(batch.indices[k])
                    image = batch.images[k]
                    shapes.add(image.shape)
                    if pos >= n / 2:
                        continue
                    for word, card in self._card_words(image.shape[1], image.shape[0]).items():
                        if np.array_equal(card, image):
                            seen.append(word.lower())
            for pos, text in enumerate(video.subtitles or []):
                m = re.search(r"secret word is (\w+)", text or "")
                if m and pos < n / 2:
                    seen.append(m.group(1).lower())
        self.calls.append({"frames": count, "positions": n, "shapes": shapes, "prompt": prompt, "seen": seen})
        return Prepared(self.name, {"seen": seen, "prompt": prompt}, {"frames": count, "model": "scripted"})

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        seen, prompt = prepared.payload["seen"], prepared.payload["prompt"]
        options_found = re.findall(r"^\(([A-J])\) (.+)$", prompt, flags=re.MULTILINE)
        if options_found:
            for letter, text in options_found:
                if text.strip().lower() in seen:
                    return Generation(f"{letter}) {text}", {"timings": {"decode_s": 0.0}})
            return Generation(f"{options_found[-1][0]})", {"timings": {"decode_s": 0.0}})
        return Generation(f"The secret word is {seen[0]}." if seen else "I do not know.", {})


def answer_by_hash(question: str, n: int) -> int:
    """A deterministic pseudo-answer for scripted multiple choice (sum of character codes)."""
    return sum(map(ord, question)) % n


class HashBackend(Backend):
    """Answers multiple choice with ``answer_by_hash`` of the question; counts calls; can fail on call k."""

    name = "hash"
    capabilities = Capabilities(sees_images=True, max_context=4096)

    def __init__(self, fail_on: int | None = None) -> None:
        self.calls = 0
        self.fail_on = fail_on

    def prepare(self, video: VideoInput | None, prompt: str, options: GenerateOptions) -> Prepared:
        self.calls += 1
        if self.fail_on is not None and self.calls == self.fail_on:
            from vidq.errors import ModelError

            raise ModelError("scripted failure")
        frames = sum(len(b) for b in video.batches) if video is not None else 0
        question = prompt.splitlines()[0].removeprefix("Question: ")
        n = len(re.findall(r"^\(?[A-J][).] ", prompt, flags=re.MULTILINE))  # "(A) x" (direct) or "A. x" (ask)
        return Prepared(self.name, LETTERS[answer_by_hash(question, n)], {"frames": frames})

    def generate(self, prepared: Prepared, options: GenerateOptions) -> Generation:
        return Generation(f"{prepared.payload})", {"timings": {"decode_s": 0.001}})
