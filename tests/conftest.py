"""Shared fixtures: an isolated environment per test and a CLI runner.

Every test gets its own XDG cache/config directories and no ``VIDQ_*`` variables, so a
developer's real config or cache never leaks in; only ``VIDQ_MODELS_DIR`` (derived model
copies: MiniLM's ONNX export) is one folder for the whole session, so the export runs once.  ``cli(...)`` runs the Typer app in
process; ``run_vidq(...)`` runs the installed ``vidq`` in a subprocess (for behaviour
that needs a real process: exit codes from ``main``, no TTY, signals).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest_plugins = [
    "media_files",  # session fixtures `media_dir`, `clip`: generated test media
    "job_media",  # session fixtures for the job tests: scenarios, one --cache-dir, the sample video, tiny VLMs
]


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of derived model copies (MiniLM in ONNX) for the whole session: exported once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, models_dir: Path) -> Path:
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith("VIDQ_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("VIDQ_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture
def cli():
    """Run ``vidq ARGS...`` in process; returns exit code, stdout and stderr separately."""
    from vidq.cli.app import app

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
        result = CliRunner().invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def run_vidq():
    """Run ``python -m vidq ARGS...`` as a real subprocess with no TTY."""

    def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> CliResult:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "vidq", *[str(a) for a in args]],
            capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run
