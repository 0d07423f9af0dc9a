"""Where the data goes: stdout as pipelines and cron jobs treat it (closed early, full, closed)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_closed_stdout_ends_quietly_with_141(sample_video):
    """`vidq ... | head -1`: the reader went away; no traceback, no error line, and not exit 1,
    which a pipeline would read as find's "nothing found"."""
    video, _ = sample_video
    proc = subprocess.Popen([sys.executable, "-m", "vidq", "probe", str(video), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    proc.stdout.close()  # nobody reads: the first write meets a closed pipe
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == b"", err
    done = subprocess.run([sys.executable, "-m", "vidq", "probe", str(video), "--json"], capture_output=True,
                          check=False)
    assert done.returncode == 0 and done.stdout.startswith(b"{")  # read to the end: as before


def test_stdout_that_cannot_be_written_is_one_line(sample_video, tmp_path):
    """A full disk under stdout, or stdout closed at start: one error line, never an internal error."""
    video, _ = sample_video
    args = [sys.executable, "-m", "vidq", "probe", str(video), "--json"]
    with open("/dev/full", "w") as full:
        r = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, text=True, check=False)
    assert (r.returncode, r.stderr) == (3, "vidq: error: cannot write to stdout (No space left on device)\n")
    r = subprocess.run(args, stderr=subprocess.PIPE, text=True, check=False, preexec_fn=lambda: os.close(1))
    assert (r.returncode, r.stderr) == (2, "vidq: error: stdout is closed; redirect it (> FILE) or give -o FILE\n")
    r = subprocess.run([*args, "-o", tmp_path / "probe.json"], stderr=subprocess.PIPE, text=True, check=False,
                       preexec_fn=lambda: os.close(1))
    assert r.returncode == 0 and (tmp_path / "probe.json").read_text().startswith("{"), r.stderr
