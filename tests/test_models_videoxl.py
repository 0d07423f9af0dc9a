"""Video-XL through remote code: refused without --trust-remote-code (exit 2), and the
loading + generate path on a fake remote-code model the test writes (auto_map + modeling file)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from vidq.errors import ExitCode, InputError
from vidq.media.types import FrameBatch
from vidq.models.base import GenerateOptions, VideoInput
from vidq.models.registry import load_backend
from vidq.models.videoxl import IMAGE_TOKEN_INDEX, TOKEN_PERFRAME, VideoXLBackend
from vidq.testing.tiny_models import build_fake_videoxl


@pytest.fixture(scope="module")
def fake_xl(tmp_path_factory):
    return build_fake_videoxl(tmp_path_factory.mktemp("fake-videoxl"))


def _video(n: int = 6) -> VideoInput:
    images = np.random.default_rng(0).integers(0, 255, (n, 20, 24, 3), dtype=np.uint8)
    batch = FrameBatch(images=images, pts=np.arange(n) * 10.0, indices=np.arange(n))
    subs = ["", "a cat appears", "", "", "the soda ad starts", ""][:n]
    return VideoInput(batches=iter([batch]), times=[i * 10.0 for i in range(n)], subtitles=subs, duration=n * 10.0)


def test_remote_code_is_refused_without_the_flag(fake_xl):
    with pytest.raises(InputError, match="runs the model's own Python code .*rerun with --trust-remote-code") as err:
        load_backend(str(fake_xl), device="cpu", offline=True)
    assert err.value.exit_code == ExitCode.INPUT
    with pytest.raises(InputError, match="video-xl-7b runs the model's own Python code"):
        load_backend("video-xl-7b", device="cpu", offline=True)


def test_loads_through_auto_model_and_sets_the_beacon_ratio(fake_xl):
    backend = load_backend(str(fake_xl), device="cpu", offline=True, trust_remote_code=True)
    assert isinstance(backend, VideoXLBackend)
    assert type(backend.model).__name__ == "FakeXLForCausalLM"
    result = backend.answer(_video(), "Is there an ad?", GenerateOptions(compress="videoxl", ratio=8, max_new_tokens=9))
    assert result.text == "beacons summarized the video"
    call = backend.model.calls[-1]
    assert call["beacon_ratio"] == [8] and call["resets"] == 1
    assert call["modalities"] == ["video"] and call["images"] == [(6, 3, 16, 16)]
    ids = call["input_ids"][0]
    assert ids.count(IMAGE_TOKEN_INDEX) == 1
    assert call["beacon_skip_first"] == ids.index(IMAGE_TOKEN_INDEX)
    assert call["beacon_skip_last"] - call["beacon_skip_first"] == TOKEN_PERFRAME * 6
    assert call["kwargs"]["do_sample"] is False and call["kwargs"]["max_new_tokens"] == 9
    text = backend.tokenizer.decode([i for i in ids if i >= 0])
    assert "[00:10.0] a cat appears" in text and "[00:40.0] the soda ad starts" in text
    assert text.rstrip().endswith("assistant")
    assert result.meta["compression"] == "videoxl" and result.meta["ratio"] == 8
    # a second video resets the beacon memory again
    backend.answer(_video(2), "Q?", GenerateOptions(compress="videoxl", ratio=16, max_new_tokens=2))
    assert backend.model.calls[-1]["resets"] == 2 and backend.model.calls[-1]["beacon_ratio"] == [16]


def test_ratio_and_strategy_are_checked(fake_xl):
    backend = load_backend(str(fake_xl), device="cpu", offline=True, trust_remote_code=True)
    with pytest.raises(InputError, match="--ratio 5: Video-XL was trained with 2, 4, 8, 12, 16"):
        backend.prepare(_video(), "Q?", GenerateOptions(compress="videoxl", ratio=5))
    with pytest.raises(InputError, match="--compress kv: Video-XL compresses with its own beacons"):
        backend.prepare(_video(), "Q?", GenerateOptions(compress="kv"))
    prepared = backend.prepare(_video(), "Q?", GenerateOptions())
    assert prepared.meta["ratio"] == 16  # no planner for the fake config: the strongest trained ratio
