"""`textlens predict`: labels and confidences for texts (or answers for questions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import Device, IdCol, ModelOpt


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)


def predict(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify.")] = None,
    model: ModelOpt = None,
    question: Annotated[str | None, typer.Option("--question", help="QA: the question.")] = None,
    context: Annotated[str | None, typer.Option("--context", help="QA: the context.")] = None,
    input_file: Annotated[Path | None, typer.Option("--input", help="Table of texts.")] = None,
    text_col: Annotated[str, typer.Option("--text-col")] = "text",
    id_col: IdCol = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write predictions (.jsonl).")] = None,
    device: Device = "auto",
) -> None:
    """Classify texts (arguments or --input table), or answer --question over --context."""
    import json

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from textlens.cli.options import check_device, check_output, model_source
    from textlens.cli.rows import read_table, report_bad_rows
    from textlens.data import QAExample
    from textlens.errors import InputError
    from textlens.models import load_model
    from textlens.models.inputs import as_text
    from textlens.models.predict import predict_classification, predict_qa
    from textlens.store.files import atomic_write_text

    source = model_source(model)
    check_output(out, "--out")
    check_device(device)
    loaded = load_model(source, device=device)
    console = Console()
    if loaded.task == "classification" and (question is not None or context is not None):
        raise InputError(f"The model {loaded.source} is a classifier "
                         f"({', '.join(loaded.label_names)}): --question and --context are for "
                         "QA models.", 'classify texts: textlens predict "TEXT" --model DIR, or '
                         "pass a QA model (e.g. one from `textlens train qa`).")
    if loaded.task == "qa":
        if question is None or context is None:
            raise InputError(f"The model {loaded.source} is a QA model: it needs --question and "
                             "--context.", 'pass --question "..." --context "...".')
        example = QAExample("q", "", as_text(context, "context"), as_text(question, "question"), ())
        best = predict_qa(loaded, [example], progress=False)[0]
        console.print(f"Answer: [bold]{best.answer}[/] (span logit score {best.score:.2f}: "
                      "start + end logit, not a probability)", highlight=False)
        return
    ids: list[str]
    metadata: list[dict] = []
    rejected: list[dict] = []
    if input_file is not None:
        table_data = read_table(input_file, text_col, id_col)
        report_bad_rows(table_data)
        ids, items = [e.id for e in table_data], [e.text for e in table_data]
        metadata = [dict(e.metadata) for e in table_data]
        rejected = [{"id": b.id, "where": b.where, "rejected": b.reason}
                    for b in table_data.bad_rows]
    else:
        items = [as_text(t) for t in texts or []]
        ids = [str(i) for i in range(len(items))]
    if not items and not rejected:
        raise InputError("No texts given.", "pass texts as arguments or --input FILE --text-col COL.")
    preds = predict_classification(loaded, items) if items else None
    rows = [{"id": i, "text": t, "label": preds.label_names[int(k)], "confidence": float(c)}
            for i, t, k, c in zip(ids, items, preds.labels, preds.confidence, strict=True)
            ] if preds is not None else []
    for row, meta in zip(rows, metadata, strict=False):
        row["metadata"] = meta
    if out is not None:
        lines = [json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows + rejected]
        atomic_write_text(out, "".join(lines))
        console.print(f"Wrote {len(rows)} predictions and {len(rejected)} rejected rows (with "
                      f"their reason) to {out}", highlight=False)
        return
    table = Table("text", "label", "confidence")
    for row in rows:
        table.add_row(Text(row["text"]), Text(row["label"]), f"{row['confidence']:.3f}")
    for bad in rejected:
        table.add_row(Text(f"(rejected {bad['where']})"), Text(bad["rejected"]), "-")
    console.print(table)
