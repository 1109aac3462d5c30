"""`textlens` entry point. Each command lives in its own module with a `register(app)` function;
modules import nothing heavy at top level so `textlens --help` stays instant."""

from __future__ import annotations

import importlib
import sys

import typer

from textlens.errors import TextlensError

COMMAND_MODULES = (
    "textlens.cli.train",
    "textlens.cli.evaluate",
    "textlens.cli.predict",
    "textlens.cli.demo",
    "textlens.cli.data",
    "textlens.cli.analyze",
    "textlens.cli.explain",
    "textlens.cli.faithfulness",
    "textlens.cli.serve",
    "textlens.cli.export_labels",
    "textlens.cli.corpus",
    "textlens.cli.compare",
)

app = typer.Typer(
    name="textlens",
    help="Explain transformer text models and debug their data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",  # docstrings' line breaks are not kept mid-sentence
)

for module_name in COMMAND_MODULES:
    importlib.import_module(module_name).register(app)


def main() -> None:
    """Run the CLI; user errors print their problem and fix, without a traceback."""
    try:
        app()
    except TextlensError as exc:
        from rich.console import Console
        from rich.markup import escape

        console = Console(stderr=True)  # escape: "textlens[ray]" is text, not a Rich style tag
        console.print(f"[bold red]Error:[/] {escape(exc.problem)}", highlight=False)
        if exc.fix:
            console.print(f"[bold]Fix:[/] {escape(exc.fix)}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
