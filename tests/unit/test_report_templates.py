"""The page machinery every report shares: one table helper with one missing-value rule,
escaping by default, and plotly.js written once beside the pages or inlined on request."""

from __future__ import annotations

import numpy as np
import pandas as pd

from textlens.report.assets import (
    PLOTLY_JS,
    PLOTLY_TAG,
    inline_plotly,
    make_self_contained,
    plotly_bundle,
    write_page,
)
from textlens.report.templating import MISSING, cell_text, environment, percent, table_of

EVIL = "<img src=x onerror=alert(1)>"


def render_table(frame, columns=None, limit=50, formats=None) -> str:
    template = environment().from_string('{% import "_macros.html.j2" as m %}{{ m.table(t) }}')
    return template.render(t=table_of(frame, columns, limit, formats))


def test_every_missing_value_reads_the_same_and_numbers_keep_their_format():
    frame = pd.DataFrame({"name": [EVIL, None, "b"], "share": [0.25, np.nan, 0.5],
                          "n": pd.array([3, pd.NA, 5], dtype="Int64")})
    html = render_table(frame, {"name": "name", "share": "share", "n": "count"},
                        formats={"share": percent})
    assert EVIL not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count(f">{MISSING}<") == 3  # None, NaN and pd.NA alike
    assert ">25%<" in html and ">50%<" in html and "nan" not in html.lower().replace("n/a", "")
    assert '<td class="num">3</td>' in html and "<th>count</th>" in html
    assert [cell_text(v) for v in (None, float("nan"), np.float32("nan"), pd.NA, 0.12345, 7)] \
        == [MISSING] * 4 + ["0.123", "7"]


def test_tables_say_none_and_count_the_rows_left_out():
    assert "none" in render_table(pd.DataFrame())
    html = render_table(pd.DataFrame({"x": range(7)}), limit=5)
    assert html.count("<tr>") == 1 + 5 and "2 more rows in the run's database." in html


def test_plotly_is_written_once_beside_pages_or_inlined(tmp_path):
    page = f"<html><head>{PLOTLY_TAG}</head><body>{EVIL}</body></html>"
    first = write_page(tmp_path / "a.html", page)
    shared = tmp_path / PLOTLY_JS
    stamp = shared.stat().st_mtime_ns
    write_page(tmp_path / "b.html", page)
    assert shared.stat().st_mtime_ns == stamp  # the same bundle is not written again
    assert shared.read_text(encoding="utf-8") == plotly_bundle()
    assert first.read_text(encoding="utf-8") == page
    single = make_self_contained(first)
    text = single.read_text(encoding="utf-8")
    assert PLOTLY_TAG not in text and plotly_bundle() in text and text.endswith("</html>")
    assert inline_plotly("<p>no chart</p>") == "<p>no chart</p>"
    write_page(tmp_path / "plain" / "c.html", "<p>no chart</p>")
    assert not (tmp_path / "plain" / PLOTLY_JS).exists()  # pages without plotly need none
