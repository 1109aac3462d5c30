"""Corpus figures, pure (values in, bytes or HTML out): the faceted bar chart of net sentiment
(PNG with matplotlib, interactive with plotly: a fragment without plotly.js, which the page
loads once, see `assets`), the domain map and the
confidence histogram. Country codes (ISO 3166-1 alpha-3) are named through pycountry."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

POSITIVE, NEGATIVE = "#15803d", "#b91c1c"


def country_name(code: object) -> str:
    """The country's name for an ISO alpha-3 (or alpha-2) code; other values as they are."""
    import pycountry

    text = str(code)
    if text.isalpha() and text.isupper() and len(text) in (2, 3):
        found = pycountry.countries.get(**{"alpha_3" if len(text) == 3 else "alpha_2": text})
        if found is not None:
            return str(getattr(found, "common_name", None) or found.name)
    return text


def facet_frame(groups: pd.DataFrame, group_by: Sequence[str], value: str) -> pd.DataFrame:
    """facet / x / value / ci columns for the charts: the first group-by column gives the
    panels (named when they are country codes), the rest the bars; one column: one panel."""
    by = list(group_by)
    facet = groups[by[0]].map(country_name) if len(by) > 1 else pd.Series(["all"] * len(groups))
    bars = by[1:] if len(by) > 1 else by[:1]
    x = groups[bars].astype(str).agg(" ".join, axis=1) if len(groups) else pd.Series([], dtype=str)
    if len(by) == 1 and by[0].lower() in ("country", "iso", "iso3"):
        x = groups[by[0]].map(country_name)
    return pd.DataFrame({"facet": facet.to_numpy(), "x": x.to_numpy(),
                         "value": groups[value].to_numpy(dtype=float),
                         "ci_low": groups.get("ci_low", groups[value]).to_numpy(dtype=float),
                         "ci_high": groups.get("ci_high", groups[value]).to_numpy(dtype=float),
                         "n": groups["n_sentences"].to_numpy()})


def facet_png(groups: pd.DataFrame, group_by: Sequence[str], value: str = "net_per_100",
              title: str = "") -> bytes:
    """One panel per facet value, a bar per x value coloured by sign, 95% intervals as whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = facet_frame(groups, group_by, value)
    facets = list(dict.fromkeys(data["facet"]))
    cols = min(3, max(1, len(facets)))
    rows = max(1, math.ceil(len(facets) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), sharey=True,
                             squeeze=False)
    for ax, facet in zip(axes.flat, facets, strict=False):
        part = data[data["facet"] == facet]
        colours = [POSITIVE if v >= 0 else NEGATIVE for v in part["value"]]
        positions = np.arange(len(part))
        ax.bar(positions, part["value"], color=colours)
        has_ci = np.isfinite(part["ci_low"]).all() and value == "net_per_100"
        if has_ci:
            ax.errorbar(positions, part["value"],
                        yerr=[part["value"] - part["ci_low"], part["ci_high"] - part["value"]],
                        fmt="none", ecolor="#444", elinewidth=0.8, capsize=2)
        ax.axhline(0, color="#555", linewidth=0.7)
        ax.set_xticks(positions, part["x"], rotation=45 if len(part) > 6 else 0, fontsize=8)
        ax.set_title(str(facet)[:40], fontsize=10)
    for ax in list(axes.flat)[len(facets):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(value.replace("_", " "), fontsize=9)
    height = 2.8 * rows
    if title:  # a fixed 0.4 inch band at the top, however many rows of panels
        fig.suptitle(title, fontsize=11, y=1 - 0.08 / height, va="top")
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.4 / height if title else 0)))
    return _png(fig)


def facet_html(groups: pd.DataFrame, group_by: Sequence[str], value: str = "net_per_100",
               title: str = "") -> str:
    """The same chart, interactive, as an HTML fragment; the page supplies plotly.js (`assets`)."""
    import html

    import plotly.express as px

    data = facet_frame(groups, group_by, value)
    data["sign"] = np.where(data["value"] >= 0, "positive", "negative")
    data["hover"] = [html.escape(f"{f} {x}: {v:.1f} (95% CI {lo:.1f} to {hi:.1f}), {n} sentences")
                     for f, x, v, lo, hi, n in data[["facet", "x", "value", "ci_low", "ci_high",
                                                     "n"]].itertuples(index=False)]
    data["facet"] = data["facet"].map(html.escape)
    data["x"] = data["x"].map(html.escape)
    n_facets = data["facet"].nunique()
    rows = math.ceil(n_facets / 3)
    fig = px.bar(data, x="x", y="value", color="sign", facet_col="facet",
                 facet_col_wrap=min(3, max(1, n_facets)), hover_name="hover",
                 hover_data={"x": False, "value": False, "sign": False, "facet": False},
                 color_discrete_map={"positive": POSITIVE, "negative": NEGATIVE},
                 # one trace per sign: without this a panel's bars follow trace order, not x
                 category_orders={"x": list(dict.fromkeys(data["x"]))},
                 title=html.escape(title), labels={"value": value.replace("_", " "), "x": ""},
                 # plotly's default spacing fails beyond ~15 rows (the 197 UNGDC countries: 66)
                 facet_row_spacing=min(0.07, 0.3 / rows), facet_col_spacing=0.04)
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig.update_xaxes(type="category", matches=None)
    fig.update_layout(height=260 * rows + 120, template="plotly_white",
                      showlegend=False)
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def domain_png(points: np.ndarray, sources: Sequence[str]) -> bytes:
    """The two samples on the first two principal components of the model's embeddings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    source = np.asarray(sources)
    for name, colour in (("training data", "#2563eb"), ("corpus", "#ea580c")):
        rows = source == name
        ax.scatter(points[rows, 0], points[rows, 1], s=6, alpha=0.5, c=colour,
                   label=f"{name} ({int(rows.sum())})")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title("Model's latent space ([CLS], last layer)", fontsize=10)
    ax.legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    return _png(fig)


def confidence_png(corpus: np.ndarray, reference: np.ndarray | None = None) -> bytes:
    """Histogram of the model's confidence on the corpus (and on its training data)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    bins = np.linspace(0.5 if corpus.min(initial=1) >= 0.5 else 0.0, 1.0, 26)
    ax.hist(corpus, bins=bins, density=True, alpha=0.6, color="#ea580c",
            label=f"corpus ({len(corpus)} sentences)")
    if reference is not None and len(reference):
        ax.hist(reference, bins=bins, density=True, alpha=0.5, color="#2563eb",
                label=f"training data ({len(reference)})")
    ax.set_xlabel("confidence (top class probability)")
    ax.set_ylabel("density")
    ax.set_title("Prediction confidence", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _panels(n: int) -> tuple[int, int]:
    cols = min(4, max(1, n))
    return max(1, math.ceil(n / cols)), cols


MAX_PANELS = 48  # a page of panels; the table below the chart holds every group


def class_facet_png(shares: pd.DataFrame, group_by: Sequence[str], title: str = "",
                    bars: str = "class", series: str | None = None) -> bytes:
    """A panel per group, a bar per class (or per `bars` value), 95% intervals as whiskers;
    with `series` (e.g. method: naive beside corrected), side-by-side bars per series."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = list(group_by)
    keys = shares[by].astype(str).agg(" ".join, axis=1) if by else pd.Series("all",
                                                                             index=shares.index)
    if by and by[0].lower() in ("country", "iso", "iso3"):
        first = shares[by[0]].map(country_name)
        keys = first + (" " + shares[by[1:]].astype(str).agg(" ".join, axis=1) if len(by) > 1
                        else "")
    data = shares.assign(panel=keys)
    panels = list(dict.fromkeys(data["panel"]))[:MAX_PANELS]
    rows, cols = _panels(len(panels))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), sharey=True,
                             squeeze=False)
    levels = list(dict.fromkeys(data[series])) if series else [None]
    width = 0.8 / len(levels)
    palette = ["#64748b", "#2563eb", "#ea580c", "#15803d", "#9333ea"]
    for ax, panel in zip(axes.flat, panels, strict=False):
        part = data[data["panel"] == panel]
        names = list(dict.fromkeys(part[bars]))
        for j, level in enumerate(levels):
            rows_ = part if level is None else part[part[series] == level]
            rows_ = rows_.set_index(bars).reindex(names)
            pos = np.arange(len(names)) + (j - (len(levels) - 1) / 2) * width
            value = rows_["share"].to_numpy(dtype=float)
            low = np.nan_to_num(value - rows_["ci_low"].to_numpy(dtype=float))
            high = np.nan_to_num(rows_["ci_high"].to_numpy(dtype=float) - value)
            colour = palette[j % len(palette)] if series else \
                [palette[i % len(palette)] for i in range(len(names))]  # a colour a bar
            ax.bar(pos, np.nan_to_num(value), width=width, color=colour,
                   label=str(level) if level is not None else None)
            ax.errorbar(pos, np.nan_to_num(value), yerr=[np.maximum(low, 0), np.maximum(high, 0)],
                        fmt="none", ecolor="#222", elinewidth=0.8, capsize=2)
        ax.set_xticks(np.arange(len(names)), [str(n)[:12] for n in names], fontsize=8,
                      rotation=30 if len(names) > 3 else 0)
        ax.set_ylim(0, 1)
        ax.set_title(str(panel)[:40], fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if series:
        axes.flat[0].legend(fontsize=7)
    height = 2.6 * rows
    if title:
        fig.suptitle(title, fontsize=11, y=1 - 0.08 / height, va="top")
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.4 / height if title else 0)))
    return _png(fig)
