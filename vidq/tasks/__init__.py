"""The four jobs — summarize, find, ads, ask — as pipelines over the layers below.

Each job is a function returning a typed result dataclass (times in seconds); the CLI
renders it.  ``pipeline`` holds what they share (probe -> plan -> transcript -> per-frame
subtitles, stage timings, the ``meta`` block).  Knows nothing about Typer or rich.
"""
