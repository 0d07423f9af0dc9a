"""``vidq cache info|clear|verify``: inspect, empty or check the intermediate-result cache."""

from __future__ import annotations

import typer

from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.settings import current_settings
from vidq.errors import ExitCode
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


VERIFY_EXIT_HELP = (
    "Exit codes: 0 nothing wrong (or everything found was repaired) · 1 problems found "
    "(rerun with --repair) · 3 --repair could not remove some of them."
)
LABELS = {"unreadable": "unreadable", "stale-temp": "stale temp", "orphaned-lock": "orphaned lock",
          "old-layout": "old layout"}


def _render_verify(report, out) -> None:
    """Text form of a VerifyReport: a summary, then one line per problem."""
    out.write(f"cache: {report.root}\n")
    out.write(f"checked: {report.checked} entries ({report.unchecked} not checkable, {report.in_use} files in use)\n")
    if not report.problems:
        out.write("no problems\n")
        return
    fixed = sum(p.repaired for p in report.problems)
    tail = f", {fixed} repaired" if report.repair else " (rerun with --repair to remove them)"
    out.write(f"problems: {len(report.problems)}{tail}\n")
    for p in report.problems:
        mark = "  [removed]" if p.repaired else ""
        out.write(f"  {LABELS[p.kind]:<14} {p.path}: {p.reason}{mark}\n")


def register(app: typer.Typer) -> None:
    cache = typer.Typer(help="Inspect, empty or check the cache of probe, transcript and feature results.",
                        no_args_is_help=True)

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

    @cache.command("verify", epilog=VERIFY_EXIT_HELP)
    def verify_cmd(
        repair: bool = typer.Option(False, "--repair", help="Remove what is wrong: damaged entries, stale temporary "
                                    "files, orphaned locks, trees of older layouts."),
    ) -> None:
        """Read every cached entry back; report damaged entries, stale temporary files and orphaned locks."""
        from vidq.store import Store
        from vidq.store.verify import verify

        settings = current_settings()
        report = verify(Store(settings.cache_dir), repair=repair)
        fmt = resolve_format(settings, ("text", "json"), "text", "cache verify")
        with output_stream(settings) as out:
            if fmt == "json":
                dump_json({"schema": "vidq.cache.verify/1", **report.to_dict()}, out)
            else:
                _render_verify(report, out)
        if report.unrepaired:
            raise typer.Exit(int(ExitCode.RUNTIME if repair else ExitCode.NO_MATCH))

    app.add_typer(cache, name="cache")
