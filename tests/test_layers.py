"""The layers of DESIGN.md stay one-way, and no job imports another."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "vidq"
JOBS = ("vidq.tasks.summarize", "vidq.tasks.find", "vidq.tasks.ads", "vidq.tasks.ask")
# package -> packages it must never import (directly or lazily inside functions)
FORBIDDEN = {
    "media": ("speech", "compress", "models", "analysis", "tasks", "library", "cli", "eval"),
    "speech": ("compress", "models", "analysis", "tasks", "library", "cli", "eval"),
    "compress": ("media", "speech", "analysis", "tasks", "library", "cli", "eval"),
    "models": ("analysis", "tasks", "library", "cli", "eval"),
    "analysis": ("tasks", "library", "cli", "eval"),
    "tasks": ("library", "cli", "eval"),
    "library": ("cli", "eval"),
    "store": ("media", "speech", "compress", "models", "analysis", "tasks", "library", "cli", "eval"),
}


@pytest.mark.parametrize("job", JOBS)
def test_importing_a_job_imports_no_other_job(job):
    code = f"import sys, {job}; print(' '.join(m for m in sys.modules if m in {JOBS!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [job]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m for m in found if m.startswith("vidq.")}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in _imports(path):
            layer = module.split(".")[1]
            if layer in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT.parent)} imports {module}")
    assert bad == []


def test_job_modules_import_no_job_module_statically():
    for job in JOBS:
        path = ROOT / "tasks" / f"{job.rsplit('.', 1)[1]}.py"
        others = {m for m in _imports(path) if m in JOBS and m != job}
        assert others == set(), (job, others)
