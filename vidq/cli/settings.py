"""The global options every command sees, resolved once per invocation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidq.cli._click import click

from vidq.store import Store, default_cache_dir


def default_library() -> Path:
    """``$VIDQ_LIBRARY``, else ``$XDG_DATA_HOME/vidq/library`` (``~/.local/share/vidq/library``)."""
    given = os.environ.get("VIDQ_LIBRARY")
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "vidq" / "library"


@dataclass
class Settings:
    """Global options after flags > env > config > defaults."""

    format: str | None = None  # --format / --json; None: the command's own default
    output: Path | None = None  # -o/--output; None or '-' means stdout
    quiet: bool = False  # -q: errors only on stderr
    verbose: int = 0  # -v (debug logs), -vv (also tracebacks)
    progress: bool = True  # False under --no-progress; bars also need a TTY on stderr
    offline: bool = False  # --offline: never touch the network
    device: str = "auto"  # --device auto|cpu|cuda[:N]
    cache_dir: Path = field(default_factory=default_cache_dir)  # --cache-dir / VIDQ_CACHE_DIR
    no_cache: bool = False  # --no-cache: neither read nor write the cache
    library: Path = field(default_factory=default_library)  # --library / VIDQ_LIBRARY: the indexed recordings
    timeout: float | None = None  # --timeout / VIDQ_TIMEOUT: wall-clock bound on the command, seconds
    config_file: Path | None = None  # the config file that was read (None: none)
    config: dict[str, Any] = field(default_factory=dict)  # its parsed contents

    @property
    def store(self) -> Store:
        """The intermediate-result cache (disabled under --no-cache); it also reads the timelines the
        library keeps, so a job on an indexed file reuses its analysis after the cache was cleared."""
        timelines = self.library / "timelines"
        return Store(None if self.no_cache else self.cache_dir, read_also=[timelines] if timelines.is_dir() else [])

    @property
    def to_stdout(self) -> bool:
        return self.output is None or str(self.output) == "-"

    def apply_offline_env(self) -> None:
        """Under --offline, make Hugging Face libraries refuse the network before they import."""
        if self.offline:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            os.environ["HF_DATASETS_OFFLINE"] = "1"


def current_settings() -> Settings:
    """The Settings of the running invocation (defaults outside one, e.g. in library use)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found if found is not None else Settings()
