"""Sentence splitting for speeches: a rule-based splitter, good enough for parliamentary prose.

It splits after . ! ? (optionally followed by a closing quote or bracket) when the next
non-space character starts a new sentence, and keeps common abbreviations (Mr., Dr., U.N.,
e.g.) and decimals intact. Character offsets into the original text are kept so that
explanations can be mapped back onto the speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "no", "vs", "etc", "e.g", "i.e", "jr",
                  "sr", "h.e", "art", "para", "vol", "fig", "op", "cf", "u.s", "u.n", "u.k"}
_INITIAL = re.compile(r"[A-Z]")  # "Reverend J. Carl Rahming"
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # character offset in the source text
    end: int


def split_sentences(text: str, min_chars: int = 3) -> list[Sentence]:
    """Sentences of `text` with their offsets; fragments shorter than `min_chars` are dropped."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        word = re.search(r"([\w.]+)\.$", text[start:match.start() + 1])
        if word and match.group(0).startswith(".") and (
                word.group(1).lower() in _ABBREVIATIONS or _INITIAL.fullmatch(word.group(1))):
            continue
        _append(sentences, text, start, end, min_chars)
        start = end
    _append(sentences, text, start, len(text), min_chars)
    return sentences


def _append(out: list[Sentence], text: str, start: int, end: int, min_chars: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if len(stripped) >= min_chars:
        offset = start + chunk.index(stripped)
        out.append(Sentence(" ".join(stripped.split()), offset, offset + len(stripped)))
