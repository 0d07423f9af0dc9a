"""``--timeout SECONDS``: a wall-clock bound on one whole command.

``arm(seconds)`` starts a real-time timer.  When it fires, ``TimedOut`` is raised in the
main thread wherever the command is (between two Python bytecodes, or when a blocking call
returns); it unwinds through every ``finally`` and ``with`` block, so temporary files are
removed, cache locks released, and ``-o`` files (renamed into place only on success) never
appear.  ``TimedOut`` derives from ``BaseException`` so that a library's ``except
Exception`` fallback cannot swallow it.

A thread stuck inside native code (a decoder, an inference kernel) never returns to Python
to see the exception; a watchdog thread then ends the process ``GRACE_SECONDS`` after the
deadline with the same message and exit code (``os._exit``: nothing more is written, the
cache stays consistent because its entries are only ever renamed into place, and the kernel
releases the locks).

This module knows nothing about the commands it bounds.
"""

from __future__ import annotations

import math
import os
import signal
import threading
from types import FrameType

from vidq.errors import ExitCode

GRACE_SECONDS = 10.0  # after the deadline, how long the orderly unwinding may take
MAX_SECONDS = 366 * 24 * 3600.0  # longer than this is a mistake (and overflows some timers)


class TimedOut(BaseException):
    """The --timeout deadline passed; ``str()`` is the one line shown to the user."""

    exit_code = ExitCode.RUNTIME

    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"timed out after {seconds:g} s (--timeout)")


def _hard_exit(message: str | None) -> None:
    """End the process now with exit 3 (after writing ``message``, if any, on stderr)."""
    if message:
        os.write(2, f"vidq: error: {message}\n".encode())
    os._exit(int(ExitCode.RUNTIME))


class _Deadline:
    """The armed timer of this process (one at a time)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.done = threading.Event()  # set when the command ended (or unwound) by itself
        self.previous = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        threading.Thread(target=self._watch, name="vidq-timeout", daemon=True).start()

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        if not self.done.is_set():
            raise TimedOut(self.seconds)

    def _watch(self) -> None:
        """Stuck in native code past the grace period: end the process from this thread."""
        if not self.done.wait(self.seconds + GRACE_SECONDS):
            _hard_exit(str(TimedOut(self.seconds)))

    def cancel(self) -> None:
        self.done.set()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)


_current: _Deadline | None = None


def check_seconds(value: float) -> float:
    """``value`` if it is a usable timeout (finite, > 0, at most a year), else ValueError."""
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{value:g} is not a positive number of seconds")
    if value > MAX_SECONDS:
        raise ValueError(f"{value:g} s is longer than a year")
    return value


def arm(seconds: float) -> None:
    """Bound the rest of this process's command by ``seconds`` of wall-clock time.

    Call from the main thread (signals are delivered there).
    """
    global _current
    disarm()
    _current = _Deadline(check_seconds(seconds))


def disarm() -> None:
    """Stop the timer and its watchdog (the command ended); harmless when none is armed."""
    global _current
    if _current is not None:
        _current.cancel()
        _current = None


def exit_soon() -> None:
    """After a timeout was reported: if shutting down hangs, end the process anyway."""
    timer = threading.Timer(GRACE_SECONDS, _hard_exit, args=(None,))
    timer.daemon = True
    timer.start()
