"""A folder of text files as a corpus, with metadata parsed from each path by a named-group regex.

The UNGDC pattern takes two- or three-letter codes: the corpus files the European Union as `EU_`,
which a strict three-letter pattern would reject.
"""

from __future__ import annotations

import re
from pathlib import Path

from textlens.data.types import BadRow, Dataset, TextExample
from textlens.errors import DataError

UNGDC_PATTERN = r"Session (?P<session>\d+) - (?P<year>\d{4})/(?P<country>[A-Z]{2,3})_"


def load_text_folder(root: str | Path, pattern: str | None = None, glob: str = "**/*.txt",
                     name: str | None = None) -> Dataset[TextExample]:
    """One example per file; `pattern` is searched in the path relative to `root`."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"Corpus folder '{root}' does not exist.",
                        "pass the folder that holds the text files (or set --data-dir).")
    regex = re.compile(pattern) if pattern else None
    examples: list[TextExample] = []
    bad: list[BadRow] = []
    for path in sorted(root.glob(glob)):
        if not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        if path.name.upper().startswith("README"):  # named, so "974 rows of 975 files" adds up
            bad.append(BadRow(relative, "a README (documentation, not a text)"))
            continue
        metadata: dict[str, str | int] = {"path": relative}
        if regex:
            match = regex.search(relative)
            if match is None:
                bad.append(BadRow(relative, "path does not match the metadata pattern"))
                continue
            metadata.update({k: _number_or_text(v) for k, v in match.groupdict().items()})
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            bad.append(BadRow(relative, f"not UTF-8 (byte {exc.start})"))
            continue
        if not text.strip():
            bad.append(BadRow(relative, "empty file"))
            continue
        examples.append(TextExample(relative, text.lstrip("\ufeff"), None, metadata))
    if not examples and not bad:
        raise DataError(f"No files matching '{glob}' under '{root}'.", "check the folder and glob.")
    return Dataset(name or root.name, "all", tuple(examples), root, None, tuple(bad))


def _number_or_text(value: str) -> str | int:
    return int(value) if value is not None and value.isdigit() else value
