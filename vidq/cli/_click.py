"""The click that Typer runs on.

Typer 0.2x vendors click as ``typer._click`` (exporting little from its ``__init__``);
older releases run on the ``click`` package.  Exceptions and contexts must come from the
module Typer really uses, so every vidq module imports click names from here.
"""

from __future__ import annotations

import types

import typer.core as _core

_vendored = getattr(_core, "_click", None)

if _vendored is not None:  # typer >= 0.2x
    import typer.exceptions as _te
    from typer._click import core as _c
    from typer._click import exceptions as _e
    from typer._click import globals as _g

    click = types.SimpleNamespace(
        Context=_c.Context,
        Command=_c.Command,
        Group=_core.TyperGroup,
        Parameter=_c.Parameter,
        Option=_core.TyperOption,
        Argument=_core.TyperArgument,
        ClickException=_e.ClickException,
        UsageError=_e.UsageError,
        BadParameter=_e.BadParameter,
        NoArgsIsHelpError=_e.NoArgsIsHelpError,
        Abort=_te.Abort,
        Exit=_te.Exit,
        get_current_context=_g.get_current_context,
    )
else:  # pragma: no cover - older typer on real click
    import click as _real

    click = types.SimpleNamespace(
        Context=_real.Context,
        Command=_real.Command,
        Group=_real.Group,
        Parameter=_real.Parameter,
        Option=_real.Option,
        Argument=_real.Argument,
        ClickException=_real.ClickException,
        UsageError=_real.UsageError,
        BadParameter=_real.BadParameter,
        NoArgsIsHelpError=getattr(_real.exceptions, "NoArgsIsHelpError", _real.UsageError),
        Abort=_real.Abort,
        Exit=_real.exceptions.Exit,
        get_current_context=_real.get_current_context,
    )

__all__ = ["click"]
