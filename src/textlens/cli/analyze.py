"""`textlens analyze`, `query` and `similar`: the latent-space analysis run and its read side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from textlens.cli.engine_options import EngineName, RayAddress, Workers
from textlens.cli.options import DataDir, Device, LabelCol, Seed, SelfContained, TextCol

if TYPE_CHECKING:
    import pandas as pd


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("query")(query)
    app.command("similar")(similar)


def analyze(
    model: Annotated[Path, typer.Option("--model", help="Fine-tuned model directory.")],
    data: Annotated[str, typer.Option("--data", help="sst2, squad, or a table/SQuAD JSON path.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory to write.")],
    task: Annotated[str | None, typer.Option("--task", help="classification or qa.")] = None,
    split: Annotated[str, typer.Option("--split", help="train, validation or all.")] = "all",
    limit: Annotated[int | None, typer.Option(
        "--limit", help="Analyse a seeded random subset of this many samples.")] = None,
    projection: Annotated[str, typer.Option(help="Map: umap, pca or tsne.")] = "umap",
    clustering: Annotated[str, typer.Option(
        help="Clusters: affinity, kmeans or hdbscan.")] = "affinity",
    layer: Annotated[int, typer.Option(help="Hidden layer to embed (-1 = last).")] = -1,
    pooling: Annotated[str | None, typer.Option(
        help="cls, mean or span (QA). Default: cls (classification), mean (QA).")] = None,
    issue_probabilities: Annotated[str, typer.Option(
        help="auto (model on validation rows, cross-validated head on train rows), model, "
             "crossval.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Inference batch size.")] = 32,
    report: Annotated[bool, typer.Option(help="Write RUN/report.html.")] = True,
    self_contained: SelfContained = False,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    data_dir: DataDir = None,
    device: Device = "auto",
    seed: Seed = 0,
    engine: EngineName = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
) -> None:
    """Map the population of samples in the model's latent space and find what is wrong."""
    from rich.console import Console

    from textlens.choices import check_choice
    from textlens.config import seed_everything
    from textlens.data import load_dataset
    from textlens.engines import engine_choice
    from textlens.errors import InputError
    from textlens.latent.embeddings import EmbeddingOptions
    from textlens.latent.options import AnalysisOptions
    from textlens.latent.pipeline import analyze as run_analysis
    from textlens.latent.pipeline import check_out_dir
    from textlens.models.loading import load_model

    # Every choice is checked here, before the data and model are loaded.
    check_choice("task", task, (None, "classification", "qa"))
    options = AnalysisOptions.named(
        projection, clustering, seed=seed, report=report,
        embedding=EmbeddingOptions(layer=layer, pooling=pooling,  # type: ignore[arg-type]
                                   batch_size=batch_size),
        issue_probabilities=issue_probabilities,  # type: ignore[arg-type]
        engine=engine_choice(engine, ray_address, workers))
    if limit is not None and limit < 1:
        raise InputError(f"--limit is {limit}.", "pass a number of samples of at least 1.")
    check_out_dir(out)
    seed_everything(seed)
    dataset = load_dataset(data, split, data_dir=data_dir, text_col=text_col, label_col=label_col)
    if limit:
        dataset = dataset.sample(limit, seed=seed)
    loaded = load_model(model, task=task or dataset.task, device=device)  # type: ignore[arg-type]
    if loaded.task != dataset.task:
        raise InputError(f"The model is a {loaded.task} model but '{data}' is {dataset.task} data.",
                         "pass matching --model and --data.")
    result = run_analysis(loaded, dataset, out, options)
    console = Console()
    console.print(f"[bold]{len(result.samples)}[/] samples, {result.info.clustering.clusters} "
                  f"clusters, {result.info.issues.flagged} flagged label issues -> {out}",
                  highlight=False)
    if result.report:
        if self_contained:
            from textlens.report.assets import make_self_contained

            make_self_contained(result.report)
        console.print(f"report: {result.report}", highlight=False)


def query(
    run: Annotated[Path, typer.Argument(help="Run directory written by `textlens analyze`.")],
    sql: Annotated[str, typer.Argument(help="SQL, e.g. \"SELECT * FROM clusters\".")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    limit: Annotated[int, typer.Option(help="Rows shown in the table view.")] = 50,
) -> None:
    """Run SQL against a run's database (tables: samples, clusters, label_issues, slices)."""
    from textlens.store.run_db import query as run_query

    frame = run_query(run, sql)
    if as_json:
        typer.echo(frame.to_json(orient="records", force_ascii=False))
        return
    _print_table(frame, limit)


def similar(
    run: Annotated[Path, typer.Argument(help="Run directory written by `textlens analyze`.")],
    sample_id: Annotated[str, typer.Argument(metavar="ID", help="Sample id.")],
    k: Annotated[int, typer.Option("-k", help="How many neighbours.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """The k samples nearest to ID in embedding space (cosine)."""
    from textlens.latent.neighbours import similar_samples

    frame = similar_samples(run, sample_id, k)
    if as_json:
        typer.echo(json.dumps(frame.to_dict(orient="records"), ensure_ascii=False, default=str))
        return
    _print_table(frame, k)


def _print_table(frame: pd.DataFrame, limit: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold", max_width=60)
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    Console().print(table)
    if len(frame) > limit:
        Console().print(f"({len(frame) - limit} more rows; use --limit or --json)")
