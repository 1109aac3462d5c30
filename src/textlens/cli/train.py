"""`textlens train classification|qa`: fine-tune a head (and the encoder) on a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import DataDir, Device, LabelCol, Seed, TextCol

train_app = typer.Typer(help="Fine-tune a model to explain.", no_args_is_help=True)

Out = Annotated[Path, typer.Option("--out", help="Model directory to write.")]
Base = Annotated[str | None, typer.Option("--base", help="Base encoder: minilm (default), "
                                          "a model directory or a hub id (needs a network).")]


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")


@train_app.command("classification")
def classification(
    out: Out,
    data: Annotated[str, typer.Option("--data", help="sst2 or a table file.")] = "sst2",
    train_split: Annotated[str, typer.Option("--train-split")] = "train",
    eval_split: Annotated[str, typer.Option("--eval-split")] = "validation",
    text_col: TextCol = None,
    label_col: LabelCol = None,
    base: Base = None,
    max_steps: Annotated[int, typer.Option("--max-steps")] = 400,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    lr: Annotated[float, typer.Option("--lr")] = 5e-5,
    max_length: Annotated[int, typer.Option("--max-length")] = 64,
    seed: Seed = 0,
    device: Device = "auto",
    data_dir: DataDir = None,
) -> None:
    """Fine-tune a sequence classifier; writes a HF model directory plus training.json."""
    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_classification

    train = load_dataset(data, train_split, data_dir=data_dir, text_col=text_col,
                         label_col=label_col or "label")
    validation = _optional_split(data, eval_split, data_dir, text_col, label_col)
    _report_bad_rows(train, validation)
    config = TrainConfig(max_steps, batch_size, lr, max_length, seed)
    record = train_classification(train, validation, out, config, base, device)
    _print_result(record, out)


@train_app.command("qa")
def qa(
    out: Out,
    data: Annotated[str, typer.Option("--data", help="squad or a SQuAD-format JSON.")] = "squad",
    train_split: Annotated[str, typer.Option("--train-split")] = "train",
    eval_split: Annotated[str, typer.Option("--eval-split")] = "validation",
    base: Base = None,
    max_steps: Annotated[int, typer.Option("--max-steps")] = 312,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 16,
    lr: Annotated[float, typer.Option("--lr")] = 1e-4,
    max_length: Annotated[int, typer.Option("--max-length")] = 384,
    doc_stride: Annotated[int, typer.Option("--doc-stride")] = 128,
    seed: Seed = 0,
    device: Device = "auto",
    data_dir: DataDir = None,
) -> None:
    """Fine-tune an extractive-QA model (question + context windows with offset mapping)."""
    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_qa

    train = load_dataset(data, train_split, data_dir=data_dir)
    validation = _optional_split(data, eval_split, data_dir, None, None)
    _report_bad_rows(train, validation)
    config = TrainConfig(max_steps, batch_size, lr, max_length, seed)
    record = train_qa(train, validation, out, config, base, device, doc_stride)
    _print_result(record, out)


def _optional_split(data: str, split: str, data_dir: Path | None, text_col: str | None,
                    label_col: str | None):
    from textlens.data import load_dataset

    if split in ("", "none"):
        return None
    return load_dataset(data, split, data_dir=data_dir, text_col=text_col,
                        label_col=label_col or "label")


def _report_bad_rows(*datasets) -> None:
    from rich.console import Console

    console = Console(stderr=True)
    for data in datasets:
        if data is not None:
            console.print(data.bad_rows_summary(), highlight=False)


def _print_result(record: dict, out: Path) -> None:
    from rich.console import Console

    metrics = record.get("metrics", {})
    shown = {k: v for k, v in metrics.items() if k in ("accuracy", "macro_f1", "exact_match", "f1")}
    Console().print(f"Trained {record['steps']} steps in {record['seconds']} s; "
                    f"validation {shown}; wrote {out}", highlight=False)
