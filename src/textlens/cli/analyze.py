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

    from textlens.latent.options import AnalysisOptions
    from textlens.latent.results import AnalysisResult
    from textlens.latent.stored import StoredColumns


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("query")(query)
    app.command("similar")(similar)


def analyze(
    out: Annotated[Path, typer.Option("--out", help="Run directory to write.")],
    data: Annotated[str, typer.Option("--data", help="sst2, squad, or a table/SQuAD JSON path.")
                    ] = "",
    model: Annotated[Path | None, typer.Option(
        "--model", help="Fine-tuned model directory (not with stored embeddings).")] = None,
    embeddings: Annotated[Path | None, typer.Option(
        "--embeddings", help="Stored vectors instead of a model: an .npy with one row per "
        "--data row, or a table (Parquet, CSV, JSONL) with a vector column.")] = None,
    vector_col: Annotated[str | None, typer.Option(
        "--vector-col", help="The table's vector column (default: embedding, embeddings or "
        "vector).")] = None,
    id_col: Annotated[str | None, typer.Option(
        "--id-col", help="Stored embeddings: id column (default: id, else row numbers).")] = None,
    prediction_col: Annotated[str | None, typer.Option(
        "--prediction-col", help="Stored embeddings: predicted class column (default: "
        "prediction).")] = None,
    probabilities_col: Annotated[str | None, typer.Option(
        "--probabilities-col", help="Stored embeddings: a list column of class probabilities "
        "(default: probabilities, else columns p_CLASS, one per class).")] = None,
    loss_col: Annotated[str | None, typer.Option(
        "--loss-col", help="Stored embeddings: per-sample loss column (default: loss).")] = None,
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
    """Map the population of samples in the model's latent space and find what is wrong.

    With --embeddings (or --vector-col) the vectors are read, not computed: no model runs, and
    the table's optional label, prediction, probability and loss columns stand in for its
    predictions.
    """
    from textlens.choices import check_choice
    from textlens.config import seed_everything
    from textlens.engines import engine_choice
    from textlens.errors import InputError
    from textlens.latent.embeddings import EmbeddingOptions
    from textlens.latent.options import AnalysisOptions
    from textlens.latent.pipeline import check_out_dir

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
    stored = embeddings is not None or vector_col is not None
    if stored:
        from textlens.latent.stored import StoredColumns

        if model is not None:
            raise InputError("--model and stored embeddings (--embeddings / --vector-col) were "
                             "both given.", "drop --model: stored vectors are analysed without "
                             "one (or drop --embeddings to embed with the model).")
        if limit is not None or task == "qa":
            raise InputError("--limit and --task qa do not apply to stored embeddings.",
                             "drop them; pass a table of the rows to analyse.")
        columns = StoredColumns(text=text_col or "text", vector=vector_col, id=id_col,
                                label=label_col, prediction=prediction_col,
                                probabilities=probabilities_col, loss=loss_col)
        result = _analyze_stored(data, embeddings, columns, out, options)
    else:
        if model is None or not data:
            raise InputError("analyze needs --model and --data (or stored embeddings).",
                             "pass --model DIR --data NAME, or --embeddings FILE.npy --data "
                             "TABLE, or --data TABLE --vector-col COLUMN.")
        result = _analyze_model(model, data, out, options, task, split, limit, text_col,
                                label_col, data_dir, device, seed)
    _print_result(result, out, self_contained)


def _analyze_stored(data: str, embeddings: Path | None, columns: StoredColumns, out: Path,
                    options: AnalysisOptions) -> AnalysisResult:
    from textlens.errors import InputError
    from textlens.latent.pipeline import analyze_stored
    from textlens.latent.stored import read_stored

    if embeddings is not None and embeddings.suffix.lower() != ".npy":
        if data and Path(data) != embeddings:
            raise InputError(f"--embeddings {embeddings} is a table, and --data {data} another.",
                             "pass the table once (--embeddings TABLE), or an .npy with "
                             "--data TABLE.")
        table, vectors = embeddings, None
    else:
        if not data:
            raise InputError("--embeddings FILE.npy needs the table its rows belong to.",
                             "pass --data TABLE (Parquet, CSV or JSONL; one row per vector).")
        table, vectors = Path(data), embeddings
    return analyze_stored(read_stored(table, vectors, columns), out, options)


def _analyze_model(model: Path, data: str, out: Path, options: AnalysisOptions, task: str | None,
                   split: str, limit: int | None, text_col: str | None, label_col: str | None,
                   data_dir: Path | None, device: str, seed: int) -> AnalysisResult:
    from textlens.data import load_dataset
    from textlens.errors import InputError
    from textlens.latent.pipeline import analyze as run_analysis
    from textlens.models.loading import load_model

    dataset = load_dataset(data, split, data_dir=data_dir, text_col=text_col, label_col=label_col)
    if limit:
        dataset = dataset.sample(limit, seed=seed)
    loaded = load_model(model, task=task or dataset.task, device=device)  # type: ignore[arg-type]
    if loaded.task != dataset.task:
        raise InputError(f"The model is a {loaded.task} model but '{data}' is {dataset.task} data.",
                         "pass matching --model and --data.")
    return run_analysis(loaded, dataset, out, options)


def _print_result(result: AnalysisResult, out: Path, self_contained: bool = False) -> None:
    from rich.console import Console

    from textlens.cli.serve import serve_command

    console = Console()
    info = result.info
    issues = ("no labels, so no label issues" if info.issues.probabilities == "none"
              else f"{info.issues.flagged} flagged label issues")
    console.print(f"[bold]{len(result.samples)}[/] samples, {info.clustering.clusters} "
                  f"clusters, {issues} -> {out}", highlight=False)
    if result.explanations.note:
        console.print(result.explanations.note, highlight=False)
    if result.report:
        if self_contained:
            from textlens.report.assets import make_self_contained

            make_self_contained(result.report)
        console.print(f"report: {result.report}", highlight=False)
    console.print(f"explore it: {serve_command(out)}", highlight=False)


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
    """A terminal table that never breaks a word, an id or a header mid-way: long text columns
    wrap between words and take the width left; the others stay whole on one line, and the
    columns that do not fit the terminal are named below it instead of being squeezed. Floats
    in 4 significant digits, so a p-value reads 7.7e-23, not 0.000."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    shown = frame.head(limit)
    cells = {col: [f"{v:.4g}" if isinstance(v, float) else str(v) for v in shown[col]]
             for col in frame.columns}
    width, kept, left_out = 1, [], []
    for col, values in cells.items():
        long = (bool(values) and sum(map(len, values)) / len(values) > 24
                and any(" " in v for v in values))  # prose; an id never wraps
        need = 20 if long else max([len(str(col)), *map(len, values)])
        if kept and width + need + 3 > console.width:
            left_out.append(str(col))
            continue
        kept.append((col, long))
        width += need + 3
    table = Table(show_lines=False)
    for col, long in kept:
        if long:
            table.add_column(str(col), overflow="fold", ratio=1, min_width=20)
        else:
            table.add_column(str(col), no_wrap=True)
    for i in range(len(shown)):
        table.add_row(*(cells[col][i] for col, _ in kept))
    console.print(table)
    if left_out:
        console.print(f"(columns not shown at this width: {', '.join(left_out)}; use --json or "
                      "select fewer columns)", highlight=False)
    if len(frame) > limit:
        console.print(f"({len(frame) - limit} more rows; use --limit or --json)")
