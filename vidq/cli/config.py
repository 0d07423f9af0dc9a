"""Configuration: flags > ``VIDQ_*`` environment > config file > defaults.

The config file is TOML at ``$XDG_CONFIG_HOME/vidq/config.toml`` (or ``VIDQ_CONFIG``, or
``--config PATH``).  Top-level keys apply to every command that has an option of that
name; a table named after a command applies to that command only::

    frames = 512            # every job's --frames
    device = "cpu"          # the global --device
    [find]
    top = 3                 # vidq find --top 3
    [eval.niah]
    depths = 5

Click applies the result as ``default_map``, so a flag or its ``VIDQ_*`` variable still
wins over the file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidq.cli._click import click

from vidq.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/vidq/config.toml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "vidq" / "config.toml"


def config_path(explicit: str | None) -> tuple[Path, bool]:
    """The config file to read, and whether the user named it (a named file must exist)."""
    if explicit:
        return Path(explicit).expanduser(), True
    env = os.environ.get("VIDQ_CONFIG")
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False


def load_config(path: Path, required: bool) -> dict[str, Any]:
    """Read the TOML file; a missing default file is an empty config, anything broken is exit 2."""
    if not path.exists():
        if required:
            raise InputError(f"config file {path}: no such file")
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"config file {path}: {e}") from e
    except OSError as e:
        raise InputError(f"config file {path}: {e.strerror or e}") from e


def _norm(key: str) -> str:
    return key.replace("-", "_")


def default_map_for(command: click.Command, config: Mapping[str, Any], inherited: Mapping[str, Any]) -> dict[str, Any]:
    """Build click's ``default_map`` for ``command`` from the config tree.

    ``inherited`` holds the top-level scalar keys, applied wherever an option of that name
    exists; ``config`` is the table for this command (nested tables for subcommands).
    """
    names = {p.name for p in command.params if p.name}
    out: dict[str, Any] = {}
    for key, value in inherited.items():
        if _norm(key) in names:
            out[_norm(key)] = value
    for key, value in config.items():
        if not isinstance(value, Mapping) and _norm(key) in names:
            out[_norm(key)] = value
    for name, sub in getattr(command, "commands", {}).items():
        table = config.get(name, {})
        out[name] = default_map_for(sub, table if isinstance(table, Mapping) else {}, inherited)
    return out


def build_default_map(group: click.Group, config: Mapping[str, Any]) -> dict[str, Any]:
    """The whole ``default_map`` for the top-level group."""
    inherited = {k: v for k, v in config.items() if not isinstance(v, Mapping)}
    return default_map_for(group, {k: v for k, v in config.items() if isinstance(v, Mapping)} | inherited, inherited)
