"""The resumable per-item log of a benchmark run, and which items a run takes.

A run appends one JSON line per finished item to a sidecar file (``RESULTS.json.items.jsonl``),
flushed and fsynced before the next item starts, so a run killed at any moment (even
SIGKILL) loses at most the item in flight.  The first line is a header naming the run's
identity (input file, model, frames, ...); a rerun with the same identity skips the items
already logged, and a rerun with a different one is refused rather than mixed in.  A torn
last line (the process died mid-write) is cut off when the log is reopened.

Knows nothing about models or what an item is: records are JSON objects with an ``id``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from vidq.errors import InputError

log = logging.getLogger("vidq.eval")

LOG_SCHEMA = "vidq.eval.items/1"  # the header's schema name; bump when the record shape changes
T = TypeVar("T")


def sidecar_path(results: str | os.PathLike) -> Path:
    """``RESULTS.json`` -> ``RESULTS.json.items.jsonl`` (beside it)."""
    p = Path(results)
    return p.with_name(p.name + ".items.jsonl")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` -> ``(2, 4)``: shard 2 of 4, counted from 1.  None stays None.

    >>> parse_shard("1/3")
    (1, 3)
    """
    if text is None:
        return None
    i_s, sep, n_s = text.partition("/")
    try:
        i, n = int(i_s), int(n_s)
    except ValueError:
        i = n = 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise InputError(f"--shard {text!r}: give i/n with 1 <= i <= n, e.g. 1/4")
    return i, n


def select(items: Sequence[T], *, limit: int | None = None, shard: tuple[int, int] | None = None) -> list[T]:
    """The first ``limit`` items (file order), then every n-th of those for shard i/n.

    Shards of one ``limit`` partition it: shard i takes positions i-1, i-1+n, i-1+2n, ...

    >>> select(list("abcdefg"), limit=6, shard=(2, 3))
    ['b', 'e']
    """
    if limit is not None and limit < 0:
        raise InputError(f"--limit must be >= 0, not {limit}")
    chosen = list(items[:limit] if limit is not None else items)
    if shard is not None:
        i, n = shard
        chosen = chosen[i - 1::n]
    return chosen


class ItemLog:
    """Append-only JSON Lines: a header, then one record per finished item.

    ``identity`` is what must match for a rerun to reuse the log (plain JSON data).
    """

    def __init__(self, path: str | os.PathLike, identity: dict[str, Any]):
        self.path = Path(path)  # the sidecar file
        self.identity = json.loads(json.dumps(identity))  # normalised through JSON (tuples -> lists)
        self._fh = None

    def open(self) -> dict[str, dict[str, Any]]:
        """Open for appending; return the records already there, by item id.

        Creates the file with its header when absent; raises ``InputError`` when it belongs
        to a different run.
        """
        done: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            good_end, lines = self._read()
            if lines:
                header = lines[0]
                if header.get("schema") != LOG_SCHEMA or header.get("identity") != self.identity:
                    theirs = header.get("identity") or {}
                    diff = sorted(k for k in set(theirs) | set(self.identity) if theirs.get(k) != self.identity.get(k))
                    raise InputError(f"{self.path} belongs to a different run (differs in: {', '.join(diff) or 'schema'}); "
                                     "delete it or write the results elsewhere with -o")
                for rec in lines[1:]:
                    if isinstance(rec, dict) and "id" in rec:
                        done[str(rec["id"])] = rec
            with open(self.path, "r+b") as fh:  # cut a torn last line
                fh.truncate(good_end)
            if not lines:
                self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open across appends; closed by close())
        if fresh:
            self._write({"schema": LOG_SCHEMA, "identity": self.identity})
        if done:
            log.info("%s: resuming, %d item(s) already done", self.path.name, len(done))
        return done

    def _read(self) -> tuple[int, list[dict[str, Any]]]:
        """(byte offset after the last complete line, the parsed complete lines)."""
        data = self.path.read_bytes()
        records: list[dict[str, Any]] = []
        offset = 0
        for raw in data.split(b"\n")[:-1]:  # the part after the last newline is torn (or empty)
            try:
                records.append(json.loads(raw))
            except (UnicodeDecodeError, json.JSONDecodeError):
                break
            offset += len(raw) + 1
        return offset, records

    def _write(self, record: dict[str, Any]) -> None:
        assert self._fh is not None, "ItemLog.open() first"
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, record: dict[str, Any]) -> None:
        """Log one finished item (must carry an ``id``); durable when this returns."""
        if "id" not in record:
            raise ValueError("an item record needs an 'id'")
        self._write(record)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
