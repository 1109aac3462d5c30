"""`textlens demo`: train (once) a sentiment model, then run the corpus pipeline on six countries' UN
General Debate speeches, 2016-2020, and print where the report is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import DataDir, Seed


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


DEMO_COUNTRIES = ("USA", "FRA", "DEU", "PRK", "PAK", "GBR")  # the six of the project's seed


def demo(
    out: Annotated[Path, typer.Option("--out", help="Where to write the demo's run.")] = Path(
        "outputs/demo"),
    model_dir: Annotated[Path | None, typer.Option(
        "--model-dir", help="Sentiment model to use or create "
        "(default: ~/.cache/textlens/models/sentiment-minilm).")] = None,
    explain: Annotated[int, typer.Option(
        "--explain", help="Sentences explained per country-year group.")] = 4,
    seed: Seed = 0,
    data_dir: DataDir = None,
) -> None:
    """Sentence-level sentiment of six countries' UN General Debate speeches, 2016-2020: every
    sentence classified, net sentiment per country and year, sampled explanations, a report."""
    from rich.console import Console

    from textlens.cli.corpus import show
    from textlens.config import models_cache_dir
    from textlens.corpus.pipeline import CorpusOptions, run
    from textlens.corpus.sampling import SamplingOptions
    from textlens.models import load_model

    console = Console()
    model_dir = model_dir or models_cache_dir() / "sentiment-minilm"
    if not (model_dir / "training.json").exists():
        console.print(f"No sentiment model at {model_dir}: training one on SST-2 "
                      "(300 steps, about 5 minutes on 2 CPU cores, once).", highlight=False)
        _train_sentiment(model_dir, data_dir)
    countries = ", ".join(f"'{c}'" for c in DEMO_COUNTRIES)
    options = CorpusOptions(
        where=f"country IN ({countries}) AND year BETWEEN 2016 AND 2020",
        sampling=SamplingOptions(size=explain, per_group=True), seed=seed,
        data_dir=str(data_dir) if data_dir else None)
    console.print(f"Classifying every sentence of {', '.join(DEMO_COUNTRIES)}, 2016-2020, "
                  f"with {model_dir} ...", highlight=False)
    result = run(load_model(model_dir), "ungdc", out, options)
    show(result)
    _show_groups(console, result)
    _show_accuracy(console, model_dir)
    console.print(f"Open the report: {Path(result.report or out).resolve()}", highlight=False)
    console.print(f"In the browser, after the serve line above: "
                  f"http://127.0.0.1:8765/?run={Path(out).resolve().name}", highlight=False)
    console.print(f"Validate before you publish (docs/corpus.md): textlens validate sample {out} "
                  "--n 300 --classes negative,neutral,positive, then label it in the "
                  "dashboard's Validate tab (or --sheet labels.csv)", highlight=False)


def _show_accuracy(console, model_dir: Path) -> None:
    """The model's validation accuracy from its training.json, with its interval."""
    import json

    from textlens.cli.metrics_table import metrics_table

    record = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))
    table = metrics_table(record.get("metrics", {}), int(record.get("validation_examples", 0)),
                          f"The sentiment model on {record.get('data')} "
                          f"{record.get('validation_split')}")
    if table is not None:
        console.print(table)


def _show_groups(console, result) -> None:
    from rich.table import Table

    from textlens.report.corpus_plots import country_name

    table = Table("country", "year", "sentences", "net per 100", "95% interval",
                  title="Net sentiment per 100 sentences")
    for row in result.groups.itertuples(index=False):
        colour = "green" if row.net_per_100 >= 0 else "red"
        table.add_row(country_name(row.country), str(row.year), str(row.n_sentences),
                      f"[{colour}]{row.net_per_100:+.1f}[/]",
                      f"{row.ci_low:+.1f} to {row.ci_high:+.1f}")
    console.print(table)


def _train_sentiment(model_dir: Path, data_dir: Path | None) -> None:
    from textlens.data import load_dataset
    from textlens.training import TrainConfig, train_classification

    train = load_dataset("sst2", "train", data_dir=data_dir)
    validation = load_dataset("sst2", "validation", data_dir=data_dir)
    train_classification(train, validation, model_dir, TrainConfig(300, 32, 5e-5, 64, 0))
