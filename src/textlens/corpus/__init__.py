"""Corpus analysis: speeches in, sentences out (later: per-group aggregates and sampled explanations)."""

from textlens.corpus.sentences import split_sentences

__all__ = ["split_sentences"]
