"""One prepared GPU check for the model layer (run it on a lent GPU in one go).

    python benchmarks/gpu_check.py [--family qwen2_5_vl] [--clip clip.mp4 | --no-decode] [--cli [DEVICE]]
                                   [--json out.json]

On a tiny random-weight model (``vidq.testing.tiny_models``) it compares, for the same
frames and prompt:

1. the unquantized float32 CPU run (the reference),
2. CUDA bf16, SDPA,
3. CUDA bitsandbytes 4-bit (nf4, double quant, bf16 compute) with flash-attn 2 when
   installed (SDPA otherwise), and 8-bit,

reporting the max |logit difference| over every prompt position, top-1 agreement, whether
greedy answers match, and peak GPU memory; then the grid strategies (slowfast, progressive,
prompt-guided pooling) in CUDA bf16 against their CPU runs, a ``--compress kv`` run on CUDA,
and a torchcodec GPU decode (FFmpeg's NVDEC and torchcodec's own "beta" CUDA backend) of a
clip against the CPU decode; with ``--cli``, every job through the real CLI with ``--device
cuda`` on the tiny model (a sidecar .srt stands in for speech recognition).  ``--clip`` names a clip made elsewhere, for a GPU machine with no
``ffmpeg`` binary to make one.  Prints a report and
exits non-zero only when a check crashes; parts that cannot run here (no GPU, a package
missing) are skipped with the reason printed, so it also runs on a CPU-only machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

N_FRAMES = 16
PROMPT = "What happens in this video, and when?"


def _video(n: int = N_FRAMES):
    from vidq.media.types import FrameBatch
    from vidq.models.base import VideoInput

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, 56, 56, 3), dtype=np.uint8)
    batches = [FrameBatch(images=images[i:i + 8], pts=np.arange(i, min(n, i + 8)) * 2.0,
                          indices=np.arange(i, min(n, i + 8))) for i in range(0, n, 8)]
    subs = [f"the speaker says word {i}" if i % 2 else "" for i in range(n)]
    return VideoInput(batches=iter(batches), times=[i * 2.0 for i in range(n)], subtitles=subs, duration=n * 2.0)


def _load(folder: Path, family: str, device: str, quant: str | None, attn: str | None = None):
    from vidq.models.loading import choose_load_plan, installed
    from vidq.models.vlm.engine import TransformersBackend

    plan = choose_load_plan(device, quant, family, have_bitsandbytes=installed("bitsandbytes"),
                            have_flash_attn=installed("flash_attn") if attn is None else attn == "flash_attention_2")
    return TransformersBackend.load(str(folder), family=family, name=f"tiny-{family}", plan=plan, offline=True)


def _all_logits(backend, options) -> tuple[Any, str]:
    """Logits at every prompt position [L, V] (float32, CPU) and the greedy answer."""
    import torch

    from vidq.models.vlm import kvprefill

    prepared = backend.prepare(_video(), PROMPT, options)
    packed = prepared.payload.packed
    a = backend.adapter
    cache = kvprefill.new_cache(a.language_model)
    with torch.inference_mode():
        embeds = a.embed_tokens(packed.ids.to(a.device)).unsqueeze(0)
        embeds[0, packed.visual_mask.to(a.device)] = packed.features.to(a.device, embeds.dtype)
        deep = None if packed.deepstack is None else [d.to(a.device, embeds.dtype) for d in packed.deepstack]
        hidden = a.lm_forward(embeds, packed.positions, cache, packed.visual_mask, deep)
        logits = a.lm_head(hidden)[0].float().cpu()
    answer = backend.generate(prepared, options).text
    return logits, answer


def _compare(ref, other) -> dict[str, Any]:
    diff = (ref - other).abs()
    return {"max_abs_diff": round(float(diff.max()), 5), "mean_abs_diff": round(float(diff.mean()), 5),
            "top1_agreement": round(float((ref.argmax(-1) == other.argmax(-1)).float().mean()), 4),
            "positions": int(ref.shape[0])}


def check_quantized(family: str, root: Path, report: dict[str, Any]) -> None:
    import torch

    from vidq.models.base import GenerateOptions
    from vidq.models.loading import installed
    from vidq.testing.tiny_models import tiny_model_dir

    folder = tiny_model_dir(family, root)
    options = GenerateOptions(max_new_tokens=8, compress="none")
    cpu = _load(folder, family, "cpu", None)
    ref, ref_answer = _all_logits(cpu, options)
    report["cpu_fp32"] = {"answer": ref_answer}
    if not torch.cuda.is_available():
        report["cuda"] = "skipped: no CUDA device"
        return
    report["device"] = torch.cuda.get_device_name(0)
    runs = [("cuda_bf16_sdpa", "none", "sdpa"), ("cuda_4bit", "4bit", None), ("cuda_8bit", "8bit", None)]
    for label, quant, attn in runs:
        if quant != "none" and not installed("bitsandbytes"):
            report[label] = "skipped: bitsandbytes is not installed (pip install 'vidq[gpu]')"
            continue
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        backend = _load(folder, family, "cuda:0", quant, attn)
        logits, answer = _all_logits(backend, options)
        entry = {"attention": backend.plan.attn, "quant": backend.plan.quant or backend.plan.dtype,
                 **_compare(ref, logits), "greedy_answer_matches_cpu": answer == ref_answer,
                 "peak_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                 "seconds": round(time.perf_counter() - t0, 2)}
        if quant in ("4bit", "8bit"):
            entry["quantized_linears"] = sum(type(m).__name__ in ("Linear4bit", "Linear8bitLt")
                                             for m in backend.adapter.model.modules())
            vision = tuple(f"{part}." for part in backend.plan.skip_modules if part.startswith("model."))
            parts = [(n, type(m).__name__) for n, m in backend.adapter.model.named_modules() if n.startswith(vision)]
            entry["vision_modules"] = len(parts)
            entry["vision_tower_unquantized"] = bool(parts) and not any(
                kind in ("Linear4bit", "Linear8bitLt") for _, kind in parts)
        report[label] = entry
        del backend
    grid_strategies(family, folder, report)
    # kv compression on CUDA with the default plan (4-bit when bitsandbytes is there)
    if installed("bitsandbytes"):
        from vidq.compress import CompressOptions, kv_kept

        backend = _load(folder, family, "cuda:0", None)
        backend.compress_options = CompressOptions(kv_window=64)
        torch.cuda.reset_peak_memory_stats()
        result = backend.answer(_video(64), PROMPT, GenerateOptions(max_new_tokens=8, compress="kv", ratio=8))
        m = result.meta
        report["cuda_kv"] = {"kv_entries": m["kv_entries"], "expected": m["kv_sink"] + kv_kept(m["kv_video_tokens"], 8, 64),
                             "peak_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                             "answer": result.text}


def grid_strategies(family: str, folder: Path, report: dict[str, Any]) -> None:
    """Each pooling strategy's CUDA bf16 run against its CPU float32 run (same frames, same prompt)."""
    from vidq.models.base import GenerateOptions

    for strategy in ("slowfast", "progressive", "prompt"):
        options = GenerateOptions(max_new_tokens=8, compress=strategy)
        try:
            ref, ref_answer = _all_logits(_load(folder, family, "cpu", None), options)
            logits, answer = _all_logits(_load(folder, family, "cuda:0", "none", "sdpa"), options)
            report[f"cuda_bf16_{strategy}"] = {**_compare(ref, logits), "greedy_answer_matches_cpu": answer == ref_answer}
        except Exception as e:  # noqa: BLE001 - one strategy failing is a finding, not the end of the check
            report[f"cuda_bf16_{strategy}"] = f"failed: {type(e).__name__}: {e}"
            traceback.print_exc()


def check_torchcodec(report: dict[str, Any], clip: Path | None = None) -> None:
    import torch

    from vidq.models.loading import installed

    if not torch.cuda.is_available():
        report["torchcodec_gpu"] = "skipped: no CUDA device"
        return
    if not installed("torchcodec"):
        report["torchcodec_gpu"] = "skipped: torchcodec is not installed (pip install 'vidq[gpu]')"
        return
    import torchcodec
    from torchcodec.decoders import VideoDecoder, set_cuda_backend

    if str(torchcodec.__version__).endswith("+cpu"):
        report["torchcodec_gpu"] = (f"skipped: torchcodec {torchcodec.__version__} is a CPU build (PyPI's); "
                                    "the CUDA one comes from download.pytorch.org")
        return

    with tempfile.TemporaryDirectory() as tmp:
        if clip is None:
            from vidq.testing.video import make_video

            clip = make_video(Path(tmp) / "clip.mp4", duration=4.0, size=(320, 240), fps=25, n_scenes=4)
        indices = [0, 20, 50, 99]
        cpu = VideoDecoder(str(clip), device="cpu").get_frames_at(indices=indices)
        report["torchcodec_cpu_pts"] = [round(float(p), 3) for p in cpu.pts_seconds]
        for variant in ("ffmpeg", "beta"):
            label = f"torchcodec_gpu_{variant}"
            try:
                torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                with set_cuda_backend(variant):
                    gpu = VideoDecoder(str(clip), device="cuda").get_frames_at(indices=indices)
                seconds = time.perf_counter() - t0
                report[label] = {
                    "frames": list(gpu.data.shape), "device": str(gpu.data.device),
                    "pts_match_cpu": [round(float(p), 3) for p in gpu.pts_seconds] == report["torchcodec_cpu_pts"],
                    "mean_abs_diff_vs_cpu": round(float((gpu.data.float().cpu() - cpu.data.float()).abs().mean()), 3),
                    "seconds": round(seconds, 3), "peak_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                }
            except Exception as e:  # noqa: BLE001 - report each variant's failure, try the other
                report[label] = f"failed: {type(e).__name__}: {e}"
                traceback.print_exc()


SIDECAR = """1
00:00:01,000 --> 00:00:04,000
Welcome to the show about the harbour.

2
00:00:06,000 --> 00:00:09,000
The secret code is four two seven.

3
00:00:12,000 --> 00:00:16,000
Call now and save twenty percent on every order.
"""
CLI_RUNS = (  # (label, vidq arguments after the file and model); each run is a fresh process
    ("ask_4bit", ["ask", "{clip}", "What is the secret code?"]),
    ("ask_8bit_choices", ["ask", "{clip}", "What is the secret code?", "--choices", "A) 427", "B) 913",
                          "--quant", "8bit"]),
    ("summarize_kv4", ["summarize", "{clip}", "--compress", "kv", "--ratio", "4"]),
    ("summarize_slowfast_bf16", ["summarize", "{clip}", "--compress", "slowfast", "--quant", "none"]),
    ("find", ["find", "the secret code", "{clip}"]),
    ("ads", ["ads", "{clip}"]),
)


def check_cli(family: str, root: Path, clip: Path | None, device: str, report: dict[str, Any]) -> None:
    """Every job through the real CLI on ``device`` (``--device cuda`` by default) with the tiny
    model, the clip and a sidecar .srt (no speech model needed): exit code, wall time, and where
    and how the model ran, from each job's JSON."""
    import shutil
    import subprocess

    from vidq.testing.tiny_models import tiny_model_dir

    folder = tiny_model_dir(family, root)
    work = root / "cli"
    work.mkdir(exist_ok=True)
    if clip is None:
        from vidq.testing.video import make_video

        clip = make_video(work / "clip.mp4", duration=20.0, size=(320, 240), fps=25, n_scenes=4)
    else:
        clip = Path(shutil.copy(clip, work / f"clip{clip.suffix}"))
    clip.with_suffix(".srt").write_text(SIDECAR)
    for label, args in CLI_RUNS:
        argv = [a.format(clip=clip) for a in args]
        command = [sys.executable, "-m", "vidq", "--device", device, *argv, "--model", str(folder),
                   "--cache-dir", str(work / "cache"), "--json"]
        t0 = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
        entry: dict[str, Any] = {"exit": done.returncode, "seconds": round(time.perf_counter() - t0, 1)}
        try:
            meta = json.loads(done.stdout).get("meta", {})
            backend = meta.get("backend") or {}
            entry.update({k: backend[k] for k in ("device", "quant", "compression", "frames") if k in backend})
            files = meta.get("files") or [meta]
            entry["not_read"] = files[0].get("analysis", {}).get("not_read")
        except (json.JSONDecodeError, AttributeError, IndexError):
            entry["stdout"] = done.stdout[-300:]
        if done.returncode not in (0, 1):
            entry["stderr"] = done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else []
        report[f"cli_{label}"] = entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="qwen2_5_vl", help="tiny model family (default qwen2_5_vl)")
    parser.add_argument("--clip", type=Path, help="decode this clip (default: make one with ffmpeg)")
    parser.add_argument("--no-decode", action="store_true", help="skip the torchcodec check")
    parser.add_argument("--cli", metavar="DEVICE", nargs="?", const="cuda",
                        help="also run every job through the CLI with --device DEVICE (default cuda)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"family": args.family}
    crashed = []
    with tempfile.TemporaryDirectory() as root:
        for name, check in (("quantized", lambda: check_quantized(args.family, Path(root), report)),
                            ("torchcodec", lambda: None if args.no_decode else check_torchcodec(report, args.clip)),
                            ("cli", lambda: None if args.cli is None else check_cli(args.family, Path(root), args.clip,
                                                                                     args.cli, report))):
            try:
                check()
            except Exception as e:  # noqa: BLE001 - report every crash, run the other checks
                crashed.append(name)
                report[f"{name}_error"] = f"{type(e).__name__}: {e}"
                traceback.print_exc()
    for key, value in report.items():
        print(f"{key}: {json.dumps(value) if not isinstance(value, str) else value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
