"""The Ray engines on a local 2-CPU Ray runtime (one per module): the same numbers as the local
engine. Skipped, with one line, where the `ray` extra is not installed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="ray not installed: `pip install 'textlens[ray]'` runs "
                                        "the Ray engine tests")

from textlens.corpus import ray_engine  # noqa: E402
from textlens.corpus.engine import Document, LocalEngine  # noqa: E402
from textlens.corpus.engine import EngineOptions as CorpusOptions  # noqa: E402
from textlens.corpus.ray_engine import RayEngine  # noqa: E402
from textlens.data.types import Dataset, QAExample, TextExample  # noqa: E402
from textlens.engines import EngineChoice  # noqa: E402
from textlens.latent.embeddings import EmbeddingOptions, embed_qa, embed_texts  # noqa: E402
from textlens.latent.ray_embeddings import embed_on_ray  # noqa: E402
from textlens.models import save_model  # noqa: E402
from textlens.models.loading import load_model  # noqa: E402

WORDS = ["the debate", "was long", "and fair", "not good at all", "peace", "war and famine"]
TEXTS = [f"sentence {i}: " + " ".join(WORDS[: 1 + i % len(WORDS)]) for i in range(37)]
RAY = EngineChoice("ray")
ONE_ACTOR = EngineChoice("ray", workers=1)  # where spreading is not what a test is about


def _tiny_dir(root, task: str):
    """A tiny random BERT saved to disk (Ray actors load models from directories); weights drawn
    wide (initializer_range 0.5) so that its sentences get both labels with varied confidence."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertForSequenceClassification

    from textlens.models.loading import LoadedModel, encoder_path, load_tokenizer

    torch.manual_seed(0)
    tok = load_tokenizer(encoder_path())
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, num_labels=2,
                        id2label={0: "negative", 1: "positive"},
                        label2id={"negative": 0, "positive": 1}, initializer_range=0.5,
                        architectures=["BertForQuestionAnswering" if task == "qa"
                                       else "BertForSequenceClassification"])
    model = (BertForQuestionAnswering if task == "qa" else BertForSequenceClassification)(config)
    labels = () if task == "qa" else ("negative", "positive")
    return save_model(LoadedModel(model.eval(), tok, task, labels, torch.device("cpu"), "tiny"),
                      root / task)


@pytest.fixture(scope="module")
def ray_runtime():
    """One local Ray runtime with 2 CPUs for the module (start-up costs seconds)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=200 * 1024 * 1024)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {task: _tiny_dir(root, task) for task in ("classification", "qa")}


def test_text_embeddings_on_ray_equal_local(ray_runtime, models):
    loaded = load_model(models["classification"])
    options = EmbeddingOptions(batch_size=4)  # several Ray batches over 2 actors
    local = embed_texts(loaded, TEXTS, options, progress=False)
    on_ray = embed_on_ray(loaded, pd.DataFrame({"text": TEXTS}), options, RAY)
    assert on_ray.shape == local.shape == (len(TEXTS), 32)
    assert np.abs(on_ray - local).max() < 1e-5
    assert np.abs(local - np.roll(local, 1, axis=0)).max() > 1e-3  # row order is tested


def test_qa_span_embeddings_on_ray_equal_local(ray_runtime, models):
    loaded = load_model(models["qa"])
    context = "The Assembly met in New York in September. " * 3
    examples = [QAExample(str(i), "t", context, f"Where did {w} happen?", ())
                for i, w in enumerate(WORDS * 2)]
    spans = [(21 + i % 3, 29 + i % 5) for i in range(len(examples))]
    options = EmbeddingOptions(pooling="span", batch_size=3)
    local = embed_qa(loaded, examples, spans, options, progress=False)
    rows = pd.DataFrame({"question": [e.question for e in examples], "context": context,
                         "pred_start": [s for s, _ in spans], "pred_end": [e for _, e in spans]})
    on_ray = embed_on_ray(loaded, rows, options, ONE_ACTOR)
    assert np.abs(on_ray - local).max() < 1e-5


def test_analyze_with_ray_engine_caches_like_local(ray_runtime, models, tmp_path):
    from textlens.latent.options import AnalysisOptions
    from textlens.latent.pipeline import analyze

    examples = tuple(TextExample(f"s{i}", t, i % 2) for i, t in enumerate(TEXTS))
    data = Dataset("toy", "all", examples, tmp_path, ("negative", "positive"))
    loaded = load_model(models["classification"])
    options = AnalysisOptions.named("pca", "kmeans", chunk_size=16, report=False,
                                    embedding=EmbeddingOptions(batch_size=8), engine=ONE_ACTOR)
    first = analyze(loaded, data, tmp_path / "run", options)
    local = embed_texts(loaded, TEXTS, EmbeddingOptions(batch_size=8), progress=False)
    assert np.abs(first.embeddings - local).max() < 1e-5
    again = analyze(loaded, data, tmp_path / "run", options)  # resumed: nothing recomputed
    assert "embeddings" in first.info.cache.misses
    assert "embeddings" not in again.info.cache.misses
    assert np.array_equal(again.embeddings, first.embeddings)


SPEECH = ("Mr. President, we welcome the agreement on climate. The war has brought famine and "
          "despair to millions.\nWe thank the Secretary-General for his tireless work. Peace is "
          "possible. Hunger, conflict and fear remain our gravest threats! ")
DOCUMENTS = [Document(f"d{i}", SPEECH * (1 + i % 3) + f"Our nation number {i} stands ready.")
             for i in range(9)] + [Document("blank", "   \n  ")]


@pytest.fixture(scope="module")
def corpus_model(models):
    return load_model(models["classification"])


def _assert_same_rows(got, expected):
    assert [(r.doc_id, r.sentence_id, r.text, r.start, r.end, r.label, r.n_tokens)
            for r in got] == [(r.doc_id, r.sentence_id, r.text, r.start, r.end, r.label, r.n_tokens)
                              for r in expected]
    np.testing.assert_allclose([r.probabilities for r in got], [r.probabilities for r in expected],
                               atol=1e-5, rtol=0)


def crashing_actor(marker: str, doc_id: str) -> type:
    """`SentenceActor` whose process exits (as an OOM kill would) on the first batch holding
    `doc_id`, once: `marker` is created just before and disarms it. A class local to a function
    is pickled by value, so the Ray workers get this one, not the module's."""
    import os
    from pathlib import Path

    class CrashOnce(ray_engine.SentenceActor):
        def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
            if doc_id in set(batch["doc_id"]) and not Path(marker).exists():
                Path(marker).touch()
                os._exit(1)
            return super().__call__(batch)

    return CrashOnce


def test_actor_killed_mid_batch_is_retried_and_every_sentence_comes_once(ray_runtime, corpus_model,
                                                                         tmp_path, monkeypatch):
    marker = tmp_path / "crashed"
    options = CorpusOptions(batch_size=16)
    monkeypatch.setattr(ray_engine, "SentenceActor", crashing_actor(str(marker), "d4"))
    engine = RayEngine(corpus_model, options, RAY, documents_per_task=2)
    streamed = list(engine.stream(DOCUMENTS))
    assert [d.doc_id for d in streamed] == [d.doc_id for d in DOCUMENTS]  # complete, in order
    assert streamed[-1].rows == ()  # a blank document is handed over too, with no sentences
    rows = [r for d in streamed for r in d.rows]
    assert marker.exists()  # an actor really died (os._exit) on the batch holding d4
    keys = [(r.doc_id, r.sentence_id) for r in rows]
    assert len(keys) == len(set(keys))
    _assert_same_rows(rows, LocalEngine(corpus_model, options).predict(DOCUMENTS))


COUNTRIES, YEARS = ("USA", "FRA", "PRK"), (2016, 2017, 2018)
PIPELINE = dict(documents_per_batch=2, n_boot=50, domain_check=False, report=False, export=())


@pytest.fixture(scope="module")
def speeches(tmp_path_factory):
    """A UNGDC-shaped folder: 3 countries x 3 years, speeches of different lengths."""
    root = tmp_path_factory.mktemp("ungdc")
    for k, (country, year) in enumerate((c, y) for c in COUNTRIES for y in YEARS):
        folder = root / f"Session {year - 1945} - {year}"
        folder.mkdir(exist_ok=True)
        (folder / f"{country}_{year - 1945}_{year}.txt").write_text(
            SPEECH * (1 + k % 4) + f"{country} is ready in {year}.", encoding="utf-8")
    return root


def _options():
    from textlens.corpus.pipeline import CorpusOptions
    from textlens.corpus.sampling import SamplingOptions

    return CorpusOptions(engine=CorpusOptions().engine.__class__(batch_size=16,
                                                                 neutral_band=(0.2, 0.8)),
                         sampling=SamplingOptions(size=0), **PIPELINE)


def _tables(run_dir, names=("documents", "sentences", "groups")):
    """Stored tables in insertion order (rowid): the order the engine committed them."""
    import duckdb

    con = duckdb.connect(str(run_dir / "textlens.duckdb"), read_only=True)
    try:
        return {name: con.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchdf()
                for name in names}
    finally:
        con.close()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, models, speeches):
    from textlens.corpus.pipeline import run

    out = tmp_path_factory.mktemp("local")
    run(load_model(models["classification"]), speeches, out, _options(), progress=False)
    return _tables(out)


def _assert_same_tables(got, expected):
    sentences, want = got["sentences"], expected["sentences"]
    probability = [c for c in want if c.startswith("p_")]
    exact = [c for c in want if c not in probability and c != "confidence"]
    pd.testing.assert_frame_equal(sentences[exact], want[exact])  # labels, order, offsets, texts
    np.testing.assert_allclose(sentences[probability + ["confidence"]],
                               want[probability + ["confidence"]], atol=1e-5, rtol=0)
    pd.testing.assert_frame_equal(got["documents"], expected["documents"])
    pd.testing.assert_frame_equal(got["groups"], expected["groups"])  # identical aggregates


def test_corpus_run_on_ray_writes_the_local_tables(ray_runtime, models, speeches, local_run,
                                                   tmp_path):
    from textlens.corpus.pipeline import run
    from textlens.corpus.ray_engine import RayEngine

    loaded = load_model(models["classification"])
    options = _options()
    result = run(loaded, speeches, tmp_path, options, engine=RayEngine(loaded, options.engine, RAY),
                 progress=False)
    assert result.n_documents == len(COUNTRIES) * len(YEARS)
    assert set(local_run["sentences"]["label"]) == {"negative", "neutral", "positive"}
    _assert_same_tables(_tables(tmp_path), local_run)


KILLED_RUN = """
import os, sys
from textlens.corpus.pipeline import run
from textlens.corpus.ray_engine import RayEngine
from textlens.engines import EngineChoice
from textlens.models.loading import load_model
sys.path.insert(0, {tests!r})
from test_ray_engines import _options
loaded, options = load_model({model!r}), _options()
engine = RayEngine(loaded, options.engine, EngineChoice("ray", {address!r}), documents_per_task=1)
kill = lambda batch: os.kill(os.getpid(), 9) if batch == 2 else None
run(loaded, {data!r}, {out!r}, options, engine=engine, on_batch=kill, progress=False)
"""


def test_corpus_run_killed_on_ray_resumes_without_reading_done_documents(
        ray_runtime, models, speeches, local_run, tmp_path):
    """A driver joined to the runtime (--ray-address) is SIGKILLed after its second commit; the
    rerun reads only the documents not yet in the store, and the tables end up as a local run's."""
    import subprocess
    import sys
    from pathlib import Path

    from textlens.corpus.pipeline import run
    from textlens.corpus.ray_engine import RayEngine

    code = KILLED_RUN.format(tests=str(Path(__file__).parent), model=str(models["classification"]),
                             address=ray.get_runtime_context().gcs_address, data=str(speeches),
                             out=str(tmp_path))
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    committed = set(_tables(tmp_path, ["documents"])["documents"]["doc_id"])
    assert len(committed) == 4  # two batches of two documents

    asked: list[str] = []

    class Recording(RayEngine):
        def predict_batches(self, corpus, batches):
            asked.extend(info.doc_id for batch in batches for info in batch)
            yield from super().predict_batches(corpus, batches)

    loaded = load_model(models["classification"])
    options = _options()
    result = run(loaded, speeches, tmp_path, options, engine=Recording(loaded, options.engine, RAY),
                 progress=False)
    assert result.resumed_documents == 4
    assert asked and not committed & set(asked)  # done documents were not read again
    assert len(asked) == len(COUNTRIES) * len(YEARS) - 4
    _assert_same_tables(_tables(tmp_path), local_run)
