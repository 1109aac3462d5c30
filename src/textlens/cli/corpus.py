"""`textlens corpus`: classify every sentence of a corpus, aggregate per group, explain a
systematic sample, and write RUN (database, exports, plots, report.html); resumable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from textlens.cli.engine_options import EngineName, RayAddress, Workers
from textlens.cli.options import DataDir, Device, Seed, SelfContained, TextCol

if TYPE_CHECKING:
    from textlens.corpus.pipeline import CorpusResult


def register(app: typer.Typer) -> None:
    from textlens.cli import validate

    app.command("corpus")(corpus)
    validate.register(app)


def parse_floats(value: str | None, n: int, option: str, example: str) -> tuple[float, ...] | None:
    """`0.4,0.6` -> (0.4, 0.6), refusing anything else with the expected form."""
    from textlens.errors import InputError

    if value is None:
        return None
    try:
        numbers = tuple(float(x) for x in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != n:
        raise InputError(f"{option} '{value}' is not {n} comma-separated numbers.",
                         f"pass e.g. {option} {example}.")
    return numbers


def corpus(
    model: Annotated[str, typer.Option(
        "--model", help="Classifier (any classification head): directory or id.")],
    data: Annotated[str, typer.Option(
        "--data", help="ungdc, a folder of .txt files, or a CSV/TSV/JSONL/Parquet table.")],
    out: Annotated[Path, typer.Option("--out", help="Run directory (rerun to resume).")],
    where: Annotated[str | None, typer.Option(
        "--where", help="Filter on metadata, e.g. \"country IN ('USA','FRA') AND year >= 2018\"."
    )] = None,
    group_by: Annotated[str | None, typer.Option(
        "--group-by", help="Comma-separated metadata columns (default: country,year).")] = None,
    path_pattern: Annotated[str | None, typer.Option(
        "--path-pattern", help="Regex with named groups for a folder's metadata "
        "(default: the UNGDC layout 'Session NN - YYYY/CCC_NN_YYYY.txt').")] = None,
    text_col: TextCol = None,
    id_col: Annotated[str | None, typer.Option("--id-col", help="Id column of a table.")] = None,
    neutral_band: Annotated[str | None, typer.Option(
        "--neutral-band", help="LOW,HIGH on p(positive): sentences inside are neutral "
        "(binary models; off by default).")] = None,
    segmenter: Annotated[str, typer.Option(help="rules (default) or pysbd.")] = "rules",
    batch_size: Annotated[int, typer.Option(help="Sentences per forward pass.")] = 128,
    explain: Annotated[int, typer.Option(
        "--explain", help="Sentences to explain (IG), in all or per group; 0: none.")] = 60,
    explain_shares: Annotated[str, typer.Option(
        help="Shares of clear positives, clear negatives, near-threshold.")] = "0.25,0.25,0.5",
    explain_per_group: Annotated[bool, typer.Option(
        help="Sample --explain sentences in every group.")] = False,
    clear: Annotated[float, typer.Option(help="Confidence from which a label is clear.")] = 0.9,
    near: Annotated[float, typer.Option(help="Confidence below which it is near the threshold."
                                        )] = 0.6,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 1000,
    domain_check: Annotated[bool, typer.Option(
        help="Compare the corpus with the model's training data.")] = True,
    report: Annotated[bool, typer.Option(help="Write RUN/report.html.")] = True,
    self_contained: SelfContained = False,
    overwrite: Annotated[bool, typer.Option(help="Start afresh instead of resuming.")] = False,
    data_dir: DataDir = None,
    device: Device = "auto",
    seed: Seed = 0,
    engine: EngineName = "local",
    ray_address: RayAddress = None,
    workers: Workers = None,
) -> None:
    """Every sentence of a corpus classified, aggregated per group (net sentiment for sentiment
    models), with sampled explanations; `textlens validate` measures and corrects it."""
    from textlens.config import seed_everything
    from textlens.corpus.engine import EngineOptions
    from textlens.corpus.pipeline import CorpusOptions, run
    from textlens.corpus.sampling import SamplingOptions
    from textlens.engines import engine_choice
    from textlens.models.loading import load_model

    choice = engine_choice(engine, ray_address, workers)
    band = parse_floats(neutral_band, 2, "--neutral-band", "0.4,0.6")
    shares = parse_floats(explain_shares, 3, "--explain-shares", "0.25,0.25,0.5")
    options = CorpusOptions(
        path_pattern=path_pattern, text_col=text_col or "text", id_col=id_col, where=where,
        group_by=tuple(c.strip() for c in group_by.split(",")) if group_by else None,
        engine=EngineOptions(segmenter, batch_size, band),  # type: ignore[arg-type]
        sampling=SamplingOptions(explain, shares, clear, near, explain_per_group),  # type: ignore
        n_boot=bootstrap, domain_check=domain_check, report=report, seed=seed,
        overwrite=overwrite, data_dir=str(data_dir) if data_dir else None)
    seed_everything(seed)
    from textlens.corpus.pipeline import prepare

    prepare(data, options)  # every input check before the model loads
    loaded = load_model(model, task=None, device=device)
    sentence_engine = None
    if choice.on_ray:
        from textlens.corpus.ray_engine import RayEngine

        sentence_engine = RayEngine(loaded, options.engine, choice)
    result = run(loaded, data, out, options, engine=sentence_engine)
    if self_contained and result.report:
        from textlens.report.assets import make_self_contained

        make_self_contained(result.report)
    show(result)


def show(result: CorpusResult) -> None:
    from rich.console import Console

    console = Console()
    resumed = f" ({result.resumed_documents} resumed)" if result.resumed_documents else ""
    console.print(f"[bold]{result.n_sentences}[/] sentences in {result.n_documents} documents"
                  f"{resumed}, {len(result.groups)} groups, {len(result.bad_files)} "
                  f"file{'' if len(result.bad_files) == 1 else 's'} not used -> {result.run_dir}",
                  highlight=False)
    if result.domain_far and result.domain_message:
        console.print(f"[bold red]Domain warning:[/] {result.domain_message}", highlight=False)
    if result.report:
        console.print(f"report: {result.report}", highlight=False)
    from textlens.cli.serve import serve_command

    console.print(f"explore it: {serve_command(result.run_dir)}", highlight=False)
