"""`textlens faithfulness`: ERASER comprehensiveness/sufficiency against a random baseline and
the model-randomisation sanity check, on a labelled dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textlens.cli.options import DataDir, Device, ModelOpt, Seed

DEFAULT_METHODS = "ig,gradient-x-input,saliency,occlusion"


def register(app: typer.Typer) -> None:
    app.command("faithfulness")(faithfulness_command)


def faithfulness_command(
    model: ModelOpt = None,
    data: Annotated[str, typer.Option(help="Dataset name or table path.")] = "sst2",
    split: Annotated[str, typer.Option(help="Split.")] = "validation",
    n: Annotated[int, typer.Option("--n", help="Number of texts (seeded sample).")] = 200,
    methods: Annotated[str, typer.Option(help="Comma-separated methods.")] = DEFAULT_METHODS,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results JSON.")] = None,
    data_dir: DataDir = None,
    seed: Seed = 0,
    device: Device = "auto",
) -> None:
    """How faithful is each attribution method? (ERASER + randomisation check)"""
    from rich.console import Console
    from rich.table import Table

    from textlens.attribution.faithfulness import run_faithfulness
    from textlens.attribution.registry import get_method
    from textlens.cli.options import check_device, check_output, model_source
    from textlens.data import load_dataset
    from textlens.models.loading import load_model
    from textlens.store.files import atomic_write_json

    source = model_source(model)
    for method in methods.split(","):
        if method.strip():
            get_method(method.strip())
    check_output(json_out, "--json")
    check_device(device)
    loaded = load_model(source, task="classification", device=device)
    dataset = load_dataset(data, split, data_dir=data_dir).sample(n, seed)
    texts = [ex.text for ex in dataset]
    result = run_faithfulness(loaded, texts, [m.strip() for m in methods.split(",") if m],
                              seed=seed)
    result["data"] = {"name": data, "split": split, "n": len(texts), "seed": seed}
    table = Table(title=f"Faithfulness on {len(texts)} {data}/{split} texts")
    for col in ("method", "AOPC comp. (higher)", "AOPC suff. (lower)", "rand. rank corr."):
        table.add_column(col)
    for row in result["methods"]:
        corr = row.get("randomisation_spearman")
        table.add_row(row["method"], f"{row['aopc_comprehensiveness']:.3f}",
                      f"{row['aopc_sufficiency']:.3f}", "-" if corr is None else f"{corr:.2f}")
    Console().print(table)
    if json_out is not None:
        atomic_write_json(json_out, result)
