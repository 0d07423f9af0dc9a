"""`vidq plan` as a user meets it: text and JSON output, errors, local configs."""

from __future__ import annotations

import json
import subprocess
import sys

SMALL_QWEN = {
    "model_type": "qwen2_5_vl", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 4096,
    "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "out_hidden_size": 64},
}


def test_qwen_7b_2048_frames_fits_24_gib_with_the_arithmetic_shown(cli):
    r = cli("plan", "--model", "qwen2.5-vl-7b", "--frames", "2048", "--vram", "24")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "2048 -> 1024 grids of 16x16 tokens (2 frames per grid) = 128 tokens/frame" in out
    assert "262,144 tokens before compression" in out
    assert "57,344 B/token = 2 x 28 layers x 4 KV heads x 128 dims x 2 B" in out
    assert "to fit 24 GiB   slowfast at 2048 frames: 17,664 visual tokens" in out
    assert " weights + " in out and " KV + " in out and "does NOT fit" not in out
    assert r.stderr == ""


def test_json_for_video_xl_on_80_gib(cli):
    r = cli("plan", "-m", "video-xl", "-n", "2048", "--vram", "80", "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["schema"] == "vidq.plan/1"
    assert data["model"]["name"] == "sy1998/Video_XL" and data["tokens_per_frame"] == 144
    [plan] = data["plans"]
    assert plan["vram_gb"] == 80 and plan["fits"]
    chosen = plan["chosen"]
    assert (chosen["strategy"], chosen["ratio"], chosen["visual_tokens"]) == ("videoxl", 16, 18432)
    assert set(data["weights"]) == {"4bit", "8bit", "none"}
    assert data["weights"]["4bit"] < data["weights"]["8bit"] < data["weights"]["none"]


def test_default_targets_are_24_48_80(cli):
    r = cli("plan", "-m", "llava-onevision-7b", "-n", "256", "--json")
    data = json.loads(r.stdout)
    assert [p["vram_gb"] for p in data["plans"]] == [24, 48, 80]
    assert [o["strategy"] for o in data["ladder"]][:4] == ["none", "progressive", "slowfast", "prompt"]
    r = cli("plan", "-m", "llava-onevision-7b", "-n", "256")
    assert "to fit 24 GiB" in r.stdout and "to fit 48 GiB" in r.stdout and "to fit 80 GiB" in r.stdout


def test_a_forced_strategy_and_ratio(cli):
    r = cli("plan", "-m", "qwen2.5-vl-7b", "-n", "2048", "--compress", "kv", "--ratio", "16", "--vram", "24", "--json")
    chosen = json.loads(r.stdout)["plans"][0]["chosen"]
    assert (chosen["strategy"], chosen["ratio"], chosen["visual_tokens"]) == ("kv", 16, 16384)
    r = cli("plan", "-m", "qwen2.5-vl-7b", "-n", "2048", "--compress", "none", "--vram", "24")
    assert r.exit_code == 0 and "does NOT fit" in r.stdout and "exceeds the trained window 32,768" in r.stdout


def test_local_directory(cli, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(SMALL_QWEN))
    r = cli("plan", "-m", str(tmp_path), "-n", "16", "--json")
    data = json.loads(r.stdout)
    assert data["model"]["family"] == "qwen2_5_vl" and data["model"]["trained_context"] == 4096
    assert data["plans"][0]["chosen"]["strategy"] == "none"


def test_output_file(cli, tmp_path):
    target = tmp_path / "plan.json"
    r = cli("plan", "-m", "smolvlm2-256m", "-n", "64", "--json", "-o", str(target))
    assert r.exit_code == 0 and r.stdout == ""
    assert json.loads(target.read_text())["model"]["name"] == "HuggingFaceTB/SmolVLM2-256M-Video-Instruct"


def test_unknown_model_is_exit_2_listing_the_known_names(cli, tmp_path):
    target = tmp_path / "plan.json"
    r = cli("plan", "-m", "gpt-9", "-o", str(target))
    assert r.exit_code == 2 and r.stdout == "" and not target.exists()
    assert r.stderr.startswith("vidq: error: unknown model 'gpt-9'; known: ")
    assert "qwen2.5-vl-7b" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_bad_flags_are_exit_2(cli):
    for args in (["--quant", "3bit"], ["--compress", "zip"], ["--ratio", "4"], ["--compress", "videoxl"],
                 ["--frames", "0"], ["--format", "srt"]):
        r = cli("plan", "-m", "qwen2.5-vl-7b", *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert r.stdout == "" and r.stderr.startswith("vidq: error:"), args


def test_plan_never_imports_torch():
    code = "import sys, vidq.cli.commands.plan, vidq.compress; assert 'torch' not in sys.modules, 'torch imported'"
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
