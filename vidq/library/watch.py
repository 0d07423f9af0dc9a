"""``vidq index --watch``: index passes whenever something may have changed, until told to stop.

    watch_paths(indexer, ["/recordings"], poll=30, stop=threading.Event(), total=Summary(root))

After each pass the watcher sleeps until the first of: a file event under the watched
folders (Linux inotify through libc, no extra package: a file closed after writing, moved
in, created, its attributes changed), the moment the earliest settling file has been quiet
for ``--settle`` seconds, ``poll`` seconds (the rescan interval where inotify is missing,
and a safety net where it is not), or ``stop``.  A growing recording produces no wake-ups
of its own (writes are not watched, closes are); it is taken by the pass after it settles.

Knows nothing about the CLI; ``stop`` is set by whoever handles the signals.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import select
import struct
import threading
import time
from collections.abc import Sequence

from vidq.library.index import Indexer, Summary

log = logging.getLogger("vidq.library")

IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
EVENTS = IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
WAKE_SLICE = 0.5  # seconds: how often a sleeping watcher checks ``stop``
QUIET = 0.2  # seconds of no events before a pass starts (a burst of events is one pass)


class Inotify:
    """Folders watched through the kernel's inotify (``available`` False where it cannot be used)."""

    def __init__(self) -> None:
        self.fd = -1
        self.watched: set[str] = set()
        name = ctypes.util.find_library("c")
        try:
            self.libc = ctypes.CDLL(name, use_errno=True)
            self.fd = self.libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError):
            self.fd = -1

    @property
    def available(self) -> bool:
        return self.fd >= 0

    def watch(self, folders: Sequence[str]) -> None:
        """Watch these folders and every folder below them (new ones are added on the next call)."""
        for top in folders:
            for root, dirs, _ in os.walk(top):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                if root not in self.watched:
                    if self.libc.inotify_add_watch(self.fd, os.fsencode(root), EVENTS) >= 0:
                        self.watched.add(root)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for events; drain them; True when some came."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not ready:
            return False
        while True:  # drain a burst of events
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                data = b""
            if not data:
                ready, _, _ = select.select([self.fd], [], [], QUIET)
                if not ready:
                    return True
                continue
            _ = struct.unpack_from("iIII", data)  # (wd, mask, cookie, len) of the first: only the wake-up matters

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def watch_paths(indexer: Indexer, paths: Sequence[str], *, poll: float, stop: threading.Event,
                total: Summary) -> Summary:
    """Index passes over ``paths`` until ``stop`` is set; ``total`` accumulates them (and is returned)."""
    notify = Inotify()
    folders = [os.path.abspath(p) for p in paths if os.path.isdir(p)]
    if notify.available:
        log.info("watching %s (inotify); stop with Ctrl-C or SIGTERM", ", ".join(paths))
    else:
        log.info("watching %s (a rescan every %g s); stop with Ctrl-C or SIGTERM", ", ".join(paths), poll)
    try:
        while not stop.is_set():
            if notify.available:
                notify.watch(folders)
            summary = indexer.run(paths)
            total.merge(summary)
            indexer.summary = None
            due = summary.settling_until
            deadline = time.monotonic() + poll
            if due is not None:
                deadline = min(deadline, time.monotonic() + max(0.0, due - time.time()) + 0.05)
            while not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if notify.available:
                    if notify.wait(min(WAKE_SLICE, left)):
                        break
                else:
                    stop.wait(min(WAKE_SLICE, left))
    finally:
        notify.close()
    return total
