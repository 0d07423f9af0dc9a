"""Needles for needle-in-a-haystack: what they are, where they come from, how they look.

A needle is one of

- ``image``: a picture shown for one sampled frame (Video-XL's NIAH needles are PNGs);
- ``clip``: a short video; it takes as many consecutive frame slots as its length covers at
  the haystack's sampling rate (at least one);
- ``text``: a sentence rendered onto a frame with PIL (big dark text on a light card);
- ``speech``: a sentence spoken at the needle's time: a subtitle line on the needle's frame
  when the needle goes into the frame sequence, or speech synthesised with espeak-ng when it
  is spliced into the file;

each with a question and either options (multiple choice, ``answer`` = letter, index or
option text) or accepted answers (open question).  A needles folder holds ``needles.json``
plus the media it names (paths relative to the folder)::

    {"needles": [
      {"id": "sky", "kind": "image", "file": "readingsky.png",
       "question": "What is the young man seated on a cloud doing?",
       "options": ["cooking", "sleeping", "fighting", "reading"], "answer": "D"},
      {"kind": "speech", "text": "The secret word is pelican.",
       "question": "What secret word does the speaker say?", "answer": ["pelican"]}
    ]}

Video-XL's own ``NIAH/datas/qa/qa.json`` (``retrieval_question`` / ``answer`` / ``needle``
lists, options written inside the question) is read as well.

Knows nothing about models, sampling or scoring beyond parsing the answer key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidq.errors import InputError
from vidq.eval.scoring import LETTERS, answer_index, strip_option_prefix

KINDS = ("image", "clip", "text", "speech")
GENERATED_KINDS = ("text", "speech")  # kinds the default set can generate
DEFAULT_SECONDS = 2.0  # how long an image/text/speech needle lasts when spliced into a file
# Secret words of the generated needles: distinct, unlikely in any haystack, easy to OCR and to say.
SECRET_WORDS = ("PELICAN", "LANTERN", "AVOCADO", "GLACIER", "TROMBONE", "SAPPHIRE", "CACTUS", "VOLCANO",
                "HARMONICA", "MEADOW", "KANGAROO", "PINEAPPLE")
CARD_BACKGROUND = (245, 240, 225)  # light card behind rendered text
CARD_INK = (15, 15, 15)
FONT_NAMES = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf", "Arial.ttf")


@dataclass(frozen=True)
class Needle:
    """One needle with its question."""

    id: str  # stable name, used in item ids ("sky", "text-1")
    kind: str  # image | clip | text | speech
    question: str  # the question asked about it (without options)
    options: tuple[str, ...] = ()  # multiple-choice options (empty: an open question)
    answer: int | None = None  # index of the right option (multiple choice)
    accepted: tuple[str, ...] = ()  # accepted answers (open question)
    text: str | None = None  # what a text needle shows / a speech needle says
    media: Path | None = None  # the image or clip file (image / clip needles)
    seconds: float = DEFAULT_SECONDS  # length when spliced into a file (clips: their own length)

    @property
    def multiple_choice(self) -> bool:
        return bool(self.options)

    @property
    def answer_label(self) -> str:
        """``"B"`` for multiple choice, else the first accepted answer."""
        return LETTERS[self.answer] if self.answer is not None else (self.accepted[0] if self.accepted else "")


def _need_str(row: dict[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: needs a non-empty string {key!r}")
    return value.strip()


def needle_from_row(row: Any, folder: Path, index: int, where: str) -> Needle:
    """Parse one ``needles.json`` entry; media paths resolve against ``folder``."""
    if not isinstance(row, dict):
        raise InputError(f"{where}: each needle must be a JSON object")
    kind = str(row.get("kind") or ("image" if row.get("file") else "text")).lower()
    if kind not in KINDS:
        raise InputError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    nid = str(row.get("id") or f"{kind}-{index + 1}")
    question = _need_str(row, "question", where)
    media = text = None
    if kind in ("image", "clip"):
        name = _need_str(row, "file", where)
        media = Path(name) if os.path.isabs(name) else folder / name
        if not media.is_file():
            raise InputError(f"{where}: {kind} file {media} does not exist")
    else:
        text = _need_str(row, "text", where)
    raw_options = row.get("options") or []
    if not isinstance(raw_options, list) or not all(isinstance(o, str) for o in raw_options):
        raise InputError(f"{where}: 'options' must be a list of strings")
    options = tuple(strip_option_prefix(o) for o in raw_options)
    answer: int | None = None
    accepted: tuple[str, ...] = ()
    raw_answer = row.get("answer")
    if options:
        if not 2 <= len(options) <= len(LETTERS):
            raise InputError(f"{where}: give 2..{len(LETTERS)} options, not {len(options)}")
        try:
            answer = answer_index(raw_answer, options)  # type: ignore[arg-type]
        except (ValueError, TypeError) as e:
            raise InputError(f"{where}: {e}") from e
    else:
        values = raw_answer if isinstance(raw_answer, list) else [raw_answer]
        accepted = tuple(str(v).strip() for v in values if isinstance(v, (str, int, float)) and str(v).strip())
        if not accepted:
            raise InputError(f"{where}: an open question needs 'answer' (a string or a list of accepted strings)")
    seconds = row.get("seconds", DEFAULT_SECONDS)
    if not isinstance(seconds, (int, float)) or not 0.1 <= float(seconds) <= 600:
        raise InputError(f"{where}: 'seconds' must be between 0.1 and 600")
    return Needle(id=nid, kind=kind, question=question, options=options, answer=answer, accepted=accepted,
                  text=text, media=media, seconds=float(seconds))


_VXL_OPTION = re.compile(r"\(([A-J])\)\s*([^\n(]*[^\n(\s])")


def needles_from_videoxl(data: dict[str, Any], folder: Path, where: str) -> list[Needle]:
    """Video-XL's ``qa.json``: questions with ``(A) ..`` options inline, answer letters, needle images."""
    questions, answers, files = data.get("retrieval_question"), data.get("answer"), data.get("needle")
    if not (isinstance(questions, list) and isinstance(answers, list) and isinstance(files, list)
            and len(questions) == len(answers) == len(files)):
        raise InputError(f"{where}: retrieval_question, answer and needle must be lists of equal length")
    rows = []
    for i, (q, a, f) in enumerate(zip(questions, answers, files)):
        text = str(q)
        options = [m.group(2).strip() for m in _VXL_OPTION.finditer(text)]
        stem = text.split("Options:")[0].replace("Question:", "").strip()
        stem = re.sub(r"\s*Response the correct choice only\.?", "", stem).strip()
        rows.append({"id": Path(str(f)).stem, "kind": "image", "file": str(f), "question": stem,
                     "options": options, "answer": a})
    return [needle_from_row(r, folder, i, f"{where} needle {i + 1}") for i, r in enumerate(rows)]


def load_needles(path: str | os.PathLike) -> list[Needle]:
    """Needles from a folder holding ``needles.json`` (or a JSON file given directly)."""
    p = Path(path)
    file = p / "needles.json" if p.is_dir() else p
    if not file.is_file():
        raise InputError(f"--needles {path}: no needles.json there" if p.is_dir() else f"--needles {path}: no such file or folder")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{file}: not readable JSON ({e})") from e
    folder = file.parent
    if isinstance(data, dict) and "retrieval_question" in data:
        needles = needles_from_videoxl(data, folder, str(file))
    else:
        rows = data.get("needles") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not rows:
            raise InputError(f"{file}: expected {{\"needles\": [...]}} with at least one needle")
        needles = [needle_from_row(r, folder, i, f"{file} needle {i + 1}") for i, r in enumerate(rows)]
    ids = [n.id for n in needles]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InputError(f"{file}: needle ids must be unique (repeated: {', '.join(dupes)})")
    return needles


def default_needles(kinds: Sequence[str] = ("text",), count: int = 5, *, open_answers: bool = False) -> list[Needle]:
    """``count`` generated needles per kind: a secret word shown (text) or said (speech).

    Multiple choice with four words, the right one moving through A..D from needle to
    needle; or, with ``open_answers``, an open question whose answer must contain the word.
    Deterministic: the same arguments give the same needles.
    """
    bad = [k for k in kinds if k not in GENERATED_KINDS]
    if bad or not kinds:
        raise InputError(f"generated needles are {' or '.join(GENERATED_KINDS)}, not {', '.join(bad) or 'nothing'}")
    if not 1 <= count <= len(SECRET_WORDS):
        raise InputError(f"--count must be between 1 and {len(SECRET_WORDS)}, not {count}")
    out = []
    n = len(SECRET_WORDS)
    for k, kind in enumerate(kinds):
        for i in range(count):
            w = (i + 4 * k) % n
            word = SECRET_WORDS[w]
            others = [SECRET_WORDS[(w + 3 + 2 * j) % n] for j in range(3)]
            pos = i % 4
            options = others[:pos] + [word] + others[pos:]
            if kind == "text":
                text, question = f"The secret word is {word}", "What secret word is written on screen in the video?"
            else:
                text, question = f"The secret word is {word.lower()}.", "What secret word does the speaker say in the video?"
            if open_answers:
                out.append(Needle(id=f"{kind}-{i + 1}", kind=kind, question=question, accepted=(word.lower(),),
                                  text=text))
            else:
                out.append(Needle(id=f"{kind}-{i + 1}", kind=kind, question=question,
                                  options=tuple(o.lower() for o in options), answer=pos, text=text))
    return out


# -- pixels -------------------------------------------------------------------------------------

def _truetype(size: int):
    from PIL import ImageFont

    for name in FONT_NAMES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def render_text_frame(text: str, width: int, height: int) -> np.ndarray:
    """A ``(height, width, 3)`` uint8 frame: ``text`` in large dark letters on a light card.

    The font shrinks until the wrapped text fits within 90% of the frame.
    """
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), CARD_BACKGROUND)
    draw = ImageDraw.Draw(img)
    size = max(8, height // 6)
    while True:
        font = _truetype(size)
        lines = _wrap(draw, text, font, int(width * 0.9))
        boxes = [draw.textbbox((0, 0), line, font=font) for line in lines]
        line_h = max(b[3] - b[1] for b in boxes) * 1.3
        if (max(b[2] - b[0] for b in boxes) <= width * 0.9 and line_h * len(lines) <= height * 0.9) or size <= 8:
            break
        size = max(8, int(size * 0.85))
    y = (height - line_h * len(lines)) / 2
    for line, box in zip(lines, boxes):
        draw.text(((width - (box[2] - box[0])) / 2 - box[0], y - box[1]), line, font=font, fill=CARD_INK)
        y += line_h
    return np.asarray(img, dtype=np.uint8).copy()


def fit_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale an RGB image to fit ``width`` x ``height`` (aspect kept) and centre it on black."""
    from PIL import Image

    src = Image.fromarray(image)
    s = min(width / src.width, height / src.height)
    w, h = max(1, round(src.width * s)), max(1, round(src.height * s))
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(src.resize((w, h), Image.Resampling.BICUBIC), ((width - w) // 2, (height - h) // 2))
    return np.asarray(canvas, dtype=np.uint8).copy()


def load_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, UnidentifiedImageError) as e:
        raise InputError(f"{path}: not a readable image ({e})") from e


def needle_image(needle: Needle, width: int, height: int) -> np.ndarray:
    """The single frame an image or text needle shows, ``(height, width, 3)`` uint8."""
    if needle.kind == "text":
        assert needle.text is not None
        return render_text_frame(needle.text, width, height)
    if needle.kind == "image":
        assert needle.media is not None
        return fit_image(load_image(needle.media), width, height)
    raise ValueError(f"a {needle.kind} needle has no single frame")
