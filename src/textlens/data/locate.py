"""Find a data file: the data directory first, then the download cache, then the public source."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from textlens.config import DATA_ENV, cache_dir, data_dir
from textlens.errors import DataError
from textlens.store.files import atomic_path


def locate(relative: str, url: str | None = None, explicit_dir: str | Path | None = None) -> Path:
    """Return the path of `relative` under the data directory, downloading it when possible."""
    root = data_dir(explicit_dir)
    candidates = [root / relative, cache_dir() / "downloads" / relative]
    for path in candidates:
        if path.exists():
            return path
    if url is not None:
        target = candidates[1]
        try:
            with urllib.request.urlopen(url, timeout=15) as response, atomic_path(target) as tmp:
                tmp.write_bytes(response.read())
            return target
        except (urllib.error.URLError, OSError, TimeoutError):
            pass
    looked = ", ".join(str(p) for p in candidates)
    source = f" and could not download it from {url}" if url else ""
    raise DataError(
        f"Data file '{relative}' not found (looked in {looked}){source}.",
        f"point {DATA_ENV} (or --data-dir) at the folder that holds '{relative}', "
        f"e.g. export {DATA_ENV}=../shared/data",
    )
