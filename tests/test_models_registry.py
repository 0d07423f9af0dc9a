"""Registry, --model resolution, plugin entry points, --model auto, load plans (pure rules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidq.errors import InputError, MissingDependency, ModelError
from vidq.models import loading
from vidq.models import registry as reg
from vidq.models.base import Backend, Capabilities, Generation, Prepared
from vidq.models.loading import choose_load_plan, resolve_device
from vidq.models.registry import (
    Family,
    ModelEntry,
    Registry,
    load_backend,
    resolve,
    resolve_auto,
)
from vidq.models.vlm.engine import keep_positions, stronger
from vidq.models.vlm.layout import frame_stamp, group_blocks


class EchoBackend(Backend):
    name = "echo"
    capabilities = Capabilities(sees_images=False, max_context=100)

    def __init__(self, request):
        self.request = request

    def prepare(self, video, prompt, options):
        return Prepared("echo", prompt)

    def generate(self, prepared, options):
        return Generation(text=prepared.payload.upper())


def plugin_register(registry: Registry) -> None:
    registry.add_family(Family(name="echo", load=EchoBackend, scheme="echo", model_types=("echo_model",)))
    registry.add_model(ModelEntry(name="echo-1", family="echo", hf_id=None, frames=4, tokens_per_frame=None, tier="lite"))


class FakeEntryPoint:
    name = "echo"
    value = "tests.test_models_registry:plugin_register"

    def load(self):
        return plugin_register


@pytest.fixture
def with_plugin(monkeypatch):
    monkeypatch.setattr(reg, "entry_points", lambda group: [FakeEntryPoint()] if group == "vidq.backends" else [])
    reg.reset_registry()
    yield reg.get_registry()
    reg.reset_registry()


def test_third_party_plugin_registers_through_the_entry_point(with_plugin):
    assert "echo-1" in with_plugin.models and "qwen2.5-vl-7b" in with_plugin.models  # plugin + built-ins
    backend = load_backend("echo-1")
    assert backend.answer(None, "hi").text == "HI"
    assert backend.request.entry.name == "echo-1" and backend.request.family == "echo"
    assert load_backend("echo:anything").request.source == "anything"


def test_broken_plugin_is_a_warning_not_a_crash(monkeypatch, caplog):
    class Broken(FakeEntryPoint):
        def load(self):
            raise ImportError("missing dep")

    monkeypatch.setattr(reg, "entry_points", lambda group: [Broken()])
    registry = Registry()
    reg.load_plugins(registry)
    assert "qwen2.5-vl-7b" in registry.models
    assert any("failed to load" in r.getMessage() for r in caplog.records)


def test_resolve_names_ids_and_schemes():
    family, source, entry = resolve("qwen2.5-vl-7b")
    assert (family.name, source, entry.name) == ("qwen2_5_vl", "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl-7b")
    family, source, entry = resolve("Qwen/Qwen2.5-VL-7B-Instruct")
    assert entry.name == "qwen2.5-vl-7b"
    assert resolve("video-xl")[2].name == "video-xl-7b"
    family, source, entry = resolve("openai:gpt-4o-mini")
    assert (family.name, source, entry) == ("openai", "gpt-4o-mini", None)
    with pytest.raises(InputError, match="unknown model 'nonsense'; known: .*qwen2.5-vl-7b"):
        resolve("nonsense")
    with pytest.raises(InputError, match="give a model name after 'openai:'"):
        resolve("openai:")


def test_resolve_local_directories(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps({"model_type": "smolvlm"}))
    family, source, _ = resolve(str(tmp_path / "m"))
    assert family.name == "smolvlm" and source == str(tmp_path / "m")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(InputError, match="model_type 'bert' is not supported"):
        resolve(str(tmp_path / "x"))
    with pytest.raises(InputError, match="no such directory"):
        resolve(str(tmp_path / "missing"))
    with pytest.raises(InputError, match="no config.json"):
        resolve(str(tmp_path))


def test_uncached_hub_id_offline_is_an_input_error():
    with pytest.raises(InputError, match="not in the local Hugging Face cache and --offline forbids downloading"):
        resolve("someone/some-vlm", offline=True)
    with pytest.raises(InputError, match="weights are not on this machine and --offline forbids"):
        load_backend("smolvlm2-256m", device="cpu", offline=True)


def _fake_hf_cache(root: Path, repo: str) -> None:
    """The layout huggingface_hub's try_to_load_from_cache reads (refs/main -> snapshot)."""
    folder = root / ("models--" + repo.replace("/", "--"))
    snap = folder / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / "main").write_text("abc123")
    (snap / "config.json").write_text("{}")
    (snap / "model.safetensors").write_bytes(b"")


def test_auto_prefers_cached_vlms_then_lite(monkeypatch, tmp_path, caplog):
    caplog.set_level("INFO", logger="vidq")
    cached: set[str] = set()
    monkeypatch.setattr(loading, "weights_present", lambda source: source in cached)
    registry = Registry()
    reg.load_plugins(registry, ("vidq.models.builtin",))
    registry.add_model(ModelEntry(name="lite", family="lite", hf_id=None, frames=32, tokens_per_frame=None, tier="lite"))
    assert resolve_auto("cpu", True, registry=registry) == "lite"
    assert "no cached vision-language model" in caplog.records[-1].getMessage()
    cached.add("Qwen/Qwen2.5-VL-7B-Instruct")
    assert resolve_auto("cpu", True, registry=registry) == "lite"  # a 7B is not for the CPU
    assert resolve_auto("auto", True, registry=registry, cuda_available=True) == "qwen2.5-vl-7b"
    cached.add("HuggingFaceTB/SmolVLM2-500M-Video-Instruct")
    assert resolve_auto("cpu", True, registry=registry) == "smolvlm2-500m"
    assert resolve_auto("cpu", True, registry=registry, configured="my/model") == "my/model"


def test_weights_present_reads_the_hf_cache(monkeypatch, tmp_path):
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    _fake_hf_cache(tmp_path, "HuggingFaceTB/SmolVLM2-256M-Video-Instruct")
    assert loading.weights_present("HuggingFaceTB/SmolVLM2-256M-Video-Instruct")
    assert not loading.weights_present("Qwen/Qwen2.5-VL-7B-Instruct")


def test_auto_without_lite_or_cache_says_what_to_do(monkeypatch):
    monkeypatch.setattr(loading, "weights_present", lambda source: False)
    registry = Registry()
    reg.load_plugins(registry, ("vidq.models.builtin",))
    with pytest.raises(ModelError, match="no cached model and the offline 'lite' stack is not installed"):
        resolve_auto("cpu", True, registry=registry)


# --- load plans: pure rules ------------------------------------------------------------------

def test_cuda_defaults_to_nf4_with_the_vision_tower_unquantized():
    plan = choose_load_plan("cuda:0", None, "qwen2_5_vl", have_bitsandbytes=True, have_flash_attn=True)
    assert (plan.quant, plan.dtype, plan.attn) == ("4bit", "bfloat16", "flash_attention_2")
    assert "visual" in plan.skip_modules and "lm_head" in plan.skip_modules
    plan = choose_load_plan("cuda:1", "8bit", "llava_onevision", have_bitsandbytes=True, have_flash_attn=False)
    assert (plan.quant, plan.attn) == ("8bit", "sdpa")
    assert {"vision_tower", "multi_modal_projector"} <= set(plan.skip_modules)
    plan = choose_load_plan("cuda:0", "none", "smolvlm", have_bitsandbytes=False, have_flash_attn=False,
                            bf16_supported=False)
    assert (plan.quant, plan.dtype, plan.skip_modules) == (None, "float16", ())


def test_cpu_never_uses_bitsandbytes():
    plan = choose_load_plan("cpu", None, "qwen3_vl", have_bitsandbytes=True, have_flash_attn=True)
    assert (plan.quant, plan.dtype, plan.attn) == (None, "float32", "sdpa")
    with pytest.raises(InputError, match="--quant 4bit needs a CUDA GPU"):
        choose_load_plan("cpu", "4bit", "qwen3_vl", have_bitsandbytes=True, have_flash_attn=False)


def test_missing_bitsandbytes_is_a_one_line_hint():
    with pytest.raises(MissingDependency) as err:
        choose_load_plan("cuda:0", None, "qwen2_5_vl", have_bitsandbytes=False, have_flash_attn=False)
    message = str(err.value)
    assert "\n" not in message and "bitsandbytes is not installed" in message and "--quant none" in message
    assert "pip install 'vidq[gpu]'" in message


def test_from_pretrained_kwargs_carry_the_plan():
    pytest.importorskip("transformers")
    import torch

    cpu = loading.from_pretrained_kwargs(choose_load_plan("cpu", None, "smolvlm", have_bitsandbytes=False,
                                                          have_flash_attn=False))
    assert cpu == {"dtype": torch.float32, "attn_implementation": "sdpa"}


def test_devices():
    assert resolve_device("auto", cuda_available=False) == "cpu"
    assert resolve_device("auto", cuda_available=True) == "cuda:0"
    assert resolve_device("cuda:1", cuda_available=True) == "cuda:1"
    with pytest.raises(InputError, match="no CUDA GPU is visible"):
        resolve_device("cuda", cuda_available=False)


# --- small pure helpers ----------------------------------------------------------------------

def test_stronger_ladder():
    stock = ("none", "progressive", "slowfast", "prompt", "kv")
    assert stronger("none", None, 64, stock)[:3] == ("progressive", None, 64)
    assert stronger("prompt", None, 64, stock)[:3] == ("kv", 2, 64)
    assert stronger("kv", 8, 64, stock)[:3] == ("kv", 12, 64)
    assert stronger("kv", 16, 64, stock) == ("kv", 16, 32, "frames 64 -> 32")
    assert stronger("prompt", None, 64, ("none", "prompt"))[:3] == ("prompt", None, 32)


def test_keep_positions_spread_evenly():
    assert keep_positions(10, 4) == {0, 3, 6, 9}
    assert keep_positions(5, 9) == {0, 1, 2, 3, 4}
    assert keep_positions(7, 1) == {0}


def test_frame_stamps():
    assert frame_stamp(0) == "[00:00.0]"
    assert frame_stamp(83.46) == "[01:23.5]"
    assert frame_stamp(3725.0) == "[1:02:05.0]"
    assert frame_stamp(5.0, duration=4000) == "[0:00:05.0]"


def test_group_layouts_cover_their_rows():
    meta = {"strides": [1, 2, 4], "fast_grid": [4, 4], "windows": [2, 5, 5]}
    assert group_blocks("none", {}, 0, (14, 14), 196) == ((14, 14),)
    assert group_blocks("progressive", meta, 1, (14, 14), 49) == ((7, 7),)
    assert group_blocks("progressive", meta, 2, (14, 14), 16) == ((4, 4),)
    assert group_blocks("slowfast", meta, 0, (14, 14), 98 + 16) == ((14, 7), (4, 4))
    assert group_blocks("slowfast", meta, 3, (14, 14), 16) == ((4, 4),)
    assert group_blocks("prompt", meta, 0, (14, 14), 25) == ((5, 5),)
    assert group_blocks("mystery", {}, 0, (3, 3), 7) == ((1, 7),)


def test_chat_template_falls_back_to_the_model_files(tmp_path):
    from types import SimpleNamespace

    from vidq.models.vlm.prompt import load_template

    tok = SimpleNamespace(chat_template=None)
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    find = lambda name: loading.model_file(str(tmp_path), name, offline=True)
    assert load_template(tok, find) == "{{ messages }}"
    (tmp_path / "chat_template.jinja").write_text("J")
    assert load_template(tok, find) == "J"
    assert load_template(SimpleNamespace(chat_template="T"), find) == "T"
    with pytest.raises(ModelError, match="ships no chat template"):
        load_template(tok, lambda name: None)
