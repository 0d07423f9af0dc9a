"""Generated scenarios and one cache shared by the job tests (summarize, ask, find, ads).

Loaded as a pytest plugin by ``tests/conftest.py``.  Every fixture is session-scoped and
keeps its files under the session's pytest base temp dir, so the hour-scale video is built
once and transcribed once per run however many tests use it:

- ``scenarios_dir``: where ``vidq.testing.scenarios`` caches generated videos + truth JSON;
- ``short_scenario`` / ``hour_scenario``: the ~3-minute and ~61-minute scenarios;
- ``job_cache``: a ``--cache-dir`` for every job test (probe, transcripts, OCR, vectors);
- ``sample_video``: the README's ``examples/sample.mp4`` and its truth JSON;
- ``tiny_vlm``: ``tiny_vlm(family)`` -> a tiny random-weight VLM folder for ``--model``;
- ``speech_clip``: 12 s of grey picture with three spoken sentences (cache and soak tests).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def scenarios_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "scenarios"


@pytest.fixture(scope="session")
def job_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.getbasetemp() / "job-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def short_scenario(scenarios_dir: Path):
    from vidq.testing.scenarios import short_scenario as build

    return build(scenarios_dir)


@pytest.fixture(scope="session")
def hour_scenario(scenarios_dir: Path):
    from vidq.testing.scenarios import hour_scenario as build

    return build(scenarios_dir)


@pytest.fixture(scope="session")
def sample_video() -> tuple[Path, dict]:
    video = REPO / "examples" / "sample.mp4"
    return video, json.loads(video.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory):
    from vidq.testing.tiny_models import tiny_model_dir

    root = tmp_path_factory.getbasetemp() / "tiny-models"

    def get(family: str = "qwen2_5_vl") -> Path:
        return tiny_model_dir(family, root)

    return get


SPEECH_CLIP_SENTENCES = (
    (0.5, "The secret code is four two seven."),
    (4.5, "Bees make honey from the nectar of flowers."),
    (8.5, "Call now and save twenty percent on every order."),
)


@pytest.fixture(scope="session")
def speech_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vidq.testing.speech import make_speech_video

    path = tmp_path_factory.getbasetemp() / "speech-clip" / "clip.mp4"
    if not path.exists():
        make_speech_video(path, SPEECH_CLIP_SENTENCES, 12.0)
    return path
