"""The progress-callback protocol shared by every layer.

Layers report progress by calling ``progress(stage, done, total)``; they never know how
(or whether) it is shown.  The CLI passes a rich progress bar on a TTY, else a no-op.
"""

from __future__ import annotations

from typing import Protocol


class ProgressFn(Protocol):
    def __call__(self, stage: str, done: float, total: float | None = None) -> None:
        """Report that ``done`` of ``total`` units of ``stage`` are finished (``total=None``: unknown)."""


def no_progress(stage: str, done: float, total: float | None = None) -> None:
    """The default callback: report nothing."""
