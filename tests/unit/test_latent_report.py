"""The latent report layer: pure (values in, pages out), and maps a person can read."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import textlens.report as report_package
from textlens.report.maps import colour_columns, population_figure

REPORT_DIR = Path(report_package.__file__).parent
RUNS_MODELS = ("textlens.attribution.api", "textlens.models", "textlens.latent.pipeline",
               "torch", "transformers")


def runtime_imports(path: Path) -> list[str]:
    """Modules imported by a file outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    names = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


@pytest.mark.parametrize("module", ["latent_html.py", "maps.py"])
def test_latent_report_runs_no_model(module) -> None:
    path = REPORT_DIR / module
    imported = runtime_imports(path)
    assert not [m for m in imported if m.startswith(RUNS_MODELS) or m.endswith(".explain")]
    assert "explain(" not in path.read_text(encoding="utf-8")
    assert "except Exception" not in path.read_text(encoding="utf-8")


def samples(splits: tuple[str, ...], n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": [f"s{i}" for i in range(n)], "split": [splits[i % len(splits)] for i in range(n)],
        "text": [f"<b>text {i}</b>" for i in range(n)], "label_index": [i % 2 for i in range(n)],
        "label": [("negative", "positive")[i % 2] for i in range(n)],
        "prediction": [("negative", "positive")[(i // 3) % 2] for i in range(n)],
        "correct": [float(i % 2 == (i // 3) % 2) for i in range(n)],
        "loss": rng.random(n), "x": rng.random(n), "y": rng.random(n),
        "cluster": [i % 3 for i in range(n)]})


def test_one_split_map_is_coloured_by_label_not_split() -> None:
    frame = samples(("validation",))
    assert colour_columns(frame)[0] == "label" and "split" not in colour_columns(frame)
    fig = population_figure(frame)
    menu = fig.layout.updatemenus[0]
    assert [b.label for b in menu.buttons] == ["label", "cluster", "prediction"]
    assert fig.layout.title.text is None  # no plotly title to collide with the menu
    legend = " ".join(a.text for a in fig.layout.annotations)
    assert "negative" in legend and "positive" in legend and "Colour by" in legend
    colours = dict(zip(frame["label"], fig.data[0].marker.color, strict=True))
    assert colours["negative"] != colours["positive"]


def test_two_split_map_starts_with_split_and_names_values() -> None:
    frame = samples(("train", "validation"))
    fig = population_figure(frame)
    assert [b.label for b in fig.layout.updatemenus[0].buttons][0] == "split"
    by_prediction = next(b for b in fig.layout.updatemenus[0].buttons if b.label == "prediction")
    legend = " ".join(a["text"] for a in by_prediction.args[1]["annotations"])
    assert "correct" in legend and "wrong" in legend and "1.0" not in legend
    hover = " ".join(fig.data[0].text)
    assert "&lt;b&gt;text 1&lt;/b&gt;" in hover and "<b>text 1</b>" not in hover
    assert "label: positive" in hover and "label: 1" not in hover


def test_cluster_legend_is_in_id_order() -> None:
    from textlens.report.maps import category_colours, category_values

    frame = samples(("validation",)).assign(cluster=[0] * 5 + [2] * 20 + [1] * 10 + [-1] * 5)
    _, legend = category_colours(category_values(frame, "cluster"))
    assert list(legend) == ["noise", "cluster 0", "cluster 1", "cluster 2"]
