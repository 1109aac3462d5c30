"""`textlens evaluate`: official metrics of a model on a dataset split, as a table and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import DataDir, Device, LabelCol, ModelOpt, TextCol


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)


def evaluate(
    model: ModelOpt = None,
    task: Annotated[str | None, typer.Option("--task", help="classification or qa "
                                             "(default: from the model).")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Dataset name or file "
                                             "(default: sst2 / squad by task).")] = None,
    split: Annotated[str, typer.Option("--split")] = "validation",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write metrics JSON here "
                                                  "('-' for stdout).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Evaluate the first N only.")] = None,
    max_length: Annotated[int | None, typer.Option(
        "--max-length", help="QA window tokens (default: as the model was trained, else 384).")]
    = None,
    doc_stride: Annotated[int | None, typer.Option(
        "--doc-stride", help="QA window overlap (default: as the model was trained, else 128).")]
    = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    device: Device = "auto",
    data_dir: DataDir = None,
) -> None:
    """Accuracy/macro-F1 (classification) or SQuAD EM/F1 with and without quote stripping (QA)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from textlens.choices import check_choice
    from textlens.cli.options import check_device, check_output, model_source
    from textlens.data import load_dataset
    from textlens.errors import DataError
    from textlens.models import load_model
    from textlens.models.evaluate import evaluate_classification, evaluate_qa
    from textlens.models.qa import DEFAULT_QA_WINDOWING, QAWindowing
    from textlens.store.files import atomic_write_json

    model = model_source(model)
    if task is not None:
        check_choice("--task", task, ("classification", "qa"))
    if data in (None, "sst2", "squad"):
        check_choice("--split", split, ("train", "validation", "all"))
    if max_length is not None or doc_stride is not None:
        QAWindowing(max_length or DEFAULT_QA_WINDOWING.max_length,
                    DEFAULT_QA_WINDOWING.stride if doc_stride is None else doc_stride)
    check_output(json_out, "--json")
    check_device(device)
    loaded = load_model(model, task, device)  # type: ignore[arg-type]
    name = data or ("squad" if loaded.task == "qa" else "sst2")
    dataset = load_dataset(name, split, data_dir=data_dir, text_col=text_col,
                           label_col=label_col or "label")
    if dataset.task != loaded.task:
        raise DataError(f"'{name}' is {dataset.task} data but the model is a {loaded.task} model.",
                        "pass matching --data and --model.")
    if limit:
        dataset = dataset.head(limit)
    Console(stderr=True).print(dataset.bad_rows_summary(), highlight=False)
    dataset.require_rows()
    if loaded.task == "qa":
        metrics = evaluate_qa(loaded, dataset, max_length=max_length, stride=doc_stride)
    else:
        metrics = evaluate_classification(loaded, dataset)
    metrics.update({"model": str(model), "data": name, "split": split})
    if json_out is not None and str(json_out) == "-":
        typer.echo(json.dumps(metrics, indent=2))
        return
    table = Table("metric", "value", title=f"{Path(model).name} on {name}/{split}")
    for key in ("accuracy", "macro_f1", "exact_match", "f1", "mean_loss", "n"):
        if metrics.get(key) is not None:
            table.add_row(key, f"{metrics[key]:.4g}" if isinstance(metrics[key], float)
                          else str(metrics[key]))
    if "stripped" in metrics:
        table.add_row("exact_match (quotes stripped)", f"{metrics['stripped']['exact_match']:.4g}")
        table.add_row("f1 (quotes stripped)", f"{metrics['stripped']['f1']:.4g}")
    Console().print(table)
    if json_out is not None:
        atomic_write_json(json_out, metrics)
        Console().print(f"Wrote {json_out}", highlight=False)
