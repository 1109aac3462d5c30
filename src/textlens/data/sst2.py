"""SST-2 (GLUE): `train` = train.tsv, `validation` = dev.tsv, `all` = both with a `split` column."""

from __future__ import annotations

import zipfile
from pathlib import Path

from textlens.data.locate import locate
from textlens.data.table import load_table
from textlens.data.types import Dataset, TextExample
from textlens.errors import DataError

LABEL_NAMES = ("negative", "positive")
FILES = {"train": "sst2/train.tsv", "validation": "sst2/dev.tsv"}
GLUE_ZIP_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"


def load_sst2(split: str = "validation", data_dir: str | Path | None = None) -> Dataset[TextExample]:
    if split == "all":
        parts = [load_sst2(s, data_dir) for s in FILES]
        examples = tuple(
            TextExample(e.id, e.text, e.label, {**e.metadata, "split": part.split})
            for part in parts for e in part
        )
        bad = tuple(b for part in parts for b in part.bad_rows)
        return Dataset("sst2", "all", examples, parts[0].source.parent, LABEL_NAMES, bad)
    if split not in FILES:
        raise DataError(f"SST-2 has no split '{split}'.", "use train, validation or all.")
    path = _locate_sst2(FILES[split], data_dir)
    return load_table(path, "sentence", "label", name="sst2", split=split,
                      label_names=LABEL_NAMES)


def _locate_sst2(relative: str, data_dir: str | Path | None) -> Path:
    try:
        return locate(relative, None, data_dir)
    except DataError as missing:
        try:
            archive = locate("sst2/SST-2.zip", GLUE_ZIP_URL, data_dir)
        except DataError:
            raise missing from None
    target = archive.parent
    with zipfile.ZipFile(archive) as bundle:
        member = f"SST-2/{Path(relative).name}"
        (target / Path(relative).name).write_bytes(bundle.read(member))
    return target / Path(relative).name
