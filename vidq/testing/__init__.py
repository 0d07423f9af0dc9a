"""Synthetic media for tests, benchmarks and the shipped sample video.

Builds videos of chosen length, size, codec, GOP and B-frames with distinct scenes and a
burned-in timestamp on every frame, speech at chosen times (espeak-ng), and broken
inputs.  Uses the ``ffmpeg`` and ``espeak-ng`` binaries (argument lists, never a shell),
which the product itself never needs.
"""
