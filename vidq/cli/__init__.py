"""The command-line layer: Typer app, options, config, rendering, exit codes.

It parses, calls the library, renders results and converts domain errors to one line on
stderr and an exit code.  It knows nothing about model internals.
"""
