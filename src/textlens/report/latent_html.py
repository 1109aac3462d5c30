"""RUN/report.html: the latent analysis as one offline page a person reads.

Values in, page out: the page is `templates/latent.html.j2` rendered from an `AnalysisResult`
(tables, the typed `RunInfo`, the explanations the pipeline computed); nothing here runs a
model. The template autoescapes every value (cells, spans, headings); the only markup passed in
is our own (the map's plotly fragment and the attribution fragments, both escaped where they
were rendered). plotly.min.js lies beside the page (`assets`), or inline with `self_contained`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from textlens.report.assets import PLOTLY_TAG, write_page
from textlens.report.templating import Table, number, p_value, percent, render_page, table_of
from textlens.store.files import atomic_write_bytes

if TYPE_CHECKING:
    from textlens.latent.results import AnalysisResult, RunInfo


@dataclass(frozen=True)
class Span:
    """A run of context characters: in the gold answer, the prediction, both, or neither ("")."""

    text: str
    css: str


@dataclass(frozen=True)
class IssueCard:
    rank: int
    id: str
    kind: str | None
    score: float
    loss: float
    reason: str
    text: str | None  # classification: the text, its label and prediction
    label: str
    prediction: str
    confidence: float | None
    question: str | None  # QA: the question and the context around the spans
    context: tuple[Span, ...] = ()
    explanation: Markup | None = None  # the loss attribution, rendered by attribution_html
    open: bool = False


@dataclass(frozen=True)
class Similar:
    text: str
    label: str
    neighbours: Table | None


def mark_spans(context: str, gold: Sequence[tuple[int, int]], pred: tuple[int, int],
               window: int = 300) -> tuple[Span, ...]:
    """The context around the spans, gold in green, prediction in red, overlap in yellow."""
    lo = max(0, min([pred[0], *(s for s, _ in gold)]) - window)
    hi = min(len(context), max([pred[1], *(e for _, e in gold)]) + window)
    out: list[Span] = [Span("…", "")] if lo else []
    for i in range(lo, hi):
        in_gold = any(s <= i < e for s, e in gold)
        in_pred = pred[0] <= i < pred[1]
        css = "both" if in_gold and in_pred else "gold" if in_gold else "pred" if in_pred else ""
        if out and out[-1].css == css:
            out[-1] = Span(out[-1].text + context[i], css)
        else:
            out.append(Span(context[i], css))
    return tuple(out + ([Span("…", "")] if hi < len(context) else []))


def short_path(path: str) -> str:
    """A model path with the home folder as ~ (shorter, and no user name on a shared page)."""
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def score_line(samples: pd.DataFrame, info: RunInfo) -> str:
    if info.task == "qa":
        return (f"exact match {100 * samples['correct'].mean():.1f}%, F1 "
                f"{100 * samples['f1'].mean():.1f}%")
    return f"accuracy {100 * samples['correct'].mean():.1f}%"


def clusters_table(clusters: pd.DataFrame, samples: pd.DataFrame, info: RunInfo) -> Table | None:
    mean = float(samples["loss"].mean())
    frame = clusters.assign(ratio=clusters["mean_loss"] / mean if mean else np.nan)
    columns = {"id": "cluster", "size": "samples", "mean_loss": "mean loss",
               "ratio": "× mean loss", "accuracy": "exact match" if info.task == "qa"
               else "accuracy", "f1": "F1", "top_terms": "distinctive terms",
               "answer_terms": "answer terms", "question_types": "questions",
               "answer_types": "answers", "titles": "titles", "labels": "labels"}
    formats = {"mean_loss": number(3), "ratio": number(2), "accuracy": percent, "f1": percent}
    return table_of(frame, columns, formats=formats)


def slices_table(slices: pd.DataFrame, qa: bool) -> Table | None:
    from textlens.report.maps import display_name

    if not slices.empty:
        slices = slices.assign(feature=slices["feature"].map(display_name))
    columns = {"feature": "column", "value": "value", "size": "samples", "mean_loss": "mean loss",
               "loss_ratio": "× mean loss", "accuracy": "exact match" if qa else "accuracy",
               "p_value": "p"}
    formats = {"mean_loss": number(3), "loss_ratio": number(2), "accuracy": percent,
               "p_value": p_value}
    return table_of(slices, columns, limit=25, formats=formats)


def purity_group(info: RunInfo) -> str:
    return info.purity.group


def purity_table(info: RunInfo, purity: pd.DataFrame) -> Table | None:
    columns = {"group": purity_group(info), "size": "samples", "purity": "neighbours sharing it",
               "expected": "at random", **({"split": "split"} if info.shift else {})}
    return table_of(purity, columns, limit=20, formats={"purity": percent, "expected": percent})


def probability_source(info: RunInfo) -> str:
    i = info.issues
    if i.probabilities == "none":  # stored embeddings without labels: no issues looked for
        return "none"
    source = {"model": "the model's own (out-of-sample only for rows it did not train on)",
              "crossval": "a 5-fold cross-validated logistic head on the embeddings, for every "
                          "row",
              "auto": "the model's own"}[i.probabilities]
    if i.probabilities == "auto" and i.crossval_rows:
        source += (f", and for the {i.crossval_rows:,} training rows a 5-fold cross-validated "
                   "logistic head on the embeddings")
    return source


def issue_cards(result: AnalysisResult, n: int) -> list[IssueCard]:
    issues, samples = result.label_issues, result.samples
    if issues is None or issues.empty:
        return []
    top = issues.sort_values("rank").head(n).merge(samples, on="id", suffixes=("", "_sample"))
    cards = []
    for _, row in top.iterrows():
        qa = "question" in row
        explanation = result.explanations.by_id.get(row["id"])
        context: tuple[Span, ...] = ()
        if qa:
            gold = [(s, s + len(a)) for s, a in zip(json.loads(row["answer_starts"]),
                                                   json.loads(row["answers"]), strict=True)]
            context = mark_spans(row["context"], gold, (row["pred_start"], row["pred_end"]))
        cards.append(IssueCard(
            int(row["rank"]), str(row["id"]),
            str(row["kind"]) if "kind" in row and pd.notna(row["kind"]) else None,
            float(row["score"]), float(row["loss"]), str(row["reason"]),
            None if qa else str(row["text"]), str(row["label"]),
            str(row["prediction"]), None if qa else float(row["confidence"]),
            str(row["question"]) if qa else None, context,
            Markup(explanation.to_html(fragment=True)) if explanation else None,
            row["rank"] <= 3))
    return cards


def similar(samples: pd.DataFrame, ids: Sequence[str], k: int = 5) -> list[Similar]:
    by_id = samples.set_index("id")
    qa = "question" in samples
    text = "question" if qa else "text"
    columns = {"id": "id", text: text, "label": "gold answer" if qa else "label",
               "prediction": "predicted", "loss": "loss", "cluster": "cluster"}
    out = []
    for sid in ids:
        if sid not in by_id.index:
            continue
        row = by_id.loc[sid]
        near = by_id.loc[json.loads(row["neighbours"])[:k]].reset_index()
        out.append(Similar(str(row[text]), str(row["label"]),
                           table_of(near, columns, formats={"loss": number(2)})))
    return out


def about_rows(info: RunInfo) -> list[tuple[str, Any]]:
    t, cache = info.timings, info.cache
    return [("model", short_path(info.model)), ("model fingerprint", info.model_fingerprint),
            ("map", f"{info.projection.method} ({info.projection.settings})"),
            ("clusters", f"{info.clustering.method} ({info.clustering.settings})"),
            ("neighbours", f"{info.neighbours_k} nearest, "
                           + ("exact cosine" if info.neighbour_index == "exact"
                              else "hnswlib (approximate)")),
            ("reused from the run cache", ", ".join(cache.hits) or "nothing"),
            ("computed", ", ".join(cache.misses) or "nothing"),
            ("time", f"predicting {t.predict_s:.1f} s, embedding {t.embed_s:.1f} s, map "
                     f"{t.project_s:.1f} s, clusters {t.cluster_s:.1f} s, explanations "
                     f"{t.explain_s:.1f} s"),
            ("seed", info.seed)]


def render_report(result: AnalysisResult, pngs: Mapping[str, bytes], n_issues: int) -> str:
    """The whole page from the analysis values (and the static map PNGs, by colouring); it
    loads plotly.min.js from beside it (`write_report`)."""
    from textlens.report.maps import display_name, population_html

    info, samples = result.info, result.samples
    issues = result.label_issues
    top_ids = list(issues.sort_values("rank")["id"].head(3)) if not issues.empty else []
    near_misses = None
    if info.task == "qa":
        near_misses = table_of(
            samples[samples["id"].isin(info.near_misses)],
            {"id": "id", "question": "question", "prediction": "predicted",
             "answers": "gold answers"}, limit=30,
            formats={"answers": lambda v: " · ".join(json.loads(v))})
    return render_page(
        "latent.html.j2", info=info, plotly=PLOTLY_TAG, model=short_path(info.model),
        score=score_line(samples, info), population=Markup(population_html(samples)),
        maps=[(display_name(c), base64.b64encode(data).decode("ascii"))
              for c, data in pngs.items()],
        clusters=clusters_table(result.clusters, samples, info),
        slices=slices_table(result.slices, info.task == "qa"),
        one_split=samples["split"].iloc[0] if info.shift is None else None,
        purity_group=purity_group(info), purity=purity_table(info, result.purity),
        near_misses=near_misses,
        source=None if info.task == "qa" else probability_source(info),
        cards=issue_cards(result, n_issues), note=result.explanations.note,
        similar=similar(samples, top_ids), about=about_rows(info))


def write_report(run: Path, result: AnalysisResult, n_issues: int = 10,
                 self_contained: bool = False) -> Path:
    """Write RUN/report.html (plotly.min.js beside it, or inline: `self_contained`) and
    RUN/maps/map_*.png, atomically; return the page's path."""
    from textlens.report.maps import map_pngs

    pngs = map_pngs(result.samples)
    for column, data in pngs.items():
        atomic_write_bytes(run / "maps" / f"map_{column}.png", data)
    return write_page(run / "report.html", render_report(result, pngs, n_issues), self_contained)
