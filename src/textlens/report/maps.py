"""Population maps: an interactive plotly scatter (JS bundled inline, never a CDN) and PNGs.

One WebGL trace holds every point; a dropdown recolours it by split, title, cluster, label or
correctness (colour arrays are precomputed, so the page needs no server), point size follows
the loss, and the hover shows the (HTML-escaped, shortened) text. Legends live in the PNGs,
drawn with matplotlib, one per colouring.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")
OTHER = "#d0d0d0"
MAX_CATEGORIES = len(PALETTE)


def colour_columns(frame: pd.DataFrame) -> list[str]:
    """The colourings that exist for this run, in the order the dropdown lists them."""
    wanted = ("split", "title", "cluster", "label_name", "label", "correct", "question_type",
              "answer_type")
    cols = [c for c in wanted if c in frame and frame[c].nunique() > 0]
    if "label_name" in cols and "label" in cols:
        cols.remove("label")
    if "title" in frame and "label" in cols:  # QA: the gold answer text is no category
        cols.remove("label")
    return cols


def category_colours(values: Sequence) -> tuple[list[str], dict[str, str]]:
    """A colour per value: the most frequent categories get the palette, the rest grey."""
    series = pd.Series([str(v) for v in values])
    top = list(series.value_counts().index[:MAX_CATEGORIES])
    legend = {v: PALETTE[i] for i, v in enumerate(top)}
    return [legend.get(v, OTHER) for v in series], legend


def point_sizes(loss: np.ndarray) -> np.ndarray:
    """4 px at zero loss up to 14 px at the 95th percentile and above."""
    loss = np.nan_to_num(np.asarray(loss, dtype=np.float64), nan=0.0)
    top = float(np.percentile(loss, 95)) if len(loss) else 1.0
    return 4 + 10 * np.clip(loss / max(top, 1e-9), 0, 1)


def hover_texts(frame: pd.DataFrame, limit: int = 160) -> list[str]:
    """Per point: id, fields and text, each value HTML-escaped (plotly renders hover as HTML)."""
    fields = [c for c in ("split", "title", "cluster", "label_name", "label", "prediction",
                          "loss") if c in frame]
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
            parts.append(f"{c}: {html.escape(shown)}")
        out.append("<br>".join(parts))
    return out


def population_html(frame: pd.DataFrame, title: str = "Population map") -> str:
    """The interactive map as an HTML fragment with plotly.js bundled inline."""
    import plotly.graph_objects as go

    cols = colour_columns(frame)
    colours = {c: category_colours(frame[c])[0] for c in cols}
    first = cols[0] if cols else None
    fig = go.Figure(go.Scattergl(
        x=frame["x"], y=frame["y"], mode="markers", text=hover_texts(frame),
        hoverinfo="text", marker={"size": point_sizes(frame["loss"].to_numpy()),
                                  "color": colours[first] if first else PALETTE[0],
                                  "opacity": 0.75, "line": {"width": 0}}))
    buttons = [{"label": f"colour: {c}", "method": "restyle",
                "args": [{"marker.color": [colours[c]]}]} for c in cols]
    fig.update_layout(title=title, height=700, template="plotly_white",
                      updatemenus=[{"buttons": buttons, "x": 0, "y": 1.08, "xanchor": "left"}],
                      xaxis={"showticklabels": False}, yaxis={"showticklabels": False},
                      margin={"l": 20, "r": 20, "t": 80, "b": 20})
    return fig.to_html(full_html=False, include_plotlyjs=True, config={"displaylogo": False})


def write_pngs(frame: pd.DataFrame, folder: str | Path) -> list[Path]:
    """One PNG per colouring (with a legend of the top categories) in `folder`, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from textlens.store.files import atomic_path

    folder = Path(folder)
    written = []
    sizes = point_sizes(frame["loss"].to_numpy()) ** 1.3
    for col in colour_columns(frame):
        colours, legend = category_colours(frame[col])
        fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
        ax.scatter(frame["x"], frame["y"], c=colours, s=sizes, alpha=0.7, linewidths=0)
        handles = [Line2D([], [], marker="o", ls="", color=c, label=v[:30])
                   for v, c in list(legend.items())[:12]]
        ax.legend(handles=handles, title=col, loc="center left", bbox_to_anchor=(1, 0.5),
                  fontsize=8, frameon=False)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"Population map, coloured by {col} (size = loss)")
        fig.tight_layout()
        path = folder / f"map_{col}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        written.append(path)
    return written
