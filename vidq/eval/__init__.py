"""Evaluation: needle-in-a-haystack, multiple-choice benchmarks, find/ads metrics, run comparison.

Modules (each a set of functions over plain data; the CLI in ``vidq.cli.commands.eval``
renders what they return):

- :mod:`.stats` — Wilson intervals, exact McNemar, two-proportion test.
- :mod:`.scoring` — multiple-choice prompts and answer parsing (Video-XL style), open-answer
  matching, VNBench option rotation.
- :mod:`.intervals` — recall@k / IoU for ``find``, interval precision / recall for ``ads``.
- :mod:`.runlog` — the resumable per-item log (JSON Lines, fsync per item), ``--limit``/``--shard``.
- :mod:`.record` — what every eval records: model, quantization, compression, frames,
  device, versions, per-item timings, peak memory.
- :mod:`.needles` — needle definitions (a folder with ``needles.json``), generated text and
  speech needles, needle frames rendered with PIL.
- :mod:`.niah` — needle-in-a-haystack grids over depths x frame counts.
- :mod:`.splice` — needles spliced into the video file itself (ffmpeg), cached.
- :mod:`.heatmap` — the depth x frames accuracy heat map as a PNG (PIL only).
- :mod:`.mc` — multiple-choice benchmarks from JSON Lines (Video-MME / MLVU / LongVideoBench rows).
- :mod:`.retrieval` — ``find`` and ``ads`` against ground-truth intervals.
- :mod:`.compare` — two result files side by side with significance.

Sits beside ``vidq.tasks``: may use tasks, models, media and speech; knows nothing about
Typer, rich or how results are printed.
"""
