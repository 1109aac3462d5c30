"""RUN/report.html: the latent analysis as one self-contained, offline page.

Every piece of dataset text goes through `html.escape` (cells, spans, hover texts); the only
unescaped markup is our own and the attribution engine's fragments, which escape their tokens.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from textlens.models.loading import LoadedModel
from textlens.store.files import atomic_write_text

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;
padding:3px 6px;vertical-align:top;text-align:left}th{background:#f4f4f4}.gold{background:#c8f0c8}
.pred{background:#f8d0d0}.both{background:#f0e68c}.muted{color:#777}.card{border:1px solid #ddd;
border-radius:6px;padding:.6em 1em;margin:.8em 0}img{max-width:100%}details{margin:.4em 0}"""


def esc(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return html.escape("" if value is None else str(value))


def table(frame: pd.DataFrame, columns: Sequence[str] | None = None, limit: int = 50) -> str:
    """An HTML table of the first `limit` rows, every cell escaped."""
    if frame is None or frame.empty:
        return "<p class='muted'>none</p>"
    cols = [c for c in (columns or frame.columns) if c in frame]
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{esc(row[c])}</td>" for c in cols) + "</tr>"
                   for _, row in frame.head(limit).iterrows())
    return f"<table><tr>{head}</tr>{body}</table>"


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


def _attribution(loaded: LoadedModel | None, rows: pd.DataFrame) -> list[str]:
    """Loss-attribution heatmaps from the attribution engine; a note when it is unavailable."""
    if loaded is None or rows.empty:
        return [""] * len(rows)
    try:
        from textlens.attribution import explain

        if "question" in rows:
            inputs = list(zip(rows["question"], rows["context"], strict=True))
            answers = [(s[0], s[0] + len(a[0])) for s, a in
                       zip(map(json.loads, rows["answer_starts"]), map(json.loads, rows["answers"]),
                           strict=True)]
            exps = explain(inputs, model=loaded, method="loss", answers=answers, truncate=True,
                           progress=False)
        else:
            exps = explain(list(rows["text"]), model=loaded, method="loss",
                           labels=[int(x) for x in rows["label"]], truncate=True, progress=False)
        return [e.to_html(fragment=True) for e in exps]
    except Exception as exc:  # noqa: BLE001 - the report must not fail on a heatmap
        note = f"<p class='muted'>loss attribution unavailable: {esc(exc)}</p>"
        return [note] * len(rows)


def _issue_cards(samples: pd.DataFrame, issues: pd.DataFrame, loaded: LoadedModel | None,
                 n: int) -> str:
    if issues is None or issues.empty:
        return "<p class='muted'>no label issues found</p>"
    top = issues.sort_values("rank").head(n).merge(samples, on="id", suffixes=("", "_s"))
    heatmaps = _attribution(loaded, top)
    cards = []
    for (_, row), heat in zip(top.iterrows(), heatmaps, strict=True):
        head = (f"<b>#{int(row['rank'])}</b> {esc(row['id'])} · score {row['score']:.3f} · "
                f"loss {row['loss']:.3f}<br><span class='muted'>{esc(row['reason'])}</span>")
        if "question" in row:
            gold = [(s, s + len(a)) for s, a in zip(json.loads(row["answer_starts"]),
                                                   json.loads(row["answers"]), strict=True)]
            body = (f"<p><b>Q:</b> {esc(row['question'])}<br><b>gold:</b> {esc(row['label'])}"
                    f" · <b>predicted:</b> {esc(row['prediction'])}</p><p>"
                    f"{mark_spans(row['context'], gold, (row['pred_start'], row['pred_end']))}"
                    "</p>")
        else:
            body = (f"<p>{esc(row['text'])}</p><p><b>label:</b> {esc(row.get('label_name'))}"
                    f" · <b>predicted:</b> {esc(row['prediction'])}</p>")
        cards.append(f"<div class='card'>{head}{body}{heat}</div>")
    return "".join(cards)


def _similar(samples: pd.DataFrame, ids: Sequence[str], k: int = 5) -> str:
    by_id = samples.set_index("id")
    text = "question" if "question" in samples else "text"
    label = "label" if "question" in samples else "label_name"
    parts = []
    for sid in ids:
        if sid not in by_id.index:
            continue
        row = by_id.loc[sid]
        near = by_id.loc[json.loads(row["neighbours"])[:k]].reset_index()
        parts.append(f"<details open><summary>{esc(sid)}: {esc(row[text])} "
                     f"({esc(row[label])})</summary>"
                     f"{table(near, ['id', text, label, 'prediction', 'loss', 'cluster'])}"
                     "</details>")
    return "".join(parts)


def _pngs(folder: Path) -> str:
    imgs = []
    for png in sorted(folder.glob("map_*.png")):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        imgs.append(f"<details><summary>{esc(png.name)}</summary>"
                    f"<img alt='{esc(png.name)}' src='data:image/png;base64,{data}'></details>")
    return "".join(imgs)


def write_report(run: Path, samples: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                 info: Mapping[str, Any], loaded: LoadedModel | None = None,
                 n_issues: int = 10) -> Path:
    """Write RUN/report.html (and RUN/maps/*.png) and return its path."""
    from textlens.report.maps import population_html, write_pngs

    write_pngs(samples, run / "maps")
    qa = info.get("task") == "qa"
    score = (f"EM {100 * samples['correct'].mean():.1f} · F1 {100 * samples['f1'].mean():.1f}"
             if qa else f"accuracy {100 * samples['correct'].mean():.1f}%")
    shift = info.get("shift")
    shift_html = ("<p class='muted'>one split only</p>" if not shift else
                  f"<p>k-NN mixing score {shift['mixing']:.3f} (0 = mixed, 1 = separated); "
                  f"split classifier balanced accuracy {esc(shift['classifier_balanced_accuracy'])}"
                  + (f"; mixing counting only neighbours from other titles "
                     f"{shift['mixing_across_titles']:.3f}" if "mixing_across_titles" in shift
                     else "") + "</p>")
    for key in ("title_purity", "label_name_purity"):
        if key in info:
            shift_html += (f"<p>{esc(key)}: {info[key]['observed']:.3f} of neighbours share it "
                           f"(random: {info[key]['expected']:.3f})</p>")
    purity = next((v for k, v in tables.items() if k.endswith("_purity")), None)
    issues = tables.get("label_issues")
    top_ids = list(issues.sort_values("rank")["id"].head(3)) if issues is not None else []
    near = info.get("near_misses") or []
    sections = [
        f"<h1>textlens latent analysis</h1><p>{esc(info.get('dataset'))}/{esc(info.get('split'))}"
        f" · {len(samples)} samples · model {esc(info.get('model'))} · {esc(score)}</p>",
        f"<p class='muted'>{esc(json.dumps(info.get('clustering')))} · neighbours "
        f"{esc(info.get('neighbour_index'))} · timings {esc(json.dumps(info.get('timings_s')))}"
        "</p>",
        "<h2>Population map</h2>", population_html(samples), _pngs(run / "maps"),
        "<h2>Train/validation shift</h2>", shift_html,
        table(purity, limit=20) if purity is not None else "",
        "<h2>Clusters</h2>", table(tables["clusters"]),
        "<h2>High-loss slices</h2>", table(tables["slices"], limit=25),
    ]
    if qa:
        rows = samples[samples["id"].isin(near)]
        sections += [f"<h2>Near misses ({len(near)})</h2><p class='muted'>prediction equals a "
                     "gold answer except for quotes or punctuation</p>",
                     table(rows, ["id", "question", "prediction", "answers"], limit=30)]
    if issues is not None and "cleanlab_agreement" in info:
        sections.append(f"<p>cleanlab agreement: {esc(json.dumps(info['cleanlab_agreement']))}</p>")
    sections += ["<h2>Label issues</h2>", _issue_cards(samples, issues, loaded, n_issues),
                 "<h2>Similar samples</h2>", _similar(samples, top_ids)]
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>textlens latent analysis"
            f"</title><style>{STYLE}</style></head><body>{''.join(sections)}</body></html>")
    return atomic_write_text(run / "report.html", page)
