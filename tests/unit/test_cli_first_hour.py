"""A new user's first hour with the CLI: no hidden defaults, rows never dropped silently, ids
and metadata carried, classifiers named as such, output paths checked before any work."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.errors import TextlensError
from textlens.models.loading import save_model

runner = CliRunner()


@pytest.fixture
def clf_dir(tiny_classifier, tmp_path):
    return save_model(tiny_classifier, tmp_path / "clf")


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "texts.csv"
    path.write_text("doc,text,country\nd1,a fine film,FR\nd2,,DE\nd3,a dull film,UK\n",
                    encoding="utf-8")
    return path


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("command", [["predict", "a film"], ["explain", "a film"]])
def test_no_model_means_the_demo_model_or_a_clear_error(command, clf_dir, tmp_path,
                                                        monkeypatch):
    import shutil

    monkeypatch.setenv("TEXTLENS_CACHE", str(tmp_path / "cache"))
    result = runner.invoke(app, command)
    assert isinstance(result.exception, TextlensError)
    assert "No --model given" in str(result.exception)
    assert str(tmp_path / "cache" / "models" / "sentiment-minilm") in str(result.exception)
    shutil.copytree(clf_dir, tmp_path / "cache" / "models" / "sentiment-minilm")
    result = runner.invoke(app, [*command, "--json", "-"] if command[0] == "explain" else command)
    assert result.exit_code == 0, result.output


def test_predict_input_reports_and_writes_rejected_rows(clf_dir, table, tmp_path):
    out = tmp_path / "p.jsonl"
    result = runner.invoke(app, ["predict", "--model", str(clf_dir), "--input", str(table),
                                 "--id-col", "doc", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 rejected" in result.output and "texts.csv:3: empty text" in result.output
    rows = _lines(out)
    assert [r["id"] for r in rows if "rejected" not in r] == ["d1", "d3"]
    assert rows[0]["metadata"] == {"country": "FR"}
    assert [r for r in rows if r.get("rejected")] == [
        {"id": "d2", "where": "texts.csv:3", "rejected": "empty text"}]  # the file's line 3


def test_explain_input_ids_metadata_rejected_rows_and_resume(clf_dir, table, tmp_path):
    out, html = tmp_path / "e.jsonl", tmp_path / "e.html"
    args = ["explain", "--model", str(clf_dir), "--input", str(table), "--id-col", "doc",
            "--out", str(out), "--method", "gxi", "--html", str(html)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "texts.csv:3: empty text" in result.output
    rows = _lines(out)
    assert sorted(r["id"] for r in rows if "rejected" not in r) == ["d1", "d3"]
    assert {r["id"]: r["metadata"] for r in rows if "rejected" not in r} == {"d1": {"country": "FR"},
                                                                  "d3": {"country": "UK"}}
    assert [r["rejected"] for r in rows if r.get("rejected")] == ["empty text"]
    assert all("baseline_output" in r for r in rows if "rejected" not in r)
    page = html.read_text(encoding="utf-8")
    assert page.count('class="tl-legend"') == 1 and "d1" in page and "d3" in page
    again = runner.invoke(app, args)  # resumed: nothing redone, nothing duplicated
    assert again.exit_code == 0 and "2 already explained, 0 to go" in again.output
    assert len(_lines(out)) == 3


@pytest.mark.parametrize("extra", [[], ["a fine film"]])
def test_question_with_a_classifier_says_it_is_a_classifier(clf_dir, extra):
    for command in ("explain", "predict"):
        result = runner.invoke(app, [command, *extra, "--model", str(clf_dir), "--question",
                                     "who?", "--context", "Bob went home."])
        assert isinstance(result.exception, TextlensError), result.output
        assert "is a classifier" in str(result.exception)


def test_output_paths_checked_before_any_work(clf_dir, tmp_path, monkeypatch):
    from textlens.models import loading

    def forbidden(*args, **kwargs):
        raise AssertionError("the model was loaded before the output path was checked")

    monkeypatch.setattr(loading, "load_model", forbidden)
    monkeypatch.setattr("textlens.models.load_model", forbidden)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [(["explain", "t", "--html", str(tmp_path)], "is a directory"),
             (["explain", "t", "--png", str(a_file / "e.png")], "is a file"),
             (["explain", "t", "--json", str(a_file / "sub" / "e.json")], "is a file"),
             (["predict", "t", "--out", str(tmp_path)], "is a directory"),
             (["evaluate", "--json", str(a_file / "m.json")], "is a file"),
             (["faithfulness", "--json", str(tmp_path)], "is a directory")]
    for args, message in cases:
        result = runner.invoke(app, [*args, "--model", str(clf_dir)])
        assert isinstance(result.exception, TextlensError), (args, result.output)
        assert message in str(result.exception), args


def test_unwritable_output_is_refused(tmp_path, monkeypatch):
    """Root can write anywhere, so the permission answer is simulated for one folder."""
    from textlens.cli import options

    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(options.os, "access",
                        lambda p, mode: False if str(p) == str(locked) else real(p, mode))
    with pytest.raises(TextlensError, match="cannot be written"):
        options.check_output(locked / "e.html", "--html")
    options.check_output(tmp_path / "new" / "deeper" / "e.html", "--html")  # fine: created later


def test_missing_model_path_fails_before_heavy_imports(tmp_path):
    """`--model ./nope` is refused before torch or transformers are imported."""
    import subprocess
    import sys

    code = ("import sys\nfrom textlens.cli.main import app\ntry:\n"
            "    app(['explain', 'x', '--model', './nope'], standalone_mode=False)\n"
            "except Exception as e:\n    print(type(e).__name__, 'torch' in sys.modules,"
            " 'transformers' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.split() == ["ModelError", "False", "False"]
