"""One module per command; each defines ``register(app)``.

Modules are discovered by name (``vidq.cli.app.COMMAND_MODULES``), so adding a command
never edits a shared file but that list.
"""
