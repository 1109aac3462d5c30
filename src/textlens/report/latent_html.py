"""RUN/report.html: the latent analysis as one self-contained, offline page a person reads.

Values in, page out: the page is rendered from an `AnalysisResult` (tables, the typed
`RunInfo`, the explanations the pipeline computed); nothing here runs a model. Every piece of
dataset text goes through `html.escape` (cells, spans, hover texts); the only unescaped markup
is our own and the attribution renderer's, which escapes its tokens.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from textlens.store.files import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from textlens.latent.results import AnalysisResult, RunInfo

STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;
padding:0 1em}table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px
solid #ddd;padding:3px 8px;vertical-align:top;text-align:left}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}.gold{background:#c8f0c8}
.pred{background:#f8d0d0}.both{background:#f0e68c}.muted{color:#666}.card{border:1px solid #ddd;
border-radius:6px;padding:.6em 1em;margin:.8em 0}img{max-width:100%}details{margin:.4em 0}
h2{margin-top:1.6em;border-bottom:1px solid #eee}p.lead{font-size:1.05em}
td:first-child{white-space:nowrap}summary{cursor:pointer;color:#444}"""
Format = Callable[[Any], str]


def esc(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return html.escape("" if value is None else str(value))


def number(digits: int = 2) -> Format:
    return lambda v: "" if v is None or pd.isna(v) else f"{float(v):.{digits}f}"


def percent(v: Any) -> str:
    return "" if v is None or pd.isna(v) else f"{100 * float(v):.0f}%"


def p_value(v: Any) -> str:
    return "" if v is None or pd.isna(v) else ("1" if v >= 0.995 else f"{float(v):.2g}")


def table(frame: pd.DataFrame | None, columns: Mapping[str, str], limit: int = 50,
          formats: Mapping[str, Format] | None = None) -> str:
    """An HTML table of the first `limit` rows: `columns` maps column -> header; cells escaped."""
    if frame is None or frame.empty:
        return "<p class='muted'>none</p>"
    cols = [c for c in columns if c in frame]
    formats = formats or {}
    head = "".join(f"<th>{esc(columns[c])}</th>" for c in cols)
    rows = []
    for _, row in frame.head(limit).iterrows():
        cells = []
        for c in cols:
            shown = formats[c](row[c]) if c in formats else row[c]
            numeric = isinstance(row[c], int | float | np.number)
            cells.append(f"<td{' class=num' if numeric else ''}>{esc(shown)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p class='muted'>{len(frame) - limit} more rows in the run's database.</p>"
            if len(frame) > limit else "")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def mark_spans(context: str, gold: Sequence[tuple[int, int]], pred: tuple[int, int],
               window: int = 300) -> str:
    """The context around the spans, gold in green, prediction in red, overlap in yellow."""
    lo = max(0, min([pred[0], *(s for s, _ in gold)]) - window)
    hi = min(len(context), max([pred[1], *(e for _, e in gold)]) + window)
    out = []
    for i in range(lo, hi):
        in_gold = any(s <= i < e for s, e in gold)
        in_pred = pred[0] <= i < pred[1]
        cls = "both" if in_gold and in_pred else "gold" if in_gold else "pred" if in_pred else ""
        ch = html.escape(context[i])
        out.append(f"<span class='{cls}'>{ch}</span>" if cls else ch)
    return ("…" if lo else "") + "".join(out) + ("…" if hi < len(context) else "")


def short_path(path: str) -> str:
    """A model path with the home folder as ~ (shorter, and no user name on a shared page)."""
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def headline(samples: pd.DataFrame, info: RunInfo) -> str:
    qa = info.task == "qa"
    score = (f"exact match {100 * samples['correct'].mean():.1f}%, F1 "
             f"{100 * samples['f1'].mean():.1f}%" if qa else
             f"accuracy {100 * samples['correct'].mean():.1f}%")
    return (f"<h1>Latent analysis: {esc(info.dataset)} ({esc(info.split)})</h1>"
            f"<p class='lead'>{info.n:,} samples, model <code>{esc(short_path(info.model))}</code>: "
            f"{score}. {esc(info.clustering.method)} finds {info.clustering.clusters} clusters; "
            f"{info.issues.flagged:,} samples are flagged as likely label issues.</p>")


def clusters_section(clusters: pd.DataFrame, samples: pd.DataFrame, info: RunInfo) -> str:
    c = info.clustering
    fitted = ("all samples" if c.fitted_on >= info.n else
              f"a seeded sample of {c.fitted_on:,}; every other sample joined its nearest cluster")
    noise = f" {c.noise:,} samples fall in no cluster (noise)." if c.noise else ""
    mean = float(samples["loss"].mean())
    frame = clusters.assign(ratio=clusters["mean_loss"] / mean if mean else np.nan)
    columns = {"id": "cluster", "size": "samples", "mean_loss": "mean loss",
               "ratio": "× mean loss", "accuracy": "exact match" if info.task == "qa"
               else "accuracy", "f1": "F1", "top_terms": "distinctive terms",
               "answer_terms": "answer terms", "question_types": "questions",
               "answer_types": "answers", "titles": "titles", "labels": "labels"}
    formats = {"mean_loss": number(3), "ratio": number(2), "accuracy": percent, "f1": percent}
    return ("<h2>Clusters</h2>"
            f"<p>{esc(c.method)} on the embeddings, fitted on {fitted}.{noise} Highest mean loss "
            "first; the terms are what a cluster's texts say more often than the other "
            "clusters'.</p>" + table(frame, columns, formats=formats))


def slices_section(slices: pd.DataFrame, qa: bool) -> str:
    from textlens.report.maps import display_name

    if not slices.empty:
        slices = slices.assign(feature=slices["feature"].map(display_name))
    columns = {"feature": "column", "value": "value", "size": "samples", "mean_loss": "mean loss",
               "loss_ratio": "× mean loss", "accuracy": "exact match" if qa else "accuracy",
               "p_value": "p"}
    formats = {"mean_loss": number(3), "loss_ratio": number(2), "accuracy": percent,
               "p_value": p_value}
    return ("<h2>Where the model fails: high-loss slices</h2><p>Every value of a column with at "
            "least a few samples, highest mean loss first. p: Welch's t-test of the slice's "
            "losses against the rest, Bonferroni-corrected.</p>"
            + table(slices, columns, limit=25, formats=formats))


def shift_section(info: RunInfo, purity: pd.DataFrame, samples: pd.DataFrame) -> str:
    k, p = info.neighbours_k, info.purity
    group = p.group
    parts = ["<h2>Neighbourhoods and train/validation shift</h2>"]
    if info.shift is None:
        parts.append(f"<p>All samples are from one split ({esc(samples['split'].iloc[0])}): "
                     "there is no train/validation shift to measure.</p>")
    else:
        s = info.shift
        clf = ("" if s.classifier_balanced_accuracy is None else
               f" A logistic classifier tells the splits apart with balanced accuracy "
               f"{s.classifier_balanced_accuracy:.2f} (0.5 = indistinguishable).")
        across = ("" if s.mixing_across_titles is None else
                  f" Counting only neighbours from other titles the score is "
                  f"{s.mixing_across_titles:.2f}; near 0 while the overall score is high means "
                  "topic explains the separation.")
        parts.append(f"<p>Split mixing score {s.mixing:.2f} (0 = train and validation as mixed "
                     f"as at random, 1 = fully separated).{clf}{across}</p>")
    parts.append(f"<p>{100 * p.observed:.0f}% of a sample's {k} nearest neighbours share its "
                 f"{esc(group)} ({100 * p.expected:.0f}% if neighbours were random).</p>")
    columns = {"group": group, "size": "samples", "purity": "neighbours sharing it",
               "expected": "at random", **({"split": "split"} if info.shift else {})}
    formats = {"purity": percent, "expected": percent}
    return "".join(parts) + table(purity, columns, limit=20, formats=formats)


def issues_intro(info: RunInfo) -> str:
    i = info.issues
    if info.task == "qa":
        return ("<p>Questions whose confident predicted span overlaps no gold answer, in a "
                "sentence closer to the question than the gold answer's sentence.</p>")
    if i.probabilities == "none":  # stored embeddings without labels
        return "<p>The table has no labels, so no label issues are looked for.</p>"
    source = {"model": "the model's own (out-of-sample only for rows it did not train on)",
              "crossval": "a 5-fold cross-validated logistic head on the embeddings, for every "
                          "row",
              "auto": "the model's own"}[i.probabilities]
    if i.probabilities == "auto" and i.crossval_rows:
        source += (f", and for the {i.crossval_rows:,} training rows a 5-fold cross-validated "
                   "logistic head on the embeddings")
    text = (f"<p>Samples whose given label the evidence disputes, most suspicious first; each "
            f"card gives the reason. Class probabilities: {source}. {i.flagged:,} samples are "
            "flagged.")
    if i.cleanlab is not None:
        c = i.cleanlab
        text += (f" cleanlab's <code>find_label_issues</code> on the same probabilities flags "
                 f"{c.cleanlab_flagged:,}; the two flagged sets overlap with Jaccard "
                 f"{c.jaccard:.2f}, and {100 * c.top_in_cleanlab:.0f}% of our top {c.top} are "
                 "in cleanlab's set.")
    return text + "</p>"


def issue_cards(result: AnalysisResult, n: int) -> str:
    issues, samples = result.label_issues, result.samples
    if issues is None or issues.empty:
        return "<p class='muted'>No label issues found.</p>"
    top = issues.sort_values("rank").head(n).merge(samples, on="id", suffixes=("", "_sample"))
    note = result.explanations.note
    cards = [f"<p class='muted'>{esc(note)}</p>"] if note else []
    for _, row in top.iterrows():
        kind = f" · {esc(row['kind'])}" if "kind" in row and pd.notna(row["kind"]) else ""
        head = (f"<b>#{int(row['rank'])}</b> <span class='muted'>{esc(row['id'])}{kind} · "
                f"score {row['score']:.3f} · loss {row['loss']:.2f}</span><br>"
                f"{esc(row['reason'])}")
        if "question" in row:
            gold = [(s, s + len(a)) for s, a in zip(json.loads(row["answer_starts"]),
                                                   json.loads(row["answers"]), strict=True)]
            body = (f"<p><b>Question:</b> {esc(row['question'])}<br><b>Gold answer:</b> "
                    f"{esc(row['label'])} · <b>predicted:</b> {esc(row['prediction'])}</p><p>"
                    f"{mark_spans(row['context'], gold, (row['pred_start'], row['pred_end']))}"
                    "</p>")
        else:
            body = (f"<p>{esc(row['text'])}</p><p><b>Label:</b> {esc(row['label'])} · "
                    f"<b>predicted:</b> {esc(row['prediction'])} ({row['confidence']:.2f})</p>")
        explanation = result.explanations.by_id.get(row["id"])
        heat = (f"<details{' open' if row['rank'] <= 3 else ''}><summary>What drove the loss "
                "(loss attribution)</summary>"
                f"{explanation.to_html(fragment=True)}</details>" if explanation else "")
        cards.append(f"<div class='card'>{head}{body}{heat}</div>")
    return "".join(cards)


def similar_section(samples: pd.DataFrame, ids: Sequence[str], k: int = 5) -> str:
    by_id = samples.set_index("id")
    qa = "question" in samples
    text = "question" if qa else "text"
    columns = {"id": "id", text: text, "label": "gold answer" if qa else "label",
               "prediction": "predicted", "loss": "loss", "cluster": "cluster"}
    parts = []
    for sid in ids:
        if sid not in by_id.index:
            continue
        row = by_id.loc[sid]
        near = by_id.loc[json.loads(row["neighbours"])[:k]].reset_index()
        parts.append(f"<details open><summary>{esc(row[text])} ({esc(row['label'])})</summary>"
                     f"{table(near, columns, formats={'loss': number(2)})}</details>")
    return "".join(parts) or "<p class='muted'>none</p>"


def about_section(info: RunInfo) -> str:
    t, cache = info.timings, info.cache
    rows = [("model", short_path(info.model)), ("model fingerprint", info.model_fingerprint),
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
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_report(result: AnalysisResult, pngs: Mapping[str, bytes], n_issues: int) -> str:
    """The whole page from the analysis values (and the static map PNGs, by colouring)."""
    from textlens.report.maps import display_name, population_html

    info, samples = result.info, result.samples
    issues = result.label_issues
    top_ids = list(issues.sort_values("rank")["id"].head(3)) if not issues.empty else []
    images = "".join(f"<details><summary>by {esc(display_name(c))}</summary><img alt='map by "
                     f"{esc(display_name(c))}' src='data:image/png;base64,"
                     f"{base64.b64encode(data).decode('ascii')}'></details>"
                     for c, data in pngs.items())
    sections = [
        headline(samples, info),
        "<h2>Population map</h2><p>Each point is a sample, placed by "
        f"{esc(info.projection.method)} of the model's embeddings so that similar samples sit "
        "together; point size is the loss. Hover over a point for its text.</p>",
        population_html(samples),
        f"<details><summary>Static maps (PNG)</summary>{images}</details>" if images else "",
        clusters_section(result.clusters, samples, info),
        slices_section(result.slices, info.task == "qa"),
        shift_section(info, result.purity, samples),
    ]
    if info.task == "qa":
        rows = samples[samples["id"].isin(info.near_misses)]
        sections += [f"<h2>Near misses ({len(info.near_misses)})</h2><p>Predictions equal to a "
                     "gold answer except for quotes or punctuation.</p>",
                     table(rows, {"id": "id", "question": "question", "prediction": "predicted",
                                  "answers": "gold answers"}, limit=30,
                           formats={"answers": lambda v: " · ".join(json.loads(v))})]
    sections += ["<h2>Likely label issues</h2>", issues_intro(info),
                 issue_cards(result, n_issues),
                 "<h2>Similar samples</h2><p>The nearest neighbours (cosine, in embedding space) "
                 "of the top three label issues.</p>", similar_section(samples, top_ids),
                 "<h2>About this run</h2>", about_section(info)]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>textlens latent "
            f"analysis: {esc(info.dataset)}</title><style>{STYLE}</style></head><body>"
            f"{''.join(sections)}</body></html>")


def write_report(run: Path, result: AnalysisResult, n_issues: int = 10) -> Path:
    """Write RUN/report.html and RUN/maps/map_*.png (atomically); return the page's path."""
    from textlens.report.maps import map_pngs

    pngs = map_pngs(result.samples)
    for column, data in pngs.items():
        atomic_write_bytes(run / "maps" / f"map_{column}.png", data)
    return atomic_write_text(run / "report.html", render_report(result, pngs, n_issues))
