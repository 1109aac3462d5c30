"""The CLI: instant help, clear errors without tracebacks, and the commands' outputs."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.models import save_model

runner = CliRunner()


def test_help_imports_nothing_heavy():
    code = ("import sys; from textlens.cli.main import app; "
            "heavy = [m for m in ('torch', 'transformers', 'umap', 'hdbscan', 'plotly', 'duckdb',"
            " 'matplotlib', 'sklearn') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_user_errors_print_problem_and_fix_without_traceback(tmp_path):
    cmd = [sys.executable, "-m", "textlens.cli.main", "evaluate", "--model", str(tmp_path / "none")]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 2
    assert "Error:" in out.stderr and "Fix:" in out.stderr and "Traceback" not in out.stderr


def test_evaluate_writes_metrics_json(tiny_classifier, tmp_path):
    save_model(tiny_classifier, tmp_path / "model")
    table = tmp_path / "reviews.csv"
    table.write_text("text,label\ngood,positive\nbad,negative\nfine,positive\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "model"), "--data",
                                 str(table), "--json", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n"] == 3 and 0.0 <= metrics["accuracy"] <= 1.0 and "macro_f1" in metrics


def test_predict_prints_labels(tiny_classifier, tmp_path):
    save_model(tiny_classifier, tmp_path / "model")
    result = runner.invoke(app, ["predict", "--model", str(tmp_path / "model"), "--out",
                                 str(tmp_path / "p.jsonl"), "a lovely day", "a dreadful day"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [r["text"] for r in rows] == ["a lovely day", "a dreadful day"]
    assert {r["label"] for r in rows} <= {"negative", "positive"}


def test_data_check_reports_rejected_rows(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("text,label\nok,1\n,0\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "check", str(table), "--text-col", "text",
                                 "--label-col", "label"])
    assert result.exit_code == 0
    assert "1 rejected" in result.output and "empty text" in result.output
