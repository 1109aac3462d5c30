"""Population maps: an interactive plotly scatter (plotly.js loaded by the page from beside
it or inline, never a CDN: see `assets`) and PNGs.

One WebGL trace holds every point; a "Colour by" menu recolours it (colour arrays and legends
are precomputed, so the page needs no server) and swaps the legend drawn beside the map. Only
colourings that separate something are offered (a split column with one value is not), and the
first is the most telling: split when there are several, else the label, else the cluster.
Point size follows the loss; the hover shows the (HTML-escaped, shortened) text.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")
OTHER = "#d0d0d0"
MAX_CATEGORIES = len(PALETTE)
LEGEND_ROWS = 14
# The dropdown's order: the first available colouring is the map's default.
COLOURINGS = ("split", "label", "cluster", "title", "correct", "question_type",
              "answer_type")
NAMES = {"question_type": "question type", "answer_type": "answer type",
         "correct": "prediction"}


def display_name(column: str) -> str:
    return NAMES.get(column, column)


def colour_columns(frame: pd.DataFrame) -> list[str]:
    """The colourings worth offering, default first: columns with at least two values."""
    cols = [c for c in COLOURINGS if c in frame and frame[c].nunique() > 1]
    if "label" in cols and "question" in frame:
        cols.remove("label")  # QA's label is the answer text
    return cols


def category_values(frame: pd.DataFrame, column: str) -> pd.Series:
    """The column as the strings a reader sees (correct -> correct/wrong)."""
    if column == "correct":
        return frame[column].map(lambda v: "correct" if v else "wrong")
    if column == "cluster":
        return frame[column].map(lambda v: "noise" if int(v) == -1 else f"cluster {int(v)}")
    return frame[column].astype(str)


def category_colours(values: Sequence[Any]) -> tuple[list[str], dict[str, str]]:
    """A colour per value: the most frequent categories get the palette, the rest grey."""
    series = pd.Series([str(v) for v in values])
    top = list(series.value_counts().index[:MAX_CATEGORIES])
    if set(top) == {"correct", "wrong"}:
        top = ["correct", "wrong"]
    elif all(v.startswith("cluster ") or v == "noise" for v in top):  # legend in id order
        top.sort(key=lambda v: int(v.split()[1]) if v != "noise" else -1)
    fixed = {"correct": "#2ca02c", "wrong": "#d62728"}
    legend = {v: fixed.get(v, PALETTE[i]) for i, v in enumerate(top)}
    return [legend.get(v, OTHER) for v in series], legend


def point_sizes(loss: np.ndarray) -> np.ndarray:
    """4 px at zero loss up to 14 px at the 95th percentile and above."""
    loss = np.nan_to_num(np.asarray(loss, dtype=np.float64), nan=0.0)
    top = float(np.percentile(loss, 95)) if len(loss) else 1.0
    return 4 + 10 * np.clip(loss / max(top, 1e-9), 0, 1)


def hover_texts(frame: pd.DataFrame, limit: int = 160) -> list[str]:
    """Per point: id, text and fields, each value HTML-escaped (plotly renders hover as HTML)."""
    fields = [c for c in ("split", "title", "cluster", "label", "prediction", "loss") if c in frame]
    text_cols = [c for c in ("text", "question") if c in frame]
    out = []
    for row in frame.itertuples(index=False):
        parts = [f"<b>{html.escape(str(row.id))}</b>"]
        for c in text_cols:
            value = str(getattr(row, c))
            parts.append(html.escape(value[:limit] + ("…" if len(value) > limit else "")))
        for c in fields:
            value = getattr(row, c)
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)[:80]
            name = "gold" if c == "label" and "question" in frame else display_name(c)
            parts.append(f"{html.escape(name)}: {html.escape(shown)}")
        out.append("<br>".join(parts))
    return out


def _legend(column: str, legend: dict[str, str], grey: bool) -> list[dict[str, Any]]:
    """Plotly annotations listing the colours of one colouring, right of the map."""
    rows = [(v, c) for v, c in list(legend.items())[:LEGEND_ROWS]]
    if grey or len(legend) > LEGEND_ROWS:
        rows.append(("other", OTHER))
    notes = [{"text": f"<b>{html.escape(display_name(column))}</b>", "x": 1.01, "y": 1.0}]
    notes += [{"text": f"<span style='color:{c}'>●</span> {html.escape(v[:28])}", "x": 1.01,
               "y": 0.95 - 0.045 * i} for i, (v, c) in enumerate(rows)]
    return [{**n, "xref": "paper", "yref": "paper", "xanchor": "left", "yanchor": "top",
             "showarrow": False, "align": "left", "font": {"size": 12}} for n in notes]


def population_figure(frame: pd.DataFrame) -> go.Figure:
    """The map: one trace, a "Colour by" menu above it on the left, the legend on the right
    (no plotly title: the page's heading names the map, and a title collides with the menu)."""
    import plotly.graph_objects as go

    cols = colour_columns(frame)
    caption = {"text": "Colour by", "x": 0, "y": 1.075, "xref": "paper", "yref": "paper",
               "xanchor": "left", "yanchor": "middle", "showarrow": False}
    schemes = {}
    for c in cols:
        colours, legend = category_colours(category_values(frame, c))
        schemes[c] = (colours, [caption, *_legend(c, legend, OTHER in colours)])
    first = cols[0] if cols else None
    fig = go.Figure(go.Scattergl(
        x=frame["x"], y=frame["y"], mode="markers", text=hover_texts(frame),
        hoverinfo="text", marker={"size": point_sizes(frame["loss"].to_numpy()),
                                  "color": schemes[first][0] if first else PALETTE[0],
                                  "opacity": 0.75, "line": {"width": 0}}))
    buttons = [{"label": display_name(c), "method": "update",
                "args": [{"marker.color": [schemes[c][0]]}, {"annotations": schemes[c][1]}]}
               for c in cols]
    menus = [{"buttons": buttons, "x": 0.09, "y": 1.075, "xanchor": "left", "yanchor": "middle",
              "direction": "down", "showactive": True}] if buttons else []
    fig.update_layout(height=640, template="plotly_white", showlegend=False,
                      annotations=schemes[first][1] if first else [], updatemenus=menus,
                      xaxis={"showticklabels": False, "zeroline": False},
                      yaxis={"showticklabels": False, "zeroline": False},
                      margin={"l": 10, "r": 190, "t": 60, "b": 10})
    return fig


def population_html(frame: pd.DataFrame) -> str:
    """The interactive map as an HTML fragment; the page supplies plotly.js (`assets`)."""
    return population_figure(frame).to_html(full_html=False, include_plotlyjs=False,
                                            config={"displaylogo": False})


def map_pngs(frame: pd.DataFrame) -> dict[str, bytes]:
    """One PNG per colouring (with a legend of the top categories), by column name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    out = {}
    sizes = point_sizes(frame["loss"].to_numpy()) ** 1.3
    for col in colour_columns(frame):
        colours, legend = category_colours(category_values(frame, col))
        fig, ax = plt.subplots(figsize=(9, 7), dpi=100)
        ax.scatter(frame["x"], frame["y"], c=colours, s=sizes, alpha=0.7, linewidths=0)
        handles = [Line2D([], [], marker="o", ls="", color=c, label=v[:30])
                   for v, c in list(legend.items())[:12]]
        ax.legend(handles=handles, title=display_name(col), loc="center left",
                  bbox_to_anchor=(1, 0.5), fontsize=8, frameon=False)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"Population map by {display_name(col)} (point size = loss)")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        out[col] = buffer.getvalue()
    return out
