"""Persistence: atomic file writes, and (with the latent analysis) the DuckDB run store."""

from textlens.store.files import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
)

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]
