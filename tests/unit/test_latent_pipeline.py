"""The analysis run end to end on tiny random BERTs and a few dozen real samples."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import FrozenInstanceError, dataclass, fields, is_dataclass
from pathlib import Path

import numpy as np
import pytest

from textlens.data import load_dataset
from textlens.data.types import Dataset, TextExample
from textlens.errors import TextlensError
from textlens.latent.clustering import KMeansFinder, make_finder
from textlens.latent.embeddings import EmbeddingOptions
from textlens.latent.options import AnalysisOptions
from textlens.latent.pipeline import analyze
from textlens.latent.projection import PCAReducer, make_reducer
from textlens.latent.results import RunInfo
from textlens.store.run_db import DB_NAME, query, run_info

SCRIPT = "<script>alert(1)</script>"
FAST = AnalysisOptions(reducer=PCAReducer(), chunk_size=32, report=False)


def tiny_model(task: str):
    """Same recipe as conftest's tiny models; module-scoped here, and importable by a child."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertForSequenceClassification

    from textlens.models.loading import LoadedModel, encoder_path, load_tokenizer

    torch.manual_seed(0)
    tok = load_tokenizer(encoder_path())
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=2,
                        id2label={0: "negative", 1: "positive"},
                        label2id={"negative": 0, "positive": 1})
    model = (BertForQuestionAnswering if task == "qa" else BertForSequenceClassification)(config)
    model.eval()
    labels = () if task == "qa" else ("negative", "positive")
    return LoadedModel(model, tok, task, labels, torch.device("cpu"), "tiny-random-bert")


def sst2_mix(data_dir: Path, n: int = 48, marked: bool = False) -> Dataset:
    """n/2 train and n/2 validation SST-2 sentences (optionally ending in a <script> tag)."""
    train = load_dataset("sst2", "train", data_dir=data_dir).head(n // 2)
    val = load_dataset("sst2", "validation", data_dir=data_dir).head(n // 2)
    examples = tuple(
        TextExample(e.id if part.split == "validation" else f"t{e.id}",
                    e.text + (f" {SCRIPT}" if marked else ""), e.label, {"split": part.split})
        for part in (train, val) for e in part)
    return Dataset("sst2", "all", examples, val.source, val.label_names)


@pytest.fixture(scope="module")
def clf_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("clf")
    options = AnalysisOptions(reducer=PCAReducer(), chunk_size=32, report_issues=3)
    return analyze(tiny_model("classification"), sst2_mix(data_dir, marked=True), out, options)


@pytest.fixture(scope="module")
def qa_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("qa")
    data = load_dataset("squad", "all", data_dir=data_dir).sample(40, seed=1)
    return analyze(tiny_model("qa"), data, out,
                   AnalysisOptions(reducer=PCAReducer(), chunk_size=32, report_issues=2))


def columns(run: Path, table: str) -> set[str]:
    return set(query(run, f"SELECT column_name FROM (DESCRIBE {table})")["column_name"])


def test_classification_run_has_documented_tables(clf_run) -> None:
    run = clf_run.run_dir
    tables = set(query(run, "SHOW TABLES")["name"])
    assert {"samples", "clusters", "label_issues", "slices", "run_info"} <= tables
    assert {"id", "split", "text", "label", "prediction", "confidence", "loss", "correct", "x",
            "y", "cluster"} <= columns(run, "samples")
    # users read `label` in `textlens query`: the class name, as `prediction` is
    labels = query(run, "SELECT label, label_index, prediction FROM samples")
    assert set(labels["label"]) == {"negative", "positive"}
    assert (labels["label"] == labels["label_index"].map(("negative", "positive").__getitem__)).all()
    assert set(labels["prediction"]) <= set(labels["label"])
    assert {"id", "size", "mean_loss", "accuracy", "top_terms"} <= columns(run, "clusters")
    assert {"id", "score", "rank", "reason"} <= columns(run, "label_issues")
    n = int(query(run, "SELECT count(*) AS n FROM samples")["n"][0])
    assert n == 48 and np.load(run / "embeddings.npy").shape == (48, 32)
    splits = query(run, "SELECT split, count(*) AS n FROM samples GROUP BY split ORDER BY split")
    assert splits["n"].tolist() == [24, 24]
    assert int(query(run, "SELECT sum(size) AS s FROM clusters")["s"][0]) == 48
    assert clf_run.info.shift is not None and clf_run.info.issues.crossval_rows == 24


def test_report_escapes_dataset_text(clf_run) -> None:
    page = (clf_run.run_dir / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in page and "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # plotly.js once beside the page, never from the network
    assert re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", page) == ["plotly.min.js"]
    assert (clf_run.run_dir / "plotly.min.js").is_file() and "Plotly.newPlot" in page
    assert list((clf_run.run_dir / "maps").glob("map_*.png"))


def test_rerun_reuses_cached_steps(clf_run, data_dir) -> None:
    options = AnalysisOptions(reducer=PCAReducer(), chunk_size=32, report=False)
    again = analyze(tiny_model("classification"), sst2_mix(data_dir, marked=True),
                    clf_run.run_dir, options)
    assert again.info.cache.misses == ()
    assert {"predictions", "embeddings", "map"} <= set(again.info.cache.hits)
    assert np.allclose(again.samples["x"], clf_run.samples["x"])


def test_qa_run_has_qa_columns(qa_run) -> None:
    run = qa_run.run_dir
    assert {"question", "context", "title", "label", "prediction", "loss", "start_loss",
            "local_loss", "correct", "f1", "question_length", "context_length", "answer_length",
            "answer_position", "question_type", "answer_type", "x", "y",
            "cluster"} <= columns(run, "samples")
    assert {"question_types", "answer_types", "f1"} <= columns(run, "clusters")
    labels = query(run, "SELECT label, answers FROM samples")
    assert all(json.loads(a)[0] == lab for lab, a in zip(labels["label"], labels["answers"],
                                                         strict=True))


def test_query_and_similar_commands(qa_run) -> None:
    import typer
    from typer.testing import CliRunner

    from textlens.cli import analyze as cli

    app = typer.Typer()
    cli.register(app)
    run = str(qa_run.run_dir)
    result = CliRunner().invoke(app, ["query", run, "SELECT id, loss FROM samples ORDER BY loss "
                                      "DESC LIMIT 3", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3 and rows[0]["loss"] >= rows[-1]["loss"]
    first = qa_run.samples["id"].iloc[0]
    result = CliRunner().invoke(app, ["similar", run, first, "-k", "4", "--json"])
    assert result.exit_code == 0, result.output
    near = json.loads(result.output)
    vectors = qa_run.embeddings / np.linalg.norm(qa_run.embeddings, axis=1, keepdims=True)
    sims = vectors @ vectors[0]
    sims[0] = -1
    assert [r["id"] for r in near][0] == qa_run.samples["id"].iloc[int(sims.argmax())]
    assert len(near) == 4 and first not in [r["id"] for r in near]
    table = CliRunner().invoke(app, ["query", run, "SELECT count(*) AS n FROM clusters"])
    assert table.exit_code == 0 and "n" in table.output


CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from test_latent_pipeline import FAST, sst2_mix, tiny_model
from textlens.latent import tables
from textlens.latent.pipeline import analyze
calls = 0
original = tables.predict_chunk
def dying(*args, **kwargs):
    global calls
    calls += 1
    if calls == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
tables.predict_chunk = dying
from pathlib import Path
analyze(tiny_model("classification"), sst2_mix(Path({data!r}), n=96), {out!r}, FAST)
"""


def test_killed_run_leaves_no_database_and_resumes(tmp_path, data_dir) -> None:
    out = tmp_path / "run"
    code = CHILD.format(tests=str(Path(__file__).parent), data=str(data_dir), out=str(out))
    env = {**os.environ, "TEXTLENS_PROGRESS": "0"}
    child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=300)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    assert not (out / DB_NAME).exists()
    assert len(list((out / ".cache").glob("predictions-*.parquet"))) == 2
    result = analyze(tiny_model("classification"), sst2_mix(data_dir, n=96), out, FAST)
    assert result.info.cache.hits.count("predictions") == 2
    assert result.info.cache.misses.count("predictions") == 1
    assert int(query(out, "SELECT count(*) AS n FROM samples")["n"][0]) == 96


def test_qa_issue_score_finds_gold_moved_to_unrelated_sentence(data_dir) -> None:
    """A model answering right; six golds moved to the least related sentence must rank first."""
    from textlens.latent.label_issues import qa_issue_score, qa_issues, relatedness, sentence_spans

    data = [e for e in load_dataset("squad", "validation", data_dir=data_dir).sample(400, seed=2)
            if len(sentence_spans(e.context)) >= 4][:30]
    moved_ids, scores = set(), []
    for i, ex in enumerate(data):
        a = ex.answers[0]
        gold = [(a.start, a.end)]
        if i % 5 == 0:
            spans = sentence_spans(ex.context)
            far = min(spans, key=lambda s: relatedness(ex.question, ex.context[s[0]:s[1]]))
            if not far[0] <= a.start < far[1]:
                gold = [(far[0], far[0] + 5)]
                moved_ids.add(ex.id)
        scores.append(qa_issue_score(ex.question, ex.context, gold, a.start, a.end, 0.9))
    issues = qa_issues([e.id for e in data], scores)
    assert len(moved_ids) >= 5
    top = {issue.id for issue in issues[:len(moved_ids)]}
    assert len(top & moved_ids) >= len(moved_ids) - 1
    assert all(issue.id in moved_ids for issue in issues)


def test_changed_label_recomputes_only_its_prediction_chunk(clf_run, data_dir) -> None:
    data = sst2_mix(data_dir, marked=True)
    first = data.examples[0]
    changed = TextExample(first.id, first.text, 1 - first.label, first.metadata)
    data = Dataset(data.name, data.split, (changed, *data.examples[1:]), data.source,
                   data.label_names)
    options = AnalysisOptions(reducer=PCAReducer(), chunk_size=32, report=False)
    again = analyze(tiny_model("classification"), data, clf_run.run_dir, options)
    assert again.info.cache.misses == ("predictions",)
    assert again.info.cache.hits.count("embeddings") == 2
    old = clf_run.samples.set_index("id").loc[first.id, "loss"]
    assert again.samples.set_index("id").loc[first.id, "loss"] != pytest.approx(old)


# --- options checked before any work; injectable reducer and finder; typed results ---------


def no_work(monkeypatch) -> None:
    """Make any prediction fail loudly: a check must refuse before the model runs."""
    from textlens.latent import tables

    def refuse(*args, **kwargs):
        raise AssertionError("predicted before the options were checked")

    monkeypatch.setattr(tables, "predict_chunk", refuse)


@pytest.mark.parametrize(("build", "valid"), [
    (lambda: make_reducer("umapp"), "umap, pca, tsne"),
    (lambda: make_finder("dbscan"), "affinity, kmeans, hdbscan"),
    (lambda: AnalysisOptions(issue_probabilities="modle"), "auto, model, crossval"),
    (lambda: AnalysisOptions(embedding=EmbeddingOptions(pooling="max")), "cls, mean, span"),
    (lambda: AnalysisOptions(reducer="umap"), "make_reducer"),
    (lambda: AnalysisOptions(finder=KMeansFinder), "make_finder"),
    (lambda: AnalysisOptions(neighbours_k=0), "at least 1"),
])
def test_bad_options_are_refused_with_the_valid_values(build, valid) -> None:
    with pytest.raises(TextlensError) as caught:
        build()
    assert valid in str(caught.value)


@pytest.mark.parametrize(("options", "data_task", "words"), [
    (AnalysisOptions(reducer=PCAReducer(), embedding=EmbeddingOptions(layer=7)), "clf",
     "-3 to 2"),
    (AnalysisOptions(reducer=PCAReducer(), embedding=EmbeddingOptions(pooling="span")), "clf",
     "cls or mean"),
])
def test_model_dependent_options_fail_before_predicting(options, data_task, words, tmp_path,
                                                        data_dir, monkeypatch) -> None:
    no_work(monkeypatch)
    with pytest.raises(TextlensError) as caught:
        analyze(tiny_model("classification"), sst2_mix(data_dir, n=8), tmp_path / "run", options)
    assert words in str(caught.value) and not (tmp_path / "run" / ".cache").exists()


def test_cli_refuses_unknown_names_before_loading_anything(tmp_path) -> None:
    """The data and model do not exist: the option error must come first, listing the values."""
    for option, value, valid in (("--projection", "umapp", "umap, pca, tsne"),
                                 ("--clustering", "dbscan", "affinity, kmeans, hdbscan"),
                                 ("--issue-probabilities", "modle", "auto, model, crossval"),
                                 ("--pooling", "max", "cls, mean, span"),
                                 ("--limit", "0", "at least 1")):
        cmd = [sys.executable, "-m", "textlens.cli.main", "analyze", "--model",
               str(tmp_path / "none"), "--data", str(tmp_path / "none.csv"), "--out",
               str(tmp_path / "run"), option, value]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "TEXTLENS_PROGRESS": "0"})
        assert done.returncode == 2, done.stderr
        assert valid in done.stderr and "Traceback" not in done.stderr, done.stderr


@dataclass(frozen=True)
class FirstTwoCoordinates:
    """An injected reducer: the first two embedding coordinates."""

    def project(self, vectors: np.ndarray) -> np.ndarray:
        return vectors[:, :2].astype(np.float32)


@dataclass(frozen=True)
class SignOfFirst:
    """An injected finder: cluster 1 where the first coordinate is positive."""

    def find(self, vectors: np.ndarray) -> np.ndarray:
        return (vectors[:, 0] > 0).astype(np.int64)


def test_injected_reducer_and_finder_are_the_ones_used(tmp_path, data_dir) -> None:
    options = AnalysisOptions(reducer=FirstTwoCoordinates(), finder=SignOfFirst(),
                              chunk_size=32, report=False)
    result = analyze(tiny_model("classification"), sst2_mix(data_dir, n=24), tmp_path, options)
    vectors = result.embeddings
    assert np.allclose(result.samples[["x", "y"]].to_numpy(), vectors[:, :2])
    assert (result.samples["cluster"].to_numpy() == (vectors[:, 0] > 0)).all()
    assert result.info.projection.method == "FirstTwoCoordinates"
    assert result.info.clustering.method == "SignOfFirst"
    assert result.info.clustering.clusters == len(set(vectors[:, 0] > 0))


def test_analyze_accepts_a_model_path(tmp_path, data_dir) -> None:
    from textlens.models.loading import save_model

    model_dir = save_model(tiny_model("classification"), tmp_path / "model")
    result = analyze(str(model_dir), sst2_mix(data_dir, n=16), tmp_path / "run", FAST)
    direct = analyze(tiny_model("classification"), sst2_mix(data_dir, n=16), tmp_path / "run2",
                     FAST)
    assert result.info.model == str(model_dir)
    assert np.allclose(result.samples["loss"], direct.samples["loss"], atol=1e-5)


def test_run_info_is_typed_and_stored(clf_run) -> None:
    info = clf_run.info
    assert is_dataclass(info) and isinstance(info, RunInfo)
    with pytest.raises(FrozenInstanceError):
        info.n = 1  # type: ignore[misc]
    assert info.clustering.clusters == clf_run.samples["cluster"].nunique()
    assert info.purity.group == "label" and 0 <= info.purity.observed <= 1
    stored = run_info(clf_run.run_dir)
    assert set(stored) == {f.name for f in fields(RunInfo)}
    assert stored["clustering"]["fitted_on"] == info.clustering.fitted_on == 48
    assert stored["issues"]["crossval_rows"] == 24


def test_model_label_names_used_when_the_data_has_none(tmp_path, data_dir) -> None:
    plain = sst2_mix(data_dir, n=16)
    plain = Dataset(plain.name, plain.split, plain.examples, plain.source, None)
    result = analyze(tiny_model("classification"), plain, tmp_path, FAST)
    expected = [("negative", "positive")[e.label] for e in plain.examples]
    assert result.samples["label"].tolist() == expected
    assert result.samples["label_index"].tolist() == [e.label for e in plain.examples]
    assert set(result.samples["prediction"]) <= {"negative", "positive"}
    assert result.purity["group"].isin(["negative", "positive"]).all()


# --- the report: computed from values, read by people ---------------------------------------


def visible_text(page: str) -> str:
    """What a reader sees: scripts and styles out, tags out, entities decoded."""
    import html as html_module

    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_report_shows_the_explanations_the_pipeline_computed(clf_run) -> None:
    top = clf_run.label_issues.sort_values("rank")["id"].head(3).tolist()
    assert list(clf_run.explanations.by_id) == top
    page = (clf_run.run_dir / "report.html").read_text(encoding="utf-8")
    for sample_id in top:
        exp = clf_run.explanations.by_id[sample_id]
        assert exp.to_html(fragment=True) in page
    assert page.count("class=\"tl-attr\"") == 3


def test_report_reads_as_sentences_and_tables(clf_run) -> None:
    text = visible_text((clf_run.run_dir / "report.html").read_text(encoding="utf-8"))
    assert not re.search(r"[{\[]\s*[\"']", text), "raw JSON on the page"
    for raw in ("AffinityPropagationFinder", "timings", "cleanlab agreement:", "_s'", "p_value",
                "mean_loss", "top_terms"):
        assert raw not in text
    assert "Affinity Propagation finds" in text
    assert "nearest neighbours share its label" in text
    labels = clf_run.label_issues.merge(clf_run.samples, on="id")
    first = labels.sort_values("rank").iloc[0]
    assert f"Label: {first['label']}" in text and "Label: 0 " not in text


def test_qa_report_explains_top_issues_and_names_its_scores(qa_run) -> None:
    top = qa_run.label_issues.sort_values("rank")["id"].head(2).tolist()
    assert top and list(qa_run.explanations.by_id) == top
    text = visible_text((qa_run.run_dir / "report.html").read_text(encoding="utf-8"))
    assert "exact match" in text and "Near misses" in text and "Gold answer:" in text
    assert "nearest neighbours share its title" in text and "Split mixing score" in text
    assert not re.search(r"[{\[]\s*[\"']", text)


def test_run_directory_under_a_file_is_refused_before_work(tmp_path, data_dir,
                                                           monkeypatch) -> None:
    no_work(monkeypatch)
    blocker = tmp_path / "taken"
    blocker.write_text("a file", encoding="utf-8")
    for out in (blocker, blocker / "run"):
        with pytest.raises(TextlensError, match="is a file"):
            analyze(tiny_model("classification"), sst2_mix(data_dir, n=8), out, FAST)
