"""Prefill memory of compressed vs uncompressed visual context (``--compress progressive`` vs ``none``).

The Visual Context Window Extension paper reports about 45% less memory at 256 frames
with progressive pooling on LLaVA-OneVision (196 tokens per frame).  This benchmark feeds
256 x 196 visual tokens, as they are and after ``vidq.compress`` (progressive by default,
plus any other strategies asked for), into a small random-weight Qwen2 causal LM built
from ``transformers.Qwen2Config`` on the CPU, and measures for each:

* the prefill's peak memory: resident-set high-water mark (``VmHWM``, reset through
  ``/proc/self/clear_refs``) minus the resident set just before the prefill, in a fresh
  process per strategy so no allocator cache carries over;
* the KV cache it leaves: bytes of every key and value tensor in the returned cache.

Ratios are taken within the same run.  Usage::

    python benchmarks/compress.py                      # none vs progressive, 256 frames
    python benchmarks/compress.py --strategies none,progressive,slowfast,prompt --layers 4
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time


def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def child(args: argparse.Namespace) -> dict:
    """Build the model and the visual tokens, compress, prefill once, report memory."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from vidq.compress import CompressOptions, compress

    torch.set_num_threads(args.threads)
    config = Qwen2Config(
        hidden_size=args.hidden, intermediate_size=4 * args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, num_key_value_heads=args.kv_heads, vocab_size=1024,
        max_position_embeddings=65536, attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).eval()
    side = math.isqrt(args.tokens)
    generator = torch.Generator().manual_seed(1)
    grids = torch.randn(args.frames, side, side, args.hidden, generator=generator)  # [T, H, W, D]
    prompt = torch.randn(args.hidden, generator=generator)
    packed = compress(grids, options=CompressOptions(strategy=args.child), prompt_embedding=prompt)
    embeds = torch.cat(packed.groups, dim=0).unsqueeze(0)  # [1, tokens, D]
    del grids
    before = _status_bytes("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    start = time.perf_counter()
    with torch.no_grad():
        out = model(inputs_embeds=embeds, use_cache=True, logits_to_keep=1)
    seconds = time.perf_counter() - start
    peak = _status_bytes("VmHWM:") - before
    cache = out.past_key_values
    kv = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    return {"strategy": args.child, "tokens": int(embeds.shape[1]), "peak_bytes": peak, "kv_bytes": kv,
            "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=256, help="frames (token grids)")
    parser.add_argument("--tokens", type=int, default=196, help="visual tokens per frame (a square grid)")
    parser.add_argument("--strategies", default="none,progressive", help="comma-separated; the first is the baseline")
    parser.add_argument("--hidden", type=int, default=128, help="Qwen2 hidden size (MLP is 4x)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--kv-heads", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if math.isqrt(args.tokens) ** 2 != args.tokens:
        parser.error(f"--tokens must be a square (a grid side squared), got {args.tokens}")
    if args.child:
        print(json.dumps(child(args)))
        return

    print(f"load average: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs")
    print(f"model: Qwen2Config hidden={args.hidden} layers={args.layers} heads={args.heads} "
          f"kv_heads={args.kv_heads}, random weights, float32, SDPA, CPU")
    print(f"input: {args.frames} frames x {args.tokens} tokens = {args.frames * args.tokens:,} visual tokens\n")
    rows = []
    base_cmd = [sys.executable, __file__, *sys.argv[1:]]
    for strategy in args.strategies.split(","):
        proc = subprocess.run(base_cmd + ["--child", strategy], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"{strategy}: child failed:\n{proc.stderr}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    base = rows[0]
    print(f"{'strategy':<12}{'tokens':>9}{'peak MiB':>11}{'KV MiB':>9}{'prefill s':>11}"
          f"{'tokens %':>10}{'peak %':>8}{'KV %':>7}")
    for r in rows:
        print(f"{r['strategy']:<12}{r['tokens']:>9,}{r['peak_bytes'] / 2**20:>11.1f}{r['kv_bytes'] / 2**20:>9.1f}"
              f"{r['seconds']:>11.1f}{100 * r['tokens'] / base['tokens']:>9.1f}%"
              f"{100 * r['peak_bytes'] / base['peak_bytes']:>7.1f}%{100 * r['kv_bytes'] / base['kv_bytes']:>6.1f}%")
    print()
    for r in rows[1:]:
        saved = 1 - r["peak_bytes"] / base["peak_bytes"]
        print(f"{r['strategy']} vs {base['strategy']}: prefill peak memory {saved:.0%} lower "
              f"(ratio {r['peak_bytes'] / base['peak_bytes']:.3f}), KV cache ratio {r['kv_bytes'] / base['kv_bytes']:.3f}")
    planner_at_scale(args, [r["strategy"] for r in rows])


def planner_at_scale(args: argparse.Namespace, strategies: list[str]) -> None:
    """The same comparison for the paper's model, from the budget planner's arithmetic (bf16, no quantization)."""
    from vidq.compress.budget import GIB, evaluate
    from vidq.models.dims import resolve_dims

    dims = resolve_dims("llava-onevision-7b")
    if dims.tokens_per_grid != args.tokens:
        return
    options = [evaluate(dims, args.frames, s, quant="none") for s in strategies if s not in ("kv", "videoxl")]
    base = options[0]
    print(f"\nplanner estimate, {dims.name} at {args.frames} frames, bf16 weights:")
    for o in options:
        print(f"  {o.strategy:<12}{o.total_bytes / GIB:>7.2f} GiB  (weights {o.weight_bytes / GIB:.2f} + KV {o.kv_bytes / GIB:.2f}"
              f" + activations {o.activation_bytes / GIB:.2f} + features {o.feature_bytes / GIB:.2f} + 1.00)"
              f"  {1 - o.total_bytes / base.total_bytes:>4.0%} less")


if __name__ == "__main__":
    main()
