"""Write ``examples/sample.mp4``: the small video the README's quick start summarizes.

About 80 seconds, 256x144 at 8 fps, spoken with espeak-ng on three topics (honeybees,
volcanoes, baking bread), one coloured scene per topic, and a title card on screen at the
start of each topic.  The file is checked in; rerun this script only to change it::

    python examples/make_sample.py            # writes examples/sample.mp4 (and sample.json)

Needs the ``ffmpeg`` and ``espeak-ng`` binaries (apt) and vidq installed (it reuses the
test-media helpers in ``vidq.testing``).  ``sample.json`` records where each topic and
sentence really is, for the tests.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from pathlib import Path

from vidq.testing.speech import speech_track, write_wav
from vidq.testing.video import Scene, TextOverlay, make_video

HERE = Path(__file__).resolve().parent
SIZE = (256, 144)  # pixels; small keeps the file well under 1.5 MB
FPS = 8.0  # frames per second
GAP = 0.6  # seconds of silence between sentences
TOPIC_GAP = 2.0  # seconds of silence before a new topic
TITLE_SECONDS = 6.0  # how long each topic's title card stays on screen

TOPICS = (
    ("Honeybees", "0xd0a020", (
        "Honeybees live in colonies of up to sixty thousand insects.",
        "A single queen lays all of the eggs in the hive.",
        "Worker bees collect nectar from flowers and turn it into honey.",
        "Bees tell each other where the flowers are with a waggle dance.",
        "Without bees, many fruit crops would not be pollinated.",
    )),
    ("Volcanoes", "0xb03020", (
        "A volcano is an opening in the crust where molten rock escapes.",
        "Below the surface the molten rock is called magma.",
        "Once it flows out of the volcano it is called lava.",
        "Some eruptions throw clouds of ash high into the sky.",
        "Iceland has more than thirty active volcanoes.",
    )),
    ("Baking bread", "0x3060c0", (
        "To bake bread you need flour, water, salt and yeast.",
        "The yeast eats sugar and releases gas that makes the dough rise.",
        "Kneading the dough builds gluten, which gives bread its chewy texture.",
        "Let the dough rise for about an hour in a warm place.",
        "Bake the loaf in a hot oven until the crust is golden brown.",
    )),
)


def layout() -> tuple[list[tuple[float, str]], list[dict], float]:
    """Sentence start times (estimated from espeak's speed), topic spans, total duration."""
    from vidq.testing.speech import ESPEAK_RATE, espeak

    sentences: list[tuple[float, str]] = []
    topics: list[dict] = []
    t = 1.0
    for k, (title, _color, lines) in enumerate(TOPICS):
        if k:
            t += TOPIC_GAP
        start = t - (1.0 if k == 0 else TOPIC_GAP / 2)
        for line in lines:
            sentences.append((round(t, 3), line))
            t += espeak(line).size / ESPEAK_RATE + GAP
        topics.append({"title": title, "start": round(max(0.0, start), 3), "end": round(t, 3)})
    duration = round(t + 1.0, 3)
    topics[-1]["end"] = duration
    for a, b in itertools.pairwise(topics):
        a["end"] = b["start"]
    return sentences, topics, duration


def main(out: Path = HERE / "sample.mp4") -> None:
    sentences, topics, duration = layout()
    track, placed = speech_track(sentences, duration)
    scenes = [Scene(t["end"] - t["start"], color=color, pattern=pattern)
              for t, (_title, color, _lines), pattern in zip(topics, TOPICS, ("life", "grid", "gradient"))]
    texts = [TextOverlay(t["start"] + 0.5, t["start"] + 0.5 + TITLE_SECONDS, t["title"].upper()) for t in topics]
    with tempfile.TemporaryDirectory(prefix="vidq-sample-") as tmp:
        wav = Path(tmp) / "speech.wav"
        write_wav(wav, track)
        make_video(out, size=SIZE, fps=FPS, scenes=scenes, burn_timestamp=False, texts=texts, audio=wav,
                   gop_seconds=4.0, crf=30, preset="veryslow", faststart=True,
                   extra_args=["-b:a", "24k", "-ac", "1", "-ar", "16000"])
    truth = {
        "file": out.name,
        "duration": duration,
        "topics": topics,
        "sentences": [{"start": round(p.start, 3), "end": round(p.end, 3), "text": p.text} for p in placed],
        "on_screen": [{"start": x.start, "end": x.end, "text": x.text} for x in texts],
    }
    out.with_suffix(".json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {duration:.1f} s)\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "sample.mp4")
