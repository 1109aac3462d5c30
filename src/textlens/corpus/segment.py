"""Speech text to sentences: clean, split into paragraphs, then into sentences, keeping offsets.

Cleaning (measured on the 974 UNGDC speeches, 2016-2020):
- a line holding only a page or paragraph number (`12`, `- 3 -`, `Page 4`) is dropped;
- a line break inside a sentence (the line ends without . ! ? : and the next non-blank line
  starts in lower case: 467 of 26,322 line breaks) is a space; after a hyphen it is removed and
  the hyphen kept (all 8 such hyphens in the corpus join compounds: `Secretary-` / `General`);
- every other line break ends a paragraph, and so a sentence: salutations such as
  `Mr. President,` (522 lines) stand on their own line without a full stop;
- runs of whitespace become one space.
Sentence texts are the cleaned text; `start`/`end` index the *original* document, so that
`original[start:end]` is the sentence before cleaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from textlens.corpus.sentences import Sentence, split_sentences
from textlens.errors import InputError

SEGMENTERS = ("rules", "pysbd")
_NUMBER_LINE = re.compile(r"^[ \t]*(?:[-–—(]?[ \t]*\d{1,4}[ \t]*[-–—).]?|page[ \t]+\d{1,4})[ \t]*$",
                          re.IGNORECASE | re.MULTILINE)
# A line break (with any blank lines between) where the sentence goes on: the line before ends
# in a letter, digit, comma, semicolon or hyphen and the next text starts in lower case.
_DROP = "\x00"
_HYPHEN_BREAK = re.compile(r"(?<=\w-)[ \t\x00]*(?:\r?\n[ \t\x00]*)+(?=\w)")
_SOFT_BREAK = re.compile(r"(?<=[\w,;-])[ \t\x00]*(?:\r?\n[ \t\x00]*)+(?=[a-z])")
_HARD_BREAK = re.compile(r"[ \t\x00]*(?:\r?\n[ \t\x00]*)+")
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f\f\v][ \t\u00a0\u2009\u202f\f\v\x00]*")


@dataclass(frozen=True)
class CleanText:
    """Cleaned text (paragraphs separated by one newline) and, per cleaned character, its offset
    in the original text."""

    text: str
    origin: np.ndarray  # (len(text),) int64

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) of cleaned [start, end)."""
        return int(self.origin[start]), int(self.origin[end - 1]) + 1


def clean(original: str) -> CleanText:
    """Clean a document, keeping a map from each kept character to its original offset."""
    masked = _NUMBER_LINE.sub(lambda m: _DROP * len(m.group(0)), original)
    for pattern, replace in ((_HYPHEN_BREAK, ""), (_SOFT_BREAK, " "), (_HARD_BREAK, "\n"),
                             (_SPACES, " ")):
        masked = pattern.sub(lambda m, r=replace: r + _DROP * (len(m.group(0)) - len(r)), masked)
    # `masked` has the original's length; _DROP marks a dropped character.
    codes = np.frombuffer(masked.encode("utf-32-le"), dtype=np.uint32)
    keep = codes != ord(_DROP)
    text = codes[keep].tobytes().decode("utf-32-le")
    return CleanText(text, np.flatnonzero(keep))


def _rules(paragraph: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in split_sentences(paragraph, min_chars=1)]


@lru_cache(maxsize=1)
def _pysbd_segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def _pysbd(paragraph: str) -> list[tuple[int, int]]:
    spans = []
    for span in _pysbd_segmenter().segment(paragraph):
        chunk = paragraph[span.start:span.end]
        stripped = chunk.strip()
        if stripped:
            start = span.start + chunk.index(stripped)
            spans.append((start, start + len(stripped)))
    return spans


def splitter(name: str) -> Callable[[str], list[tuple[int, int]]]:
    """The in-paragraph splitter by name; unknown names are refused with the valid ones."""
    if name == "rules":
        return _rules
    if name == "pysbd":
        return _pysbd
    raise InputError(f"Unknown segmenter '{name}'.", f"use one of {', '.join(SEGMENTERS)}.")


def segment(original: str, segmenter: str = "rules", min_chars: int = 3) -> list[Sentence]:
    """Sentences of a document: cleaned text, offsets into `original`. Fragments with fewer
    than `min_chars` characters or no letter (stray numbers, bullets) are dropped."""
    split = splitter(segmenter)
    cleaned = clean(original)
    sentences: list[Sentence] = []
    offset = 0
    for paragraph in cleaned.text.split("\n"):
        for start, end in split(paragraph) if paragraph.strip() else ():
            text = paragraph[start:end].strip()
            if len(text) < min_chars or not any(c.isalpha() for c in text):
                continue
            lead = paragraph[start:end].index(text)
            begin, stop = cleaned.span(offset + start + lead, offset + start + lead + len(text))
            sentences.append(Sentence(text, begin, stop))
        offset += len(paragraph) + 1
    return sentences
