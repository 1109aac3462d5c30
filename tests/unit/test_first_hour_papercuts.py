"""#21 point 6: what got in a new user's way in the first hour, each fixed and held here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.data import load_dataset
from textlens.data.table import load_table
from textlens.errors import DataError

runner = CliRunner()


def test_rejected_rows_keep_their_id_and_name_the_file_line(tmp_path) -> None:
    path = tmp_path / "texts.csv"
    path.write_text("doc,text\nd1,a fine film\nd2,\n,no id here\nd4,a dull film\n",
                    encoding="utf-8")
    data = load_table(path, "text", None, id_col="doc")
    assert [(b.id, b.where, b.reason) for b in data.bad_rows] == [
        ("d2", "texts.csv:3", "empty text"), (None, "texts.csv:4", "missing doc")]
    assert [e.id for e in data] == ["d1", "d4"]
    lines = tmp_path / "t.jsonl"  # JSONL: the file's own line numbers, blank lines counted
    lines.write_text('{"text": "ok", "id": "a"}\n\n{"text": "", "id": "b"}\n', encoding="utf-8")
    bad = load_table(lines, "text", None, id_col="id").bad_rows
    assert [(b.id, b.where) for b in bad] == [("b", "t.jsonl:3")]


def test_serve_line_names_the_running_textlens_by_its_absolute_path(tmp_path,
                                                                    monkeypatch) -> None:
    from textlens.cli.serve import serve_command

    program = tmp_path / "venv" / "bin" / "textlens"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["venv/bin/textlens", "analyze"])
    assert serve_command(Path("runs/a b")) == f"{program} serve 'runs/a b'"


def test_corpus_summary_prints_a_serve_line_and_says_1_file(capsys) -> None:
    from textlens.cli.corpus import show

    result = SimpleNamespace(resumed_documents=0, n_sentences=10, n_documents=2, groups=[1],
                             bad_files=[object()], run_dir=Path("runs/c"), domain_far=False,
                             domain_message=None, report=None)
    show(result)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "1 file not used" in out and "serve runs/c" in out


def _stored_run(tmp_path: Path) -> Path:
    from textlens.latent.clustering import KMeansFinder
    from textlens.latent.options import AnalysisOptions
    from textlens.latent.pipeline import analyze_stored
    from textlens.latent.projection import PCAReducer
    from textlens.latent.stored import read_stored

    rng = np.random.default_rng(0)
    n = 12
    pd.DataFrame({"id": [f"sample-{i:04d}-of-the-validation-set" for i in range(n)],
                  "text": ["an unremarkable but perfectly serviceable sentence number "
                           f"{i}" for i in range(n)],
                  "label": ["positive", "negative"] * (n // 2),
                  "p_negative": 0.3, "p_positive": 0.7,
                  "embedding": list(rng.normal(size=(n, 6)))}).to_parquet(tmp_path / "t.parquet")
    analyze_stored(read_stored(tmp_path / "t.parquet"), tmp_path / "run",
                   AnalysisOptions(reducer=PCAReducer(), finder=KMeansFinder(k=2),
                                   report=False))
    return tmp_path / "run"


def test_similar_and_query_tables_never_split_a_word_at_80_columns(tmp_path) -> None:
    run = _stored_run(tmp_path)
    out = runner.invoke(app, ["similar", str(run), "sample-0003-of-the-validation-set", "-k",
                              "3"], env={"COLUMNS": "80"}).output
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "similarity" in out and "prediction" in out  # headers whole
    ids = [line.split()[1] for line in out.splitlines() if "sample-" in line]
    assert len(ids) == 3 and all(i.endswith("-of-the-validation-set") for i in ids)
    assert "columns not shown at this width" in out
    words = set(" ".join(f"an unremarkable but perfectly serviceable sentence number {i}"
                         for i in range(12)).split())
    cells = [c.strip() for line in out.splitlines() for c in line.split("│")[1:-1]]
    tokens = {w for c in cells for w in c.split() if w.isalpha()}
    assert tokens and tokens <= words | {"all", "positive", "negative"}  # no word cut in two
    query = runner.invoke(app, ["query", str(run), "SELECT 7.7e-23 AS p_value"],
                          env={"COLUMNS": "80"}).output
    assert "7.7e-23" in query and "0.000" not in query


def test_help_is_not_broken_mid_sentence() -> None:
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).output
    assert any("2016-2020: every sentence classified" in line for line in top.splitlines())
    qa = runner.invoke(app, ["train", "qa", "--help"], env={"COLUMNS": "80"}).output
    assert any("windows, 400 steps" in line for line in qa.splitlines())


def test_train_prints_a_metrics_table_with_intervals(capsys) -> None:
    from textlens.cli.train import _print_result

    _print_result({"steps": 400, "seconds": 1200.0, "data": "squad",
                   "validation_split": "validation", "validation_examples": 2062,
                   "metrics": {"exact_match": 41.3, "f1": 55.2, "n": 2062}}, Path("models/q"))
    out = capsys.readouterr().out
    assert "{" not in out and "exact match (EM)" in out and "0.413" in out
    assert "95% interval" in out and "2,062 examples" in out


def test_wilson_interval_matches_the_formula() -> None:
    from textlens.cli.metrics_table import wilson

    p, n, z = 0.413, 2062, 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = wilson(p, n)
    assert abs(low - (centre - half)) < 1e-3 and abs(high - (centre + half)) < 1e-3


def test_qa_scores_say_what_they_are(tiny_qa, tmp_path) -> None:
    from textlens.models import save_model
    from textlens.report.terminal import render

    save_model(tiny_qa, tmp_path / "qa")
    out = runner.invoke(app, ["predict", "--model", str(tmp_path / "qa"), "--question", "Who?",
                              "--context", "Ada wrote the first program."]).output
    assert "span logit score" in out and "not a" in out
    fake = SimpleNamespace(question="Who?", context="Ada wrote.", answer="Ada", confidence=0.01,
                           window=None, parts=())
    assert "span probability 0.01" in " ".join(str(t) for t in render(fake))


def test_data_check_names_the_skipped_readme_and_says_no_labels(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("A speech.", encoding="utf-8")
    (tmp_path / "README.txt").write_text("About these files.", encoding="utf-8")
    data = load_dataset(str(tmp_path))
    assert len(data) == 1 and [b.where for b in data.bad_rows] == ["README.txt"]
    out = runner.invoke(app, ["data", "check", str(tmp_path)], env={"COLUMNS": "200"}).output
    assert "README.txt" in out and "labels: none" in out and "None" not in out


def test_a_table_without_text_suggests_the_column_that_looks_like_text(tmp_path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("stars,review\n5,this film was a delight to watch\n1,terrible and slow\n",
                    encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_table(path)
    assert "--text-col review" in (info.value.fix or "")


def test_demo_prints_the_models_accuracy(tmp_path, capsys) -> None:
    from textlens.cli.demo import _show_accuracy

    (tmp_path / "training.json").write_text(json.dumps(
        {"data": "sst2", "validation_split": "validation", "validation_examples": 872,
         "metrics": {"accuracy": 0.85, "macro_f1": 0.849}}), encoding="utf-8")
    _show_accuracy(Console(), tmp_path)
    out = capsys.readouterr().out
    assert "accuracy" in out and "0.850" in out and "872 examples" in out and " to " in out


def test_domain_check_on_too_few_sentences_says_so() -> None:
    from textlens.corpus.domain import verdict

    far, message = verdict(-2.05, None, "sst2/train", corpus_n=2)
    assert not far and "Too few corpus sentences (2)" in message and "-2.05" not in message
    far, message = verdict(-0.3, 0.6, "sst2/train", corpus_n=200)
    assert not far and "mixing 0.00" in message  # shown on its own 0..1 scale


def test_macro_f1_gets_a_bootstrap_interval_around_its_value() -> None:
    from sklearn.metrics import f1_score

    from textlens.cli.metrics_table import macro_f1_interval

    confusion = [[360, 68], [68, 376]]  # the demo model on SST-2 validation, roughly
    gold = np.repeat([0, 0, 1, 1], [360, 68, 68, 376])
    predicted = np.repeat([0, 1, 0, 1], [360, 68, 68, 376])
    point = f1_score(gold, predicted, average="macro")
    low, high = macro_f1_interval(confusion)
    assert low < point < high and 0.02 < high - low < 0.1  # ~ +-2.4 points at n = 872
    assert macro_f1_interval([[50, 0], [0, 50]]) == (1.0, 1.0)
