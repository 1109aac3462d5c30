"""The corpus pipeline on the real UNGDC speeches and the real MiniLM encoder, a few speeches.

Uses the fine-tuned sentiment model when it is in the cache, else a fresh head on the real
MiniLM encoder (the pipeline's mechanics are the same); the domain check compares against the
SST-2 validation split named in a training.json written beside the model."""

from __future__ import annotations

import json

import duckdb
import pytest

from textlens.config import models_cache_dir
from textlens.corpus.pipeline import CorpusOptions, run
from textlens.corpus.sampling import SamplingOptions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sentiment_dir(tmp_path_factory):
    from textlens.config import seed_everything
    from textlens.models.loading import new_model, save_model

    cached = models_cache_dir() / "sentiment-minilm"
    if (cached / "training.json").exists():
        return cached
    seed_everything(0)
    out = save_model(new_model("classification", label_names=("negative", "positive"),
                               device="cpu"), tmp_path_factory.mktemp("models") / "head")
    (out / "training.json").write_text(json.dumps({"data": "sst2", "train_split": "validation"}))
    return out


def test_two_real_speeches_end_to_end(sentiment_dir, data_dir, tmp_path):
    options = CorpusOptions(where="country IN ('FRA', 'PRK') AND year = 2019",
                            sampling=SamplingOptions(size=6), n_boot=200, domain_sample=60,
                            data_dir=str(data_dir))
    result = run(sentiment_dir, "ungdc", tmp_path / "run", options, progress=False)
    assert result.n_documents == 2 and list(result.groups.country) == ["FRA", "PRK"]
    assert result.n_sentences > 100
    con = duckdb.connect(str(tmp_path / "run" / "textlens.duckdb"), read_only=True)
    rows = con.execute('SELECT d.path, s.text, s."start", s."end" FROM sentences s '
                       "JOIN documents d USING (doc_id)").fetchall()
    con.close()
    texts = {p: (data_dir / "ungdc" / p).read_text(encoding="utf-8").lstrip("\ufeff")
             for p, *_ in rows}
    for path, text, start, end in rows:
        assert texts[path][start:end].split()[:3] == text.split()[:3]
    assert result.domain_message and "sst2" in result.domain_message
    assert 0 < len(result.explanations) <= 6
    assert result.explanations.completeness_error.max() < 0.05
    page = result.report.read_text(encoding="utf-8")
    assert "France" in page and "net sentiment" in page.lower()
