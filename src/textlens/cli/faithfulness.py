"""`textlens faithfulness`: every method on the same texts: ERASER comprehensiveness/sufficiency
(AOPC, with 95% intervals) against a random baseline, the model-randomisation sanity check, and
seconds and model evaluations per text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import DataDir, Device, ModelOpt, Seed

DEFAULT_METHODS = "all"


def register(app: typer.Typer) -> None:
    app.command("faithfulness")(faithfulness_command)


def faithfulness_command(
    model: ModelOpt = None,
    data: Annotated[str, typer.Option(help="Dataset name or table path.")] = "sst2",
    split: Annotated[str, typer.Option(help="Split.")] = "validation",
    n: Annotated[int, typer.Option("--n", help="Number of texts (seeded sample).")] = 200,
    methods: Annotated[str, typer.Option(
        help="Comma-separated methods, or all (every method whose library is installed).")]
    = DEFAULT_METHODS,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results JSON.")] = None,
    data_dir: DataDir = None,
    seed: Seed = 0,
    device: Device = "auto",
) -> None:
    """How faithful is each attribution method? (ERASER + randomisation check)"""
    from rich.console import Console
    from rich.table import Table

    from textlens.attribution.faithfulness import available_methods, run_faithfulness
    from textlens.attribution.registry import get_method
    from textlens.cli.options import check_device, check_output, model_source
    from textlens.data import load_dataset
    from textlens.models.loading import load_model
    from textlens.store.files import atomic_write_json

    source = model_source(model)
    names = available_methods() if methods.strip() == "all" else \
        [m.strip() for m in methods.split(",") if m.strip()]
    for method in names:
        get_method(method)
    check_output(json_out, "--json")
    check_device(device)
    loaded = load_model(source, task="classification", device=device)
    dataset = load_dataset(data, split, data_dir=data_dir).sample(n, seed)
    texts = [ex.text for ex in dataset]
    result = run_faithfulness(loaded, texts, names, seed=seed)
    result["data"] = {"name": data, "split": split, "n": len(texts), "seed": seed}
    table = Table(title=f"Faithfulness on {len(texts)} {data}/{split} texts")
    for col in ("method", "AOPC comp. (higher) [95% CI]", "AOPC suff. (lower) [95% CI]",
                "rand. rank corr.", "s / text", "evals / text"):
        table.add_column(col)
    for row in result["methods"]:
        corr = row.get("randomisation_spearman")
        seconds, evals = row.get("seconds_per_text"), row.get("evaluations_per_text")
        table.add_row(row["method"],
                      _with_interval(row["aopc_comprehensiveness"],
                                     row["aopc_comprehensiveness_ci95"]),
                      _with_interval(row["aopc_sufficiency"], row["aopc_sufficiency_ci95"]),
                      "-" if corr is None else f"{corr:.2f}",
                      "-" if seconds is None else f"{seconds:.3f}",
                      "-" if evals is None else f"{evals:.1f}")
    console = Console()
    console.print(table)
    console.print(result["note"], highlight=False)
    if json_out is not None:
        atomic_write_json(json_out, result)


def _with_interval(value: float, ci: list[float] | None) -> str:
    if ci is None:
        return f"{value:.3f} (too few texts for an interval)"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
