"""Per-key advisory locks: one process computes a cache entry, the others wait and reuse it.

A lock is ``flock(LOCK_EX)`` on a small file beside the entry.  The kernel drops the lock
when its holder exits, however it exits (SIGKILL included), so a killed holder never
deadlocks anyone: the next process takes the lock over.  The holder unlinks the lock file
before it unlocks; whoever then wins the lock on the unlinked file notices (the path no
longer names the file it locked) and starts over on a fresh one, so two processes never
both believe they hold the same key.

Waiting is bounded (``timeout``); a process that cannot get the lock in time, or cannot
create the lock file at all (read-only or full cache), goes ahead without it: the entry is
written atomically either way, so the worst case is work done twice, never a wrong result.

This module knows nothing about what the entries hold.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("vidq.store")

LOCK_SUFFIX = ".lock"  # lock files are ``.<params digest>.lock`` beside their entry
POLL_SECONDS = 0.1  # how often a waiting process retries the lock


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (the holder may have unlinked it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def acquire(path: Path, timeout: float, what: str = "") -> int | None:
    """Lock ``path`` (created if missing); returns the open descriptor, or None.

    None means the lock file could not be created (``OSError``: read-only, full, no
    permission) or ``timeout`` seconds passed while another process held it.
    """
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as e:
            log.debug("no lock for %s (%s): going ahead without it", what or path, e.strerror or e)
            return None
        try:
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    log.warning("waited %.0f s for another vidq process to finish %s; computing it here too",
                                timeout, what or path.name)
                    os.close(fd)
                    return None
                if not told:
                    log.info("waiting for another vidq process to finish %s", what or path.name)
                    told = True
                time.sleep(POLL_SECONDS)
        except OSError as e:  # a file system without flock (some network mounts)
            os.close(fd)
            log.debug("no lock for %s (%s): going ahead without it", what or path, e.strerror or e)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        os.close(fd)  # locked a file its holder had already unlinked: start over


def try_acquire(path: Path) -> int | None:
    """Lock ``path`` if nobody holds it, without waiting: the open descriptor, or None (held
    elsewhere, or the lock file cannot be created).  On a file system without flock the
    descriptor comes back unlocked, as ``acquire`` goes ahead there too."""
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError:
            return None
        try:
            if not _try_lock(fd):
                os.close(fd)
                return None
        except OSError as e:  # a file system without flock (some network mounts)
            log.debug("no lock for %s (%s): going ahead without it", path, e.strerror or e)
            return fd
        if _same_file(fd, path):
            return fd
        os.close(fd)  # locked a file its holder had already unlinked: start over


def release(path: Path, fd: int) -> None:
    """Unlink the lock file, then unlock it (in that order: see the module docstring)."""
    try:
        with contextlib.suppress(OSError):
            path.unlink()
    finally:
        os.close(fd)


@contextlib.contextmanager
def key_lock(path: Path, timeout: float, what: str = "") -> Iterator[bool]:
    """Hold the lock at ``path`` for the block; yields whether it is held (see ``acquire``)."""
    fd = acquire(path, timeout, what)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            release(path, fd)


def is_held(path: Path) -> bool:
    """Whether some process holds the lock file ``path`` now."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not _try_lock(fd):
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def remove_orphan(path: Path) -> bool:
    """Remove the lock file ``path`` if nobody holds it; True when it was removed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not _try_lock(fd) or not _same_file(fd, path):
            return False
        path.unlink()
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
