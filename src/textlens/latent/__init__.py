"""Latent-space population analysis: embeddings, 2-D maps, clusters, slices, label issues, shift.

Each step is a plain function or a small frozen dataclass behind a `Protocol`, so steps can be
swapped (another reducer, another clustering) and used without the CLI; `pipeline.analyze`
composes them into a run directory. Heavy libraries are imported inside the functions.
"""
