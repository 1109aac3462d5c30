"""`--self-contained` on the commands that write reports: one offline file to share."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.report.assets import plotly_bundle


def test_corpus_self_contained_report_needs_no_file_beside_it(tiny_classifier, tmp_path):
    from textlens.models.loading import save_model

    model = save_model(tiny_classifier, tmp_path / "model")
    root = tmp_path / "ungdc"
    (root / "Session 71 - 2016").mkdir(parents=True)
    for country in ("USA", "FRA"):
        (root / "Session 71 - 2016" / f"{country}_71_2016.txt").write_text(
            "We welcome the agreement. The war brings misery. Our people hope for peace.")
    args = ["corpus", "--model", str(model), "--data", str(root), "--explain", "2",
            "--bootstrap", "20", "--no-domain-check", "--device", "cpu"]
    shared = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    single = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--self-contained"])
    assert shared.exit_code == 0 and single.exit_code == 0, (shared.output, single.output)
    page = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", page) == ["plotly.min.js"]
    alone = (tmp_path / "b" / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*\bsrc=", alone) is None and plotly_bundle() in alone
    assert len(alone) - len(page) > len(plotly_bundle()) - 100_000
