"""A bound on reading that stops moving forward: a demuxer looping over the same bytes, a
stream whose timestamps never advance, a decoder fed packets that lead nowhere.

Every read loop of the media layer (the probe's packet scan, the decode walk, audio
extraction) calls :meth:`Watchdog.step` once per packet with the packet's byte offset and
timestamp.  *Progress* is a byte offset or a timestamp beyond every one seen since the last
:meth:`Watchdog.restart` (a seek moves both backwards on purpose).  When ``packets`` packets
in a row, or ``seconds`` of wall-clock time, pass without progress, ``step`` raises
:class:`Stalled`: a one-line :class:`~vidq.errors.MediaError` (exit 2).  Loops written as
generators (the decode walk, audio extraction) pause while their caller works, so they
count packets only (``seconds=math.inf``); the time bound is for loops that never pause
(the probe's packet scan).

It costs two comparisons per packet and reads the clock only while nothing moves; no thread.
A call that never returns from inside FFmpeg (a hung network file system) cannot be seen
from here; ``vidq --timeout`` bounds that case.

Knows nothing about what is being read.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vidq.errors import MediaError

STALL_SECONDS = 30.0  # wall-clock seconds without progress before a read is abandoned
STALL_PACKETS = 50_000  # packets in a row without progress before a read is abandoned


class Stalled(MediaError):
    """Reading made no progress for too long; ``str()`` is the one line shown to the user."""


class Watchdog:
    """Progress of one read loop; see the module docstring."""

    def __init__(self, what: str, *, seconds: float = STALL_SECONDS, packets: int = STALL_PACKETS,
                 clock: Callable[[], float] = time.monotonic):
        self.what = what  # names the file and the activity in the message
        self.seconds = seconds
        self.packets = packets
        self.clock = clock
        self.restart()

    def restart(self) -> None:
        """Forget the positions seen (after a seek)."""
        self.pos = -1  # furthest byte offset seen
        self.tick: int | None = None  # furthest timestamp seen
        self.idle = 0  # packets since the last progress
        self.since: float | None = None  # clock when the current idle run began

    def step(self, pos: int | None, tick: int | None) -> None:
        """One packet read at byte ``pos`` with timestamp ``tick`` (either may be ``None``)."""
        moved = False
        if pos is not None and pos > self.pos:
            self.pos = pos
            moved = True
        if tick is not None and (self.tick is None or tick > self.tick):
            self.tick = tick
            moved = True
        if moved:
            self.idle = 0
            self.since = None
            return
        self.idle += 1
        now = self.clock()
        if self.since is None:
            self.since = now
        if self.idle >= self.packets or now - self.since > self.seconds:
            waited = f"{self.idle} packets" if self.idle >= self.packets else f"{now - self.since:.0f} s"
            raise Stalled(f"{self.what}: no progress for {waited} (the file repeats itself or is damaged); giving up")
