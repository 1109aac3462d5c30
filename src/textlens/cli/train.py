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
    data: Annotated[str, typer.Option(
        "--data", help="sst2 or a table file; with --init, a corpus run (RUN folder).")] = "sst2",
    train_split: Annotated[str, typer.Option("--train-split")] = "train",
    eval_split: Annotated[str, typer.Option("--eval-split")] = "validation",
    text_col: TextCol = None,
    label_col: LabelCol = None,
    base: Base = None,
    init: Annotated[str | None, typer.Option(
        "--init", help="Fine-tune this classifier (a model directory) on the validation labels "
        "of the corpus run --data RUN, with cross-fitting (see --folds).")] = None,
    mix: Annotated[str | None, typer.Option(
        "--mix", help="With --init: mix in the model's original training data (e.g. sst2).")
    ] = None,
    mix_ratio: Annotated[float, typer.Option(
        "--mix-ratio", help="With --mix: examples of it per labelled corpus sentence.")] = 1.0,
    folds: Annotated[int, typer.Option(
        "--folds", help="With --init: cross-fitting folds (K models on K-1 folds give the "
        "out-of-fold figures, then one on all labels).")] = 5,
    epochs: Annotated[float, typer.Option(
        "--epochs", help="With --init: passes over the labels (and the mix).")] = 4.0,
    max_steps: Annotated[int | None, typer.Option(
        "--max-steps", help="Default 400 (with --init: set by --epochs).")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", help="Default 32 (with --init: 16).")] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", help="Default 5e-5 (with --init: 3e-5).")] = None,
    max_length: Annotated[int | None, typer.Option(
        "--max-length", help="Default 64 tokens (with --init: 128).")] = None,
    seed: Seed = 0,
    device: Device = "auto",
    data_dir: DataDir = None,
    precision: Precision = None,
) -> None:
    """Fine-tune a sequence classifier; writes a HF model directory plus training.json.

    With --init MODEL --data RUN: MODEL is fine-tuned on RUN's validation labels (its classes
    become the run's: a class it lacks, e.g. neutral, is added to its head); the labels are
    cross-fitted so the figures in training.json are measured on sentences each model never
    trained on; then `textlens corpus --model OUT ... --out RUN_NEW` and
    `textlens validate compare RUN RUN_NEW`."""
    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_classification

    _check_precision(precision)
    if init is not None:
        if max_steps is not None:
            from textlens.errors import InputError

            raise InputError("--max-steps does not apply with --init.",
                             "set the length of fine-tuning with --epochs.")
        _finetune_on_run(init, data, out, mix, mix_ratio, folds, epochs, batch_size, lr,
                         max_length, seed, device, data_dir, precision)
        return
    train = load_dataset(data, train_split, data_dir=data_dir, text_col=text_col,
                         label_col=label_col or "label")
    validation = _optional_split(data, eval_split, data_dir, text_col, label_col)
    _report_bad_rows(train, validation)
    config = TrainConfig(max_steps or 400, batch_size or 32, lr or 5e-5, max_length or 64, seed,
                         precision=precision or "fp32")  # type: ignore[arg-type]
    record = train_classification(train, validation, out, config, base, device)
    _print_result(record, out)


def _finetune_on_run(init: str, data: str, out: Path, mix: str | None, mix_ratio: float,
                     folds: int, epochs: float, batch_size: int | None, lr: float | None,
                     max_length: int | None, seed: int, device: str, data_dir: Path | None,
                     precision: str | None) -> None:
    from rich.console import Console

    from textlens.errors import InputError
    from textlens.store.corpus_db import db_path
    from textlens.training.corpus import CorpusFinetune, finetune_on_run

    if not db_path(data).is_file():
        raise InputError(f"--init fine-tunes on a corpus run's labels, but --data '{data}' is "
                         "not a corpus run folder.",
                         "pass --data RUN (the --out of `textlens corpus`, labelled with "
                         "`textlens serve RUN` or a labels CSV).")
    defaults = CorpusFinetune()
    options = CorpusFinetune(
        folds=folds, epochs=epochs, batch_size=batch_size or defaults.batch_size,
        lr=lr or defaults.lr, max_length=max_length or defaults.max_length, seed=seed, mix=mix,
        mix_ratio=mix_ratio, precision=precision or "fp32")  # type: ignore[arg-type]
    record = finetune_on_run(init, data, out, options, device, data_dir)
    oof = record["out_of_fold"]
    change = oof["accuracy_change_from_init"]
    console = Console()
    console.print(
        f"Fine-tuned {init} on {record['labels_used']} labelled sentences of {data} "
        f"(classes {record['classes']}; added {record['classes_added'] or 'none'}); "
        f"{record['folds']}-fold cross-fitting, out-of-fold (design-weighted, on sentences "
        f"each model never trained on): accuracy {oof['accuracy']:.3f}, macro F1 "
        f"{oof['macro_f1']:.3f}; change from {init} on the same sentences "
        f"{change['change']['value']:+.3f} (95% interval {change['change']['ci_low']:+.3f} to "
        f"{change['change']['ci_high']:+.3f}); wrote {out}", highlight=False)
    where = _run_where(data)
    console.print(f"Next: textlens corpus --model {out} --data DATA "
                  f"{'--where ' + repr(where) + ' ' if where else ''}--out RUN_NEW (DATA and the "
                  f"options as for {data}), then textlens validate compare {data} RUN_NEW",
                  highlight=False, markup=False)


def _run_where(run: str) -> str | None:
    """The --where a corpus run was made with (its fingerprint), to repeat it."""
    import json

    from textlens.store.corpus_db import connect, run_info_values

    with connect(run, read_only=True) as con:
        fingerprint = run_info_values(con).get("fingerprint") or "{}"
    return json.loads(fingerprint).get("where")


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
