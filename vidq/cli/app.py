"""The ``vidq`` Typer app: global options, config, logging, and the error boundary.

Commands live one per module in ``vidq.cli.commands`` and are registered by name from
``COMMAND_MODULES``.  Global options (``--json``, ``-o``, ``--device`` ...) may be given
before or after the command name: ``VidqGroup.parse_args`` moves them to the front.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

from vidq.cli._click import click
import typer
from typer.core import TyperGroup

from vidq import __version__
from vidq.cli import deadline
from vidq.cli.commands.index import RAY_ADDRESS
from vidq.cli.config import build_default_map, config_path, load_config
from vidq.cli.settings import Settings
from vidq.errors import ExitCode, VidqError

# Commands in the order `vidq --help` lists them; each module defines register(app).
COMMAND_MODULES: tuple[str, ...] = (
    "probe",
    "frames",
    "transcribe",
    "summarize",
    "find",
    "ads",
    "ask",
    "index",
    "library",
    "report",
    "plan",
    "models",
    "eval",
    "doctor",
    "cache",
    "completion",
)

# Global options, accepted anywhere on the command line (before `--`).
GLOBAL_FLAGS = frozenset({"--json", "-q", "--quiet", "-v", "--verbose", "--no-progress", "--offline", "--no-cache"})
GLOBAL_VALUED = frozenset({"--format", "-o", "--output", "--config", "--device", "--cache-dir", "--timeout",
                           "--library"})

# Options whose value may be left out: option -> (value then, the form a given value has)
OPTIONAL_VALUES = {"--ray": ("auto", RAY_ADDRESS)}

EXIT_CODES_HELP = (
    "Exit codes: 0 success (find: at least one hit) · 1 find: no hit; cache/library verify: problems found · "
    "2 usage or input error · 3 model/runtime failure (a remote server unusable; ask --choices: the reply "
    "names no option), --timeout expired · 130 interrupted · 141 stdout closed early (| head)."
)
GLOBAL_NOTE = "Global options (--json, --format, -o, -q, -v, --device, --offline, ...) may be given anywhere; see 'vidq --help'."

log = logging.getLogger("vidq")


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options (with their values) in front of the command name.

    ``["probe", "a.mp4", "--json"]`` becomes ``["--json", "probe", "a.mp4"]``.  Scanning
    stops at ``--``; everything else keeps its order.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS or (len(arg) > 2 and arg.startswith("-v") and set(arg[1:]) == {"v"}):
            front.append(arg)
        elif name in GLOBAL_VALUED and "=" in arg and name.startswith("--"):
            front.append(arg)
        elif arg in GLOBAL_VALUED:
            front.append(arg)
            if i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        elif arg.startswith("-o") and len(arg) > 2 and not arg.startswith("--"):
            front.extend(["-o", arg[2:]])
        else:
            rest.append(arg)
        i += 1
    return front + rest


def fill_optional_values(args: list[str]) -> list[str]:
    """Give an option whose value may be left out (``OPTIONAL_VALUES``) its default value when it
    is not followed by a value of the form it takes: ``index DIR --ray`` -> ``index DIR --ray auto``."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        out.append(arg)
        if arg in OPTIONAL_VALUES:
            default, form = OPTIONAL_VALUES[arg]
            if i + 1 >= len(args) or not form.match(args[i + 1]):
                out.append(default)
    return out


def _explicit_config(args: list[str]) -> str | None:
    """The value of ``--config`` among ``args``, if any (read before click parses)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


class VidqGroup(TyperGroup):
    """Typer group with hoisted global options, config defaults and one-line errors."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = fill_optional_values(hoist_global_options(list(args)))
        path, required = config_path(_explicit_config(args))
        config = load_config(path, required)
        ctx.meta["vidq.config"] = (path if path.exists() else None, config)
        if config and ctx.default_map is None:
            ctx.default_map = build_default_map(self, config)
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None and not cmd.epilog:
            cmd.epilog = GLOBAL_NOTE
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as e:
            if _stdout_closed():
                raise _PipeClosed() from e
            raise
        except OSError as e:  # the disk failed under a write that names no file: stdout's
            from vidq.cli.output import DISK_ERRNOS

            if e.errno not in DISK_ERRNOS or e.filename is not None:
                raise
            raise VidqError(f"cannot write to stdout ({e.strerror or e})") from e

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if sys.stdout is None:  # started with stdout closed (`vidq ... >&-`)
            if not any(a in ("-o", "--output") or a.startswith("--output=") for a in argv):
                _say("vidq: error: stdout is closed; redirect it (> FILE) or give -o FILE")
                if standalone_mode:
                    sys.exit(ExitCode.INPUT)
                return ExitCode.INPUT
            sys.stdout = open(os.devnull, "w")  # the data goes to -o; what else a command prints is dropped
        code = run_guarded(lambda: super(VidqGroup, self).main(
            args=argv, prog_name=prog_name or "vidq", complete_var=complete_var, standalone_mode=False, **extra
        ), argv)
        if standalone_mode:
            sys.exit(code)
        return code


class _PipeClosed(Exception):
    """Whoever read stdout stopped reading (``vidq find ... | head -1``)."""


def _stdout_closed() -> bool:
    """Whether stdout is a pipe that nobody reads any more (its write end reports an error)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or stdout is not a file
        return False


def _say(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def _debugging(argv: list[str]) -> bool:
    """-vv (or VIDQ_DEBUG=1) asks for tracebacks."""
    level = sum(len(a) - 1 for a in argv if a.startswith("-v") and set(a[1:]) == {"v"}) + argv.count("--verbose")
    return os.environ.get("VIDQ_DEBUG") == "1" or level >= 2


def run_guarded(call: Any, argv: list[str]) -> int:
    """Run the CLI; map every failure to one line on stderr and an exit code.

    A ``--timeout`` armed by the command line is disarmed here whichever way the command
    ends; if it fired (even while another failure was being reported) the run ends with
    its one line and exit 3.
    """
    try:
        try:
            return _guarded(call, argv)
        finally:
            deadline.disarm()
    except deadline.TimedOut as e:
        _say(f"vidq: error: {e}")
        deadline.exit_soon()
        return e.exit_code


def _guarded(call: Any, argv: list[str]) -> int:
    try:
        rv = call()
    except _PipeClosed:
        # quiet, as a process SIGPIPE ended: what was read was whole lines of the data, and the
        # interpreter's last flush of stdout must not complain either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.PIPE_CLOSED
    except click.NoArgsIsHelpError as e:
        _say(e.ctx.get_help() if e.ctx else str(e))
        return ExitCode.INPUT
    except click.UsageError as e:
        cmd = e.ctx.command_path if e.ctx is not None else "vidq"
        _say(f"vidq: error: {e.format_message()} (see '{cmd} --help')")
        return ExitCode.INPUT
    except click.Abort:
        _say("vidq: interrupted")
        return ExitCode.INTERRUPTED
    except click.ClickException as e:
        _say(f"vidq: error: {e.format_message()}")
        return e.exit_code
    except VidqError as e:
        _say(f"vidq: error: {e}")
        if _debugging(argv):
            traceback.print_exc()
        return e.exit_code
    except KeyboardInterrupt:
        _say("vidq: interrupted")
        return ExitCode.INTERRUPTED
    except MemoryError:
        _say("vidq: error: out of memory (try fewer --frames or a stronger --compress)")
        return ExitCode.RUNTIME
    except Exception as e:  # the last line of defence: never a bare traceback
        if _debugging(argv):
            traceback.print_exc()
        _say(f"vidq: internal error: {type(e).__name__}: {e} (rerun with -vv for the traceback)")
        return ExitCode.RUNTIME
    if rv == ExitCode.INTERRUPTED:
        _say("vidq: interrupted")
    return int(rv) if isinstance(rv, int) else 0


class _StderrHandler(logging.Handler):
    """Writes log lines to whatever ``sys.stderr`` is at emit time (CliRunner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
            if record.levelno >= logging.ERROR:
                line = f"vidq: error: {msg}"
            elif record.levelno >= logging.WARNING:
                line = f"vidq: warning: {msg}"
            else:
                line = f"vidq: {msg}"
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never break a run
            self.handleError(record)


def setup_logging(quiet: bool, verbose: int) -> None:
    """Logs of the ``vidq`` logger go to stderr: -q errors only, default info, -v debug."""
    level = logging.ERROR if quiet else logging.DEBUG if verbose else logging.INFO
    for handler in list(log.handlers):
        if isinstance(handler, _StderrHandler):
            log.removeHandler(handler)
    log.addHandler(_StderrHandler())
    log.setLevel(level)
    log.propagate = False
    noisy = logging.WARNING if verbose >= 2 else logging.ERROR
    for name in ("transformers", "faster_whisper", "sentence_transformers", "httpx", "huggingface_hub", "accelerate"):
        logging.getLogger(name).setLevel(noisy)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error" if verbose < 2 else "warning")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


app = typer.Typer(
    cls=VidqGroup,
    name="vidq",
    help="Understand long videos: summarize, find, ads, ask.\n\nData goes to stdout; progress, logs and errors to stderr.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"vidq {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def global_options(
    ctx: typer.Context,
    format: Annotated[str | None, typer.Option("--format", envvar="VIDQ_FORMAT", help="Output format: text, json, jsonl, md, srt, vtt, edl, csv, html, ffmeta, mkvchapters, comskip (each command lists the ones it supports).", show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Shortcut for --format json.")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the result to this file (atomically) instead of stdout; '-' is stdout.", show_default=False)] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only errors on stderr.")] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More detail on stderr (-vv: tracebacks too).")] = 0,
    no_progress: Annotated[bool, typer.Option("--no-progress", envvar="VIDQ_NO_PROGRESS", help="No progress bars (they only show on a TTY anyway).")] = False,
    offline: Annotated[bool, typer.Option("--offline", envvar="VIDQ_OFFLINE", help="Never touch the network; use local and embedded models only.")] = False,
    config: Annotated[Path | None, typer.Option("--config", envvar="VIDQ_CONFIG", help="Config file (TOML). Default: $XDG_CONFIG_HOME/vidq/config.toml.", show_default=False)] = None,
    device: Annotated[str, typer.Option("--device", envvar="VIDQ_DEVICE", help="auto, cpu, cuda or cuda:N.")] = "auto",
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", envvar="VIDQ_CACHE_DIR", help="Cache directory. Default: $XDG_CACHE_HOME/vidq.", show_default=False)] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", envvar="VIDQ_NO_CACHE", help="Neither read nor write cached probe/transcript/feature results.")] = False,
    library_dir: Annotated[Path | None, typer.Option("--library", envvar="VIDQ_LIBRARY", metavar="DIR", help="The library of indexed recordings (vidq index, vidq library, vidq find with no file). Default: $XDG_DATA_HOME/vidq/library.", show_default=False)] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", envvar="VIDQ_TIMEOUT", metavar="SECONDS", help="Stop the whole command after this many seconds of wall-clock time: exit 3 with one line, no output file written.", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Understand long videos: summarize, find, ads, ask."""
    setup_logging(quiet, verbose)
    config_file, config_data = ctx.meta.get("vidq.config", (None, {}))
    settings = Settings(
        format="json" if json_ else format,
        output=output,
        quiet=quiet,
        verbose=verbose,
        progress=not no_progress,
        offline=offline,
        device=_check_device(device),
        no_cache=no_cache,
        timeout=_check_timeout(timeout) if timeout is not None else None,
        config_file=config_file,
        config=config_data,
    )
    if cache_dir is not None:
        settings.cache_dir = cache_dir.expanduser()
    if library_dir is not None:  # named apart from the `library` command, which has a config table of its own
        settings.library = library_dir.expanduser()
    settings.apply_offline_env()
    ctx.obj = settings
    if settings.timeout is not None:
        deadline.arm(settings.timeout)


def _check_device(device: str) -> str:
    d = device.strip().lower()
    if d in ("auto", "cpu", "cuda", "mps") or (d.startswith("cuda:") and d[5:].isdigit()):
        return d
    raise typer.BadParameter(f"{device!r} is not a device; use auto, cpu, cuda or cuda:N", param_hint="--device")


def _check_timeout(seconds: float) -> float:
    try:
        return deadline.check_seconds(seconds)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--timeout") from None


for _name in COMMAND_MODULES:
    importlib.import_module(f"vidq.cli.commands.{_name}").register(app)


def main() -> None:
    """Console entry point."""
    app()
