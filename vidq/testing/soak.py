"""Soak runs: jobs SIGKILLed at random moments, run concurrently, and run on a read-only or
a full cache, each checked against reference outputs.

The four jobs (``summarize``, ``find``, ``ads``, ``transcribe``) run as real ``vidq``
processes with ``--json`` on one shared ``--cache-dir``.  The reference is each job's
output with ``--no-cache``; an output "equals" the reference after dropping the fields
that describe the run rather than the result (``VOLATILE``: stage timings, whether OCR came
from the cache and how many frames it read).  A run that ends with another exit code than
the reference, prints a traceback or an internal error, or prints other data is a
mismatch.

Used by ``benchmarks/soak.py`` (many rounds, figures for the README) and by
``tests/test_store_soak.py`` (a few rounds on seconds of media).  Read-only and full caches
are real mounts when the process may mount (root, with ``mount``): a read-only bind mount
of the populated cache and a small tmpfs filled up to a few KiB; otherwise a directory
made read-only with ``chmod`` (not possible as root, where a path under a regular file
stands in) and a file-size limit (``RLIMIT_FSIZE``) for the full disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOBS: dict[str, tuple[str, ...]] = {  # job name -> vidq arguments; {video} and {query} are filled in
    "summarize": ("summarize", "{video}"),
    "find": ("find", "{query}", "{video}"),
    "ads": ("ads", "{video}"),
    "transcribe": ("transcribe", "{video}"),
}
VOLATILE = frozenset({"timings", "cached", "read"})  # JSON keys describing the run, not the result
FULL_FREE_BYTES = 8 * 1024  # free space left on the "full" cache (small entries fit, larger ones do not)
FULL_MOUNT_BYTES = 4 * 1024 * 1024  # size of the tmpfs before it is filled up
JOB_TIMEOUT = 900.0  # seconds; a run longer than this is a hang (reported as a mismatch)


def normalize(value: Any) -> Any:
    """``value`` without the ``VOLATILE`` keys, at any depth."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


@dataclass
class Outcome:
    """One finished (not killed) run."""

    job: str
    rc: int
    output: Any  # the normalized JSON, or the raw stdout when it does not parse
    stderr: str
    seconds: float


@dataclass
class SoakReport:
    """Counts and what went wrong."""

    runs: int = 0  # vidq processes started
    kills: int = 0  # of them SIGKILLed while still running
    checked: int = 0  # finished runs compared with the reference
    mismatches: list[str] = field(default_factory=list)  # one line each
    notes: list[str] = field(default_factory=list)  # what each phase did (mount kinds, lock counts ...)

    def to_dict(self) -> dict[str, Any]:
        return {"runs": self.runs, "kills": self.kills, "checked": self.checked,
                "mismatches": len(self.mismatches), "mismatch_details": self.mismatches, "notes": self.notes}


class Soak:
    """Runs the jobs on ``video`` and checks them against references made with ``--no-cache``."""

    def __init__(self, video: Path, workdir: Path, *, query: str = "secret code", jobs: Sequence[str] = tuple(JOBS),
                 say: Callable[[str], None] = lambda line: None):
        self.video = Path(video)
        self.workdir = Path(workdir)
        self.query = query
        self.jobs = tuple(jobs)
        self.say = say
        self.report = SoakReport()
        self.reference: dict[str, Outcome] = {}
        self.workdir.mkdir(parents=True, exist_ok=True)

    # -- running -----------------------------------------------------------------------------
    def argv(self, job: str, cache: Path | None, *, verbose: bool = False) -> list[str]:
        args = [a.format(video=self.video, query=self.query) for a in JOBS[job]]
        where = ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
        return [sys.executable, "-m", "vidq", "-v" if verbose else "-q", *where, *args, "--json", "--no-progress"]

    def start(self, job: str, cache: Path | None, *, verbose: bool = False,
              preexec: Callable[[], None] | None = None) -> subprocess.Popen:
        self.report.runs += 1
        return subprocess.Popen(self.argv(job, cache, verbose=verbose), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                start_new_session=True, preexec_fn=preexec)

    def finish(self, job: str, proc: subprocess.Popen, t0: float) -> Outcome:
        try:
            out, err = proc.communicate(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            err += f"\n(soak: killed after {JOB_TIMEOUT:.0f} s: a hang)"
        try:
            output = normalize(json.loads(out))
        except ValueError:
            output = out
        return Outcome(job, proc.returncode, output, err, time.monotonic() - t0)

    def run(self, job: str, cache: Path | None, *, verbose: bool = False,
            preexec: Callable[[], None] | None = None) -> Outcome:
        t0 = time.monotonic()
        return self.finish(job, self.start(job, cache, verbose=verbose, preexec=preexec), t0)

    def run_killed(self, job: str, cache: Path, after: float) -> Outcome | None:
        """Start ``job`` and SIGKILL it ``after`` seconds later; the outcome if it ended first."""
        t0 = time.monotonic()
        proc = self.start(job, cache)
        try:
            proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            self.report.kills += 1
            return None
        return self.finish(job, proc, t0)

    # -- checking ----------------------------------------------------------------------------
    def check(self, label: str, got: Outcome) -> bool:
        """Compare a finished run with its reference; a difference is recorded as a mismatch."""
        ref = self.reference[got.job]
        self.report.checked += 1
        problems = []
        if got.rc != ref.rc:
            problems.append(f"exit {got.rc}, reference {ref.rc}")
        if "Traceback" in got.stderr or "internal error" in got.stderr:
            problems.append("traceback or internal error on stderr")
        if got.output != ref.output:
            problems.append("output differs from the reference")
        if problems:
            tail = " | ".join(got.stderr.strip().splitlines()[-3:])
            self.report.mismatches.append(f"{label}: {got.job}: {'; '.join(problems)} [stderr: {tail}]")
            self.say(f"  MISMATCH {label} {got.job}: {'; '.join(problems)}")
            return False
        return True

    def references(self) -> dict[str, Outcome]:
        """Each job once with ``--no-cache``: the outputs every later run must reproduce."""
        for job in self.jobs:
            ref = self.run(job, None)
            if "Traceback" in ref.stderr or ref.rc not in (0, 1):
                raise RuntimeError(f"reference run of {job} failed (exit {ref.rc}): {ref.stderr.strip()[-400:]}")
            self.reference[job] = ref
            self.say(f"reference {job}: exit {ref.rc} in {ref.seconds:.1f} s")
        return self.reference

    # -- phases ------------------------------------------------------------------------------
    def kills(self, cache: Path, n: int, rng: random.Random, *, evict: float = 0.5) -> None:
        """``n`` rounds: maybe evict some entries, start a job, SIGKILL it at a random moment,
        then run it to the end on the same cache and compare."""
        for i in range(n):
            job = rng.choice(self.jobs)
            entries = cache_entries(cache)
            if entries and rng.random() < evict:
                for path in rng.sample(entries, k=rng.randint(1, len(entries))):
                    path.unlink(missing_ok=True)
            after = rng.uniform(0.3, max(0.5, self.reference[job].seconds))
            early = self.run_killed(job, cache, after)
            if early is not None:
                self.check(f"kill round {i + 1} (ended before the kill)", early)
            ok = self.check(f"kill round {i + 1}", self.run(job, cache))
            self.say(f"kill round {i + 1}/{n}: {job} {'killed' if early is None else 'finished'} at "
                     f"{after:.1f} s, clean run {'matches' if ok else 'DIFFERS'}")

    def concurrent(self, cache: Path, jobs: Sequence[str] | None = None) -> dict[str, int]:
        """Start ``jobs`` (default: every job) at once on one cache; every output must match.

        Returns how many processes computed each cache stage (from the ``-v`` debug lines),
        e.g. ``{"transcript/2": 1}`` when one process ran ASR and the others reused it.
        """
        names = list(jobs or self.jobs)
        t0 = time.monotonic()
        procs = [(job, self.start(job, cache, verbose=True)) for job in names]
        computed: dict[str, int] = {}
        for job, proc in procs:
            got = self.finish(job, proc, t0)
            for line in got.stderr.splitlines():
                if line.startswith("vidq: computing "):
                    stage = line.split()[2]
                    computed[stage] = computed.get(stage, 0) + 1
            self.check(f"concurrent ({len(names)} jobs)", got)
        self.say(f"concurrent: {len(names)} jobs on one cache in {time.monotonic() - t0:.1f} s; "
                 f"computations per memoised stage: {computed}")
        self.report.notes.append(f"concurrent {names}: computations per memoised stage {computed}")
        return computed

    def readonly(self, cache: Path, rng: random.Random, jobs: Sequence[str] | None = None) -> None:
        """Every job (or ``jobs``) on ``cache`` made read-only after evicting half its entries
        (so some are found, the rest computed and not written), then a clean run on ``cache``."""
        entries = cache_entries(cache)
        for path in rng.sample(entries, k=len(entries) // 2):
            path.unlink()
        with readonly_dir(cache) as (where, how):
            self.say(f"read-only cache: {how}")
            self.report.notes.append(f"read-only cache: {how}")
            for job in jobs or self.jobs:
                self.check(f"read-only cache ({how})", self.run(job, where))
        for job in jobs or self.jobs:
            self.check("clean run after the read-only cache", self.run(job, cache))

    def full(self, cache: Path, jobs: Sequence[str] | None = None) -> None:
        """Every job (or ``jobs``) on a cache with a few KiB free, then a clean run on ``cache``."""
        with full_dir(self.workdir / "full-cache") as (where, preexec, how):
            self.say(f"full cache: {how}")
            self.report.notes.append(f"full cache: {how}")
            for job in jobs or self.jobs:
                self.check(f"full cache ({how})", self.run(job, where, preexec=preexec))
        for job in jobs or self.jobs:
            self.check("clean run after the full cache", self.run(job, cache))

    def damaged(self, cache: Path, rng: random.Random, jobs: Sequence[str] | None = None) -> int:
        """Damage every entry of a copy of ``cache`` (truncate, empty, flip bytes, garbage);
        every job (or ``jobs``) must still give the reference.  Returns how many entries were damaged."""
        copy = self.workdir / "damaged-cache"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(cache, copy)
        entries = cache_entries(copy)
        for path in entries:
            damage(path, rng)
        for job in jobs or self.jobs:
            self.check("damaged cache", self.run(job, copy))
        self.say(f"damaged cache: {len(entries)} entries damaged")
        return len(entries)

    def verify(self, cache: Path) -> dict[str, Any]:
        """``vidq cache verify --json`` on ``cache``; unreadable entries count as mismatches."""
        self.report.runs += 1
        proc = subprocess.run([sys.executable, "-m", "vidq", "--cache-dir", str(cache), "cache", "verify", "--json"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        result = json.loads(proc.stdout)
        bad = [p for p in result["problems"] if p["kind"] == "unreadable"]
        for p in bad:
            self.report.mismatches.append(f"cache verify: unreadable entry {p['path']}: {p['reason']}")
        self.say(f"cache verify: {result['checked']} entries, {len(result['problems'])} problems "
                 f"({len(bad)} unreadable), {result['in_use']} leftover temp/lock files of killed runs")
        return result


def cache_entries(cache: Path) -> list[Path]:
    """Every entry file (not temporary or lock files) under ``cache``."""
    return sorted(p for p in cache.rglob("*") if p.is_file() and not p.name.startswith("."))


def damage(path: Path, rng: random.Random) -> str:
    """Damage one file in one of four ways; returns which."""
    data = path.read_bytes()
    how = rng.choice(("truncate", "empty", "flip", "garbage"))
    if how == "truncate" and len(data) > 1:
        path.write_bytes(data[: rng.randrange(1, len(data))])
    elif how == "flip" and data:
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(buf))
    elif how == "garbage":
        path.write_bytes(rng.randbytes(max(1, len(data))))
    else:
        how = "empty"
        path.write_bytes(b"")
    return how


# -- read-only and full directories ------------------------------------------------------------
def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None and shutil.which("umount") is not None


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def readonly_dir(path: Path) -> Iterator[tuple[Path, str]]:
    """``path`` made read-only for the block: yields (the directory to use, how it was done)."""
    path.mkdir(parents=True, exist_ok=True)
    if _can_mount() and _mount("--bind", str(path), str(path)):
        try:
            if _mount("-o", "remount,bind,ro", str(path)):
                yield path, "read-only bind mount"
                return
        finally:
            _umount(path)
    if os.geteuid() != 0:
        dirs = [path, *(p for p in path.rglob("*") if p.is_dir())]
        for d in dirs:
            d.chmod(0o555)
        try:
            yield path, "chmod 555"
        finally:
            for d in dirs:
                d.chmod(0o755)
        return
    with tempfile.TemporaryDirectory(prefix="vidq-soak-") as tmp:  # root without mount: under a regular file
        blocker = Path(tmp) / "not-a-directory"
        blocker.write_bytes(b"")
        yield blocker / "cache", "a path under a regular file (root cannot be denied by chmod)"


@contextlib.contextmanager
def full_dir(path: Path) -> Iterator[tuple[Path, Callable[[], None] | None, str]]:
    """A cache directory with only ``FULL_FREE_BYTES`` free: yields (directory, preexec, how).

    ``preexec`` (for ``subprocess``) is set when the fullness is a file-size limit instead.
    """
    path.mkdir(parents=True, exist_ok=True)
    if _can_mount() and _mount("-t", "tmpfs", "-o", f"size={FULL_MOUNT_BYTES}", "tmpfs", str(path)):
        try:
            filler = path / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * 4096):
                        pass
                os.ftruncate(fd, max(0, os.fstat(fd).st_size - FULL_FREE_BYTES))  # give back a few KiB
            finally:
                os.close(fd)
            yield path, None, f"tmpfs of {FULL_MOUNT_BYTES // 1024} KiB with {FULL_FREE_BYTES // 1024} KiB free"
        finally:
            _umount(path)
        return

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FULL_FREE_BYTES, FULL_FREE_BYTES))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    yield path, limit, f"files limited to {FULL_FREE_BYTES // 1024} KiB (RLIMIT_FSIZE)"
