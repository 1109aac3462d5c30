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
Precision = Annotated[str | None, typer.Option(
    "--precision", help="fp32 (default), tf32 (TF32 matmuls on NVIDIA GPUs) or bf16 (bfloat16 "
    "autocast); the last two were not measured for accuracy.")]


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
    precision: Precision = None,
) -> None:
    """Fine-tune a sequence classifier; writes a HF model directory plus training.json."""
    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_classification

    _check_precision(precision)

    train = load_dataset(data, train_split, data_dir=data_dir, text_col=text_col,
                         label_col=label_col or "label")
    validation = _optional_split(data, eval_split, data_dir, text_col, label_col)
    _report_bad_rows(train, validation)
    config = TrainConfig(max_steps, batch_size, lr, max_length, seed,
                         precision=precision or "fp32")  # type: ignore[arg-type]
    record = train_classification(train, validation, out, config, base, device)
    _print_result(record, out)


@train_app.command("qa")
def qa(
    out: Out,
    data: Annotated[str, typer.Option("--data", help="squad or a SQuAD-format JSON.")] = "squad",
    train_split: Annotated[str, typer.Option("--train-split")] = "train",
    eval_split: Annotated[str, typer.Option("--eval-split")] = "validation",
    base: Base = None,
    max_steps: Annotated[int | None, typer.Option(
        "--max-steps", help="Default by device: 400 on a CPU, 1,500 on a GPU.")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", help="Default by device: 16 on a CPU, 32 on a GPU.")] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", help="Default by device: 1e-4 on a CPU, 2e-4 on a GPU.")] = None,
    max_length: Annotated[int | None, typer.Option(
        "--max-length", help="Window tokens. Default by device: 256 on a CPU, 384 on a GPU.")
    ] = None,
    doc_stride: Annotated[int | None, typer.Option(
        "--doc-stride", help="Tokens neighbouring windows share (default 128).")] = None,
    seed: Seed = 0,
    device: Device = "auto",
    data_dir: DataDir = None,
    precision: Precision = None,
) -> None:
    """Fine-tune an extractive-QA model (question + context windows with offset mapping).

    The default recipe depends on the device (training/qa.py): on a CPU 256-token windows,
    400 steps x 16 at lr 1e-4 (~20 minutes of 2 cores); on a GPU 384-token windows, 1,500
    steps x 32 at lr 2e-4, 10% warm-up, weight decay 0.05 (an untested proposal). Every option
    given overrides its part of the recipe."""
    from rich.console import Console

    from textlens.data import load_dataset
    from textlens.models.loading import resolve_device
    from textlens.training import train_qa
    from textlens.training.qa import qa_recipe

    _check_precision(precision)
    recipe = qa_recipe(resolve_device(device)).with_overrides(
        max_steps=max_steps, batch_size=batch_size, lr=lr, max_length=max_length,
        stride=doc_stride, precision=precision)
    Console(stderr=True).print(
        f"QA recipe '{recipe.name}': {recipe.max_steps} steps x {recipe.batch_size}, lr "
        f"{recipe.lr:g}, max_length {recipe.max_length}, stride {recipe.stride}, "
        f"{recipe.precision}", highlight=False)
    train = load_dataset(data, train_split, data_dir=data_dir)
    validation = _optional_split(data, eval_split, data_dir, None, None)
    _report_bad_rows(train, validation)
    record = train_qa(train, validation, out, recipe.config(seed), base, device, recipe.stride,
                      recipe=recipe.name)
    _print_result(record, out)


def _check_precision(precision: str | None) -> None:
    from textlens.errors import InputError
    from textlens.training.loop import PRECISIONS

    if precision is not None and precision not in PRECISIONS:
        raise InputError(f"Unknown precision '{precision}'.",
                         f"use one of: {', '.join(PRECISIONS)}.")


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

    from textlens.cli.metrics_table import metrics_table

    console = Console()
    console.print(f"Trained {record['steps']} steps in {record['seconds']} s; wrote {out}",
                  highlight=False)
    table = metrics_table(record.get("metrics", {}), int(record.get("validation_examples", 0)),
                          f"Validation: {record.get('data')} {record.get('validation_split')}")
    if table is not None:
        console.print(table)
