"""``vidq models``: the model registry, with size, 4-bit VRAM need and offline availability.

Reads the registry and the Hugging Face cache on disk; downloads and loads nothing.
"""

from __future__ import annotations

from typing import Any, TextIO

import typer

from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.settings import current_settings

GIB = 1 << 30


def model_rows() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """One row per registered model, plus the scheme families (e.g. ``openai:MODEL``)."""
    from vidq.compress import plan_budget, weight_bytes
    from vidq.models.dims import KNOWN_DIMS, describe_params
    from vidq.models.registry import get_registry, is_available_offline

    registry = get_registry()
    rows = []
    for entry in sorted(registry.models.values(), key=lambda e: (("lite", "small", "main", "videoxl", "remote").index(e.tier)
                                                                if e.tier in ("lite", "small", "main", "videoxl", "remote") else 9, e.name)):
        dims = KNOWN_DIMS.get(entry.hf_id or "")
        row: dict[str, Any] = {
            "name": entry.name, "hf_id": entry.hf_id, "family": entry.family, "tier": entry.tier,
            "params": dims.params_total if dims else None, "params_human": describe_params(dims.params_total) if dims else None,
            "weights_4bit_bytes": weight_bytes(dims, "4bit") if dims else None,
            "vram_4bit_bytes": None, "default_frames": entry.frames, "tokens_per_frame": entry.tokens_per_frame,
            "offline": is_available_offline(entry), "remote_code": entry.remote_code,
            "sees_images": entry.tokens_per_frame is not None,
            "compressions": (["videoxl"] if entry.family == "videoxl" else list(dims.compressions)) if dims else [],
            "kv_compression": bool(dims and "kv" in dims.compressions),
            "summary": entry.summary,
        }
        if dims is not None:
            plan = plan_budget(dims, entry.frames, quant="4bit", strategies=dims.compressions)
            row["vram_4bit_bytes"] = plan.chosen.total_bytes
            row["vram_4bit_plan"] = f"{plan.chosen.label} at {plan.chosen.frames} frames"
        rows.append(row)
    schemes = [{"spec": f"{f.scheme}:MODEL", "family": f.name, "summary": f.summary}
               for f in registry.families.values() if f.scheme]
    return rows, schemes


def speech_rows() -> list[dict[str, Any]]:
    """One row per speech model (``--model`` of transcribe, ``--asr-model`` of the jobs)."""
    from dataclasses import asdict

    from vidq.speech.models import speech_models

    return [asdict(m) for m in speech_models()]


def _render_speech(out: TextIO, rows: list[dict[str, Any]]) -> None:
    out.write("\nSpeech models (transcribe --model, the jobs' --asr-model):\n")
    header = ("NAME", "LANGUAGES", "SIZE", "OFFLINE", "FROM / HOW TO GET IT")
    table = [(r["name"], "99 languages" if r["multilingual"] else "English", _mb(r["size_bytes"]),
              "yes" if r["installed"] else "no", r["source"] if r["installed"] else r["hint"]) for r in rows]
    widths = [max(len(str(x[i])) for x in [header, *table]) for i in range(len(header) - 1)]
    out.writelines("  ".join(str(c).ljust(w) for c, w in zip(line, widths)) + "  " + line[-1] + "\n"
                   for line in [header, *table])


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.0f} MB"


def _gb(n: int | None) -> str:
    return "-" if n is None else f"{n / GIB:.1f} GB"


def _render_text(out: TextIO, rows: list[dict[str, Any]], schemes: list[dict[str, str]]) -> None:
    header = ("NAME", "HF ID", "FAMILY", "SIZE", "4-BIT W", "4-BIT VRAM", "OFFLINE", "CAPABILITIES")
    table = []
    for r in rows:
        caps = ["images" if r["sees_images"] else "text only"]
        if r["compressions"]:
            caps.append("compress " + ",".join(r["compressions"]))
        if r["remote_code"]:
            caps.append("remote code")
        table.append((r["name"], r["hf_id"] or "-", r["family"], r["params_human"] or "-", _gb(r["weights_4bit_bytes"]),
                      _gb(r["vram_4bit_bytes"]), "yes" if r["offline"] else "no", "; ".join(caps)))
    widths = [max(len(str(x[i])) for x in [header, *table]) for i in range(len(header) - 1)]
    out.writelines("  ".join(str(c).ljust(w) for c, w in zip(line, widths)) + "  " + line[-1] + "\n" for line in [header, *table])
    out.write("\n4-BIT VRAM: weights + KV cache + activations at the default frames, as 'vidq plan' computes it.\n")
    out.write("OFFLINE: weights in the local Hugging Face cache (or nothing to download).\n")
    out.writelines(f"Also: {s['spec']}  {s['summary']}\n" for s in schemes)
    out.write("Any Hugging Face id or local model directory of these families works too: --model PATH.\n")


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_cmd() -> None:
        """List the models vidq knows: size, VRAM at 4-bit, offline availability, capabilities; and the speech models installed."""
        settings = current_settings()
        fmt = resolve_format(settings, ("text", "json"), "text", "models")
        rows, schemes = model_rows()
        speech = speech_rows()
        with output_stream(settings) as out:
            if fmt == "json":
                dump_json({"schema": "vidq.models/1", "models": rows, "schemes": schemes, "speech": speech}, out)
                return
            _render_text(out, rows, schemes)
            _render_speech(out, speech)
