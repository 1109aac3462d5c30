"""The explain, methods and faithfulness commands, end to end on a saved tiny model."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.errors import TextlensError


@pytest.fixture
def clf_dir(tiny_classifier, tmp_path):
    from textlens.models.loading import save_model

    return save_model(tiny_classifier, tmp_path / "clf")


@pytest.fixture
def qa_dir(tiny_qa, tmp_path):
    from textlens.models.loading import save_model

    return save_model(tiny_qa, tmp_path / "qa")


def test_methods_lists_all() -> None:
    result = CliRunner().invoke(app, ["methods"])
    assert result.exit_code == 0
    for name in ("ig", "gradient-x-input", "saliency", "occlusion", "loss", "lrp", "shap",
                 "lime"):
        assert name in result.output


def test_explain_new_methods_from_the_cli(clf_dir, tmp_path) -> None:
    html = tmp_path / "e.html"
    for args, method in ((["--method", "shap", "--max-evals", "40", "--seed", "1"], "shap"),
                         (["--method", "lime", "--max-evals", "30"], "lime"),
                         (["--method", "attnlrp"], "lrp")):
        result = CliRunner().invoke(app, ["explain", "a gripping film", "--model", str(clf_dir),
                                          "--json", "-", "--html", str(html), *args])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["method"] == method and data["words"] == ["a", "gripping", "film"]
        assert method in unescape(html.read_text())
    assert data["target"].startswith("logit") and data["conservation_error"] is not None
    # Bad budgets and scores: a TextlensError (the problem and the fix; `main` prints it, exit 2).
    for args, says in ((["--method", "shap", "--max-evals", "3"], "too small for partition SHAP"),
                       (["--method", "lrp", "--score", "probability"], "explains a logit"),
                       (["--method", "ig", "--max-evals", "9"], "takes no option")):
        result = CliRunner().invoke(app, ["explain", "a gripping film", "--model", str(clf_dir),
                                          *args])
        assert isinstance(result.exception, TextlensError), result.output
        assert says in str(result.exception)


def test_explain_json_stdout_and_files(clf_dir, tmp_path) -> None:
    html, png = tmp_path / "e.html", tmp_path / "e.png"
    result = CliRunner().invoke(app, ["explain", "a <i>fine</i> film", "--model", str(clf_dir),
                                      "--json", "-", "--html", str(html), "--png", str(png),
                                      "--steps", "8"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("tokens", "scores", "words", "word_scores", "label", "confidence", "method",
                "steps", "completeness_error"):
        assert key in data
    assert data["steps"] == 8
    assert "<i>" not in html.read_text() and "&lt;" in html.read_text()
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_explain_qa_json(qa_dir) -> None:
    result = CliRunner().invoke(app, ["explain", "--model", str(qa_dir), "--question", "who?",
                                      "--context", "Bob went home.", "--json", "-",
                                      "--method", "gxi"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for part in ("start", "end"):
        assert {"tokens", "scores", "words", "word_scores", "answer"} <= set(data[part])


def test_explain_qa_long_context(qa_dir, tmp_path) -> None:
    context = " ".join(f"w{i}" for i in range(450)) + " <b>end</b>"  # > 512 tokens
    html = tmp_path / "long.html"
    result = CliRunner().invoke(app, ["explain", "--model", str(qa_dir), "--question", "which?",
                                      "--context", context, "--json", "-", "--html", str(html),
                                      "--method", "loss", "--gold-answer", "w430"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    a, b = data["window"]
    assert data["windows"] > 1 and a <= context.index("w430") < b
    assert len(data["start"]["char_scores"]) == len(context)
    page = html.read_text()
    assert f"explained context characters {a}-{b} of {len(context)}" in page
    assert "<b>" not in page.replace("<b>Question:</b>", "").replace("<b>Answer:</b>", "")
    assert context in unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "", page, flags=re.S))


def test_batch_is_resumable(clf_dir, tmp_path) -> None:
    table = tmp_path / "texts.csv"
    table.write_text("id,review\n1,good\n2,bad movie\n3,fine\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = ["explain", "--input", str(table), "--text-col", "review", "--model", str(clf_dir),
            "--out", str(out), "--method", "gxi"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert len(out.read_text().splitlines()) == 3
    with out.open("a") as handle:
        handle.write('{"id": "broken')  # an interrupted write
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0
    assert "3 already explained, 0 to go" in second.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and {r["text"] for r in rows} == {"good", "bad movie", "fine"}


def test_a_resumed_batch_renders_every_row_in_its_page(clf_dir, tmp_path) -> None:
    """A rerun with --html used to write "0 texts": the resumed rows were not rendered."""
    table = tmp_path / "texts.csv"
    table.write_text("id,review\n1,good\n2,bad movie\n", encoding="utf-8")
    out, html = tmp_path / "out.jsonl", tmp_path / "out.html"
    args = ["explain", "--input", str(table), "--text-col", "review", "--model", str(clf_dir),
            "--out", str(out), "--html", str(html), "--method", "ig", "--steps", "8"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    whole = html.read_text()
    table.write_text("id,review\n1,good\n2,bad movie\n3,fine acting\n", encoding="utf-8")
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "2 already explained, 1 to go" in second.output
    page = unescape(html.read_text())
    assert "3 texts" in page and all(t in page for t in ("good", "bad movie", "fine acting"))
    third = CliRunner().invoke(app, args)  # nothing left: the page is the same three texts
    assert third.exit_code == 0 and "3 already explained, 0 to go" in third.output
    assert unescape(html.read_text()) == page
    # The resumed rows render exactly as computed: the first page's rows reappear unchanged.
    first_rows = re.findall(r"<tr>.*?</tr>", whole, flags=re.S)
    assert first_rows and all(row in html.read_text() for row in first_rows[1:])


def test_explanations_read_back_what_to_dict_wrote(clf_dir, qa_dir) -> None:
    from textlens.attribution.api import explain
    from textlens.attribution.explanation import result_from_dict

    values = [*explain(["a gripping film"], model=str(clf_dir), method="lrp", progress=False),
              *explain(["a dull film"], model=str(clf_dir), method="gxi", target="top-2",
                       progress=False),
              *explain([("who won?", "the blue team won the cup")], model=str(qa_dir),
                       method="gxi", progress=False)]
    for value in values:
        back = result_from_dict(json.loads(value.to_json()))
        assert type(back) is type(value) and back == value


def test_interactive_repl(clf_dir) -> None:
    result = CliRunner().invoke(app, ["explain", "--interactive", "--model", str(clf_dir),
                                      "--method", "gxi"], input="a good film\n\nquit\n")
    assert result.exit_code == 0, result.output
    assert "good" in result.output and "gradient-x-input" in result.output


def test_faithfulness_command(clf_dir, tmp_path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("text,label\n" + "".join(f"film number {i} was good,1\n" for i in range(4)),
                     encoding="utf-8")
    out = tmp_path / "f.json"
    result = CliRunner().invoke(app, ["faithfulness", "--model", str(clf_dir), "--data",
                                      str(table), "--n", "4", "--methods",
                                      "gradient-x-input,occlusion", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    names = [row["method"] for row in data["methods"]]
    assert names == ["gradient-x-input", "occlusion", "random"]
    assert all("aopc_comprehensiveness" in row for row in data["methods"])
