"""``vidq plan``: the token and memory budget of a model at N frames, from its config alone.

Prints tokens per frame, visual tokens, KV-cache and weight bytes per quantization, the
compression ladder with each option's memory, and the weakest compression that fits 24,
48 and 80 GiB GPUs (or ``--vram``).  No weights are loaded and torch is not imported.
"""

from __future__ import annotations

from typing import Annotated, Any, TextIO

import typer

from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.settings import current_settings
from vidq.compress.budget import (
    ANSWER_TOKENS,
    CONTEXT_FILL,
    GIB,
    PROMPT_TOKENS,
    QUANTS,
    BudgetPlan,
    Option,
    evaluate,
    ladder_steps,
    plan_budget,
    weight_bytes,
)
from vidq.compress.types import STRATEGIES
from vidq.models.dims import ModelDims, describe_params, resolve_dims

DEFAULT_VRAMS_GB: tuple[float, ...] = (24, 48, 80)  # consumer, workstation and datacenter GPUs
DEFAULT_FRAMES = 256


def _gib(n: int) -> str:
    return f"{n / GIB:.2f} GiB"


def _vram_label(gb: float) -> str:
    return f"{gb:g} GiB"


def _option_json(option: Option) -> dict[str, Any]:
    return {
        "strategy": option.strategy, "ratio": option.ratio, "frames": option.frames, "grids": option.grids,
        "grid": list(option.grid), "visual_tokens_in": option.visual_tokens_in, "visual_tokens": option.visual_tokens,
        "prefill_tokens": option.prefill_tokens, "context_tokens": option.context_tokens,
        "context_limit": option.context_limit, "within_context": option.within_context,
        "kv_bytes": option.kv_bytes, "activation_bytes": option.activation_bytes,
        "feature_bytes": option.feature_bytes, "weight_bytes": option.weight_bytes,
        "overhead_bytes": option.overhead_bytes, "total_bytes": option.total_bytes,
        "fits_memory": option.fits_memory, "fits": option.fits,
    }


def _plan_json(vram_gb: float | None, plan: BudgetPlan) -> dict[str, Any]:
    return {"vram_gb": vram_gb, "fits": plan.fits, "exceeds_trained_context": plan.exceeds_context,
            "reason": plan.reason, "chosen": _option_json(plan.chosen)}


def _render_text(out: TextIO, dims: ModelDims, frames: int, quant: str, ladder: list[Option],
                 plans: list[tuple[float | None, BudgetPlan]], prompt_tokens: int, answer_tokens: int) -> None:
    first = ladder[0]
    h, w = first.grid
    per_frame = h * w / dims.temporal_merge
    merge = f" ({dims.temporal_merge} frames per grid)" if dims.temporal_merge > 1 else ""
    out.write(f"model     {dims.name}  ({dims.family}; {describe_params(dims.params_total)} parameters, "
              f"{describe_params(dims.params_vision)} vision)\n")
    out.write(f"frames    {frames} -> {first.grids} grids of {h}x{w} tokens{merge} = {per_frame:g} tokens/frame\n")
    out.write(f"visual    {first.visual_tokens_in:,} tokens before compression\n")
    out.write(f"context   trained window {dims.trained_context:,} tokens; plans fill up to {first.context_limit:,} "
              f"({CONTEXT_FILL:.0%}); prompt {prompt_tokens} + answer {answer_tokens}\n")
    out.write(f"KV cache  {dims.kv_bytes_per_token():,} B/token = 2 x {dims.layers} layers x {dims.kv_heads} KV heads "
              f"x {dims.head_dim} dims x 2 B\n")
    weights = "   ".join(f"{q} {_gib(weight_bytes(dims, q))}" for q in QUANTS)
    out.write(f"weights   {weights}   (4bit/8bit: LLM linears only; vision tower, embeddings stay bf16)\n")
    target_gb, _target = plans[0]
    fits_col = f"fits {_vram_label(target_gb)}" if target_gb is not None else "fits"
    out.write(f"\nladder at {frames} frames, {quant} weights "
              "(total = weights + KV + activations + features + 1 GiB overhead):\n")
    header = f"  {'option':<15}{'visual':>9}{'context':>10}{'KV':>12}{'activ.':>12}{'features':>12}{'total':>12}  {fits_col}\n"
    out.write(header)
    for option in ladder:
        verdict = "yes" if option.fits else f"no ({option.why_not()})"
        out.write(f"  {option.label:<15}{option.visual_tokens:>9,}{option.context_tokens:>10,}{_gib(option.kv_bytes):>12}"
                  f"{_gib(option.activation_bytes):>12}{_gib(option.feature_bytes):>12}{_gib(option.total_bytes):>12}  {verdict}\n")
    out.write("\n")
    for vram_gb, plan in plans:
        c = plan.chosen
        where = f"to fit {_vram_label(vram_gb)}" if vram_gb is not None else "to fit the context"
        status = "" if plan.fits else "  (does NOT fit)"
        out.write(f"{where:<16}{c.label} at {c.frames} frames: {c.visual_tokens:,} visual tokens, context "
                  f"{c.context_tokens:,}{status}\n")
        out.write(f"{'':<16}{_gib(c.weight_bytes)} weights + {_gib(c.kv_bytes)} KV + {_gib(c.activation_bytes)} activations"
                  f" + {_gib(c.feature_bytes)} features + {_gib(c.overhead_bytes)} overhead = {_gib(c.total_bytes)}\n")
        if plan.exceeds_context:
            out.write(f"{'':<16}warning: context {c.context_tokens:,} exceeds the trained window {plan.trained_context:,}\n")
        if not plan.fits:
            out.write(f"{'':<16}{plan.reason}\n")


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        model: Annotated[str, typer.Option("--model", "-m", help="Registry short name (e.g. qwen2.5-vl-7b), Hugging Face id, or a local directory with a config.json.", show_default=False)],
        frames: Annotated[int, typer.Option("--frames", "-n", min=1, help="Frames to show the model.")] = DEFAULT_FRAMES,
        vram: Annotated[float | None, typer.Option("--vram", min=0.5, help="GPU memory in GiB to plan for (default: show 24, 48 and 80).", show_default=False)] = None,
        quant: Annotated[str, typer.Option("--quant", help="Weight quantization: 4bit, 8bit or none.")] = "4bit",
        compress: Annotated[str, typer.Option("--compress", help="auto (weakest that fits), or one of: " + ", ".join(STRATEGIES) + ".")] = "auto",
        ratio: Annotated[int | None, typer.Option("--ratio", min=1, help="Ratio r for --compress kv|videoxl (default: the smallest that fits).", show_default=False)] = None,
        resolution: Annotated[int | None, typer.Option("--resolution", min=16, help="Frame side in pixels, for models with dynamic resolution (Qwen-VL).", show_default=False)] = None,
        prompt_tokens: Annotated[int, typer.Option("--prompt-tokens", min=0, help="Tokens of system prompt, question and template.")] = PROMPT_TOKENS,
        answer_tokens: Annotated[int, typer.Option("--answer-tokens", min=0, help="Tokens to generate.")] = ANSWER_TOKENS,
    ) -> None:
        """Token and memory budget of a model at N frames, and the compression that fits a GPU.

        Arithmetic from the model's config only: no weights are downloaded or loaded.
        """
        settings = current_settings()
        fmt = resolve_format(settings, ("text", "json"), "text", "plan")
        if quant not in QUANTS:
            raise typer.BadParameter(f"{quant!r} is not one of {', '.join(QUANTS)}", param_hint="--quant")
        if compress != "auto" and compress not in STRATEGIES:
            raise typer.BadParameter(f"{compress!r} is not one of auto, {', '.join(STRATEGIES)}", param_hint="--compress")
        if ratio is not None and compress not in ("kv", "videoxl"):
            raise typer.BadParameter("--ratio applies to --compress kv or videoxl only", param_hint="--ratio")
        dims = resolve_dims(model)
        if compress != "auto" and compress not in dims.compressions:
            raise typer.BadParameter(f"{dims.name} supports {', '.join(dims.compressions)}", param_hint="--compress")
        common = {"quant": quant, "resolution": resolution, "prompt_tokens": prompt_tokens, "answer_tokens": answer_tokens}
        targets: list[float | None] = [vram] if vram is not None else list(DEFAULT_VRAMS_GB)
        plans = [(gb, plan_budget(dims, frames, vram_gb=gb, compress=compress, ratio=ratio, **common)) for gb in targets]
        steps = ladder_steps(dims) if compress == "auto" else [(compress, r) for r in ([ratio] if ratio else [None])]
        if compress in ("kv", "videoxl") and ratio is None:
            steps = [s for s in ladder_steps(dims) if s[0] == compress]
        ladder = [evaluate(dims, frames, s, r, vram_gb=targets[0], **common) for s, r in steps]
        with output_stream(settings) as out:
            if fmt == "json":
                dump_json({
                    "schema": "vidq.plan/1",
                    "model": {
                        "name": dims.name, "family": dims.family, "params_total": dims.params_total,
                        "params_vision": dims.params_vision, "layers": dims.layers, "hidden": dims.hidden,
                        "kv_heads": dims.kv_heads, "head_dim": dims.head_dim, "max_position": dims.max_position,
                        "trained_context": dims.trained_context, "token_grid": list(ladder[0].grid),
                        "temporal_merge": dims.temporal_merge, "compressions": list(dims.compressions),
                        "source": dims.source,
                    },
                    "frames": frames, "quant": quant, "compress": compress,
                    "tokens_per_frame": ladder[0].grid[0] * ladder[0].grid[1] / dims.temporal_merge,
                    "kv_bytes_per_token": dims.kv_bytes_per_token(),
                    "context_fill": CONTEXT_FILL, "prompt_tokens": prompt_tokens, "answer_tokens": answer_tokens,
                    "weights": {q: weight_bytes(dims, q) for q in QUANTS},
                    "ladder": [_option_json(o) for o in ladder],
                    "plans": [_plan_json(gb, p) for gb, p in plans],
                }, out)
                return
            _render_text(out, dims, frames, quant, ladder, plans, prompt_tokens, answer_tokens)
