"""`textlens predict`: labels and confidences for texts (or answers for questions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import Device


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)


def predict(
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to classify.")] = None,
    model: Annotated[Path, typer.Option("--model", help="Model directory.")] = Path("model"),
    question: Annotated[str | None, typer.Option("--question", help="QA: the question.")] = None,
    context: Annotated[str | None, typer.Option("--context", help="QA: the context.")] = None,
    input_file: Annotated[Path | None, typer.Option("--input", help="Table of texts.")] = None,
    text_col: Annotated[str, typer.Option("--text-col")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Write predictions (.jsonl).")] = None,
    device: Device = "auto",
) -> None:
    """Classify texts (arguments or --input table), or answer --question over --context."""
    import json

    from rich.console import Console
    from rich.table import Table

    from textlens.data import QAExample, load_table
    from textlens.errors import InputError
    from textlens.models import load_model
    from textlens.models.inputs import as_text
    from textlens.models.predict import predict_classification, predict_qa
    from textlens.store.files import atomic_write_text

    loaded = load_model(model, device=device)
    console = Console()
    if loaded.task == "qa":
        if question is None or context is None:
            raise InputError("A QA model needs --question and --context.")
        example = QAExample("q", "", as_text(context, "context"), as_text(question, "question"), ())
        best = predict_qa(loaded, [example], progress=False)[0]
        console.print(f"Answer: [bold]{best.answer}[/] (score {best.score:.2f})", highlight=False)
        return
    ids: list[str]
    if input_file is not None:
        table_data = load_table(input_file, text_col, None)
        ids, items = [e.id for e in table_data], [e.text for e in table_data]
    else:
        items = [as_text(t) for t in texts or []]
        ids = [str(i) for i in range(len(items))]
    if not items:
        raise InputError("No texts given.", "pass texts as arguments or --input FILE --text-col COL.")
    preds = predict_classification(loaded, items)
    rows = [{"id": i, "text": t, "label": loaded.label_names[int(k)], "confidence": float(c)}
            for i, t, k, c in zip(ids, items, preds.labels, preds.confidence, strict=True)]
    if out is not None:
        atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        console.print(f"Wrote {len(rows)} predictions to {out}", highlight=False)
        return
    table = Table("text", "label", "confidence")
    for row in rows:
        table.add_row(row["text"], row["label"], f"{row['confidence']:.3f}")
    console.print(table)
