"""Errors every layer may raise, each tied to the exit code the CLI turns it into.

This module knows nothing about the CLI; ``vidq.cli`` maps these to one line on stderr.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes, documented in ``vidq --help`` and the man page."""

    OK = 0  # success (for `find`: at least one hit)
    NO_MATCH = 1  # `find` found nothing above the threshold
    INPUT = 2  # usage or input error: bad flag, missing/corrupt file, no video stream
    RUNTIME = 3  # model or runtime failure: missing package, model not found, OOM after retry
    INTERRUPTED = 130  # Ctrl-C / SIGINT
    PIPE_CLOSED = 141  # stdout was closed before the output was all written (| head): as a process SIGPIPE ended


class VidqError(Exception):
    """Base class; ``str(error)`` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.RUNTIME


class InputError(VidqError):
    """The user's input (a file or a flag value) cannot be used."""

    exit_code = ExitCode.INPUT


class MediaError(InputError):
    """A media file is missing, unreadable, truncated, or lacks the stream a job needs."""


class ModelError(VidqError):
    """A model could not be found, loaded, or run."""


class MissingDependency(VidqError):
    """An optional package is not installed; the message says which extra to install."""

    def __init__(self, package: str, extra: str, purpose: str = ""):
        self.package = package
        self.extra = extra
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"{package} is not installed{what}; install it with: pip install 'vidq[{extra}]'")


def brief(error: BaseException, limit: int = 160) -> str:
    """The gist of a library's exception for a one-line message: its first line, cut after
    the first sentence when longer than ``limit`` characters.

    >>> brief(OSError("Can't load image processor for 'm'. If you were trying to load it from " + "x" * 200))
    "Can't load image processor for 'm'."
    """
    lines = str(error).strip().splitlines()
    text = lines[0].strip() if lines else type(error).__name__
    if len(text) > limit:
        end = text.find(". ")
        text = text[:end + 1] if 0 < end < limit else text[:limit - 3].rstrip() + "..."
    return text
