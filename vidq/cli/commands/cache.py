"""``vidq cache info|clear``: inspect or empty the intermediate-result cache."""

from __future__ import annotations

import typer

from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.settings import current_settings
from vidq.store import StoreInfo


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _render(info: StoreInfo, verb: str, command: str) -> None:
    settings = current_settings()
    fmt = resolve_format(settings, ("text", "json"), "text", command)
    with output_stream(settings) as out:
        if fmt == "json":
            dump_json({"schema": "vidq.cache/1", "action": verb, "root": info.root, "enabled": info.enabled,
                       "files": info.files, "bytes": info.bytes, "stages": info.stages}, out)
            return
        out.write(f"cache: {info.root}{'' if info.enabled else ' (disabled by --no-cache)'}\n")
        label = "removed" if verb == "clear" else "entries"
        out.write(f"{label}: {info.files} files, {_human(info.bytes)}\n")
        for stage, count in sorted(info.stages.items()):
            out.write(f"  {stage}: {count}\n")


def register(app: typer.Typer) -> None:
    cache = typer.Typer(help="Inspect or empty the cache of probe, transcript and feature results.", no_args_is_help=True)

    @cache.command("info")
    def info_cmd() -> None:
        """Where the cache is and what it holds."""
        settings = current_settings()
        store = settings.store if not settings.no_cache else type(settings.store)(settings.cache_dir)
        info = store.info()
        info.enabled = not settings.no_cache
        _render(info, "info", "cache info")

    @cache.command("clear")
    def clear_cmd() -> None:
        """Remove every cached entry (models in the Hugging Face cache are not touched)."""
        from vidq.store import Store

        removed = Store(current_settings().cache_dir).clear()
        _render(removed, "clear", "cache clear")

    app.add_typer(cache, name="cache")
