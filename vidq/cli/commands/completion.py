"""``vidq completion bash|zsh|fish``: print the shell completion script."""

from __future__ import annotations

from typing import Annotated

import typer

from vidq.errors import InputError

SHELL_HINTS = {
    "bash": "eval \"$(vidq completion bash)\"   # or save it to ~/.local/share/bash-completion/completions/vidq",
    "zsh": "vidq completion zsh > \"${fpath[1]}/_vidq\"   # then restart zsh",
    "fish": "vidq completion fish > ~/.config/fish/completions/vidq.fish",
}


def register(app: typer.Typer) -> None:
    @app.command("completion")
    def completion_cmd(
        shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", show_default=False)],
    ) -> None:
        """Print the completion script for bash, zsh or fish.

        Install: eval "$(vidq completion bash)" in ~/.bashrc; vidq completion zsh > "${fpath[1]}/_vidq";
        vidq completion fish > ~/.config/fish/completions/vidq.fish. The same scripts are in
        the completions/ folder of the source tree.

        Example: vidq completion bash > ~/.local/share/bash-completion/completions/vidq
        """
        from vidq.cli.docgen import SHELLS, completion_script

        name = shell.strip().lower()
        if name not in SHELLS:
            raise InputError(f"unknown shell {shell!r}: choose bash, zsh or fish")
        out = typer.get_text_stream("stdout")
        out.write(completion_script(name))
        out.flush()
