"""Man pages and completion scripts: checked in, generated from the app, and not stale."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vidq.cli.docgen import REGENERATE, command_tree, completion_script, stale_files

REPO = Path(__file__).resolve().parents[1]


def test_generated_docs_are_fresh():
    stale = stale_files(REPO)
    assert not stale, f"stale generated files {[str(p.relative_to(REPO)) for p in stale]}; regenerate with: {REGENERATE}"


def test_every_command_has_a_man_page_with_exit_codes():
    for cmd in command_tree().children:
        page = (REPO / "man" / f"vidq-{cmd.path[0]}.1").read_text()
        assert ".SH EXIT STATUS" in page
        if any(o.names for o in cmd.options):
            assert ".SH OPTIONS" in page
    root = (REPO / "man" / "vidq.1").read_text()
    assert "\\fB130\\fR" in root and "VIDQ_CACHE_DIR" in root


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_command_prints_the_checked_in_script(cli, shell):
    r = cli("completion", shell)
    assert r.exit_code == 0
    assert r.stdout == (REPO / "completions" / f"vidq.{shell}").read_text() == completion_script(shell)


def test_completion_unknown_shell(cli):
    r = cli("completion", "tcsh")
    assert r.exit_code == 2 and "bash, zsh or fish" in r.stderr


def _bash_complete(words: list[str]) -> list[str]:
    script = (REPO / "completions" / "vidq.bash").read_text()
    quoted = " ".join(f"'{w}'" for w in words)
    program = (f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _vidq; "
               'printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_and_options():
    assert "frames" in _bash_complete(["vidq", "fr"])
    assert _bash_complete(["vidq", "--json", "frames", "--fp"]) == ["--fps"]
    assert {"info", "clear"} <= set(_bash_complete(["vidq", "cache", ""]))
    assert "--json" in _bash_complete(["vidq", "probe", "--js"])
