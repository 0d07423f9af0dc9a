"""``vidq library ls|stats|rm|prune|verify``: see and tidy the library of indexed recordings."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vidq.cli.commands.cache import _human
from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.settings import current_settings
from vidq.errors import ExitCode, InputError
from vidq.timefmt import hms

SCHEMA = "vidq.library/1"  # JSON schema name of every library subcommand's output


def _open(must_exist: bool = True):
    from vidq.library import Library

    lib = Library(current_settings().library)
    if must_exist and not lib.exists:
        raise InputError(f"no library at {lib.root} (index some recordings first: vidq index DIR)")
    return lib


def _emit(command: str, doc: dict[str, Any], text: Any) -> None:
    """``doc`` as JSON (``--json``), else ``text(out)``."""
    settings = current_settings()
    fmt = resolve_format(settings, ("text", "json"), "text", f"library {command}")
    with output_stream(settings) as out:
        if fmt == "json":
            dump_json({"schema": SCHEMA, "action": command, **doc}, out)
        else:
            text(out)


def register(app: typer.Typer) -> None:
    library = typer.Typer(help="See and tidy the library of indexed recordings (see 'vidq index').",
                          no_args_is_help=True)

    @library.command("ls")
    def ls_cmd(
        within: Annotated[str | None, typer.Option("--in", metavar="GLOB", help="Only files whose path (or name) matches this glob.", show_default=False)] = None,
    ) -> None:
        """List the indexed files (and the ones whose indexing failed)."""
        with _open() as lib:
            files = lib.files(within)
            failures = lib.failures()

        def text(out) -> None:
            for r in files:
                extra = f"  (also {', '.join(p for p in r.paths if p != r.path)})" if len(r.paths) > 1 else ""
                out.write(f"{r.path}  {hms(r.duration)}  {r.meta.get('units', 0)} units  "
                          f"{r.meta.get('breaks', 0)} ad breaks{extra}\n")
            for f in failures:
                out.write(f"{f['path']}  failed ({f['attempts']}x): {f['reason']}\n")

        _emit("ls", {"files": [r.to_dict() for r in files], "failures": failures}, text)

    @library.command("stats")
    def stats_cmd() -> None:
        """How much the library holds and how big it is on disk."""
        with _open() as lib:
            stats = lib.stats()

        def text(out) -> None:
            b = stats["bytes"]
            out.write(f"library: {stats['library']} (schema {stats['schema']})\n")
            out.write(f"files: {stats['files']} ({stats['hours']:.2f} h of video), failures: {stats['failures']}\n")
            out.write(f"units: {sum(stats['units'].values())} ({', '.join(f'{k} {v}' for k, v in sorted(stats['units'].items()))}), "
                      f"vectors: {stats['vectors']['live']} live of {stats['vectors']['rows']}\n")
            out.write(f"segments: {', '.join(f'{k} {v}' for k, v in sorted(stats['segments'].items())) or 'none'}\n")
            out.write(f"size: {_human(b['total'])} (database {_human(b['database'])}, vectors {_human(b['vectors'])}, "
                      f"timelines {_human(b['timelines'])})"
                      + (f", {_human(stats['bytes_per_hour'])} per hour of video\n" if stats["bytes_per_hour"] else "\n"))

        _emit("stats", stats, text)

    @library.command("rm")
    def rm_cmd(
        patterns: Annotated[list[str], typer.Argument(metavar="PATH|GLOB...", help="Paths or glob patterns of indexed files to forget (the files themselves are not touched).", show_default=False)],
    ) -> None:
        """Forget indexed files (their recordings stay where they are)."""
        import os

        with _open() as lib:
            gone = lib.remove([os.path.abspath(p) if os.path.exists(p) else p for p in patterns])

        def text(out) -> None:
            for r in gone:
                out.write(f"removed {r.path}\n")

        _emit("rm", {"removed": [r.path for r in gone]}, text)
        if not gone:
            raise typer.Exit(int(ExitCode.NO_MATCH))

    @library.command("prune")
    def prune_cmd() -> None:
        """Forget files that no longer exist at any known path, and tidy what killed runs left."""
        with _open() as lib:
            done = lib.prune()

        def text(out) -> None:
            for p in done["files"]:
                out.write(f"removed {p}\n")
            out.write(f"pruned {len(done['files'])} files, {len(done['paths'])} paths, "
                      f"{len(done['failures'])} failures, {done['timelines']} stray timelines\n")

        _emit("prune", done, text)

    @library.command("verify", epilog="Exit codes: 0 consistent · 1 problems found · 2 no library.")
    def verify_cmd() -> None:
        """Check that the library is consistent (database, text index, vectors, stored timelines)."""
        with _open() as lib:
            problems = lib.verify()

        def text(out) -> None:
            out.write("no problems\n" if not problems else "".join(f"{p}\n" for p in problems))

        _emit("verify", {"problems": problems}, text)
        if problems:
            raise typer.Exit(int(ExitCode.NO_MATCH))

    app.add_typer(library, name="library")
