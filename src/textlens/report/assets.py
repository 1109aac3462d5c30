"""plotly.js for the report pages: shipped once beside them, or inlined for a single file.

plotly.min.js is 4.8 MB (plotly 6); inlined in every page it made the six-country corpus report
5.3 MB. By default a page references `plotly.min.js` relatively (`PLOTLY_TAG`) and
`write_page` writes that file once into the page's folder, copied from the installed plotly
package's bundle (never a CDN: the pages stay offline). `self_contained=True` inlines the
bundle instead: one file to send to someone, 4.8 MB larger.
"""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from textlens.store.files import atomic_write_text

PLOTLY_JS = "plotly.min.js"
# The one place a page's reference to plotly.js is written; `inline_plotly` replaces exactly it.
PLOTLY_TAG = Markup(f'<script src="{PLOTLY_JS}" charset="utf-8"></script>')


def plotly_bundle() -> str:
    """The installed plotly package's own plotly.min.js."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_plotly(folder: Path) -> Path:
    """`folder/plotly.min.js`, written atomically unless an identical copy is already there."""
    target = folder / PLOTLY_JS
    bundle = plotly_bundle()
    if target.is_file() and target.stat().st_size == len(bundle.encode("utf-8")) \
            and target.read_text(encoding="utf-8") == bundle:
        return target
    return atomic_write_text(target, bundle)


def inline_plotly(page: str) -> str:
    """The page with its plotly.js reference replaced by the bundle itself (pages without plotly
    are returned unchanged)."""
    if PLOTLY_TAG not in page:
        return page
    return page.replace(PLOTLY_TAG, f'<script charset="utf-8">{plotly_bundle()}</script>', 1)


def write_page(path: Path, page: str, self_contained: bool = False) -> Path:
    """Write a rendered page atomically: with plotly.min.js beside it (written once) when the
    page uses plotly, or as one file with the bundle inline (`self_contained`)."""
    if self_contained:
        return atomic_write_text(path, inline_plotly(page))
    if PLOTLY_TAG in page:
        write_plotly(path.parent)
    return atomic_write_text(path, page)


def make_self_contained(path: Path) -> Path:
    """Rewrite a written report page as one offline file (for `--self-contained`)."""
    return write_page(path, path.read_text(encoding="utf-8"), self_contained=True)
