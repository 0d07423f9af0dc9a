"""The progress-callback protocol shared by every layer, and a clock for per-stage wall times.

Layers report progress by calling ``progress(stage, done, total)``; they never know how
(or whether) it is shown.  The CLI passes a rich progress bar on a TTY, else a no-op.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol


class ProgressFn(Protocol):
    def __call__(self, stage: str, done: float, total: float | None = None) -> None:
        """Report that ``done`` of ``total`` units of ``stage`` are finished (``total=None``: unknown)."""


def no_progress(stage: str, done: float, total: float | None = None) -> None:
    """The default callback: report nothing."""


@dataclass
class StageClock:
    """Wall time per named stage, in seconds (a stage entered twice accumulates)."""

    seconds: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def as_dict(self) -> dict[str, float]:
        """Stage times plus ``total`` since the clock was made, rounded to milliseconds."""
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        out["total"] = round(time.perf_counter() - self.started, 3)
        return out
