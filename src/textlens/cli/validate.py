"""`textlens validate`: the validation loop of a corpus run (sample, sheet out, labels in,
measure the classifier, correct the group shares)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import Seed

app = typer.Typer(help="Validate a corpus run before publishing it: sample, label, measure, "
                       "correct.", no_args_is_help=True)
Run = Annotated[Path, typer.Argument(help="The corpus run folder (--out of `textlens corpus`).")]
Convenience = Annotated[bool, typer.Option(
    help="Use labels given outside the drawn sample (a non-probability sample; said so).")]


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="validate")


@app.command("sample")
def sample(
    run: Run,
    n: Annotated[int, typer.Option("--n", help="Sentences to draw.")] = 300,
    seed: Seed = 0,
    classes: Annotated[str | None, typer.Option(
        help="Classes you will label with, e.g. negative,neutral,positive (default: the "
        "model's).")] = None,
    by: Annotated[str | None, typer.Option(
        help="Strata columns (default: the run's group-by).")] = None,
    replace: Annotated[bool, typer.Option(help="Draw anew over a labelled sample.")] = False,
    sheet: Annotated[Path | None, typer.Option(help="Also export the sheet to this CSV.")] = None,
    show_predictions: Annotated[bool, typer.Option(
        help="Put the model's prediction in the sheet (off: no anchoring).")] = False,
) -> None:
    """Draw a seeded sample stratified by group and confidence (table `validation`)."""
    from rich.console import Console

    from textlens.corpus.validation import draw_validation_sample, export_sheet

    drawn = draw_validation_sample(run, n, seed, _split(by), _split(classes), replace)
    console = Console()
    console.print(f"{len(drawn.frame)} sentences drawn (seed {seed}) in {len(drawn.strata)} "
                  f"strata ({' x '.join([*drawn.by, 'confidence band'])}); classes: "
                  f"{', '.join(drawn.classes)}", highlight=False)
    if sheet:
        console.print(f"sheet: {export_sheet(run, sheet, show_predictions)}", highlight=False)


@app.command("export")
def export(run: Run, sheet: Annotated[Path, typer.Argument(help="CSV to write.")],
           show_predictions: Annotated[bool, typer.Option(
               help="Add the model's prediction (off: no anchoring).")] = False) -> None:
    """Write the sample as a CSV sheet: ids, group, context, sentence, an empty label column."""
    from textlens.corpus.validation import export_sheet

    typer.echo(f"sheet: {export_sheet(run, sheet, show_predictions)}")


@app.command("import")
def import_(run: Run, labels: Annotated[Path, typer.Argument(help="The filled-in CSV.")]) -> None:
    """Record the labels of a filled-in sheet; every bad row is listed and kept aside."""
    show_import(run, labels)


@app.command("measure")
def measure_(run: Run, bootstrap: Annotated[int, typer.Option(
                 help="Bootstrap replicates.")] = 1000,
             seed: Seed = 0, convenience: Convenience = True,
             import_labels: Annotated[Path | None, typer.Option(
                 "--import", help="Import this labels CSV first.")] = None) -> None:
    """Accuracy, per-class precision / recall / F1 and confusion on the labelled sample."""
    from textlens.corpus.validation import measure
    from textlens.report.corpus_validation_html import write_page

    if import_labels:
        show_import(run, import_labels)
    result = measure(run, bootstrap, seed, convenience)
    _print_frame(result.metrics, "Classifier on this corpus", result.message,
                 ["classifier", "metric", "class", "value", "ci_low", "ci_high", "n"])
    typer.echo(f"page: {write_page(run)}")


@app.command("correct")
def correct(run: Run,
            methods: Annotated[str, typer.Option(help="Corrections: acc, pacc, emq.")
                               ] = "acc,pacc,emq",
            bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates.")] = 200,
            seed: Seed = 0, convenience: Convenience = True,
            import_labels: Annotated[Path | None, typer.Option(
                "--import", help="Import this labels CSV first.")] = None) -> None:
    """Per group, naive beside corrected shares (ACC, PACC, EMQ) with 95% intervals."""
    from textlens.corpus.validation import correct_shares
    from textlens.report.corpus_validation_html import write_page

    if import_labels:
        show_import(run, import_labels)
    result = correct_shares(run, tuple(_split(methods) or ()), bootstrap, seed, convenience)
    shown = result.table.assign(estimate=[
        "not estimated (why: below)" if r else f"{s:.3f} [{lo:.3f}, {hi:.3f}]"
        for s, lo, hi, r in result.table[["share", "ci_low", "ci_high", "too_few"]].itertuples(
            index=False)])
    wide = shown.pivot_table(index=[*result.by, "class"], columns="method", values="estimate",
                             aggfunc="first", sort=False).reset_index()
    _print_frame(wide, "Share per group: naive and corrected (95% interval)", result.message,
                 list(wide.columns))
    typer.echo(f"page: {write_page(run)}")


def show_import(run: Path, labels: Path) -> None:
    from rich.console import Console

    from textlens.corpus.validation import import_sheet

    report = import_sheet(run, labels)
    console = Console()
    console.print(f"{report.n_rows} rows: {report.n_recorded} labels recorded "
                  f"({report.n_in_sample} in the sample, {report.n_convenience} outside it), "
                  f"{report.n_unchanged} unchanged, {report.n_blank} blank, "
                  f"{len(report.problems)} rejected", highlight=False)
    if report.n_convenience:
        console.print("[yellow]Labels outside the drawn sample are a convenience sample: "
                      "estimates that use them rest on a non-probability sample.[/]")
    if len(report.problems):
        _print_frame(report.problems, "Rejected rows (nothing else was lost)",
                     f"fix them in {report.rejected_path} and import that file", None)


def _print_frame(frame, title: str, caption: str, columns) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, caption=escape(caption), caption_justify="left")
    cols = list(columns or frame.columns)
    for c in cols:
        table.add_column(str(c))
    for row in frame[cols].itertuples(index=False):
        table.add_row(*[escape(_cell(v)) for v in row])
    Console().print(table)


def _cell(value) -> str:
    """A figure to 3 decimals; a missing one (a precision with no predictions of the class) as
    the reports show it (`report.templating.MISSING`), never "nan"."""
    from textlens.report.templating import cell_text

    return cell_text(value, lambda v: f"{v:.3f}") if isinstance(value, float) else str(value)


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None
