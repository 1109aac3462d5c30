"""Speech text to sentences: clean, split into paragraphs, then into sentences, keeping offsets.

Cleaning (measured on the 974 UNGDC speeches, 2016-2020):
- a line holding only a page or paragraph number (`12`, `- 3 -`, `Page 4`, `6/62`) is dropped,
  and so are UN document headers left in the text (`17-29389 3/27`);
- a line break inside a sentence is a space: the line ends without . ! ? : and the next text
  starts in lower case, with a digit, `$` or an opening quote (467 of 26,322 breaks start in
  lower case), or the line ends on a word no sentence ends on (`and`, `the`, `a`: 482 breaks
  after a lower-case letter before a capital are about half headings, half such joins);
  after a hyphen the break is removed and the hyphen kept (all 8 such hyphens in the corpus
  join compounds: `Secretary-` / `General`);
- every other line break ends a paragraph, and so a sentence: salutations such as
  `Mr. President,` (522 lines) and headings stand on their own line without a full stop;
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
# A line that is only a page or paragraph number ("12", "- 3 -", "Page 4", "6/62").
_NUMBER_LINE = re.compile(r"^[ \t]*(?:[-–—(]?[ \t]*\d{1,4}[ \t]*[-–—).]?|page[ \t]+\d{1,4}|"
                          r"\d{1,3}/\d{1,3})[ \t]*$", re.IGNORECASE | re.MULTILINE)
# UN document headers left inside the text: "17-29389 3/27" or "3/27 17-29389" (symbol, page).
_UN_HEADER = re.compile(r"(?:\b\d{2}-\d{5}[ \t]+\d{1,3}/\d{1,3}|\b\d{1,3}/\d{1,3}[ \t]+\d{2}-\d{5})"
                        r"\b[ \t]*")
_DROP = "\x00"
_BREAK = re.compile(r"[ \t\x00]*(?:\r?\n[ \t\x00]*)+")
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f\f\v][ \t\u00a0\u2009\u202f\f\v\x00]*")
# Words a sentence cannot end on: a line ending on one goes on in the next line, whatever
# that line starts with ("the UN COVID-19 Response and" / "Recovery Fund").
_GOES_ON = frozenset(re.findall(r"\w+", """the a an and or of to in for with by on at from that
    which as our their its is are was were be has have this these those we my his her into between
    among than not nor but whose who"""))


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
    masked = _UN_HEADER.sub(lambda m: _DROP * len(m.group(0)), masked)
    masked = _BREAK.sub(lambda m: _line_break(masked, m), masked)
    masked = _SPACES.sub(lambda m: " " + _DROP * (len(m.group(0)) - 1), masked)
    # `masked` has the original's length; _DROP marks a dropped character.
    codes = np.frombuffer(masked.encode("utf-32-le"), dtype=np.uint32)
    keep = codes != ord(_DROP)
    text = codes[keep].tobytes().decode("utf-32-le")
    return CleanText(text, np.flatnonzero(keep))


def _line_break(masked: str, match: re.Match[str]) -> str:
    """A run of line breaks (same length, _DROP-padded): removed after a hyphen joining a word,
    a space inside a sentence, else a paragraph break."""
    before = masked[max(0, match.start() - 40):match.start()].replace(_DROP, "").rstrip()
    after = masked[match.end():match.end() + 1]
    size = len(match.group(0))
    if not before or not after:
        return "\n" + _DROP * (size - 1)
    if re.search(r"\w-$", before) and after.isalnum():
        return _DROP * size
    last_word = re.search(r"(\w+)\W*$", before)
    ends_open = before[-1].isalnum() or before[-1] in ",;"
    goes_on = ends_open and (after.islower() or after.isdigit() or after in "$“\"(["
                             ) and before[-1] != ","
    if goes_on or (before[-1].isalpha() and last_word and last_word.group(1) in _GOES_ON) \
            or (before[-1] in ",;" and after.islower()):
        return " " + _DROP * (size - 1)
    return "\n" + _DROP * (size - 1)


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
