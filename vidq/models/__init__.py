"""The model layer: backends (local transformers VLMs, the offline ``lite`` stack,
OpenAI-compatible HTTP), the model registry, quantization and device choice.

Knows nothing about tasks or the CLI.  See ``vidq.models.base`` for the contract.
"""
