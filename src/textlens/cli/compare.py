"""`textlens validate compare RUN_A RUN_B`: two models' runs over the same corpus side by side
(shares naive and corrected, flipped sentences, the accuracy change on the same labels)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import Seed


def register(app: typer.Typer) -> None:
    """A command of the `validate` group (the loop's last step; cli/validate.py owns the
    group, registered by cli/corpus.py before this module)."""
    from textlens.cli.validate import app as validate_app

    validate_app.command("compare")(compare)


def compare(
    run_a: Annotated[Path, typer.Argument(help="The first run (e.g. of the original model).")],
    run_b: Annotated[Path, typer.Argument(help="The second run over the same corpus (e.g. of "
                                               "the model fine-tuned on RUN_A's labels).")],
    json_out: Annotated[str | None, typer.Option(
        "--json", help="Write the comparison as JSON to this path ('-': stdout).")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML page.")] = None,
    examples: Annotated[int, typer.Option(help="Flipped sentences shown per label pair.")] = 5,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates of the corrections.")
                         ] = 200,
    seed: Seed = 0,
) -> None:
    """Two models' runs of one corpus: shares, flipped labels, the accuracy change.

    Per group the naive and corrected shares of both runs, the sentences whose label flipped,
    and the accuracy change (paired, on the same labelled sentences, with a 95% interval).
    RUN_B gets RUN_A's validation sample and labels when it has none."""
    import json

    from rich.console import Console
    from rich.table import Table

    from textlens.corpus.compare import compare_runs
    from textlens.store.files import atomic_write_text

    for path in (json_out, html):
        if path not in (None, "-") and Path(path).is_dir():
            from textlens.errors import InputError

            raise InputError(f"'{path}' is a folder.", "pass a file path.")
    result = compare_runs(run_a, run_b, examples, bootstrap, seed)
    if json_out == "-":
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    console = Console()
    for note in result.notes:
        console.print(f"[yellow]{note}[/]", highlight=False, markup=True)
    acc = result.accuracy
    if acc is None:
        console.print(result.accuracy_source, highlight=False)
    else:
        change = acc.change
        console.print(
            f"Accuracy on the same {acc.n} labelled sentences (design-weighted): A "
            f"{acc.accuracy_a.value:.3f} [{acc.accuracy_a.low:.3f}, {acc.accuracy_a.high:.3f}], "
            f"B {acc.accuracy_b.value:.3f} [{acc.accuracy_b.low:.3f}, {acc.accuracy_b.high:.3f}]"
            f"; change {change.value:+.3f} (95% interval {change.low:+.3f} to "
            f"{change.high:+.3f}, paired bootstrap). {result.accuracy_source}.",
            highlight=False, markup=False)
    console.print(f"{result.n_flipped} of {result.n_sentences} sentences changed label:",
                  highlight=False)
    flips = Table("A said", "B says", "sentences")
    for row in result.flips.itertuples(index=False):
        flips.add_row(str(row.label_a), str(row.label_b), str(row.n))
    console.print(flips)
    _shares_table(console, result)
    if json_out:
        atomic_write_text(Path(json_out), json.dumps(result.to_dict(), indent=2, default=str))
        console.print(f"json: {json_out}", highlight=False)
    if html:
        from textlens.report.corpus_compare_html import render

        atomic_write_text(html, render(result))
        console.print(f"html: {html}", highlight=False)


def _shares_table(console, result) -> None:
    from rich.table import Table

    def cell(share, low, high, reason) -> str:
        if share != share:
            return "too few labels" if isinstance(reason, str) and reason else "-"
        return f"{100 * share:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"

    table = Table(*result.by, "class", "method", "A (95% interval)", "B (95% interval)",
                  title="Shares per group: naive (classify-and-count) and corrected")
    for row in result.shares.to_dict("records"):
        table.add_row(*(str(row[c]) for c in result.by), str(row["class"]), str(row["method"]),
                      cell(row["share_a"], row["ci_low_a"], row["ci_high_a"], row["too_few_a"]),
                      cell(row["share_b"], row["ci_low_b"], row["ci_high_b"], row["too_few_b"]))
    console.print(table)
    console.print(f"A: {result.shares_message_a}\nB: {result.shares_message_b}", highlight=False,
                  markup=False)
