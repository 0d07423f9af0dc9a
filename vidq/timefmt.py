"""Timestamps: seconds (float) <-> ``HH:MM:SS.mmm`` strings, and parsing user-given times."""

from __future__ import annotations

import math
import re

from vidq.errors import InputError

_HMS_RE = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")


def hms(seconds: float, sep: str = ".") -> str:
    """Format seconds as ``HH:MM:SS.mmm`` (``sep=","`` gives the SRT form).

    Rounds to the nearest millisecond; negative values are clamped to zero.

    >>> hms(3723.4567)
    '01:02:03.457'
    """
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    ms_total = int(round(seconds * 1000))
    h, rem = divmod(ms_total, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def clock(seconds: float, long: bool = False, pad: bool = True) -> str:
    """Whole seconds as players show them: ``01:15`` (``1:15`` with ``pad=False``), or
    ``1:02:05`` when ``long`` (a video of an hour or more) or past the hour.

    >>> clock(75.6), clock(75.6, pad=False), clock(3725, long=True)
    ('01:15', '1:15', '1:02:05')
    """
    total = int(seconds) if math.isfinite(seconds) and seconds > 0 else 0
    h, m, s = total // 3600, total % 3600 // 60, total % 60
    if long or h:
        return f"{h}:{m:02d}:{s:02d}"
    return f"{m:02d}:{s:02d}" if pad else f"{m}:{s:02d}"


def parse_time(text: str | float | int, what: str = "time") -> float:
    """Parse ``90``, ``90.5``, ``1:30``, ``01:30.5`` or ``1:02:03.250`` into seconds.

    Raises :class:`InputError` naming ``what`` on anything else (negative, NaN, garbage).
    """
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        s = text.strip().replace(",", ".")
        m = _HMS_RE.match(s)
        if not m:
            raise InputError(f"invalid {what} {text!r}: use seconds (90.5) or [HH:]MM:SS[.mmm]")
        h, mnt, sec = m.groups()
        value = int(h or 0) * 3600 + int(mnt or 0) * 60 + float(sec)
        if (h or mnt) and float(sec) >= 60:
            raise InputError(f"invalid {what} {text!r}: seconds field must be below 60")
    if not math.isfinite(value) or value < 0:
        raise InputError(f"invalid {what} {text!r}: must be a finite, non-negative number of seconds")
    return value
