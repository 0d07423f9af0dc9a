"""Generate man pages and shell completion scripts from the Typer app.

Run ``python -m vidq.cli.docgen`` after adding or changing a command: it rewrites
``man/vidq.1``, one ``man/vidq-<command>.1`` per command, and
``completions/vidq.{bash,zsh,fish}``.  ``python -m vidq.cli.docgen --check`` exits 1 when
a checked-in file differs from what the app would generate (CI runs it through a test).

The generator walks the click command tree that Typer builds (``typer.main.get_command``),
so new commands need nothing here.  Output is deterministic: no dates, sorted where the
app has no order.  This module knows nothing about what the commands do.
"""

from __future__ import annotations

import argparse
import enum
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path

from vidq.errors import ExitCode

REGENERATE = "python -m vidq.cli.docgen"
SHELLS = ("bash", "zsh", "fish")
EXIT_CODE_TEXT = {
    ExitCode.OK: "success (for find: at least one hit)",
    ExitCode.NO_MATCH: "find found nothing above the threshold; cache verify found problems (without --repair); "
                       "library verify found problems; library rm matched nothing",
    ExitCode.INPUT: "usage or input error: a bad flag, a missing, unreadable or corrupt file, no video stream",
    ExitCode.RUNTIME: "model or runtime failure: a missing package or model, out of memory, --timeout expired, "
                      "cache verify --repair could not remove a problem",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.PIPE_CLOSED: "stdout was closed before the output was all written (| head), as a process SIGPIPE "
                          "ends; nothing is printed",
}


@dataclass(frozen=True)
class Opt:
    """One option or argument of a command, as the docs and completions need it."""

    names: tuple[str, ...]  # e.g. ("-o", "--output"); empty for a positional argument
    negations: tuple[str, ...]  # secondary names of a boolean pair, e.g. ("--fast",)
    metavar: str  # value placeholder, "" for flags
    help: str  # one paragraph
    kind: str  # "flag", "value", "file" (a path value), "argument"
    choices: tuple[str, ...] = ()  # allowed values, when the type says so
    envvar: str | None = None  # environment variable read for it
    required: bool = False  # a required argument or option
    repeat: bool = False  # takes several values (nargs=-1 or multiple)
    default: str = ""  # the default value as shown, "" when there is none worth showing


@dataclass(frozen=True)
class Cmd:
    """A command (leaf or group) with its path from the root: ("cache", "info")."""

    path: tuple[str, ...]
    help: str
    short: str
    options: tuple[Opt, ...]
    children: tuple[Cmd, ...] = field(default=())


def _type_info(param) -> tuple[str, tuple[str, ...]]:
    """(kind of value, choices) from Typer's type descriptor or click's type."""
    annotation = None
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        annotation = getattr(descriptor, "annotation", None)
    if annotation is None:
        annotation = getattr(param, "type", None)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "value", tuple(str(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "value", tuple(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "file", ()
    choices = getattr(getattr(param, "type", None), "choices", None)
    if choices:
        return "value", tuple(str(c) for c in choices)
    return "value", ()


def _opt(param) -> Opt | None:
    if getattr(param, "hidden", False) or not getattr(param, "expose_value", True) and param.name != "version":
        return None
    help_text = " ".join((getattr(param, "help", None) or "").split())
    envvar = param.envvar if isinstance(getattr(param, "envvar", None), str) else None
    repeat = getattr(param, "multiple", False) or getattr(param, "nargs", 1) == -1
    if type(param).__name__.endswith("Argument"):
        kind, choices = _type_info(param)
        metavar = (param.metavar or param.name or "ARG").upper()
        return Opt((), (), metavar, help_text, "file" if kind == "file" else "argument", choices, envvar,
                   bool(param.required), repeat)
    names = tuple(param.opts)
    negations = tuple(getattr(param, "secondary_opts", ()) or ())
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return Opt(names, negations, "", help_text, "flag", (), envvar, False, bool(getattr(param, "count", False)))
    kind, choices = _type_info(param)
    metavar = param.metavar or (param.name or "value").upper().rstrip("_")
    default = param.default if getattr(param, "show_default", True) is not False else None
    shown = "" if default is None or callable(default) or isinstance(default, bool) else str(default)
    return Opt(names, negations, metavar, help_text, kind, choices, envvar, bool(param.required), repeat, shown)


def command_tree():
    """The root ``Cmd`` built from ``vidq.cli.app.app``."""
    import typer

    from vidq.cli.app import app

    root = typer.main.get_command(app)
    return _walk(root, ())


def _walk(command, path: tuple[str, ...]) -> Cmd:
    options = tuple(o for o in (_opt(p) for p in command.params) if o is not None)
    children: list[Cmd] = []
    subs = getattr(command, "commands", None)
    if subs:
        for name in (command.list_commands(None) if hasattr(command, "list_commands") else sorted(subs)):
            sub = subs[name]
            if not getattr(sub, "hidden", False):
                children.append(_walk(sub, (*path, name)))
    help_text = (command.help or "").strip()
    short = command.short_help or (help_text.split("\n\n")[0].replace("\n", " ") if help_text else "")
    return Cmd(path, help_text, short.strip(), options, tuple(children))


# -- man pages ---------------------------------------------------------------------------

def _roff(text: str) -> str:
    """Escape text for roff: backslashes, leading dots/quotes, hyphens in option names."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in out.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _opt_label(o: Opt) -> str:
    if not o.names:
        return f"\\fI{o.metavar}\\fR" + ("..." if o.repeat else "")
    names = ", ".join(f"\\fB{_roff(n)}\\fR" for n in o.names)
    if o.negations:
        names += " / " + ", ".join(f"\\fB{_roff(n)}\\fR" for n in o.negations)
    if o.metavar:
        names += f" \\fI{_roff(o.metavar)}\\fR"
    return names


def _opt_body(o: Opt) -> str:
    text = o.help or ""
    if o.default and "Default:" not in text:
        text += f" Default: {o.default}."
    if o.choices:
        text += f" One of: {', '.join(o.choices)}."
    if o.envvar:
        text += f" Environment: {o.envvar}."
    return _roff(text.strip())


def _paragraphs(text: str) -> str:
    paras = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    return "\n.PP\n".join(_roff(p) for p in paras)


def _exit_status() -> str:
    lines = [".SH EXIT STATUS"]
    for code, text in EXIT_CODE_TEXT.items():
        lines += [".TP", f"\\fB{int(code)}\\fR", _roff(text)]
    return "\n".join(lines)


def _usage(cmd: Cmd) -> str:
    words = " ".join(cmd.path)
    args = " ".join(
        (f"\\fI{o.metavar}\\fR" + ("..." if o.repeat else "")) if o.required else f"[\\fI{o.metavar}\\fR]"
        for o in cmd.options if not o.names)
    tail = " \\fICOMMAND\\fR" if cmd.children else ""
    return f"\\fBvidq\\fR {_roff(words)} [\\fIOPTIONS\\fR]{tail} {args}".rstrip()


def _options_section(title: str, options: tuple[Opt, ...]) -> list[str]:
    lines = [f".SH {title}"] if options else []
    for o in options:
        lines += [".TP", _opt_label(o), _opt_body(o) or "\\&"]
    return lines


def man_page(cmd: Cmd, root: Cmd) -> str:
    """roff source of ``vidq.1`` (root) or ``vidq-<cmd>.1``."""
    name = "-".join(("vidq", *cmd.path))
    title = name.upper()
    lines = [
        f'.TH "{title}" "1" "" "vidq" "User Commands"',
        ".SH NAME",
        f"{_roff(name)} \\- {_roff(cmd.short or 'understand long videos')}",
        ".SH SYNOPSIS",
        _usage(cmd),
        ".SH DESCRIPTION",
        _paragraphs(cmd.help) or "\\&",
    ]
    arguments = tuple(o for o in cmd.options if not o.names)
    options = tuple(o for o in cmd.options if o.names)
    lines += _options_section("ARGUMENTS", arguments)
    lines += _options_section("OPTIONS" if cmd.path else "GLOBAL OPTIONS", options)
    if cmd.path:
        lines += [".PP", _roff("Global options (--json, --format, -o, -q, -v, --device, --offline, ...) are accepted "
                               "anywhere on the command line; see vidq(1).")]
    if cmd.children:
        lines.append(".SH COMMANDS")
        for child in cmd.children:
            lines += [".TP", f"\\fB{_roff(' '.join(child.path))}\\fR", _roff(child.short) or "\\&"]
            if cmd.path:  # a group page documents its subcommands in full
                sub_opts = [o for o in child.options if o.names]
                for o in sub_opts:
                    lines += [".RS", ".TP", _opt_label(o), _opt_body(o) or "\\&", ".RE"]
    lines.append(_exit_status())
    if not cmd.path:
        envs = sorted({o.envvar for o in cmd.options if o.envvar})
        if envs:
            lines.append(".SH ENVIRONMENT")
            for env in envs:
                which = next(o for o in cmd.options if o.envvar == env)
                lines += [".TP", f"\\fB{_roff(env)}\\fR", _roff(f"Same as {which.names[-1]}.")]
        lines += [".SH FILES", ".TP", "\\fI$XDG_CONFIG_HOME/vidq/config.toml\\fR",
                  _roff("Configuration: flags > VIDQ_* environment > this file > defaults."),
                  ".TP", "\\fI$XDG_CACHE_HOME/vidq\\fR", _roff("Cache of probe, transcript and feature results.")]
        see = ", ".join(f"\\fBvidq\\-{_roff(c.path[0])}\\fR(1)" for c in cmd.children)
    else:
        see = "\\fBvidq\\fR(1)"
    lines += [".SH SEE ALSO", see, ""]
    return "\n".join(lines)


# -- completions -------------------------------------------------------------------------------

def _leaves_and_groups(cmd: Cmd) -> list[Cmd]:
    out = [cmd]
    for child in cmd.children:
        out += _leaves_and_groups(child)
    return out


def _bash_words(o: Opt) -> list[str]:
    return [*o.names, *o.negations]


def bash_script(root: Cmd) -> str:
    glob_valued = [n for o in root.options if o.names and o.kind != "flag" for n in o.names]
    lines = [
        "# bash completion for vidq (generated by python -m vidq.cli.docgen; do not edit)",
        "_vidq() {",
        "    local cur prev path i w",
        "    COMPREPLY=()",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    path=""',
        "    i=1",
        "    while [ $i -lt $COMP_CWORD ]; do",
        '        w="${COMP_WORDS[i]}"',
        '        case "$w" in',
        f"            {'|'.join(glob_valued)}) i=$((i+1)) ;;",
        "            --) break ;;",
        "            -*) ;;",
        '            *) case "$path:$w" in',
    ]
    for cmd in _leaves_and_groups(root):
        for child in cmd.children:
            key = " ".join(cmd.path)
            lines.append(f'                "{key}:{child.path[-1]}") path="{" ".join(child.path)}" ;;')
    lines += [
        "               esac ;;",
        "        esac",
        "        i=$((i+1))",
        "    done",
        '    case "$prev" in',
    ]
    file_opts = sorted({n for c in _leaves_and_groups(root) for o in c.options if o.kind == "file" for n in o.names})
    value_opts = sorted({n for c in _leaves_and_groups(root) for o in c.options
                         if o.names and o.kind == "value" and not o.choices for n in o.names} - set(file_opts))
    for c in _leaves_and_groups(root):
        for o in c.options:
            if o.names and o.choices:
                lines.append(f'        {"|".join(o.names)}) COMPREPLY=($(compgen -W "{" ".join(o.choices)}" -- "$cur")); return ;;')
    if file_opts:
        lines.append(f'        {"|".join(file_opts)}) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
    if value_opts:
        lines.append(f"        {'|'.join(value_opts)}) return ;;")
    lines += ["    esac", '    case "$path" in']
    global_words = [w for o in root.options for w in _bash_words(o)]
    for cmd in _leaves_and_groups(root):
        words = [w for o in cmd.options for w in _bash_words(o)] + (global_words if cmd.path else [])
        subs = [c.path[-1] for c in cmd.children]
        takes_file = any(o.kind == "file" and not o.names for o in cmd.options)
        key = " ".join(cmd.path)
        body = [f'            if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "{" ".join(words)}" -- "$cur"));']
        if subs:
            body.append(f'            else COMPREPLY=($(compgen -W "{" ".join(subs)}" -- "$cur")); fi ;;')
        elif takes_file:
            body.append('            else COMPREPLY=($(compgen -f -- "$cur")); fi ;;')
        else:
            body.append("            fi ;;")
        lines.append(f'        "{key}")')
        lines += body
    lines += ["    esac", "}", "complete -o filenames -o bashdefault -F _vidq vidq", ""]
    return "\n".join(lines)


def _zsh_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh_specs(options: tuple[Opt, ...]) -> list[str]:
    specs = []
    for o in options:
        if not o.names:
            continue
        helptext = _zsh_escape(o.help.split(". ")[0][:80])
        names = [*o.names, *o.negations]
        exclusive = f"({' '.join(names)})" if len(names) > 1 else ""
        rep = "*" if o.repeat else ""
        if o.kind == "flag":
            value = ""
        elif o.kind == "file":
            value = f":{o.metavar.lower()}:_files"
        elif o.choices:
            value = f":{o.metavar.lower()}:({' '.join(o.choices)})"
        else:
            value = f":{o.metavar.lower()}:"
        for n in names:
            specs.append(f"'{exclusive}{rep}{n}[{helptext}]{value}'")
    return specs


def zsh_script(root: Cmd) -> str:
    lines = [
        "#compdef vidq",
        "# zsh completion for vidq (generated by python -m vidq.cli.docgen; do not edit)",
        "",
    ]
    global_specs = _zsh_specs(root.options)
    for cmd in _leaves_and_groups(root):
        fname = "_vidq" + "".join(f"_{p.replace('-', '_')}" for p in cmd.path)
        specs = _zsh_specs(cmd.options) + (global_specs if cmd.path else [])
        lines.append(f"{fname}() {{")
        if cmd.children:
            lines.append("    local -a subcommands")
            lines.append("    subcommands=(")
            for child in cmd.children:
                lines.append(f"        '{child.path[-1]}:{_zsh_escape(child.short)}'")
            lines.append("    )")
            lines.append("    _arguments -C \\")
            for s in specs:
                lines.append(f"        {s} \\")
            lines += ["        '1:command:->cmd' \\", "        '*::arg:->args'", "    case $state in",
                      "        cmd) _describe -t commands 'vidq command' subcommands ;;",
                      "        args)", "            case $words[1] in"]
            for child in cmd.children:
                child_fn = "_vidq" + "".join(f"_{p.replace('-', '_')}" for p in child.path)
                lines.append(f"                {child.path[-1]}) {child_fn} ;;")
            lines += ["            esac ;;", "    esac", "}", ""]
        else:
            args = [o for o in cmd.options if not o.names]
            lines.append("    _arguments \\")
            for s in specs:
                lines.append(f"        {s} \\")
            for n, a in enumerate(args, start=1):
                action = "_files" if a.kind == "file" else (f"({' '.join(a.choices)})" if a.choices else " ")
                pos = "*" if a.repeat else str(n)
                lines.append(f"        '{pos}:{a.metavar.lower()}:{action}' \\")
            lines[-1] = lines[-1].rstrip(" \\")
            lines += ["}", ""]
    lines += ['_vidq "$@"', ""]
    return "\n".join(lines)


def _fish_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def fish_script(root: Cmd) -> str:
    lines = ["# fish completion for vidq (generated by python -m vidq.cli.docgen; do not edit)",
             "complete -c vidq -f"]

    def opt_line(o: Opt, cond: str) -> list[str]:
        out = []
        for n in [*o.names, *o.negations]:
            flag = f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}"
            extra = ""
            if o.kind == "file":
                extra = " -r -F"
            elif o.choices:
                extra = f" -x -a '{' '.join(o.choices)}'"
            elif o.kind == "value":
                extra = " -x"
            desc = _fish_escape(o.help.split(". ")[0][:80])
            out.append(f"complete -c vidq{cond} {flag}{extra} -d '{desc}'")
        return out

    for o in root.options:
        lines += opt_line(o, "")
    for cmd in _leaves_and_groups(root):
        if cmd.path:
            seen = " ".join(cmd.path)
            cond = f" -n '__fish_seen_subcommand_from {cmd.path[-1]}'" if len(cmd.path) == 1 else (
                f" -n '__fish_seen_subcommand_from {cmd.path[-2]}; and __fish_seen_subcommand_from {cmd.path[-1]}'")
            for o in cmd.options:
                if o.names:
                    lines += opt_line(o, cond)
            if any(o.kind == "file" and not o.names for o in cmd.options):
                lines.append(f"complete -c vidq{cond} -F  # {seen}: file argument")
        for child in cmd.children:
            if not cmd.path:
                cond = " -n '__fish_use_subcommand'"
            else:
                others = " ".join(c.path[-1] for c in cmd.children)
                cond = f" -n '__fish_seen_subcommand_from {cmd.path[-1]}; and not __fish_seen_subcommand_from {others}'"
            lines.append(f"complete -c vidq{cond} -a {child.path[-1]} -d '{_fish_escape(child.short)}'")
    lines.append("")
    return "\n".join(lines)


def completion_script(shell: str, root: Cmd | None = None) -> str:
    root = root or command_tree()
    return {"bash": bash_script, "zsh": zsh_script, "fish": fish_script}[shell](root)


# -- files ---------------------------------------------------------------------------------------

def generated_files(repo: Path) -> dict[Path, str]:
    """Every generated file (path -> content) for the repository at ``repo``."""
    root = command_tree()
    files: dict[Path, str] = {repo / "man" / "vidq.1": man_page(root, root)}
    for cmd in root.children:
        files[repo / "man" / f"vidq-{cmd.path[0]}.1"] = man_page(cmd, root)
    for shell in SHELLS:
        files[repo / "completions" / f"vidq.{shell}"] = completion_script(shell, root)
    return files


def stale_files(repo: Path) -> list[Path]:
    """Generated files that are missing, differ, or are left over from a removed command."""
    files = generated_files(repo)
    stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    man_dir = repo / "man"
    if man_dir.exists():
        stale += [p for p in sorted(man_dir.glob("vidq*.1")) if p not in files]
    return stale


def write_files(repo: Path) -> list[Path]:
    files = generated_files(repo)
    written = []
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    for path in sorted((repo / "man").glob("vidq*.1")):
        if path not in files:
            path.unlink()
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vidq.cli.docgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2],
                        help="repository root (default: the one this vidq is in)")
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.repo)
        for p in stale:
            sys.stderr.write(f"stale: {p}\n")
        if stale:
            sys.stderr.write(f"regenerate with: {REGENERATE}\n")
        return 1 if stale else 0
    for p in write_files(args.repo):
        sys.stdout.write(f"wrote {p}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
