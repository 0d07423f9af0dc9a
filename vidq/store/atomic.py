"""Atomic file writes that honour the user's umask.

``atomic_path(target)`` hands out a temporary file beside ``target`` and renames it onto
``target`` only when the block succeeds, so a reader (or a run killed half-way) never sees
a partial file.  ``tempfile.mkstemp`` creates its file ``0600``; before the rename the file
gets the mode a plain ``open(target, "w")`` would have given it: the existing target's
permission bits when it is being replaced, else ``0666`` less the process umask.  An EDL
written by one user's cron job is then readable by a media centre running as another.

Temporary names are ``.<target name>.<random>.tmp``; the cache sweeps stale ones left by
killed processes (see :mod:`vidq.store`).  This module knows nothing about the cache.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_SUFFIX = ".tmp"  # every temporary file this module creates ends with this
PROC_STATUS = "/proc/self/status"  # Linux >= 4.7 shows the umask here without changing it


@functools.cache
def process_umask() -> int:
    """The process umask, read once.

    ``/proc/self/status`` reads it without side effects; elsewhere it is read by setting
    and restoring it, once, which is the only moment another thread could create a file
    with the wrong mode.
    """
    with contextlib.suppress(OSError, ValueError):
        with open(PROC_STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(target: Path) -> int:
    """Permission bits for a file written to ``target``: the old file's, else 0666 & ~umask."""
    with contextlib.suppress(OSError):
        st = os.stat(target)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    return 0o666 & ~process_umask()


def dir_mode() -> int:
    """Permission bits ``mkdir`` would give a new directory: 0777 & ~umask."""
    return 0o777 & ~process_umask()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, file_mode(target))
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (temp file + fsync + rename)."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
