"""Progress bars on stderr, only when stderr is a TTY and progress is wanted."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from vidq.cli.settings import Settings
from vidq.progress import ProgressFn, no_progress


def progress_enabled(settings: Settings) -> bool:
    return settings.progress and not settings.quiet and sys.stderr.isatty()


@contextlib.contextmanager
def progress_reporter(settings: Settings) -> Iterator[ProgressFn]:
    """Yield a ``progress(stage, done, total)`` callback; a no-op off a TTY."""
    if not progress_enabled(settings):
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:

        def report(stage: str, done: float, total: float | None = None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield report
