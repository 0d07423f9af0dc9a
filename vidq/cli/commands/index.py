"""``vidq index PATH...``: add recordings to the library (once, from cron, or watching a folder).

Parses options, builds an ``vidq.library.Indexer`` and prints its JSON summary; the work
lives in ``vidq.library``.  ``--write-edl`` writes the Kodi/MythTV EDL beside each
recording (``vidq.cli.commands.ads.write_edl_beside``) from the ads the analysis found, as
``vidq ads FILE --model lite --format edl`` gives them.

Signals: SIGINT and SIGTERM stop the run between two steps of one file; nothing half-written
stays visible (each file is one transaction).  The summary of what was done is still
printed; the exit code is 130 for SIGINT, and for SIGTERM 0 with ``--watch`` (the normal
way a watch ends) and 143 without.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from vidq.cli.jobopts import AsrEngineOpt, AsrModelOpt, LanguageOpt, SubtitlesOpt, job_options
from vidq.cli.output import dump_json, output_stream, resolve_format
from vidq.cli.settings import current_settings
from vidq.errors import ExitCode, InputError, VidqError

log = logging.getLogger("vidq.cli")

FORMATS = ("json",)
DEFAULT_SETTLE = 60.0  # mirrors vidq.library.DEFAULT_SETTLE (kept here so --help needs no library import)
DEFAULT_POLL = 30.0  # --watch: seconds between rescans without inotify
RAY_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[\w.-]+:\d+)$")
SIGTERM_EXIT = 128 + signal.SIGTERM


@dataclass(frozen=True)
class _Cut:
    start: float
    end: float


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived (``signum``)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _edl_writer(enabled: bool, lib: Any):
    """The indexer's callback: write ``<stem>.edl`` beside a recording just indexed (or an indexed
    one that has none yet)."""
    from vidq.cli.commands.ads import write_edl_beside

    def write(path: str, rec: Any, fresh: bool) -> None:
        target = Path(path).with_name(Path(path).stem + ".edl")
        if not enabled or (not fresh and target.exists()):
            return
        cuts = [_Cut(s["start"], s["end"]) for s in lib.ads_result(rec.id)]
        try:
            write_edl_beside(Path(path), type("Ads", (), {"segments": cuts}))
        except VidqError as e:
            log.warning("%s", e)

    return write


def register(app: typer.Typer) -> None:
    @app.command("index")
    def index_command(
        paths: Annotated[list[str], typer.Argument(metavar="PATH...", help="Video files, folders (searched recursively) or glob patterns ('/rec/**/*.ts').", show_default=False)],
        include: Annotated[list[str] | None, typer.Option("--include", metavar="PATTERN", help="Take a folder's files whose name (or path below the folder) matches this glob; repeatable. Default: common video extensions.", show_default=False)] = None,
        exclude: Annotated[list[str] | None, typer.Option("--exclude", metavar="PATTERN", help="Never take files whose name or path matches this glob; repeatable.", show_default=False)] = None,
        jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Files analysed at once (worker processes, or Ray tasks). Default: one per 2 cores and 3 GiB of memory (Ray: all the cluster's CPUs).", show_default=False)] = None,
        settle: Annotated[float, typer.Option("--settle", metavar="SECONDS", help="Skip files changed less than this long ago (a recording in progress, a copy not finished); a later run takes them.")] = DEFAULT_SETTLE,
        write_edl: Annotated[bool, typer.Option("--write-edl", help="Write <video stem>.edl (Kodi/MythTV skip list of the ads found) next to each recording as it is indexed.")] = False,
        watch: Annotated[bool, typer.Option("--watch", help="Keep running: index files as they appear and settle (inotify on Linux, else a rescan every --poll seconds); stop with SIGINT or SIGTERM.")] = False,
        poll: Annotated[float, typer.Option("--poll", metavar="SECONDS", help="With --watch: seconds between rescans (the longest wait when inotify is available).")] = DEFAULT_POLL,
        ray: Annotated[str | None, typer.Option("--ray", metavar="[ADDRESS]", help="Analyse on a Ray cluster: auto (the cluster this machine is part of, or RAY_ADDRESS), HOST:PORT, ray://HOST:PORT, or local (start one here). Every node must see the files at the same paths. Needs vidq[ray].", show_default=False)] = None,
        ray_cpus: Annotated[float, typer.Option("--ray-cpus", metavar="N", help="With --ray: CPUs each file's analysis reserves.")] = 1.0,
        subtitles: SubtitlesOpt = "auto",
        asr_model: AsrModelOpt = "tiny.en",
        asr_engine: AsrEngineOpt = "faster-whisper",
        language: LanguageOpt = None,
    ) -> None:
        """Index recordings into the library, so that 'vidq find QUERY' (no file) searches them all.

        Each new or changed file is analysed once (transcript, on-screen
        text, ads, sentence vectors) and stored; a file already indexed is
        recognised by its content (moved or renamed too) and skipped.
        Failures are recorded with their reason and retried by the next
        run. Two runs at once share the work (each file is analysed once);
        searches work while a run writes. Prints a JSON summary (indexed,
        moved, unchanged, skipped, failed) on stdout; progress goes to
        stderr. From cron: 'vidq index /recordings --write-edl'.
        """
        from vidq.library import IndexOptions, Indexer, Library, Summary, discover, make_runner

        settings = current_settings()
        resolve_format(settings, FORMATS, "json", "index")
        if ray is not None and not RAY_ADDRESS.match(ray):
            raise InputError(f"--ray={ray}: not a Ray address (auto, local, HOST:PORT or ray://HOST:PORT)")
        if not poll > 0:
            raise InputError(f"--poll must be a positive number of seconds, not {poll:g}")
        job = job_options(settings, subtitles=subtitles, asr_model=asr_model, asr_engine=asr_engine,
                          language=language)
        options = IndexOptions(tuple(include or ()), tuple(exclude or ()), settle, job.analysis()).validate()
        lib = Library(settings.library)
        indexer_args = {"cache_dir": None if settings.no_cache else str(settings.cache_dir),
                        "on_indexed": _edl_writer(write_edl, lib)}
        discover(paths, options.include, options.exclude)  # a path that names nothing: exit 2 before any work
        stop = threading.Event()
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def on_signal(signum: int, frame: Any) -> None:
            if stop.is_set():
                return
            stop.set()
            raise Stopped(signum)

        for s in previous:
            signal.signal(s, on_signal)
        total = Summary(str(lib.root))
        indexer = None
        code = 0
        runner = None
        try:
            runner = make_runner(jobs=jobs, ray=ray, ray_cpus=ray_cpus)
            indexer = Indexer(lib, options, runner=runner, **indexer_args)
            if watch:
                from vidq.library.watch import watch_paths

                watch_paths(indexer, paths, poll=poll, stop=stop, total=total)
            else:
                total = indexer.run(paths)
        except Stopped as e:
            log.info("stopping (%s)", signal.Signals(e.signum).name)
            code = ExitCode.INTERRUPTED if e.signum == signal.SIGINT else (0 if watch else SIGTERM_EXIT)
            if indexer is not None and indexer.summary is not None:  # the pass in progress
                if watch:
                    total.merge(indexer.summary)
                else:
                    total = indexer.summary
            total.interrupted = True
        finally:
            try:
                if runner is not None:
                    runner.close()
            finally:
                for s, h in previous.items():
                    signal.signal(s, h)
                lib.close()
        with output_stream(settings) as out:
            dump_json(total.to_dict(), out)
        if code:
            raise typer.Exit(int(code))
