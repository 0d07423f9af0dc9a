"""Where results go: stdout, or a file written atomically; plus the JSON conventions.

JSON output carries a ``schema`` name with a version (``"vidq.probe/1"``), times as float
seconds and as ``HH:MM:SS.mmm`` strings.  A file given with ``-o`` appears only when the
command succeeds: it is written to a temporary file beside it and renamed at the end
(with the permissions a plain ``open()`` would give it).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from vidq.cli.settings import Settings
from vidq.errors import InputError, VidqError
from vidq.store import atomic_write_bytes
from vidq.timefmt import hms

DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})  # the disk, not the path, failed


def resolve_format(settings: Settings, allowed: Sequence[str], default: str, command: str) -> str:
    """The output format for ``command``: ``--format``/``--json`` if given, else ``default``.

    A format the command cannot produce is a usage error (exit 2) naming the valid ones.
    """
    fmt = (settings.format or default).lower()
    if fmt not in allowed:
        raise InputError(f"vidq {command}: --format {fmt} is not supported here (choose from: {', '.join(allowed)})")
    return fmt


@contextlib.contextmanager
def output_stream(settings: Settings) -> Iterator[TextIO]:
    """A text stream for the result: stdout, or ``-o FILE`` committed only on success."""
    if settings.to_stdout:
        yield sys.stdout
        sys.stdout.flush()
        return
    assert settings.output is not None
    target = Path(settings.output)
    if target.is_dir():
        raise InputError(f"-o {target}: is a directory; give a file name")
    buf = io.StringIO()
    yield buf
    write_file(target, buf.getvalue().encode("utf-8"), "-o")


def write_file(target: Path, data: bytes, option: str) -> None:
    """Write a result file atomically, with the umask's permissions; a failure is one line.

    Exit 2 when the place cannot be written (no permission, read-only, not a directory),
    3 when the disk is full or failing.
    """
    try:
        atomic_write_bytes(target, data)
    except OSError as e:
        kind = VidqError if e.errno in DISK_ERRNOS else InputError
        raise kind(f"{option} {target}: cannot write ({e.strerror or e})") from e


def time_fields(seconds: float, prefix: str = "") -> dict[str, Any]:
    """``{"start": 12.5, "start_hms": "00:00:12.500"}`` for ``prefix="start"``."""
    key = prefix or "time"
    return {key: round(float(seconds), 6), f"{key}_hms": hms(seconds)}


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: NaN/inf become null, tuples lists, paths strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def dump_json(obj: Any, stream: TextIO, *, lines: bool = False) -> None:
    """Write ``obj`` as pretty JSON (or one compact line with ``lines=True``)."""
    if lines:
        stream.write(json.dumps(_clean(obj), ensure_ascii=False, separators=(",", ":")) + "\n")
    else:
        stream.write(json.dumps(_clean(obj), ensure_ascii=False, indent=2) + "\n")
